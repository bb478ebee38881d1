# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The parameters of the routes of the rows (row_query.py), without a
database."""
import datetime as dt
import unittest

from hypothesis import given, settings, strategies as st

from billing_usage.row_query import (
    MAX_DAYS, QueryError, read_day, read_filters, read_month, read_range)


class _Args(dict):
    "A query string's mapping: each name may come several times"

    def getlist(self, name):
        return list(self.get(name, []))


class RowQueryTestCase(unittest.TestCase):

    def assert_refused(self, code, function, *args, **kwargs):
        with self.assertRaises(QueryError) as context:
            function(*args, **kwargs)
        self.assertEqual(context.exception.code, code)
        return context.exception.params

    def test_read_day(self):
        self.assertEqual(read_day('2028-02-29', 'start'), dt.date(2028, 2, 29))
        for value in ['2026-02-29', '2026-1-01', '20260101', '2026-01-01 ',
                '2026-01-01T00:00', '', None, 20260101, '２０２６-01-01']:
            self.assert_refused('day', read_day, value, 'start')

    def test_read_range(self):
        table = [
            (('2026-01-01', '2026-02-01'),
                (dt.date(2026, 1, 1), dt.date(2026, 2, 1))),
            # empty, half-open
            (('2026-01-01', '2026-01-01'),
                (dt.date(2026, 1, 1), dt.date(2026, 1, 1))),
            # a leap year: 366 days is the most
            (('2028-01-01', '2029-01-01'),
                (dt.date(2028, 1, 1), dt.date(2029, 1, 1))),
            ]
        for args, expected in table:
            self.assertEqual(read_range(*args), expected)
        self.assertEqual(self.assert_refused('missing', read_range,
                None, '2026-01-01'), {'name': 'start'})
        self.assertEqual(self.assert_refused('missing', read_range,
                '2026-01-01', None), {'name': 'end'})
        self.assert_refused('end_before_start', read_range,
            '2026-01-02', '2026-01-01')
        params = self.assert_refused('too_long', read_range,
            '2026-01-01', '2027-01-03')
        self.assertEqual((params['days'], params['max_days']),
            (367, MAX_DAYS))
        self.assert_refused('too_long', read_range,
            '2026-01-01', '2026-01-05', max_days=3)

    def test_read_month(self):
        self.assertEqual(read_month('2026-12'),
            (dt.date(2026, 12, 1), dt.date(2027, 1, 1)))
        self.assertEqual(read_month('2028-02'),
            (dt.date(2028, 2, 1), dt.date(2028, 3, 1)))
        for value in ['2026-13', '2026-00', '0000-01', '9999-12', '2026-1',
                '2026-01-01', '', 'x' * 10_000]:
            self.assert_refused('month', read_month, value)

    def test_read_filters(self):
        self.assertEqual(read_filters(_Args(
                    metric=['api'], customer=['C1'], other=['x', 'y'])),
            {'metric': 'api', 'customer': 'C1'})
        self.assert_refused('filter_twice', read_filters,
            _Args(metric=['a', 'b']))
        for value in ['', 'a\x00', 'a\nb', 'x' * 256, '\ud800']:
            self.assert_refused('filter', read_filters,
                _Args(subscription=[value]))

    @settings(max_examples=100, deadline=None)
    @given(st.dates(), st.integers(min_value=-400, max_value=400))
    def test_range_property(self, start, days):
        "A range is read back or refused, never shifted"
        try:
            end = start + dt.timedelta(days=days)
        except OverflowError:
            return
        try:
            read = read_range(start.isoformat(), end.isoformat())
        except QueryError as error:
            self.assertTrue(days < 0 or days > MAX_DAYS
                or start.year < 1000 or end.year < 1000, error.code)
        else:
            self.assertEqual(read, (start, end))
            self.assertTrue(0 <= days <= MAX_DAYS)
