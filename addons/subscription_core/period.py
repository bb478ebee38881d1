# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Calendar periods and prorata of subscription lines, as plain Python.

Conventions (see also ``money``):

* every range is a half-open day range ``[start, end)`` of ``datetime.date``;
* a share of a period is its days over the days of the period (calendar-day
  prorata), an exact ``fractions.Fraction``;
* amounts are rounded ONCE with the currency rounding (``money.round_money``).
"""
import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .money import _format_quantity, _fraction, _quantity, round_money

__all__ = [
    'PERIODS', 'Piece', 'range_end', 'period_bounds', 'iter_periods',
    'period_pieces', 'month_pieces', 'day_share', 'month_count',
    'split_at_changes', 'prorated_amount', 'pieces_amount',
    'prepaid_amount', 'prepaid_adjustment', 'describe_piece',
    'describe_window', 'describe_periods', 'describe_price', 'period_count',
    'convert_price', 'PERIOD_MONTHS', 'billing_start', 'billing_end',
    ]

PERIODS = ('month', 'quarter', 'year', 'total')
# A unit price is per billing period of its line: the months of a period
PERIOD_MONTHS = {'month': 1, 'quarter': 3, 'year': 12}

_ONE_DAY = _dt.timedelta(days=1)


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


def range_end(last_day):
    """The end of the half-open range whose last day (included) is last_day.

    The dates a user types (a subscription's or a line's end date) are the
    last day served, as in Tryton; the arithmetic takes the day after.
    """
    return _date(last_day, 'last_day') + _ONE_DAY


def billing_start(line_start, subscription_start):
    "The first day billed of a subscription line: the later start date"
    return max(line_start, subscription_start)


def billing_end(line_end, subscription_end):
    """The first day not billed of a subscription line: the day after the
    earlier end date, or None (open)"""
    ends = [d for d in [line_end, subscription_end] if d]
    return range_end(min(ends)) if ends else None


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


def period_count(start, end, period='month'):
    """Number of billing periods in [start, end), each prorated by its days.

    A year from 1 January is 1 'year', 4 'quarter' or 12 'month'; 'total' is
    the range itself (1, or 0 when empty).
    """
    start, end = _check_range(start, end)
    if period == 'month':
        return month_count(start, end)
    if period == 'total':
        return Fraction(1 if start < end else 0)
    return sum(
        (day_share(start, end, p_start, p_end)
            for p_start, p_end in iter_periods(start, end, period)),
        Fraction(0))


def convert_price(unit_price, from_period, to_period):
    """The unit price per to_period of unit_price per from_period, exact.

    Month, quarter and year convert by their months (10 a month is 120 a
    year); None when a period has no fixed length ('total', on-demand).
    """
    price = _fraction(unit_price, 'unit_price')
    if from_period == to_period:
        return price
    if from_period not in PERIOD_MONTHS or to_period not in PERIOD_MONTHS:
        return None
    return price * PERIOD_MONTHS[to_period] / PERIOD_MONTHS[from_period]


# ---------------------------------------------------------------------------
# UTC moments
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



def _moment(value, name='until'):
    "Naive UTC datetime of a date (its midnight) or a datetime."
    if type(value) is _dt.datetime and value.tzinfo is None:
        # Already one (the rating's consumptions)
        return value
    return _utc(value, name)[0]



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


def prepaid_amount(
        unit_price, quantity, start, end, rounding, period='month'):
    """Price of [start, end) prepaid, computed period by period.

    unit_price is per billing period: Σ over the pieces of the periods of
    unit_price × quantity × share of the period, rounded once.  A full
    Dec-Feb term is unit_price × quantity × 3 by month, × 1 by quarter
    from 1 January.
    """
    exact = (_fraction(unit_price, 'unit_price') * _quantity(quantity)
        * period_count(start, end, period))
    return round_money(exact, rounding)


def prepaid_adjustment(
        unit_price, old_quantity, new_quantity, change_date, end, rounding,
        period='month', start=None):
    """Supplement (> 0) or credit (< 0) of a quantity change on a prepaid term.

    Only the remaining time [change_date, end) is priced, period by period
    (unit_price is per billing period); a 'total' term [start, end) by its
    days.
    """
    change_date, end = _date(change_date, 'change_date'), _date(end, 'end')
    if change_date >= end:
        return round_money(0, rounding)
    delta = _quantity(new_quantity, 'new_quantity') - _quantity(
        old_quantity, 'old_quantity')
    if period == 'total':
        if start is None:
            raise ValueError("the adjustment of a 'total' term needs its start")
        share = day_share(change_date, end, _date(start, 'start'), end)
    else:
        share = period_count(change_date, end, period)
    exact = _fraction(unit_price, 'unit_price') * delta * share
    return round_money(exact, rounding)



# ---------------------------------------------------------------------------
# Human description
# ---------------------------------------------------------------------------

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


def describe_price(unit_price, period):
    """A unit price with the billing period it is for, e.g. "10.00/month",
    "0.0125/year" or "120.00/term" (the whole 'total' term); at least two
    decimals, more when the price has them.
    """
    price = Decimal(unit_price)
    places = max(2, -price.normalize().as_tuple().exponent)
    per = 'term' if period == 'total' else period
    return f"{price:.{places}f}/{per}"


def describe_periods(quantity, unit_label, start, end, period='month'):
    """Describe a price period by period, e.g. "8 vCPU × 3 months
    (2026-12-01 – 2027-02-28)", "4 vCPU × (16/31 + 1) months (...)" or
    "2 vCPU × 59/365 year (...)"; a 'total' term is "× 1 term (...)".
    """
    start, end = _check_range(start, end)
    head = _format_quantity(quantity)
    if unit_label:
        head = f"{head} {unit_label}"
    if period == 'total':
        return f"{head} × 1 term {describe_window(start, end)}"
    parts = []
    full = 0
    for p_start, p_end, m_start, m_end in period_pieces(start, end, period):
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
        share = f"({' + '.join(parts)}) {period}s"
    elif parts[0] == '1' or '/' in parts[0]:
        share = f"{parts[0]} {period}"
    else:
        share = f"{parts[0]} {period}s"
    return f"{head} × {share} {describe_window(start, end)}"

