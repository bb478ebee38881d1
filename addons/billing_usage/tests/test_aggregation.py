# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The arithmetic of the daily usage rows (aggregation.py), in milliseconds"""
import datetime as dt
import unittest
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from billing_usage.aggregation import (
    aggregate, canonical, daily_quantities, matches, split_days,
    weighted_days)

D = Decimal
DAY = dt.date(2026, 3, 1)


def at(day, hour=0, minute=0, second=0):
    return dt.datetime(2026, 3, day, hour, minute, second)


class AggregateTestCase(unittest.TestCase):

    EVENTS = [
        (at(1, 9), D('2.5')),
        (at(1, 10), D('7')),
        (at(1, 10), D('1')),
        (at(1, 23, 59, 59), D('2.5')),
        ]

    def test_table(self):
        "Each aggregation of the same events"
        for aggregation, expected in [
                ('count', D(4)),
                ('sum', D('13')),
                ('max', D(7)),
                ('unique_count', D(3)),
                ('latest', D('2.5')),
                ]:
            with self.subTest(aggregation=aggregation):
                self.assertEqual(
                    aggregate(aggregation, self.EVENTS), expected)

    def test_latest_same_moment(self):
        "Two events at the last moment: the one received last"
        events = [(at(1, 10), D(7)), (at(1, 10), D(1)), (at(1, 8), D(9))]
        self.assertEqual(aggregate('latest', events), D(1))

    def test_empty(self):
        for aggregation in ['count', 'sum', 'max', 'unique_count', 'latest']:
            with self.subTest(aggregation=aggregation):
                self.assertEqual(aggregate(aggregation, []), D(0))

    def test_rounded_once(self):
        "A day's quantity is rounded once to 6 places, half even"
        self.assertEqual(
            aggregate('sum', [(at(1), D('0.0000005'))] * 3), D('0.000002'))

    def test_unknown(self):
        with self.assertRaises(ValueError):
            aggregate('median', [(at(1), D(1))])


class DailyTestCase(unittest.TestCase):

    def test_days_half_open(self):
        "An event at midnight belongs to the day it starts"
        events = [(at(1, 23, 59, 59), D(1)), (at(2), D(2)), (at(3), D(4))]
        self.assertEqual(
            daily_quantities('sum', events, dt.date(2026, 3, 1),
                dt.date(2026, 3, 3)),
            {dt.date(2026, 3, 1): D(1), dt.date(2026, 3, 2): D(2)})

    def test_only_days_with_events(self):
        events = [(at(1, 5), D(1)), (at(4, 5), D(1))]
        self.assertEqual(sorted(daily_quantities(
                    'count', events, dt.date(2026, 3, 1),
                    dt.date(2026, 3, 10))), [
                dt.date(2026, 3, 1), dt.date(2026, 3, 4)])


class WeightedTestCase(unittest.TestCase):

    def test_table(self):
        "Level × hours per day, the level held across midnight"
        start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 4)
        for name, events, level, expected in [
                ("no event, no level", [], 0, [0, 0, 0]),
                ("level before the range", [], D(10), [240, 240, 240]),
                ("set at noon", [(at(1, 12), D(10))], 0, [120, 240, 240]),
                ("event before the range", [(dt.datetime(2026, 2, 20), D(2))],
                    0, [48, 48, 48]),
                ("down to zero on day 2 at 06:00",
                    [(at(1), D(10)), (at(2, 6), D(0))], 0, [240, 60, 0]),
                ("two changes in an hour",
                    [(at(2, 10), D(4)), (at(2, 10, 30), D(8)),
                        (at(2, 11), D(0))], 0, [0, 6, 0]),
                ("after the range: not used",
                    [(dt.datetime(2026, 3, 4), D(100))], D(1), [24, 24, 24]),
                ]:
            with self.subTest(name):
                result = weighted_days(events, start, end, level)
                self.assertEqual(
                    [result[d] for d in sorted(result)],
                    [D(e) for e in expected])

    def test_seconds(self):
        "A level held 1 second is 1/3600 of an hour, rounded once"
        result = weighted_days(
            [(at(1, 0, 0, 0), D(1)), (at(1, 0, 0, 1), D(0))],
            dt.date(2026, 3, 1), dt.date(2026, 3, 2))
        self.assertEqual(result[dt.date(2026, 3, 1)], D('0.000278'))

    def test_split_days(self):
        self.assertEqual(split_days(at(1, 22), at(3, 1)), [
                (dt.date(2026, 3, 1), at(1, 22), at(2)),
                (dt.date(2026, 3, 2), at(2), at(3)),
                (dt.date(2026, 3, 3), at(3), at(3, 1)),
                ])
        self.assertEqual(split_days(at(2), at(2)), [])
        with self.assertRaises(ValueError):
            split_days(at(2), at(1))


class PropertyTestCase(unittest.TestCase):

    def test_canonical(self):
        for value, text in [
                (1, '1'), (1.0, '1'), (D('1.00'), '1'), (0.1, '0.1'),
                (D('2.50'), '2.5'), ('m1.small', 'm1.small'), (True, 'true'),
                (None, ''), (D('1E+2'), '100'), (D('-0.0'), '0')]:
            with self.subTest(value=value):
                self.assertEqual(canonical(value), text)

    def test_matches(self):
        filters = [('flavor', frozenset({'m1.small', 'm1.large'})),
            ('region', frozenset({'1'}))]
        self.assertTrue(matches({'flavor': 'm1.small', 'region': 1.0}, filters))
        self.assertFalse(matches({'flavor': 'm1.tiny', 'region': 1}, filters))
        self.assertFalse(matches({'flavor': 'm1.small'}, filters))
        self.assertTrue(matches({}, []))


# Moments within three days, in whole seconds
moments = st.integers(0, 3 * 86400 - 1).map(
    lambda s: dt.datetime(2026, 3, 1) + dt.timedelta(seconds=s))
values = st.decimals(
    min_value=0, max_value=10 ** 6, places=3, allow_nan=False)


class HypothesisTestCase(unittest.TestCase):

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(moments, values), max_size=30))
    def test_sum_split_by_day_is_total(self, events):
        "The daily sums add up to the sum of all events, exactly"
        events.sort(key=lambda e: e[0])
        days = daily_quantities(
            'sum', events, dt.date(2026, 3, 1), dt.date(2026, 3, 4))
        self.assertEqual(sum(days.values(), D(0)),
            sum((v for _, v in events), D(0)))
        self.assertEqual(sum(daily_quantities(
                    'count', events, dt.date(2026, 3, 1),
                    dt.date(2026, 3, 4)).values(), D(0)), len(events))

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(moments, values), max_size=20), values)
    def test_weighted_days_add_up(self, events, level):
        """The days of a range add up to the level × hours of the whole
        range, within the rounding of each day; a constant level gives
        level × 24 a day"""
        from fractions import Fraction
        events.sort(key=lambda e: e[0])
        start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 4)
        result = weighted_days(events, start, end, level)
        self.assertEqual(sorted(result), [
                dt.date(2026, 3, 1), dt.date(2026, 3, 2),
                dt.date(2026, 3, 3)])
        # The exact integral, computed by another way: piece by piece
        exact = Fraction(0)
        current, moment = Fraction(level), dt.datetime(2026, 3, 1)
        for change_at, value in events + [(dt.datetime(2026, 3, 4), None)]:
            exact += current * Fraction(
                int((change_at - moment).total_seconds()), 3600)
            moment = change_at
            if value is not None:
                current = Fraction(value)
        total = sum(result.values(), D(0))
        self.assertLessEqual(
            abs(Fraction(total) - exact), Fraction(3, 2 * 10 ** 6))
        if not events:
            self.assertEqual(set(result.values()), {
                    (level * 24).quantize(D('0.000001'))})

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.tuples(moments, values), min_size=1, max_size=20))
    def test_max_latest_bounded(self, events):
        events.sort(key=lambda e: e[0])
        values_ = [v for _, v in events]
        self.assertEqual(aggregate('max', events),
            max(values_).quantize(D('0.000001')))
        self.assertIn(aggregate('latest', events),
            {v.quantize(D('0.000001')) for v in values_})
        self.assertLessEqual(
            aggregate('unique_count', [(m, canonical(v)) for m, v in events]),
            len(events))
