# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Billing arithmetic for subscriptions, as plain Python (no ORM).

Conventions:

* every range is a half-open day range ``[start, end)`` of ``datetime.date``;
* money is ``Decimal`` (never float), shares are ``fractions.Fraction``;
* computations stay exact and are rounded ONCE at the end with the currency
  rounding passed in (e.g. ``Decimal('0.01')``) using ROUND_HALF_EVEN, the
  default rounding mode of Tryton currencies.
"""
import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

__all__ = [
    'PERIODS', 'FREQUENCIES', 'TIER_MODES', 'Piece', 'Tier',
    'round_money', 'period_bounds', 'iter_periods', 'period_pieces',
    'month_pieces', 'day_share', 'month_count', 'split_at_changes',
    'prorated_amount', 'pieces_amount', 'prepaid_amount',
    'prepaid_adjustment', 'describe_piece', 'validate_tiers',
    'tiered_amount', 'split_amount', 'hourly_periods',
    'piece_amounts', 'Charge', 'due_charges', 'quantity_at',
    'ON_DEMAND_PERIODS', 'USAGE_PERIODS', 'TierError', 'tiers_from_starts',
    'tier_slices', 'price_usage', 'describe_usage', 'describe_window',
    'describe_months', 'Window', 'usage_windows', 'tier_phase',
    'last_window_end', 'next_due_date',
    ]

PERIODS = ('month', 'quarter', 'year', 'total')
# Usage lines may also be invoiced on demand, for each ended day or hour (UTC)
ON_DEMAND_PERIODS = ('day', 'hour')
USAGE_PERIODS = PERIODS + ON_DEMAND_PERIODS
FREQUENCIES = ('hourly', 'daily')
TIER_MODES = ('graduated', 'volume')

_ONE_DAY = _dt.timedelta(days=1)


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

def _fraction(value, name='value', allow_float=False):
    "Exact Fraction of an int, Decimal or Fraction (float only if allowed)."
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not bool")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be finite: {value!r}")
        return Fraction(value)
    if isinstance(value, float):
        if not allow_float:
            raise TypeError(f"{name} must be Decimal, not float: {value!r}")
        # Tryton quantities are Float fields: take the shortest decimal
        # representation (0.1 -> 1/10), not the binary approximation.
        return Fraction(Decimal(repr(value)))
    raise TypeError(f"{name} must be a number: {value!r}")


def _quantity(value, name='quantity'):
    return _fraction(value, name, allow_float=True)


def _rounding(rounding):
    if not isinstance(rounding, Decimal):
        if isinstance(rounding, (int, str)) and not isinstance(
                rounding, bool):
            rounding = Decimal(rounding)
        else:
            raise TypeError(f"rounding must be Decimal: {rounding!r}")
    if not rounding.is_finite() or rounding <= 0:
        raise ValueError(f"rounding must be positive: {rounding!r}")
    return rounding


def _from_units(units, rounding):
    "Decimal of units × rounding, with the rounding's number of decimals."
    exponent = min(rounding.as_tuple().exponent, 0)
    with localcontext() as ctx:
        ctx.prec = max(28, len(str(abs(units))) + len(rounding.as_tuple()[1])
            + 2)
        return (Decimal(units) * rounding).quantize(
            Decimal(1).scaleb(exponent))


def round_money(value, rounding):
    """Round value (Fraction, Decimal or int) to a multiple of rounding.

    Uses ROUND_HALF_EVEN on the exact value (a single rounding step).
    """
    rounding = _rounding(rounding)
    units = round(_fraction(value) / Fraction(rounding))  # half-even
    return _from_units(units, rounding)


# ---------------------------------------------------------------------------
# Calendar periods
# ---------------------------------------------------------------------------

def _date(value, name='date'):
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    raise TypeError(f"{name} must be a date: {value!r}")


def _add_months(first_day, months):
    year, month = divmod(first_day.month - 1 + months, 12)
    return _dt.date(first_day.year + year, month + 1, 1)


def _check_range(start, end, what='range'):
    start, end = _date(start, 'start'), _date(end, 'end')
    if end < start:
        raise ValueError(f"{what} end {end} is before its start {start}")
    return start, end


def period_bounds(date, period):
    """Return (start, end) of the calendar month/quarter/year holding date.

    The range is half-open: end is the first day of the next period.
    'day' is the day itself. 'total' has no calendar bound and raises
    ValueError.
    """
    date = _date(date)
    if period == 'day':
        return date, date + _ONE_DAY
    if period == 'month':
        start, months = date.replace(day=1), 1
    elif period == 'quarter':
        start, months = _dt.date(
            date.year, (date.month - 1) // 3 * 3 + 1, 1), 3
    elif period == 'year':
        start, months = _dt.date(date.year, 1, 1), 12
    elif period == 'total':
        raise ValueError(
            "'total' has no calendar bounds: use the subscription range")
    else:
        raise ValueError(f"unknown period {period!r}, expected {PERIODS}")
    return start, _add_months(start, months)


def iter_periods(start, end, period):
    """Return the full calendar periods intersecting [start, end).

    For 'total' the single period is [start, end) itself.
    """
    start, end = _check_range(start, end)
    if start == end:
        if period not in PERIODS:
            raise ValueError(
                f"unknown period {period!r}, expected {PERIODS}")
        return []
    if period == 'total':
        return [(start, end)]
    periods = []
    p_start, p_end = period_bounds(start, period)
    while p_start < end:
        periods.append((p_start, p_end))
        p_start, p_end = period_bounds(p_end, period)
    return periods


def period_pieces(start, end, period):
    """Cut [start, end) at period boundaries.

    Return a list of (piece_start, piece_end, period_start, period_end).
    """
    return [
        (max(start, p_start), min(end, p_end), p_start, p_end)
        for p_start, p_end in iter_periods(start, end, period)]


def month_pieces(start, end):
    """Cut [start, end) at month boundaries.

    Return a list of (piece_start, piece_end, month_start, month_end).
    """
    start, end = _check_range(start, end)
    return period_pieces(start, end, 'month')


def day_share(start, end, p_start, p_end):
    "Days of [start, end) ∩ [p_start, p_end) ÷ days of [p_start, p_end)."
    start, end = _check_range(start, end)
    p_start, p_end = _check_range(p_start, p_end, 'period')
    if p_start == p_end:
        raise ValueError("empty period")
    covered = (min(end, p_end) - max(start, p_start)).days
    return Fraction(max(covered, 0), (p_end - p_start).days)


def month_count(start, end):
    """Number of months in [start, end), each month prorated by its days.

    Dec 1 - Mar 1 is exactly 3; Jan 16 - Feb 1 is 16/31.
    """
    start, end = _check_range(start, end)
    total = Fraction(0)
    month_start = start.replace(day=1)
    while month_start < end:
        month_end = _add_months(month_start, 1)
        covered = (min(end, month_end) - max(start, month_start)).days
        total += Fraction(covered, (month_end - month_start).days)
        month_start = month_end
    return total


# ---------------------------------------------------------------------------
# Quantity changes inside a period
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    "A sub-range [start, end) of a period billed at quantity."
    start: _dt.date
    end: _dt.date
    quantity: object


def split_at_changes(p_start, p_end, initial_quantity, changes):
    """Split [p_start, p_end) into Pieces of constant quantity.

    changes is an iterable of (date, new_quantity) in any order; on the same
    day the last one given wins.  Changes before p_start (or on it) update
    the initial quantity, those on or after p_end are ignored.  Adjacent
    pieces with the same quantity are merged.
    """
    p_start, p_end = _check_range(p_start, p_end, 'period')
    changes = [(_date(d), q) for d, q in changes]
    changes.sort(key=lambda c: c[0])  # stable: last given wins on a day
    quantity = initial_quantity
    cuts = []  # (date, quantity) strictly inside the period
    for date, new_quantity in changes:
        if date >= p_end:
            break
        if date <= p_start:
            quantity = new_quantity
        elif cuts and cuts[-1][0] == date:
            cuts[-1] = (date, new_quantity)
        else:
            cuts.append((date, new_quantity))
    if p_start == p_end:
        return []
    pieces = []
    start = p_start
    for date, new_quantity in cuts:
        if new_quantity == quantity:
            continue
        pieces.append(Piece(start, date, quantity))
        start, quantity = date, new_quantity
    pieces.append(Piece(start, p_end, quantity))
    return pieces


# ---------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------

def _exact_prorated(unit_price, quantity, start, end, p_start, p_end):
    return (_fraction(unit_price, 'unit_price') * _quantity(quantity)
        * day_share(start, end, p_start, p_end))


def prorated_amount(
        unit_price, quantity, start, end, p_start, p_end, rounding):
    "unit_price × quantity × day_share(start, end, p_start, p_end), rounded."
    return round_money(
        _exact_prorated(unit_price, quantity, start, end, p_start, p_end),
        rounding)


def pieces_amount(unit_price, pieces, p_start, p_end, rounding):
    """Σ unit_price × piece.quantity × share of piece in the period.

    pieces are Piece (e.g. from split_at_changes); rounded once at the end.
    """
    total = sum(
        (_exact_prorated(unit_price, p.quantity, p.start, p.end,
                p_start, p_end) for p in pieces),
        Fraction(0))
    return round_money(total, rounding)


def prepaid_amount(unit_price, quantity, start, end, rounding):
    """Price of [start, end) prepaid, computed month by month.

    Σ over month pieces of unit_price × quantity × share of the month,
    rounded once.  A full Dec-Feb term is unit_price × quantity × 3.
    """
    exact = (_fraction(unit_price, 'unit_price') * _quantity(quantity)
        * month_count(start, end))
    return round_money(exact, rounding)


def prepaid_adjustment(
        unit_price, old_quantity, new_quantity, change_date, end, rounding):
    """Supplement (> 0) or credit (< 0) of a quantity change on a prepaid term.

    Only the remaining time [change_date, end) is priced, month by month.
    """
    change_date, end = _date(change_date, 'change_date'), _date(end, 'end')
    if change_date >= end:
        return round_money(0, rounding)
    delta = _quantity(new_quantity, 'new_quantity') - _quantity(
        old_quantity, 'old_quantity')
    exact = (_fraction(unit_price, 'unit_price') * delta
        * month_count(change_date, end))
    return round_money(exact, rounding)


# ---------------------------------------------------------------------------
# Human description
# ---------------------------------------------------------------------------

def _format_quantity(quantity):
    if isinstance(quantity, int) and not isinstance(quantity, bool):
        return str(quantity)
    value = _quantity(quantity)
    if value.denominator == 1:
        return str(value.numerator)
    if isinstance(quantity, Fraction):
        # Not always a finite decimal (1/3)
        decimal = Decimal(value.numerator) / Decimal(value.denominator)
        if Fraction(decimal) != value:
            return str(quantity)
        quantity = decimal
    elif isinstance(quantity, float):
        quantity = Decimal(repr(quantity))
    return format(quantity.normalize(), 'f')


def describe_piece(quantity, unit_label, start, end, p_start, p_end):
    """Describe the proration, e.g. "8 vCPU × 12/30 days (2026-04-19 – ...)".

    Shows "full period" when the whole period is covered; the dates shown
    are inclusive (last day = end - 1 day).
    """
    start, end = _check_range(start, end)
    p_start, p_end = _check_range(p_start, p_end, 'period')
    if p_start == p_end:
        raise ValueError("empty period")
    head = _format_quantity(quantity)
    if unit_label:
        head = f"{head} {unit_label}"
    first, last = max(start, p_start), min(end, p_end)
    total = (p_end - p_start).days
    covered = max((last - first).days, 0)
    if not covered:
        return f"{head} × 0/{total} days"
    share = 'full period' if covered == total else f"{covered}/{total} days"
    return (f"{head} × {share} "
        f"({first.isoformat()} – {(last - _ONE_DAY).isoformat()})")


# ---------------------------------------------------------------------------
# Tiered usage prices
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Tier:
    """A price tier: quantities up to up_to (inclusive) at unit_price.

    up_to is None for the last, open-ended tier.
    """
    up_to: object
    unit_price: Decimal


class TierError(ValueError):
    """Invalid tiers; code names the rule that is broken.

    Codes: 'empty', 'open_not_last', 'last_not_open', 'not_ascending',
    'first_not_zero', 'negative_price'. The models turn the code into a
    translated message.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def validate_tiers(tiers):
    """Check tiers: non-empty, up_to strictly ascending, last one open,
    prices not negative.

    Return the tiers as a tuple of Tier; raise TierError otherwise.
    """
    tiers = tuple(t if isinstance(t, Tier) else Tier(*t) for t in tiers)
    if not tiers:
        raise TierError('empty', "at least one tier is required")
    previous = Fraction(0)
    for index, tier in enumerate(tiers):
        if _fraction(tier.unit_price, 'unit_price') < 0:
            raise TierError('negative_price',
                f"tier unit price must not be negative: {tier.unit_price}")
        last = index == len(tiers) - 1
        if tier.up_to is None:
            if not last:
                raise TierError('open_not_last',
                    "only the last tier can be open (up_to None)")
            continue
        if last:
            raise TierError('last_not_open',
                "the last tier must be open (up_to None)")
        up_to = _quantity(tier.up_to, 'up_to')
        if up_to <= previous:
            raise TierError('not_ascending',
                f"tier up_to must be positive and ascending: {tier.up_to}")
        previous = up_to
    return tiers


def tiers_from_starts(starts):
    """Tiers from (from_quantity, unit_price) pairs, as a price list shows
    them: "from 0: 0.05, from 1000: 0.04".

    The first tier starts at 0; each tier ends where the next one starts
    and the last one is open. Pairs may come in any order.
    """
    starts = sorted(
        ((_quantity(q, 'from_quantity'), p) for q, p in starts),
        key=lambda s: s[0])
    if not starts:
        raise TierError('empty', "at least one tier is required")
    if starts[0][0] != 0:
        raise TierError('first_not_zero', "the first tier must start at 0")
    for (low, _), (high, _) in zip(starts, starts[1:]):
        if high <= low:
            raise TierError('not_ascending',
                f"two tiers start at the same quantity: {high}")
    ups = [s[0] for s in starts[1:]] + [None]
    return validate_tiers(
        Tier(up_to, price) for up_to, (_, price) in zip(ups, starts))


def tier_slices(quantity, tiers, mode='graduated', already_used=0):
    """The (quantity, unit_price) slices that price quantity with tiers.

    'graduated': the usage slice [already_used, already_used + quantity) is
    cut at each tier it crosses.
    'volume': quantity as one slice at the price of the tier in which the
    cumulative total already_used + quantity falls (tier bounds inclusive).
    Quantities are Fraction; zero-quantity slices are left out except for
    a zero quantity, which gives one slice.
    """
    if mode not in TIER_MODES:
        raise ValueError(f"unknown mode {mode!r}, expected {TIER_MODES}")
    tiers = validate_tiers(tiers)
    quantity = _quantity(quantity)
    used = _quantity(already_used, 'already_used')
    if quantity < 0 or used < 0:
        raise ValueError("quantity and already_used must not be negative")
    low, high = used, used + quantity
    if not quantity:
        tier = next(t for t in tiers
            if t.up_to is None or low < _quantity(t.up_to))
        return [(quantity, tier.unit_price)]
    if mode == 'volume':
        tier = next(t for t in tiers
            if t.up_to is None or high <= _quantity(t.up_to))
        return [(quantity, tier.unit_price)]
    slices = []
    floor = Fraction(0)
    for tier in tiers:
        ceiling = None if tier.up_to is None else _quantity(tier.up_to)
        top = high if ceiling is None else min(high, ceiling)
        portion = top - max(low, floor)
        if portion > 0:
            slices.append((portion, tier.unit_price))
        if ceiling is None or ceiling >= high:
            break
        floor = ceiling
    return slices


def tiered_amount(quantity, tiers, mode='graduated', already_used=0,
        rounding=Decimal('0.01')):
    """Price quantity with tiers, after already_used in the same phase.

    'graduated': the usage slice [already_used, already_used + quantity) is
    billed at the price of each tier it crosses.
    'volume': quantity is billed at the price of the tier in which the
    cumulative total already_used + quantity falls (tier bounds inclusive).
    """
    slices = tier_slices(quantity, tiers, mode, already_used)
    return round_money(_slices_exact(slices), rounding)


def _slices_exact(slices):
    return sum(
        (q * _fraction(p, 'unit_price') for q, p in slices), Fraction(0))


def price_usage(quantity, unit_price, rounding, tiers=None,
        mode='graduated', already_used=0):
    """Amount and slices of a consumed quantity, rounded once.

    Without tiers: quantity × unit_price in one slice. With tiers (a list
    of Tier): see tier_slices; unit_price is then not used.
    Return (amount, [(quantity, unit_price)]).
    """
    if tiers:
        slices = tier_slices(quantity, tiers, mode, already_used)
    else:
        quantity = _quantity(quantity)
        if quantity < 0:
            raise ValueError("quantity must not be negative")
        _fraction(unit_price, 'unit_price')
        slices = [(quantity, unit_price)]
    return round_money(_slices_exact(slices), rounding), slices


def describe_usage(quantity, unit_label, slices):
    """Describe a usage price, e.g. "1250 GB × 0.05" or, across tiers,
    "1250 GB: 1000 × 0.05 + 250 × 0.04".
    """
    head = _format_quantity(quantity)
    if unit_label:
        head = f"{head} {unit_label}"
    if len(slices) == 1 and _quantity(slices[0][0]) == _quantity(quantity):
        return f"{head} × {_format_price(slices[0][1])}"
    return head + ': ' + ' + '.join(
        f"{_format_quantity(q)} × {_format_price(p)}" for q, p in slices)


def _format_price(price):
    if isinstance(price, Decimal):
        return format(price.normalize(), 'f')
    return _format_quantity(price)


# ---------------------------------------------------------------------------
# Distribution of an amount
# ---------------------------------------------------------------------------

def split_amount(total, weights, rounding):
    """Split total across weights so that the parts sum exactly to total.

    Largest-remainder method on rounding units (ties go to the first
    weight); each part is within one unit of its exact share.  A negative
    total is split like its opposite and negated.  total must be a multiple
    of rounding and the weights non-negative with a positive sum.
    """
    rounding = _rounding(rounding)
    weights = [_quantity(w, 'weight') for w in weights]
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights, Fraction(0))
    if not weights or weight_sum <= 0:
        raise ValueError("the sum of weights must be positive")
    units = _fraction(total, 'total') / Fraction(rounding)
    if units.denominator != 1:
        raise ValueError(f"total {total} is not a multiple of {rounding}")
    units = int(units)
    sign, units = (-1 if units < 0 else 1), abs(units)
    exact = [units * w / weight_sum for w in weights]
    parts = [e.numerator // e.denominator for e in exact]
    left = units - sum(parts)
    order = sorted(
        range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return [_from_units(sign * p, rounding) for p in parts]


# ---------------------------------------------------------------------------
# On-demand billing windows
# ---------------------------------------------------------------------------

def _utc(value, name):
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=None), False
        return (value.astimezone(_dt.timezone.utc).replace(tzinfo=None),
            True)
    if isinstance(value, _dt.date):
        return _dt.datetime.combine(value, _dt.time()), False
    raise TypeError(f"{name} must be a datetime: {value!r}")


def hourly_periods(start_dt, end_dt, frequency):
    """Half-open UTC windows covering [start_dt, end_dt).

    frequency 'hourly' aligns on the top of the hour, 'daily' on midnight
    UTC.  Naive datetimes are taken as UTC; the windows are naive UTC unless
    an aware datetime is given, then they are aware (UTC).
    """
    if frequency == 'hourly':
        step = _dt.timedelta(hours=1)
    elif frequency == 'daily':
        step = _ONE_DAY
    else:
        raise ValueError(
            f"unknown frequency {frequency!r}, expected {FREQUENCIES}")
    start, start_aware = _utc(start_dt, 'start_dt')
    end, end_aware = _utc(end_dt, 'end_dt')
    if end < start:
        raise ValueError(f"end {end_dt} is before start {start_dt}")
    tz = _dt.timezone.utc if (start_aware or end_aware) else None
    if frequency == 'hourly':
        current = start.replace(minute=0, second=0, microsecond=0)
    else:
        current = start.replace(hour=0, minute=0, second=0, microsecond=0)
    windows = []
    while current < end:
        following = current + step
        windows.append(
            (current.replace(tzinfo=tz), following.replace(tzinfo=tz)))
        current = following
    return windows


# ---------------------------------------------------------------------------
# Usage windows
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """Consumptions of one billing window of a usage line.

    period_start/period_end: the window (dates, or naive UTC datetimes for
    'hour'); start/end: the days it covers within the line's dates (for
    'hour', the day of the window); keys: the consumptions' keys in order.
    """
    period_start: object
    period_end: object
    start: _dt.date
    end: _dt.date
    quantity: Fraction
    keys: tuple


def _moment(value, name='until'):
    "Naive UTC datetime of a date (its midnight) or a datetime."
    return _utc(value, name)[0]


def _window_bounds(moment, period, start, end):
    if period == 'hour':
        w_start = moment.replace(minute=0, second=0, microsecond=0)
        return w_start, w_start + _dt.timedelta(hours=1)
    if period == 'total':
        return start, end
    return period_bounds(moment.date(), period)


def usage_windows(consumptions, period, until, start, end=None):
    """Group consumptions by billing window; keep the windows ended at until.

    consumptions: (key, moment, quantity) with moment a date (taken as its
    00:00 UTC) or a datetime; period one of USAGE_PERIODS ('total' is the
    whole [start, end), never ended without end); until: a date (00:00 UTC)
    or a datetime. A consumption outside [start, end) raises ValueError.
    Return the Windows in chronological order.
    """
    if period not in USAGE_PERIODS:
        raise ValueError(f"unknown period {period!r}, expected {USAGE_PERIODS}")
    start = _date(start, 'start')
    end = _date(end, 'end') if end else None
    until = _moment(until)
    groups = {}
    for key, moment, quantity in consumptions:
        moment = _moment(moment, 'moment')
        day = moment.date()
        if day < start or (end and day >= end):
            raise ValueError(
                f"consumption {key!r} of {day} is outside the line's dates")
        bounds = _window_bounds(moment, period, start, end)
        if bounds[1] is None:
            continue
        keys, total = groups.get(bounds, ((), Fraction(0)))
        groups[bounds] = (keys + (key,), total + _quantity(quantity))
    windows = []
    for (w_start, w_end), (keys, total) in sorted(groups.items()):
        ended = _moment(w_end)
        if ended > until:
            continue
        if period == 'hour':
            first, last = w_start.date(), w_start.date() + _ONE_DAY
        else:
            first = max(w_start, start)
            last = min(w_end, end) if end else w_end
        windows.append(Window(w_start, w_end, first, last, total, keys))
    return windows


def tier_phase(window_start, period):
    """First day of the phase in which usage accumulates for tiers.

    On-demand windows ('day', 'hour') accumulate over their calendar month;
    other windows are their own phase.
    """
    if period in ON_DEMAND_PERIODS:
        return _date(window_start).replace(day=1)
    return _date(window_start)


def last_window_end(period, until, start, end=None):
    """Day until which the usage windows ended at until are invoiced.

    The end of the last window (clipped to the line's dates) that has
    ended at until, as a date; for 'hour', the day of until. None when no
    window has ended yet.
    """
    start = _date(start, 'start')
    end = _date(end, 'end') if end else None
    until = _moment(until)
    day = until.date()
    if period == 'hour':
        boundary = day
    elif period == 'total':
        boundary = end if end and end <= day else None
    else:
        boundary = period_bounds(day, period)[0]
    if boundary is None:
        return None
    if end:
        boundary = min(boundary, end)
    return boundary if boundary > start else None


def describe_window(start, end):
    """The days of [start, end) inclusive, e.g. "(2026-01-01 – 2026-01-31)",
    or for a UTC datetime window "(2026-01-05 13:00–14:00 UTC)".
    """
    if isinstance(start, _dt.datetime):
        start, end = _moment(start, 'start'), _moment(end, 'end')
        last = end.strftime('%H:%M')
        if end.date() != start.date() and last == '00:00':
            last = '24:00'
        return f"({start:%Y-%m-%d %H:%M}–{last} UTC)"
    start, end = _check_range(start, end)
    last = end - _ONE_DAY
    if last <= start:
        return f"({start.isoformat()})"
    return f"({start.isoformat()} – {last.isoformat()})"


def describe_months(quantity, unit_label, start, end):
    """Describe a price month by month, e.g. "8 vCPU × 3 months
    (2026-12-01 – 2027-02-28)" or "4 vCPU × (16/31 + 1) months (...)".
    """
    start, end = _check_range(start, end)
    head = _format_quantity(quantity)
    if unit_label:
        head = f"{head} {unit_label}"
    parts = []
    full = 0
    for p_start, p_end, m_start, m_end in month_pieces(start, end):
        covered, days = (p_end - p_start).days, (m_end - m_start).days
        if covered == days:
            full += 1
            continue
        if full:
            parts.append(str(full))
            full = 0
        parts.append(f"{covered}/{days}")
    if full or not parts:
        parts.append(str(full))
    if len(parts) > 1:
        share = f"({' + '.join(parts)}) months"
    elif parts[0] == '1' or '/' in parts[0]:
        share = f"{parts[0]} month"
    else:
        share = f"{parts[0]} months"
    return f"{head} × {share} {describe_window(start, end)}"


# ---------------------------------------------------------------------------
# What is due on a subscription line
# ---------------------------------------------------------------------------

def piece_amounts(unit_price, pieces, p_start, p_end, rounding):
    """Amount of each piece of a period, rounded once for the period.

    The period total is rounded once and distributed over the pieces in
    proportion to their exact amounts (largest remainder), so the pieces
    always add up exactly to the rounded period amount.
    """
    exact = [
        _exact_prorated(unit_price, p.quantity, p.start, p.end, p_start, p_end)
        for p in pieces]
    total = round_money(sum(exact, Fraction(0)), rounding)
    if not pieces:
        return []
    if total == 0 or not any(exact):
        return [round_money(0, rounding) for _ in pieces]
    sign = -1 if total < 0 else 1
    return split_amount(total, [abs(e) for e in exact], rounding) if sign > 0 \
        else [-a for a in split_amount(-total, [abs(e) for e in exact],
                rounding)]


@dataclass(frozen=True)
class Charge:
    "One invoice line to create: a piece of a billing period."
    period_start: _dt.date
    period_end: _dt.date
    start: _dt.date
    end: _dt.date
    quantity: object
    amount: Decimal
    # Opaque references kept by the caller: the charge this one adjusts,
    # what it bills (e.g. consumptions), and a ready description.
    adjusts: object = None
    sources: tuple = ()
    description: str = None


def due_charges(
        billing_model, billing_type, billing_period, start, end,
        billed_until, quantity, changes, unit_price, date, rounding,
        lead=_dt.timedelta(0)):
    """Charges of a subscription line that are due on date.

    * monthly model, fixed/limit lines: each calendar period of
      billing_period that has ended on date (billed in arrears), from
      billed_until (or start) on, cut at the limit changes;
    * prepaid model: the whole term [start, end) once, ``lead`` before it
      starts, priced month by month;
    * one_time: once, on start (the 'total' period);
    * usage lines are priced from consumptions by the caller (not here).

    Returns (charges, new_billed_until); new_billed_until is None when
    nothing is due.
    """
    start = _date(start, 'start')
    end = _date(end, 'end') if end else None
    date = _date(date)
    begin = max(start, billed_until) if billed_until else start
    if end is not None and begin >= end:
        return [], None
    if billing_type == 'one_time' or billing_period == 'total' \
            and billing_model != 'prepaid':
        if billed_until or date < start - lead:
            return [], None
        p_end = end or start + _ONE_DAY
        amount = round_money(
            _fraction(unit_price, 'unit_price') * _quantity(quantity),
            rounding)
        return [Charge(start, p_end, start, p_end, quantity, amount)], p_end
    if billing_model == 'prepaid':
        if end is None:
            raise ValueError("a prepaid line needs an end date")
        if billed_until or date < start - lead:
            return [], None
        amount = prepaid_amount(unit_price, quantity, start, end, rounding)
        return [Charge(start, end, start, end, quantity, amount)], end
    if date <= begin:
        # Nothing of the line has ended yet (e.g. it starts later)
        return [], None
    charges = []
    new_billed_until = None
    for p_start, p_end in iter_periods(begin, end or date, billing_period):
        if p_end > date:
            break
        piece_start = max(p_start, begin)
        piece_end = min(p_end, end) if end else p_end
        pieces = split_at_changes(
            p_start, p_end, quantity_at(quantity, changes, p_start), changes)
        pieces = [
            Piece(max(p.start, piece_start), min(p.end, piece_end),
                p.quantity)
            for p in pieces if p.end > piece_start and p.start < piece_end]
        amounts = piece_amounts(unit_price, pieces, p_start, p_end, rounding)
        for piece, amount in zip(pieces, amounts):
            charges.append(Charge(p_start, p_end, piece.start, piece.end,
                    piece.quantity, amount))
        new_billed_until = piece_end
    return charges, new_billed_until


def quantity_at(initial_quantity, changes, date):
    """Quantity in force on date: the last change on or before date.

    initial_quantity applies before the first change; changes are
    (date, quantity) pairs in any order.
    """
    date = _date(date)
    quantity = initial_quantity
    for change_date, new_quantity in sorted(changes, key=lambda c: c[0]):
        if change_date <= date:
            quantity = new_quantity
        else:
            break
    return quantity


def next_due_date(billing_model, billing_type, billing_period, start, end,
        billed_until, lead=_dt.timedelta(0)):
    """First date on which due_charges returns a charge for the line.

    None when nothing more is due (usage lines are priced from
    consumptions, not here). Used to quote a subscription before it runs.
    """
    start = _date(start, 'start')
    end = _date(end, 'end') if end else None
    begin = max(start, billed_until) if billed_until else start
    if billing_type == 'usage' or (end is not None and begin >= end):
        return None
    if (billing_type == 'one_time' or billing_period == 'total'
            or billing_model == 'prepaid'):
        return None if billed_until else start - lead
    return period_bounds(begin, billing_period)[1]
