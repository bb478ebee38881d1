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
    ]

PERIODS = ('month', 'quarter', 'year', 'total')
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
    'total' has no calendar bound and raises ValueError.
    """
    date = _date(date)
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


def validate_tiers(tiers):
    """Check tiers: non-empty, up_to strictly ascending, last one open.

    Return the tiers as a tuple of Tier; raise ValueError otherwise.
    """
    tiers = tuple(t if isinstance(t, Tier) else Tier(*t) for t in tiers)
    if not tiers:
        raise ValueError("at least one tier is required")
    previous = Fraction(0)
    for index, tier in enumerate(tiers):
        _fraction(tier.unit_price, 'unit_price')
        last = index == len(tiers) - 1
        if tier.up_to is None:
            if not last:
                raise ValueError("only the last tier can be open (up_to None)")
            continue
        if last:
            raise ValueError("the last tier must be open (up_to None)")
        up_to = _quantity(tier.up_to, 'up_to')
        if up_to <= previous:
            raise ValueError(
                f"tier up_to must be positive and ascending: {tier.up_to}")
        previous = up_to
    return tiers


def tiered_amount(quantity, tiers, mode='graduated', already_used=0,
        rounding=Decimal('0.01')):
    """Price quantity with tiers, after already_used in the same phase.

    'graduated': the usage slice [already_used, already_used + quantity) is
    billed at the price of each tier it crosses.
    'volume': quantity is billed at the price of the tier in which the
    cumulative total already_used + quantity falls (tier bounds inclusive).
    """
    if mode not in TIER_MODES:
        raise ValueError(f"unknown mode {mode!r}, expected {TIER_MODES}")
    tiers = validate_tiers(tiers)
    quantity = _quantity(quantity)
    used = _quantity(already_used, 'already_used')
    if quantity < 0 or used < 0:
        raise ValueError("quantity and already_used must not be negative")
    low, high = used, used + quantity
    if mode == 'volume':
        for tier in tiers:
            if tier.up_to is None or high <= _quantity(tier.up_to):
                break
        exact = quantity * _fraction(tier.unit_price, 'unit_price')
    else:
        exact = Fraction(0)
        floor = Fraction(0)
        for tier in tiers:
            ceiling = None if tier.up_to is None else _quantity(tier.up_to)
            top = high if ceiling is None else min(high, ceiling)
            portion = top - max(low, floor)
            if portion > 0:
                exact += portion * _fraction(tier.unit_price, 'unit_price')
            if ceiling is None or ceiling >= high:
                break
            floor = ceiling
    return round_money(exact, rounding)


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
