# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Billing windows of usage lines, as plain Python: the consumptions of a
month, quarter, year or whole term, or on demand of each day or hour (UTC).

Windows are half-open, like the day ranges of ``period``.
"""
import datetime as _dt
from decimal import Decimal, Inexact
from functools import lru_cache
from typing import NamedTuple

from .money import _number, _quantity, exact_context
from .period import (
    _ONE_DAY, PERIODS, _date, _moment, _utc, period_bounds)

__all__ = [
    'ON_DEMAND_PERIODS', 'USAGE_PERIODS', 'FREQUENCIES', 'hourly_periods',
    'Window', 'usage_windows', 'tier_phase', 'last_window_end',
    ]

# Usage lines may also be invoiced on demand, for each ended day or hour (UTC)
ON_DEMAND_PERIODS = ('day', 'hour')
USAGE_PERIODS = PERIODS + ON_DEMAND_PERIODS
FREQUENCIES = ('hourly', 'daily')


# ---------------------------------------------------------------------------
# On-demand billing windows
# ---------------------------------------------------------------------------

_new = tuple.__new__


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

class Window(NamedTuple):
    """Consumptions of one billing window of a usage line.

    period_start/period_end: the window (dates, or naive UTC datetimes for
    'hour'); start/end: the days it covers within the line's dates (for
    'hour', the day of the window); quantity: their exact sum (a Fraction
    or a Decimal); keys: the consumptions' keys in order.

    A named tuple: a rating makes one per line and day.
    """
    period_start: object
    period_end: object
    start: _dt.date
    end: _dt.date
    quantity: object
    keys: tuple



def _window_bounds(moment, period, start, end):
    if period == 'hour':
        w_start = moment.replace(minute=0, second=0, microsecond=0)
        return w_start, w_start + _dt.timedelta(hours=1)
    if period == 'total':
        return start, end
    return _day_window(moment.date(), period)


@lru_cache(maxsize=4096)
def _day_window(day, period):
    "period_bounds of a day: the same for each line of a rating"
    return period_bounds(day, period)


def _groups(consumptions, period, start, end, number):
    "{(window start, end): (keys, total)} of usage_windows' consumptions"
    groups = {}
    # The window of each day (the lines of a rating share _day_window's)
    windows = {}
    decimals = number is _number
    datetime = _dt.datetime
    for key, moment, quantity in consumptions:
        if type(moment) is not datetime or moment.tzinfo is not None:
            # (_moment's test inlined: the rating's are naive UTC)
            moment = _moment(moment, 'moment')
        day = moment.date()
        if day < start or (end and day >= end):
            raise ValueError(
                f"consumption {key!r} of {day} is outside the line's dates")
        # _window_bounds and _number inlined, once per consumption of a
        # rating (with the inlines of usage_charge._window_charges and
        # tier.LinePricing: 3.5 of 22 ms for 3,100 daily windows)
        if period == 'total':
            bounds = start, end
        elif period == 'hour':
            bounds = _window_bounds(moment, period, start, end)
        else:
            bounds = windows.get(day)
            if bounds is None:
                bounds = windows[day] = _day_window(day, period)
        if bounds[1] is None:
            continue
        if not (decimals and type(quantity) is Decimal
                and quantity.is_finite()):
            # (A finite Decimal is its own _number)
            quantity = number(quantity)
        group = groups.get(bounds)
        if group is None:
            groups[bounds] = ((key,), quantity)
        else:
            keys, total = group
            groups[bounds] = (keys + (key,), total + quantity)
    return groups


def usage_windows(consumptions, period, until, start, end=None):
    """Group consumptions by billing window; keep the windows ended at until.

    consumptions: (key, moment, quantity) with moment a date (taken as its
    00:00 UTC) or a datetime; period one of USAGE_PERIODS ('total' is the
    whole [start, end), never ended without end); until: a date (00:00 UTC)
    or a datetime. A consumption outside [start, end) raises ValueError.
    Return the Windows in chronological order.

    A window's quantity is the exact sum of its consumptions': a Fraction
    when they are Fractions, a Decimal otherwise (summed under
    money.EXACT, in Fractions when that needs more digits).
    """
    if period not in USAGE_PERIODS:
        raise ValueError(f"unknown period {period!r}, expected {USAGE_PERIODS}")
    start = _date(start, 'start')
    end = _date(end, 'end') if end else None
    until = _moment(until)
    consumptions = list(consumptions)
    try:
        with exact_context():
            groups = _groups(consumptions, period, start, end, _number)
    except (Inexact, TypeError):
        # Too many digits, or Fractions and Decimals mixed
        groups = _groups(consumptions, period, start, end, _quantity)
    windows = []
    hourly = period == 'hour'
    # A window of dates has ended at until when its end (00:00) is not
    # after until: when it is not after until's day
    until_day = until.date()
    for (w_start, w_end), (keys, total) in sorted(groups.items()):
        if hourly:
            if w_end > until:
                continue
            first = w_start.date()
            last = first + _ONE_DAY
        else:
            if w_end > until_day:
                continue
            first = w_start if w_start > start else start
            last = w_end if not end or w_end < end else end
        # Window(...) by tuple.__new__: a window per line and day
        windows.append(
            _new(Window, (w_start, w_end, first, last, total, keys)))
    return windows


@lru_cache(maxsize=4096)
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

