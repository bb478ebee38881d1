# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""What a billable metric measures in a day, as plain Python (no ORM).

Days are half-open UTC ranges ``[00:00, next 00:00)``; moments are naive
datetimes in UTC. A usage event is a ``(moment, value)`` pair, in the order
the events were received when two share a moment (the models pass them
sorted by moment then id).

Aggregations of the events of one day:

* ``count``: the number of events;
* ``sum``: the sum of the values;
* ``max``: the largest value;
* ``unique_count``: the number of distinct values;
* ``latest``: the value of the last event of the day;
* ``weighted_sum``: the integral over time of a level: each event sets the
  level from its moment on, until the next event (the level before the
  first event of a day is the last one set before that day, 0 if none).
  The quantity is in value × hours (e.g. GiB-hours): a level of 10 held for
  a whole day is 240. A day without events keeps the level of the day
  before.

Quantities are Decimal, rounded once per day to ``QUANTITY_PLACES`` places
(half even); sums of decimal values are exact.
"""
import datetime as _dt
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from .boundary import selections

__all__ = ['AGGREGATIONS', 'QUANTITY_PLACES', 'day_start', 'days_between',
    'split_days', 'aggregate', 'daily_quantities', 'daily_events',
    'events_by_period', 'hourly_quantities', 'weighted_days',
    'canonical', 'matches']

AGGREGATIONS = (
    'count', 'sum', 'max', 'unique_count', 'latest', 'weighted_sum')
# The aggregations that read a number from the event's property
NUMERIC = frozenset({'sum', 'max', 'latest', 'weighted_sum'})
QUANTITY_PLACES = 6
_EXPONENT = Decimal(1).scaleb(-QUANTITY_PLACES)
_ONE_DAY = _dt.timedelta(days=1)
_HOUR_SECONDS = 3600


def _round(value):
    "A Fraction or Decimal as a Decimal rounded once to QUANTITY_PLACES"
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value).quantize(_EXPONENT, rounding=ROUND_HALF_EVEN)


def day_start(day):
    "The first moment (naive UTC) of day"
    return _dt.datetime.combine(day, _dt.time())


def days_between(start, end):
    "The days of the half-open date range [start, end)"
    day = start
    while day < end:
        yield day
        day += _ONE_DAY


def split_days(start, end):
    """Cut the half-open range [start, end) of naive UTC moments at each
    midnight: [(day, piece start, piece end)], pieces half-open too"""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    pieces = []
    current = start
    while current < end:
        following = min(day_start(current.date() + _ONE_DAY), end)
        pieces.append((current.date(), current, following))
        current = following
    return pieces


def canonical(value):
    """The text of a property value that identifies it for unique_count,
    filters and groups: numbers by their value (1, 1.0 and 1.00 are one),
    texts as they are"""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(str(value)) if isinstance(value, float) else (
            Decimal(value))
        if not number:
            return '0'
        return format(number.normalize(), 'f')
    if value is None:
        return ''
    return str(value)


def matches(properties, filters):
    """Whether the properties pass the filters: each (property, values)
    requires the property's canonical value to be one of values"""
    for name, values in filters:
        if name not in properties or canonical(properties[name]) not in values:
            return False
    return True


def aggregate(aggregation, events):
    """The quantity of the events of one day for aggregation (not
    weighted_sum, which needs the level before: see weighted_days)

    events: (moment, value) in order; value is a Decimal for the numeric
    aggregations, any canonical text for unique_count, ignored for count.
    An event may carry a third element, its share (a Fraction, see
    boundary.selections): count and sum weigh it by its share, the others
    see it whole.
    """
    events = [e if len(e) == 3 else (*e, 1) for e in events]
    if aggregation == 'count':
        if all(w == 1 for _, _, w in events):
            return _round(len(events))
        return _round(sum((Fraction(w) for _, _, w in events), Fraction(0)))
    if aggregation == 'unique_count':
        return _round(len({v for _, v, _ in events}))
    if not events:
        return _round(0)
    if aggregation == 'sum':
        if all(w == 1 for _, _, w in events):
            return _round(sum((Decimal(v) for _, v, _ in events), Decimal(0)))
        return _round(sum((Fraction(Decimal(v)) * Fraction(w)
                    for _, v, w in events), Fraction(0)))
    if aggregation == 'max':
        return _round(max(Decimal(v) for _, v, _ in events))
    if aggregation == 'latest':
        # The last of the latest moment (a stable sort keeps their order)
        return _round(sorted(events, key=lambda e: e[0])[-1][1])
    raise ValueError(f"unknown aggregation {aggregation!r}")


def weighted_days(events, start, end, level=0):
    """The level × hours of each day of [start, end) (dates)

    events: (moment, level) in order, any moment: those before start set
    the level the range starts with (after level), those at or after end
    are not used. Return {day: quantity} for every day of the range.
    """
    range_start, range_end = day_start(start), day_start(end)
    current = Fraction(Decimal(level))
    changes = []
    for moment, value in sorted(events, key=lambda e: e[0]):
        if moment < range_start:
            current = Fraction(Decimal(value))
        elif moment < range_end:
            changes.append((moment, Fraction(Decimal(value))))
    seconds = defaultdict(Fraction)
    moment = range_start
    for change_at, value in changes + [(range_end, None)]:
        for day, piece_start, piece_end in split_days(moment, change_at):
            seconds[day] += current * Fraction(
                (piece_end - piece_start).total_seconds())
        moment = change_at
        if value is not None:
            current = value
    return {day: _round(seconds[day] / _HOUR_SECONDS)
        for day in days_between(start, end)}


def daily_quantities(aggregation, events, start, end, level=0,
        selection='start'):
    """{day: quantity} of the events in the days [start, end)

    For weighted_sum every day of the range has a quantity (see
    weighted_days); for the others only the days with events. An event
    may be (moment, value, until), a record of the range [moment, until):
    selection says which days it counts in (boundary.selections); a
    weighted_sum level is held from event to event whatever the selection.
    """
    if aggregation == 'weighted_sum':
        return weighted_days(((e[0], e[1]) for e in events), start, end,
            level)
    return {day: aggregate(aggregation, day_events)
        for day, day_events in sorted(daily_events(
                events, start, end, selection).items())}


def daily_events(events, start, end, selection='start'):
    """{day: [(moment, value, share)]} of the events (moment, value[,
    until]) in the days [start, end), selected by selection"""
    return {moment.date(): period_events for moment, period_events in (
            events_by_period(events, day_start(start), day_start(end),
                'day', selection).items())}


def events_by_period(events, start, end, period, selection='start'):
    """{period start: [(moment, value, share)]} of the events (moment,
    value[, until]) in the periods (boundary.PERIODS) of the moments
    [start, end), selected by selection"""
    by_period = defaultdict(list)
    for event in events:
        moment, value = event[:2]
        until = event[2] if len(event) > 2 else None
        for first, share in selections(moment, until, period, selection):
            if start <= first < end:
                by_period[first].append((moment, value, share))
    return by_period


def hourly_quantities(aggregation, events, start, end, selection='start'):
    """{hour start: quantity} of the events in the hours of [start, end)
    (naive UTC datetimes), only the hours with events; not weighted_sum"""
    if aggregation == 'weighted_sum':
        raise ValueError("a time-weighted sum is aggregated per day")
    return {hour: aggregate(aggregation, hour_events)
        for hour, hour_events in sorted(events_by_period(
                events, start, end, 'hour', selection).items())}
