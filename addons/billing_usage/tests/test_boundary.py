# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Which periods a usage record spanning a boundary counts in (boundary.py)
and the daily quantities it gives (aggregation.daily_quantities), without a
database."""
import datetime as dt
import unittest
from decimal import Decimal as D
from fractions import Fraction as F

from hypothesis import given, settings, strategies as st

from billing_usage.aggregation import daily_quantities
from billing_usage.boundary import SELECTIONS, period_start, selections


def at(day, hour=0, minute=0):
    return dt.datetime(2026, 3, day, hour, minute)


class SelectionsTestCase(unittest.TestCase):

    def test_table(self):
        table = [
            # an instant: its period, whatever the selection
            (at(2, 23, 30), None, 'day', 'overlap', [(at(2), 1)]),
            # 23:00 to 01:00: by start all on the 2nd, by overlap half each
            (at(2, 23), at(3, 1), 'day', 'start', [(at(2), 1)]),
            (at(2, 23), at(3, 1), 'day', 'overlap',
                [(at(2), F(1, 2)), (at(3), F(1, 2))]),
            # ending at midnight: only the day it covers
            (at(2, 12), at(3), 'day', 'overlap', [(at(2), 1)]),
            # three days, 18 + 24 + 6 hours
            (at(2, 6), at(5, 6), 'day', 'overlap',
                [(at(2), F(18, 72)), (at(3), F(24, 72)), (at(4), F(24, 72)),
                    (at(5), F(6, 72))]),
            # hours: 13:30 to 14:15
            (at(2, 13, 30), at(2, 14, 15), 'hour', 'overlap',
                [(at(2, 13), F(2, 3)), (at(2, 14), F(1, 3))]),
            (at(2, 13, 30), at(2, 14, 15), 'hour', 'start', [(at(2, 13), 1)]),
            # an empty or reversed range is an instant
            (at(2, 13), at(2, 13), 'day', 'overlap', [(at(2), 1)]),
            ]
        for moment, until, period, selection, expected in table:
            with self.subTest(moment=moment, until=until, selection=selection):
                self.assertEqual(
                    selections(moment, until, period, selection), expected)

    def test_invalid(self):
        with self.assertRaises(ValueError):
            selections(at(2), None, 'day', 'middle')
        with self.assertRaises(ValueError):
            period_start(at(2), 'week')

    @settings(max_examples=100, deadline=None)
    @given(st.datetimes(min_value=dt.datetime(2000, 1, 1),
            max_value=dt.datetime(2100, 1, 1)),
        st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(
                days=40)),
        st.sampled_from(['day', 'hour']), st.sampled_from(SELECTIONS))
    def test_shares_add_up_to_one(self, moment, length, period, selection):
        "Counted once: the shares add up to exactly 1, in period order"
        pieces = selections(moment, moment + length, period, selection)
        self.assertEqual(sum(s for _, s in pieces), 1)
        self.assertTrue(all(s > 0 for _, s in pieces))
        starts = [p for p, _ in pieces]
        self.assertEqual(starts, sorted(set(starts)))
        self.assertEqual(starts[0], period_start(moment, period))


class DailyQuantitiesTestCase(unittest.TestCase):
    "Records of a range [moment, until) in the daily quantities"

    events = [
        # 6 units over 23:00 – 02:00, and an instant of 1 unit on the 3rd
        (at(2, 23), D(6), at(3, 2)),
        (at(3, 10), D(1), None),
        ]

    def test_start(self):
        self.assertEqual(daily_quantities(
                'sum', self.events, at(1).date(), at(5).date()),
            {at(2).date(): D(6), at(3).date(): D(1)})
        self.assertEqual(daily_quantities(
                'count', self.events, at(1).date(), at(5).date()),
            {at(2).date(): D(1), at(3).date(): D(1)})

    def test_overlap(self):
        "Pro rata when additive, whole for maximum and unique count"
        def quantities(aggregation):
            return daily_quantities(aggregation, self.events, at(1).date(),
                at(5).date(), selection='overlap')
        self.assertEqual(quantities('sum'),
            {at(2).date(): D(2), at(3).date(): D(5)})
        self.assertEqual(quantities('count'),
            {at(2).date(): D('0.333333'), at(3).date(): D('1.666667')})
        self.assertEqual(quantities('max'),
            {at(2).date(): D(6), at(3).date(): D(6)})
        self.assertEqual(quantities('unique_count'),
            {at(2).date(): D(1), at(3).date(): D(2)})
        # The range's days outside [start, end) are not given
        self.assertEqual(daily_quantities('sum', self.events, at(3).date(),
                at(4).date(), selection='overlap'), {at(3).date(): D(5)})


class EventEndTestCase(unittest.TestCase):
    "The end of an event covering a range (payload.read_event)"

    def event(self, **extra):
        return dict({'transaction_id': 't', 'subscription': 'S1',
                'metric': 'm', 'timestamp': '2026-03-02T23:00:00Z',
                'properties': {}}, **extra)

    def test_native_and_cloudevent(self):
        from billing_usage.payload import read_event
        self.assertNotIn('end', read_event(self.event()))
        self.assertEqual(
            read_event(self.event(end='2026-03-03T03:00:00+02:00'))['end'],
            at(3, 1))
        cloudevent = {'specversion': '1.0', 'id': 't', 'subject': 'S1',
            'type': 'm', 'time': '2026-03-02T23:00:00Z',
            'endtime': '2026-03-03T01:00:00Z'}
        self.assertEqual(read_event(cloudevent)['end'], at(3, 1))

    def test_refused(self):
        from billing_usage.payload import EventInputError, read_event
        for end, code in [
                ('2026-03-02T23:00:00Z', 'end_before'),
                ('2026-03-02T22:00:00Z', 'end_before'),
                ('2026-04-02T23:00:01Z', 'end_span'),
                ('tomorrow', 'end'),
                (12, 'end'),
                ]:
            with self.subTest(end=end):
                with self.assertRaises(EventInputError) as context:
                    read_event(self.event(end=end))
                self.assertEqual(context.exception.code, code)
