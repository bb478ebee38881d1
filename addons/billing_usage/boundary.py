# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Which periods a usage record that spans a period boundary counts in, as
plain Python (no ORM).

A usage event may cover a time range ``[moment, until)`` (``until`` None:
an instant). Periods are half-open UTC days or hours. The company chooses
the selection (*Period Boundary Selection*):

* ``start``: the record counts wholly in the period its start falls in;
* ``overlap``: the record counts once in each period it overlaps, pro
  rata to the time it overlaps it: its share of a period is the seconds
  of the period it covers over its seconds. The shares add up to exactly
  one. An instant, or an empty range, is wholly in its period.

``selections`` gives ``[(period start, share)]``; the aggregations use the
share as the weight of the record (see aggregation.aggregate): counted and
summed pro rata, seen whole by maximum, latest and unique count.
"""
import datetime as _dt
from fractions import Fraction

__all__ = ['SELECTIONS', 'PERIODS', 'period_start', 'selections',
    'last_period']

SELECTIONS = ('start', 'overlap')
PERIODS = {
    'day': _dt.timedelta(days=1),
    'hour': _dt.timedelta(hours=1),
    }
_MICROSECOND = _dt.timedelta(microseconds=1)


def period_start(moment, period):
    "The first moment of the period (day or hour) moment falls in"
    if period == 'day':
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == 'hour':
        return moment.replace(minute=0, second=0, microsecond=0)
    raise ValueError(f"unknown period {period!r}, expected {tuple(PERIODS)}")


def selections(moment, until, period='day', selection='start'):
    """[(period start, share)] of the record [moment, until) (naive UTC
    datetimes; until None for an instant), in chronological order"""
    if selection not in SELECTIONS:
        raise ValueError(
            f"unknown selection {selection!r}, expected {SELECTIONS}")
    first = period_start(moment, period)
    if selection == 'start' or until is None or until <= moment:
        return [(first, Fraction(1))]
    total = Fraction((until - moment) // _MICROSECOND)
    step = PERIODS[period]
    pieces = []
    current, start = first, moment
    while start < until:
        following = min(current + step, until)
        pieces.append((current, Fraction((following - start) // _MICROSECOND)))
        current += step
        start = following
    return [(p, seconds / total) for p, seconds in pieces]


def last_period(moment, until, period='day', selection='start'):
    "The start of the last period the record counts in"
    return selections(moment, until, period, selection)[-1][0]
