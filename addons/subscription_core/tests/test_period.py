# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the calendar periods and prorata (subscription_core.period).

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
from subscription_core.money import round_money
from subscription_core.period import (
    convert_price, day_share, describe_periods, describe_piece,
    describe_price, describe_window, period_count,
    iter_periods, month_count, month_pieces, period_bounds, PERIODS, Piece,
    pieces_amount, prepaid_adjustment, prepaid_amount, prorated_amount,
    range_end, split_at_changes)
from subscription_core.tests.arithmetic import (
    CENT, D, DATES, PRICES, PROPERTY_SETTINGS, QUANTITIES, ROUNDINGS, d)

H = dt.datetime


def month(text):
    "Bounds of the month of the ISO date text."
    return period_bounds(d(text), 'month')


class PeriodTestCase(unittest.TestCase):

    def test_periods_constant(self):
        self.assertEqual(
            PERIODS, ('month', 'quarter', 'year', 'total'))

    def test_period_bounds(self):
        for date, period, expected in [
                ('2026-04-19', 'month', ('2026-04-01', '2026-05-01')),
                ('2026-04-01', 'month', ('2026-04-01', '2026-05-01')),
                ('2026-04-30', 'month', ('2026-04-01', '2026-05-01')),
                ('2024-02-29', 'month', ('2024-02-01', '2024-03-01')),
                ('2025-02-10', 'month', ('2025-02-01', '2025-03-01')),
                ('2025-12-31', 'month', ('2025-12-01', '2026-01-01')),
                ('2026-01-01', 'quarter', ('2026-01-01', '2026-04-01')),
                ('2026-05-15', 'quarter', ('2026-04-01', '2026-07-01')),
                ('2026-09-30', 'quarter', ('2026-07-01', '2026-10-01')),
                ('2025-11-02', 'quarter', ('2025-10-01', '2026-01-01')),
                ('2024-07-04', 'year', ('2024-01-01', '2025-01-01')),
                ('2025-12-31', 'year', ('2025-01-01', '2026-01-01')),
                ]:
            with self.subTest(date=date, period=period):
                self.assertEqual(
                    period_bounds(d(date), period),
                    tuple(map(d, expected)))

    def test_period_bounds_invalid(self):
        for period in ['total', 'week', None]:
            with self.subTest(period=period):
                with self.assertRaises(ValueError):
                    period_bounds(d('2026-01-01'), period)

    def test_range_end(self):
        "An end date typed by a user is the last day served, included"
        for last_day, expected in [
                ('2027-02-28', '2027-03-01'),
                ('2028-02-28', '2028-02-29'),  # leap year
                ('2026-12-31', '2027-01-01'),
                ]:
            with self.subTest(last_day=last_day):
                self.assertEqual(range_end(d(last_day)), d(expected))
        # a line ended on 28 February bills February whole
        february = month('2027-02-01')
        self.assertEqual(
            day_share(d('2027-02-01'), range_end(d('2027-02-28')),
                *february), 1)

    def test_iter_periods(self):
        for start, end, period, expected in [
                ('2026-01-15', '2026-03-10', 'month', [
                        ('2026-01-01', '2026-02-01'),
                        ('2026-02-01', '2026-03-01'),
                        ('2026-03-01', '2026-04-01')]),
                ('2026-01-01', '2026-02-01', 'month', [
                        ('2026-01-01', '2026-02-01')]),
                ('2026-01-31', '2026-02-01', 'month', [
                        ('2026-01-01', '2026-02-01')]),
                ('2025-11-15', '2026-02-01', 'quarter', [
                        ('2025-10-01', '2026-01-01'),
                        ('2026-01-01', '2026-04-01')]),
                ('2025-06-01', '2026-01-01', 'year', [
                        ('2025-01-01', '2026-01-01')]),
                ('2025-06-01', '2026-01-02', 'year', [
                        ('2025-01-01', '2026-01-01'),
                        ('2026-01-01', '2027-01-01')]),
                ('2025-06-10', '2025-09-20', 'total', [
                        ('2025-06-10', '2025-09-20')]),
                ('2025-06-10', '2025-06-10', 'month', []),
                ]:
            with self.subTest(start=start, end=end, period=period):
                self.assertEqual(
                    iter_periods(d(start), d(end), period),
                    [(d(s), d(e)) for s, e in expected])

    def test_iter_periods_invalid(self):
        with self.assertRaises(ValueError):
            iter_periods(d('2026-02-01'), d('2026-01-01'), 'month')
        with self.assertRaises(ValueError):
            iter_periods(d('2026-01-01'), d('2026-02-01'), 'week')

    def test_month_pieces(self):
        self.assertEqual(
            month_pieces(d('2025-12-15'), d('2026-02-10')), [
                (d('2025-12-15'), d('2026-01-01'),
                    d('2025-12-01'), d('2026-01-01')),
                (d('2026-01-01'), d('2026-02-01'),
                    d('2026-01-01'), d('2026-02-01')),
                (d('2026-02-01'), d('2026-02-10'),
                    d('2026-02-01'), d('2026-03-01')),
                ])
        self.assertEqual(
            month_pieces(d('2026-01-01'), d('2026-01-01')), [])


class DayShareTestCase(unittest.TestCase):

    def test_day_share(self):
        for start, end, period, expected in [
                # mid-month start
                ('2026-04-19', '2026-05-01', month('2026-04-01'),
                    Fraction(12, 30)),
                # starting on the first day of the month
                ('2026-03-01', '2026-04-01', month('2026-03-01'), 1),
                # only the last day of the month
                ('2026-01-31', '2026-02-01', month('2026-01-01'),
                    Fraction(1, 31)),
                # February, leap and common years
                ('2024-02-15', '2024-03-01', month('2024-02-01'),
                    Fraction(15, 29)),
                ('2025-02-15', '2025-03-01', month('2025-02-01'),
                    Fraction(14, 28)),
                ('2024-02-01', '2024-03-01', month('2024-02-01'), 1),
                # quarter (Q1 2026 = 90 days) and year (2024 = 366 days)
                ('2026-02-15', '2026-04-01',
                    period_bounds(d('2026-01-01'), 'quarter'),
                    Fraction(45, 90)),
                ('2024-07-01', '2025-01-01',
                    period_bounds(d('2024-01-01'), 'year'),
                    Fraction(184, 366)),
                # range wider than the period, disjoint, empty
                ('2026-03-15', '2026-05-15', month('2026-04-01'), 1),
                ('2026-05-01', '2026-06-01', month('2026-04-01'), 0),
                ('2026-04-10', '2026-04-10', month('2026-04-01'), 0),
                ]:
            with self.subTest(start=start, end=end, period=period):
                share = day_share(d(start), d(end), *period)
                self.assertIsInstance(share, Fraction)
                self.assertEqual(share, expected)

    def test_month_count(self):
        for start, end, expected in [
                ('2025-12-01', '2026-03-01', 3),
                ('2026-01-16', '2026-03-01', Fraction(16, 31) + 1),
                ('2024-01-01', '2025-01-01', 12),
                ('2024-02-15', '2024-03-01', Fraction(15, 29)),
                ('2026-01-10', '2026-01-10', 0),
                ]:
            with self.subTest(start=start, end=end):
                self.assertEqual(
                    month_count(d(start), d(end)), expected)


class SplitAtChangesTestCase(unittest.TestCase):

    def test_split_at_changes(self):
        april = month('2026-04-01')
        for name, changes, expected in [
                ('no change', [], [('2026-04-01', '2026-05-01', 4)]),
                ('change on the first day', [('2026-04-01', 8)],
                    [('2026-04-01', '2026-05-01', 8)]),
                ('change on the last day', [('2026-04-30', 8)], [
                        ('2026-04-01', '2026-04-30', 4),
                        ('2026-04-30', '2026-05-01', 8)]),
                ('change mid-month', [('2026-04-19', 8)], [
                        ('2026-04-01', '2026-04-19', 4),
                        ('2026-04-19', '2026-05-01', 8)]),
                ('change on the period end is ignored', [('2026-05-01', 8)],
                    [('2026-04-01', '2026-05-01', 4)]),
                ('change before the period', [('2026-03-10', 6)],
                    [('2026-04-01', '2026-05-01', 6)]),
                ('latest change before the period wins',
                    [('2026-03-20', 2), ('2026-02-10', 6)],
                    [('2026-04-01', '2026-05-01', 2)]),
                ('several unsorted changes, last of a day wins', [
                        ('2026-04-20', 2), ('2026-04-10', 6),
                        ('2026-04-20', 3), ('2026-04-25', 3),
                        ('2026-03-01', 5), ('2026-06-01', 9)], [
                        ('2026-04-01', '2026-04-10', 5),
                        ('2026-04-10', '2026-04-20', 6),
                        ('2026-04-20', '2026-05-01', 3)]),
                ('change to the same quantity is merged',
                    [('2026-04-10', 4)], [('2026-04-01', '2026-05-01', 4)]),
                ('up and back down', [('2026-04-10', 6), ('2026-04-20', 4)], [
                        ('2026-04-01', '2026-04-10', 4),
                        ('2026-04-10', '2026-04-20', 6),
                        ('2026-04-20', '2026-05-01', 4)]),
                ('Decimal quantities equal to int merge',
                    [('2026-04-10', D('4.0'))],
                    [('2026-04-01', '2026-05-01', 4)]),
                ]:
            with self.subTest(name):
                pieces = split_at_changes(
                    *april, 4, [(d(c), q) for c, q in changes])
                self.assertEqual(
                    pieces, [Piece(d(s), d(e), q) for s, e, q in expected])

    def test_split_at_changes_generator_and_frozen(self):
        pieces = split_at_changes(
            d('2026-01-01'), d('2026-04-01'), 1,
            ((d('2026-02-01'), 2) for _ in range(1)))
        self.assertEqual(len(pieces), 2)
        with self.assertRaises(AttributeError):
            pieces[0].quantity = 3

    def test_pieces_amount(self):
        april = month('2026-04-01')
        pieces = split_at_changes(
            *april, 4, [(d('2026-04-19'), 8)])
        # 10 × (4 × 18/30 + 8 × 12/30)
        self.assertEqual(
            pieces_amount(D('10'), pieces, *april, CENT),
            D('56.00'))


class ProratedAmountTestCase(unittest.TestCase):

    def test_prorated_amount(self):
        q1 = period_bounds(d('2026-01-01'), 'quarter')
        y2024 = period_bounds(d('2024-01-01'), 'year')
        for name, price, quantity, start, end, period, expected in [
                ('mid-month start', D('10'), 8, '2026-04-19', '2026-05-01',
                    month('2026-04-01'), D('32.00')),
                ('first day', D('10'), 8, '2026-04-01', '2026-05-01',
                    month('2026-04-01'), D('80.00')),
                ('last day', D('31'), 1, '2026-01-31', '2026-02-01',
                    month('2026-01-01'), D('1.00')),
                ('leap February', D('10'), 1, '2024-02-15', '2024-03-01',
                    month('2024-02-01'), D('5.17')),
                ('leap February exact', D('29'), 1, '2024-02-15',
                    '2024-03-01', month('2024-02-01'), D('15.00')),
                ('common February', D('10'), 1, '2025-02-15', '2025-03-01',
                    month('2025-02-01'), D('5.00')),
                ('quarter', D('90'), 2, '2026-02-15', '2026-04-01', q1,
                    D('90.00')),
                ('year', D('120'), 1, '2024-07-01', '2025-01-01', y2024,
                    D('60.33')),
                ('decimal quantity', D('10'), D('1.5'), '2026-04-16',
                    '2026-05-01', month('2026-04-01'), D('7.50')),
                ('half even down', D('0.05'), 1, '2026-04-16', '2026-05-01',
                    month('2026-04-01'), D('0.02')),
                ('half even up', D('0.15'), 1, '2026-04-16', '2026-05-01',
                    month('2026-04-01'), D('0.08')),
                ('disjoint', D('10'), 8, '2026-05-01', '2026-05-10',
                    month('2026-04-01'), D('0.00')),
                ]:
            with self.subTest(name):
                self.assertEqual(
                    prorated_amount(
                        price, quantity, d(start), d(end), *period, CENT),
                    expected)

    def test_prorated_amount_rejects_float_price(self):
        with self.assertRaises(TypeError):
            prorated_amount(
                10.0, 1, d('2026-04-01'), d('2026-05-01'),
                *month('2026-04-01'), CENT)

    def test_prorated_amount_rounded_once(self):
        # 3 × 1/3 of 0.01: rounding each third would give 0.00
        april = month('2026-04-01')
        pieces = [
            Piece(d('2026-04-01'), d('2026-04-11'), 1),
            Piece(d('2026-04-11'), d('2026-04-21'), 1),
            Piece(d('2026-04-21'), d('2026-05-01'), 1)]
        self.assertEqual(
            pieces_amount(D('0.01'), pieces, *april, CENT),
            D('0.01'))


class PrepaidTestCase(unittest.TestCase):

    def test_prepaid_amount(self):
        for name, price, quantity, start, end, expected in [
                ('full Dec-Feb term', D('10'), 4, '2025-12-01',
                    '2026-03-01', D('120.00')),
                ('from 16 January', D('10'), 1, '2026-01-16', '2026-03-01',
                    D('15.16')),
                ('leap February', D('10'), 1, '2024-02-01', '2024-03-01',
                    D('10.00')),
                ('half leap February', D('10'), 1, '2024-02-15',
                    '2024-03-01', D('5.17')),
                ('half common February', D('10'), 1, '2025-02-15',
                    '2025-03-01', D('5.00')),
                ('year', D('9.99'), 1, '2024-01-01', '2025-01-01',
                    D('119.88')),
                ('mid-month to mid-month', D('31'), 1, '2026-01-16',
                    '2026-02-15', D('31.50')),  # 31 × (16/31 + 14/28)
                ('empty', D('10'), 4, '2026-01-16', '2026-01-16',
                    D('0.00')),
                ]:
            with self.subTest(name):
                self.assertEqual(
                    prepaid_amount(
                        price, quantity, d(start), d(end), CENT),
                    expected)

    def test_prepaid_amount_per_billing_period(self):
        "The unit price is per billing period of the line, prepaid too"
        for name, price, quantity, start, end, period, expected in [
                # a list price of 10 a year for 2 vCPU: 20.00 a year, as
                # the monthly model bills it (it was 240.00)
                ('a year by year', D('10'), 2, '2026-01-01', '2027-01-01',
                    'year', D('20.00')),
                ('a year by month', D('10'), 2, '2026-01-01', '2027-01-01',
                    'month', D('240.00')),
                ('a year by quarter', D('30'), 1, '2026-01-01',
                    '2027-01-01', 'quarter', D('120.00')),
                # 30 × (59/90 + 1) = 49.666...
                ('February to June by quarter', D('30'), 1, '2026-02-01',
                    '2026-07-01', 'quarter', D('49.67')),
                # 365 × 59/365
                ('November-December by year', D('365'), 1, '2026-11-03',
                    '2027-01-01', 'year', D('59.00')),
                ('whole term', D('50'), 2, '2026-02-10', '2026-05-01',
                    'total', D('100.00')),
                ]:
            with self.subTest(name):
                self.assertEqual(
                    prepaid_amount(
                        price, quantity, d(start), d(end), CENT, period),
                    expected)

    def test_prepaid_adjustment_per_billing_period(self):
        for name, change, period, expected in [
                # 2 more vCPU from 11 February: 2 × 120 × (49/90 + 3)
                ('by quarter', '2026-02-11', 'quarter', D('850.67')),
                # 2 × 120 × 324/365 of the year
                ('by year', '2026-02-11', 'year', D('213.04')),
                # 2 × 120 × 324/365 of the whole term
                ('whole term', '2026-02-11', 'total', D('213.04')),
                ]:
            with self.subTest(name):
                self.assertEqual(
                    prepaid_adjustment(
                        D('120'), 4, 6, d(change), d('2027-01-01'), CENT,
                        period, d('2026-01-01')),
                    expected)
        with self.assertRaises(ValueError):
            prepaid_adjustment(D('120'), 4, 6, d('2026-02-11'),
                d('2027-01-01'), CENT, 'total')

    def test_describe_price(self):
        for price, period, expected in [
                (D('10.0000'), 'month', '10.00/month'),
                (D('0.0125'), 'year', '0.0125/year'),
                (D('120'), 'total', '120.00/term'),
                (D('1E+1'), 'quarter', '10.00/quarter'),
                ]:
            with self.subTest(expected=expected):
                self.assertEqual(describe_price(price, period), expected)

    def test_period_count_and_convert_price(self):
        year = d('2026-01-01'), d('2027-01-01')
        for period, expected in [
                ('month', 12), ('quarter', 4), ('year', 1), ('total', 1)]:
            with self.subTest(period=period):
                self.assertEqual(period_count(*year, period), expected)
        self.assertEqual(
            period_count(d('2026-02-01'), d('2026-04-01'), 'quarter'),
            Fraction(59, 90))
        for price, from_, to, expected in [
                (D('10'), 'month', 'year', 120),
                (D('10'), 'month', 'quarter', 30),
                (D('10'), 'quarter', 'month', Fraction(10, 3)),
                (D('120'), 'year', 'month', 10),
                (D('10'), 'total', 'total', 10),
                (D('10'), 'month', 'total', None),
                (D('10'), 'total', 'year', None),
                ]:
            with self.subTest(from_=from_, to=to):
                self.assertEqual(convert_price(price, from_, to), expected)

    def test_prepaid_adjustment(self):
        end = d('2026-03-01')
        # (8 - 4) × 10 × (16/31 + 1) = 1880/31 = 60.645...
        for name, old, new, change, expected in [
                ('increase on 16 January', 4, 8, '2026-01-16', D('60.65')),
                ('decrease on 16 January', 8, 4, '2026-01-16', D('-60.65')),
                ('increase on the first day', 4, 8, '2025-12-01',
                    D('120.00')),
                ('increase on the last day', 4, 8, '2026-02-28', D('1.43')),
                ('on the end', 4, 8, '2026-03-01', D('0.00')),
                ('after the end', 4, 8, '2026-03-10', D('0.00')),
                ('no change', 4, 4, '2026-01-16', D('0.00')),
                ]:
            with self.subTest(name):
                self.assertEqual(
                    prepaid_adjustment(
                        D('10'), old, new, d(change), end, CENT),
                    expected)

    def test_prepaid_adjustment_consistent_with_amount(self):
        start, change, end = d('2025-12-01'), d('2026-01-16'), d('2026-03-01')
        before = prepaid_amount(D('10'), 4, start, end, CENT)
        used = prepaid_amount(D('10'), 4, start, change, CENT)
        after = prepaid_amount(D('10'), 8, change, end, CENT)
        adjustment = prepaid_adjustment(
            D('10'), 4, 8, change, end, CENT)
        # each amount is rounded on its own: within one unit
        self.assertEqual(adjustment, D('60.65'))
        self.assertLessEqual(abs(used + after - before - adjustment), CENT)


class DescribePieceTestCase(unittest.TestCase):

    def test_describe_piece(self):
        april = month('2026-04-01')
        for quantity, unit, start, end, period, expected in [
                (8, 'vCPU', '2026-04-19', '2026-05-01', april,
                    '8 vCPU × 12/30 days (2026-04-19 – 2026-04-30)'),
                (8, 'vCPU', '2026-04-01', '2026-05-01', april,
                    '8 vCPU × full period (2026-04-01 – 2026-04-30)'),
                (D('8.000'), 'vCPU', '2026-03-15', '2026-05-15', april,
                    '8 vCPU × full period (2026-04-01 – 2026-04-30)'),
                (D('2.50'), 'GB', '2026-04-01', '2026-04-11', april,
                    '2.5 GB × 10/30 days (2026-04-01 – 2026-04-10)'),
                (1, 'seat', '2024-02-15', '2024-03-01', month('2024-02-01'),
                    '1 seat × 15/29 days (2024-02-15 – 2024-02-29)'),
                (3, '', '2026-01-31', '2026-02-01', month('2026-01-01'),
                    '3 × 1/31 days (2026-01-31 – 2026-01-31)'),
                (D('1E+1'), 'IP', '2026-04-30', '2026-05-01', april,
                    '10 IP × 1/30 days (2026-04-30 – 2026-04-30)'),
                (8, 'vCPU', '2026-05-01', '2026-05-10', april,
                    '8 vCPU × 0/30 days'),
                ]:
            with self.subTest(expected):
                self.assertEqual(
                    describe_piece(
                        quantity, unit, d(start), d(end), *period),
                    expected)


class DescribeWindowTestCase(unittest.TestCase):

    def test_describe_window(self):
        for start, end, expected in [
                (d('2026-01-01'), d('2026-02-01'),
                    "(2026-01-01 – 2026-01-31)"),
                (d('2026-01-05'), d('2026-01-06'), "(2026-01-05)"),
                (H(2026, 1, 5, 13), H(2026, 1, 5, 14),
                    "(2026-01-05 13:00–14:00 UTC)"),
                (H(2026, 1, 5, 23), H(2026, 1, 6),
                    "(2026-01-05 23:00–24:00 UTC)"),
                ]:
            with self.subTest(expected=expected):
                self.assertEqual(
                    describe_window(start, end), expected)

    def test_describe_periods(self):
        for quantity, start, end, expected in [
                (8, '2025-12-01', '2026-03-01',
                    "8 vCPU × 3 months (2025-12-01 – 2026-02-28)"),
                (D('4'), '2026-01-16', '2026-03-01',
                    "4 vCPU × (16/31 + 1) months (2026-01-16 – 2026-02-28)"),
                (D('-2'), '2026-02-10', '2026-03-01',
                    "-2 vCPU × 19/28 month (2026-02-10 – 2026-02-28)"),
                (1, '2026-01-01', '2026-02-01',
                    "1 vCPU × 1 month (2026-01-01 – 2026-01-31)"),
                (1, '2026-01-20', '2026-04-10', "1 vCPU × "
                    "(12/31 + 2 + 9/30) months (2026-01-20 – 2026-04-09)"),
                ]:
            with self.subTest(expected=expected):
                self.assertEqual(
                    describe_periods(
                        quantity, 'vCPU', d(start), d(end)),
                    expected)
        for quantity, start, end, period, expected in [
                (2, '2026-01-01', '2027-01-01', 'year',
                    "2 vCPU × 1 year (2026-01-01 – 2026-12-31)"),
                (2, '2026-11-03', '2027-01-01', 'year',
                    "2 vCPU × 59/365 year (2026-11-03 – 2026-12-31)"),
                (1, '2026-01-01', '2026-07-01', 'quarter',
                    "1 vCPU × 2 quarters (2026-01-01 – 2026-06-30)"),
                (1, '2026-02-01', '2026-04-01', 'quarter',
                    "1 vCPU × 59/90 quarter (2026-02-01 – 2026-03-31)"),
                (4, '2026-02-10', '2026-05-01', 'total',
                    "4 vCPU × 1 term (2026-02-10 – 2026-04-30)"),
                ]:
            with self.subTest(expected=expected):
                self.assertEqual(
                    describe_periods(
                        quantity, 'vCPU', d(start), d(end), period),
                    expected)


# Properties
# ---------------------------------------------------------------------------

@st.composite
def periods_with_cuts(draw):
    "A calendar period and sorted cut dates strictly inside it."
    period = draw(st.sampled_from(['month', 'quarter', 'year']))
    p_start, p_end = period_bounds(draw(DATES), period)
    days = (p_end - p_start).days
    offsets = draw(st.sets(
            st.integers(min_value=1, max_value=days - 1), max_size=12))
    cuts = [p_start + dt.timedelta(days=o) for o in sorted(offsets)]
    return p_start, p_end, cuts


class PeriodPropertyTestCase(unittest.TestCase):

    @PROPERTY_SETTINGS
    @given(periods_with_cuts(), PRICES, QUANTITIES, ROUNDINGS)
    def test_pieces_of_a_period(self, period_cuts, price, quantity, rounding):
        p_start, p_end, cuts = period_cuts
        bounds = [p_start] + cuts + [p_end]
        ranges = list(zip(bounds[:-1], bounds[1:]))
        shares = [day_share(s, e, p_start, p_end)
            for s, e in ranges]
        self.assertEqual(sum(shares), 1)

        full = prorated_amount(
            price, quantity, p_start, p_end, p_start, p_end, rounding)
        self.assertEqual(
            full, round_money(price * D(quantity), rounding))
        # Rounded once over all the pieces: equal to the full amount
        pieces = [Piece(s, e, quantity) for s, e in ranges]
        self.assertEqual(
            pieces_amount(price, pieces, p_start, p_end, rounding),
            full)
        # Each piece rounded on its own: each rounding may lose half a unit
        parts = [prorated_amount(
                price, quantity, s, e, p_start, p_end, rounding)
            for s, e in ranges]
        tolerance = rounding * ((len(ranges) + 1) // 2)
        self.assertLessEqual(abs(sum(parts) - full), tolerance)
        if len(ranges) <= 2:
            self.assertLessEqual(abs(sum(parts) - full), rounding)

    @PROPERTY_SETTINGS
    @given(
        DATES,
        st.lists(st.integers(min_value=0, max_value=200), min_size=1,
            max_size=6),
        PRICES, QUANTITIES, ROUNDINGS)
    def test_prepaid_sub_ranges(
            self, start, lengths, price, quantity, rounding):
        bounds = [start]
        for length in lengths:
            bounds.append(bounds[-1] + dt.timedelta(days=length))
        end = bounds[-1]
        ranges = list(zip(bounds[:-1], bounds[1:]))
        self.assertEqual(
            sum(month_count(s, e) for s, e in ranges),
            month_count(start, end))
        whole = prepaid_amount(price, quantity, start, end, rounding)
        parts = [prepaid_amount(price, quantity, s, e, rounding)
            for s, e in ranges]
        self.assertLessEqual(abs(sum(parts) - whole), rounding * len(ranges))

    @PROPERTY_SETTINGS
    @given(
        periods_with_cuts(),
        st.integers(min_value=0, max_value=5),
        st.lists(
            st.tuples(
                st.integers(min_value=-40, max_value=400),
                st.integers(min_value=0, max_value=5)),
            max_size=10))
    def test_split_at_changes_matches_day_by_day(
            self, period_cuts, initial, raw_changes):
        p_start, p_end, _ = period_cuts
        changes = [(p_start + dt.timedelta(days=o), q)
            for o, q in raw_changes]
        pieces = split_at_changes(p_start, p_end, initial, changes)
        # contiguous cover of the period, no equal neighbours
        self.assertEqual(pieces[0].start, p_start)
        self.assertEqual(pieces[-1].end, p_end)
        for left, right in zip(pieces, pieces[1:]):
            self.assertEqual(left.end, right.start)
            self.assertNotEqual(left.quantity, right.quantity)
        for piece in pieces:
            self.assertLess(piece.start, piece.end)
        # quantity of a day: the last change given on or before that day
        # (checked on the days around each change, where it can differ)
        ordered = sorted(changes, key=lambda c: c[0])

        def quantity_on(day):
            quantity = initial
            for date, new in ordered:
                if date <= day:
                    quantity = new
            return quantity
        checked = {p_start, p_end - dt.timedelta(days=1)}
        for date, _ in changes:
            checked.update({date - dt.timedelta(days=1), date})
        for day in sorted(checked):
            if not p_start <= day < p_end:
                continue
            piece, = [p for p in pieces if p.start <= day < p.end]
            self.assertEqual(piece.quantity, quantity_on(day), day)


if __name__ == '__main__':
    unittest.main()
