# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the billing windows of usage lines
(subscription_core.usage_window).

Pure Python: runs with pytest or plain unittest, no database needed.
"""
import datetime as dt
import pathlib
import sys
import unittest
from fractions import Fraction

from hypothesis import given, strategies as st

try:
    import subscription_core  # noqa: F401
except ImportError:
    # Not installed: import the plain-Python files from their folder
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))
from subscription_core.period import _moment
from subscription_core.usage_window import (
    FREQUENCIES, hourly_periods, last_window_end, tier_phase,
    USAGE_PERIODS, usage_windows, Window, _window_bounds)
from subscription_core.tests.arithmetic import (
    D, DATES, PROPERTY_SETTINGS, USAGE_QUANTITIES, d)

F = Fraction
H = dt.datetime


class HourlyPeriodsTestCase(unittest.TestCase):

    def test_hourly_periods(self):
        H = dt.datetime
        utc = dt.timezone.utc
        plus2 = dt.timezone(dt.timedelta(hours=2))
        for start, end, frequency, expected in [
                (H(2026, 1, 1, 10, 30), H(2026, 1, 1, 12, 15), 'hourly', [
                        (H(2026, 1, 1, 10), H(2026, 1, 1, 11)),
                        (H(2026, 1, 1, 11), H(2026, 1, 1, 12)),
                        (H(2026, 1, 1, 12), H(2026, 1, 1, 13))]),
                (H(2026, 1, 1, 10), H(2026, 1, 1, 12), 'hourly', [
                        (H(2026, 1, 1, 10), H(2026, 1, 1, 11)),
                        (H(2026, 1, 1, 11), H(2026, 1, 1, 12))]),
                (H(2026, 1, 1, 10, 5), H(2026, 1, 1, 10, 6), 'hourly', [
                        (H(2026, 1, 1, 10), H(2026, 1, 1, 11))]),
                (H(2025, 12, 31, 23), H(2026, 1, 1, 1), 'daily', [
                        (H(2025, 12, 31), H(2026, 1, 1)),
                        (H(2026, 1, 1), H(2026, 1, 2))]),
                (H(2024, 2, 28, 12), H(2024, 3, 1), 'daily', [
                        (H(2024, 2, 28), H(2024, 2, 29)),
                        (H(2024, 2, 29), H(2024, 3, 1))]),
                (H(2026, 1, 1, 1, 30, tzinfo=plus2),
                    H(2026, 1, 1, 2, 30, tzinfo=plus2), 'hourly', [
                        (H(2025, 12, 31, 23, tzinfo=utc),
                            H(2026, 1, 1, 0, tzinfo=utc)),
                        (H(2026, 1, 1, 0, tzinfo=utc),
                            H(2026, 1, 1, 1, tzinfo=utc))]),
                (H(2026, 1, 1, 10), H(2026, 1, 1, 10), 'hourly', []),
                ]:
            with self.subTest(start=start, end=end, frequency=frequency):
                self.assertEqual(
                    hourly_periods(start, end, frequency),
                    expected)

    def test_hourly_periods_invalid(self):
        start = dt.datetime(2026, 1, 1, 10)
        with self.assertRaises(ValueError):
            hourly_periods(start, start, 'weekly')
        with self.assertRaises(ValueError):
            hourly_periods(
                start, start - dt.timedelta(hours=1), 'hourly')


class UsageWindowsTestCase(unittest.TestCase):

    def test_usage_windows(self):
        W = Window
        consumptions = [
            (1, d('2026-01-03'), 100.0),
            (2, d('2026-01-20'), D('150.5')),
            (3, d('2026-02-02'), 10),
            (4, H(2026, 1, 20, 13, 30), 1),
            ]
        for period, until, start, end, expected in [
                ('month', d('2026-01-31'), '2026-01-01', None, []),
                ('month', d('2026-02-01'), '2026-01-01', None, [
                        W(d('2026-01-01'), d('2026-02-01'), d('2026-01-01'),
                            d('2026-02-01'), F(503, 2), (1, 2, 4))]),
                ('month', d('2026-03-05'), '2026-01-02', '2026-02-10', [
                        W(d('2026-01-01'), d('2026-02-01'), d('2026-01-02'),
                            d('2026-02-01'), F(503, 2), (1, 2, 4)),
                        W(d('2026-02-01'), d('2026-03-01'), d('2026-02-01'),
                            d('2026-02-10'), F(10), (3,))]),
                ('quarter', d('2026-04-01'), '2026-01-01', None, [
                        W(d('2026-01-01'), d('2026-04-01'), d('2026-01-01'),
                            d('2026-04-01'), F(523, 2), (1, 2, 3, 4))]),
                ('total', d('2026-12-31'), '2026-01-01', None, []),
                ('total', d('2026-03-01'), '2026-01-01', '2026-03-01', [
                        W(d('2026-01-01'), d('2026-03-01'), d('2026-01-01'),
                            d('2026-03-01'), F(523, 2), (1, 2, 3, 4))]),
                ('day', d('2026-01-21'), '2026-01-01', None, [
                        W(d('2026-01-03'), d('2026-01-04'), d('2026-01-03'),
                            d('2026-01-04'), F(100), (1,)),
                        W(d('2026-01-20'), d('2026-01-21'), d('2026-01-20'),
                            d('2026-01-21'), F(303, 2), (2, 4))]),
                ('hour', H(2026, 1, 20, 14), '2026-01-01', None, [
                        W(H(2026, 1, 3), H(2026, 1, 3, 1), d('2026-01-03'),
                            d('2026-01-04'), F(100), (1,)),
                        W(H(2026, 1, 20), H(2026, 1, 20, 1), d('2026-01-20'),
                            d('2026-01-21'), F(301, 2), (2,)),
                        W(H(2026, 1, 20, 13), H(2026, 1, 20, 14),
                            d('2026-01-20'), d('2026-01-21'), F(1), (4,))]),
                ('hour', H(2026, 1, 20, 13, 59), '2026-01-01', None, [
                        W(H(2026, 1, 3), H(2026, 1, 3, 1), d('2026-01-03'),
                            d('2026-01-04'), F(100), (1,)),
                        W(H(2026, 1, 20), H(2026, 1, 20, 1), d('2026-01-20'),
                            d('2026-01-21'), F(301, 2), (2,))]),
                ]:
            with self.subTest(period=period, until=until, start=start,
                    end=end):
                self.assertEqual(
                    usage_windows(
                        consumptions, period, until, d(start),
                        d(end) if end else None),
                    expected)

    def test_usage_windows_aware_moment(self):
        plus2 = dt.timezone(dt.timedelta(hours=2))
        windows = usage_windows(
            [('a', H(2026, 1, 1, 1, 30, tzinfo=plus2), 2)], 'hour',
            H(2026, 1, 1), d('2025-12-01'))
        self.assertEqual(
            [(w.period_start, w.start) for w in windows],
            [(H(2025, 12, 31, 23), d('2025-12-31'))])

    def test_usage_windows_invalid(self):
        for consumptions, period in [
                ([(1, d('2025-12-31'), 1)], 'month'),
                ([(1, d('2026-03-01'), 1)], 'month'),
                ([(1, d('2026-01-05'), 1)], 'week'),
                ]:
            with self.subTest(consumptions=consumptions, period=period):
                with self.assertRaises(ValueError):
                    usage_windows(
                        consumptions, period, d('2026-06-01'),
                        d('2026-01-01'), d('2026-03-01'))

    def test_tier_phase(self):
        for start, period, expected in [
                (d('2026-01-20'), 'day', '2026-01-01'),
                (H(2026, 1, 20, 13), 'hour', '2026-01-01'),
                (d('2026-01-01'), 'month', '2026-01-01'),
                (d('2026-01-10'), 'month', '2026-01-10'),
                (d('2026-04-01'), 'quarter', '2026-04-01'),
                ]:
            with self.subTest(start=start, period=period):
                self.assertEqual(
                    tier_phase(start, period), d(expected))

    def test_last_window_end(self):
        for period, until, start, end, expected in [
                ('month', d('2026-02-01'), '2026-01-10', None, '2026-02-01'),
                ('month', d('2026-02-15'), '2026-01-10', None, '2026-02-01'),
                ('month', d('2026-01-25'), '2026-01-10', None, None),
                ('month', d('2026-02-01'), '2026-01-10', '2026-01-20',
                    '2026-01-20'),
                ('quarter', d('2026-05-01'), '2026-02-10', None,
                    '2026-04-01'),
                ('day', d('2026-01-12'), '2026-01-10', None, '2026-01-12'),
                ('day', d('2026-01-10'), '2026-01-10', None, None),
                ('hour', H(2026, 1, 12, 14), '2026-01-10', None,
                    '2026-01-12'),
                ('total', d('2026-03-01'), '2026-01-10', None, None),
                ('total', d('2026-03-01'), '2026-01-10', '2026-02-01',
                    '2026-02-01'),
                ]:
            with self.subTest(period=period, until=until):
                self.assertEqual(
                    last_window_end(
                        period, until, d(start), d(end) if end else None),
                    d(expected) if expected else None)


# Properties
# ---------------------------------------------------------------------------

class UsageWindowPropertyTestCase(unittest.TestCase):

    @PROPERTY_SETTINGS
    @given(
        DATES,
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=24 * 90 - 1),
                USAGE_QUANTITIES),
            max_size=30),
        st.sampled_from(USAGE_PERIODS),
        st.integers(min_value=0, max_value=24 * 120))
    def test_windows_partition_consumptions(
            self, start, raw, period, until_hours):
        "Each ended consumption is in exactly one window; sums are kept"
        origin = dt.datetime.combine(start, dt.time())
        end = start + dt.timedelta(days=90)
        consumptions = [
            (i, origin + dt.timedelta(hours=h), q)
            for i, (h, q) in enumerate(raw)]
        until = origin + dt.timedelta(hours=until_hours)
        windows = usage_windows(
            consumptions, period, until, start, end)
        keys = [k for w in windows for k in w.keys]
        self.assertEqual(len(keys), len(set(keys)))
        by_key = {k: (m, q) for k, m, q in consumptions}
        for window in windows:
            self.assertEqual(
                window.quantity,
                sum((Fraction(by_key[k][1]) for k in window.keys),
                    Fraction(0)))
            self.assertLessEqual(
                _moment(window.period_end), until)
            self.assertLess(window.start, window.end)
            for key in window.keys:
                moment = by_key[key][0]
                if period == 'hour':
                    self.assertTrue(
                        window.period_start <= moment < window.period_end)
                else:
                    self.assertTrue(
                        window.start <= moment.date() < window.end)
        # The windows left out have not ended
        for key, moment, _ in consumptions:
            if key not in keys:
                bounds = _window_bounds(
                    moment, period, start, end)
                self.assertGreater(_moment(bounds[1]), until)
        # Windows are in order and do not overlap
        for left, right in zip(windows, windows[1:]):
            self.assertLessEqual(left.period_end, right.period_start)

    @PROPERTY_SETTINGS
    @given(
        st.datetimes(
            min_value=dt.datetime(2020, 1, 1),
            max_value=dt.datetime(2030, 1, 1)),
        st.timedeltas(
            min_value=dt.timedelta(0), max_value=dt.timedelta(days=3)),
        st.sampled_from(FREQUENCIES))
    def test_hourly_periods_cover(self, start, length, frequency):
        end = start + length
        step = dt.timedelta(hours=1 if frequency == 'hourly' else 24)
        windows = hourly_periods(start, end, frequency)
        if start == end:
            self.assertEqual(windows, [])
            return
        self.assertLessEqual(windows[0][0], start)
        self.assertLess(start, windows[0][1])
        self.assertLess(windows[-1][0], end)
        self.assertLessEqual(end, windows[-1][1])
        for w_start, w_end in windows:
            self.assertEqual(w_end - w_start, step)
            self.assertEqual(
                (w_start - dt.datetime(2000, 1, 1)) % step, dt.timedelta(0))
        for left, right in zip(windows, windows[1:]):
            self.assertEqual(left[1], right[0])


if __name__ == '__main__':
    unittest.main()
