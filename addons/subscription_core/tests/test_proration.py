# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the billing arithmetic (subscription_core.proration).

Pure Python: runs with pytest or plain unittest, no database needed.
"""
import datetime as dt
import unittest
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings, strategies as st

try:
    from subscription_core import proration
except ImportError:
    import importlib.util
    import pathlib
    import sys
    _path = pathlib.Path(__file__).resolve().parent.parent / 'proration.py'
    _spec = importlib.util.spec_from_file_location(
        'subscription_core_proration', _path)
    proration = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = proration
    _spec.loader.exec_module(proration)

Piece = proration.Piece
Tier = proration.Tier

D = Decimal
CENT = D('0.01')


def d(text):
    "Date from ISO text."
    return dt.date.fromisoformat(text)


def month(text):
    "Bounds of the month of the ISO date text."
    return proration.period_bounds(d(text), 'month')


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None)


class RoundMoneyTestCase(unittest.TestCase):

    def test_round_money(self):
        for value, rounding, expected in [
                (Fraction(1, 3), CENT, D('0.33')),
                (Fraction(2, 3), CENT, D('0.67')),
                (D('0.125'), CENT, D('0.12')),  # half even
                (D('0.135'), CENT, D('0.14')),  # half even
                (D('-0.125'), CENT, D('-0.12')),
                (D('-0.001'), CENT, D('0.00')),
                (D('2.5'), D('1'), D('2')),
                (D('3.5'), D('1'), D('4')),
                (Fraction(1, 8), D('0.05'), D('0.10')),  # 2.5 units -> 2
                (D('0.1'), CENT, D('0.10')),
                (7, CENT, D('7.00')),
                (Fraction(1, 3), D('0.001'), D('0.333')),
                ]:
            with self.subTest(value=value, rounding=rounding):
                result = proration.round_money(value, rounding)
                self.assertEqual(result, expected)
                self.assertEqual(str(result), str(expected))
                self.assertIsInstance(result, Decimal)

    def test_round_money_rejects_float(self):
        with self.assertRaises(TypeError):
            proration.round_money(0.1, CENT)

    def test_round_money_invalid_rounding(self):
        for rounding in [D(0), D('-0.01'), D('NaN')]:
            with self.subTest(rounding=rounding):
                with self.assertRaises(ValueError):
                    proration.round_money(D(1), rounding)


class PeriodTestCase(unittest.TestCase):

    def test_periods_constant(self):
        self.assertEqual(
            proration.PERIODS, ('month', 'quarter', 'year', 'total'))

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
                    proration.period_bounds(d(date), period),
                    tuple(map(d, expected)))

    def test_period_bounds_invalid(self):
        for period in ['total', 'week', None]:
            with self.subTest(period=period):
                with self.assertRaises(ValueError):
                    proration.period_bounds(d('2026-01-01'), period)

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
                    proration.iter_periods(d(start), d(end), period),
                    [(d(s), d(e)) for s, e in expected])

    def test_iter_periods_invalid(self):
        with self.assertRaises(ValueError):
            proration.iter_periods(d('2026-02-01'), d('2026-01-01'), 'month')
        with self.assertRaises(ValueError):
            proration.iter_periods(d('2026-01-01'), d('2026-02-01'), 'week')

    def test_month_pieces(self):
        self.assertEqual(
            proration.month_pieces(d('2025-12-15'), d('2026-02-10')), [
                (d('2025-12-15'), d('2026-01-01'),
                    d('2025-12-01'), d('2026-01-01')),
                (d('2026-01-01'), d('2026-02-01'),
                    d('2026-01-01'), d('2026-02-01')),
                (d('2026-02-01'), d('2026-02-10'),
                    d('2026-02-01'), d('2026-03-01')),
                ])
        self.assertEqual(
            proration.month_pieces(d('2026-01-01'), d('2026-01-01')), [])


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
                    proration.period_bounds(d('2026-01-01'), 'quarter'),
                    Fraction(45, 90)),
                ('2024-07-01', '2025-01-01',
                    proration.period_bounds(d('2024-01-01'), 'year'),
                    Fraction(184, 366)),
                # range wider than the period, disjoint, empty
                ('2026-03-15', '2026-05-15', month('2026-04-01'), 1),
                ('2026-05-01', '2026-06-01', month('2026-04-01'), 0),
                ('2026-04-10', '2026-04-10', month('2026-04-01'), 0),
                ]:
            with self.subTest(start=start, end=end, period=period):
                share = proration.day_share(d(start), d(end), *period)
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
                    proration.month_count(d(start), d(end)), expected)


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
                pieces = proration.split_at_changes(
                    *april, 4, [(d(c), q) for c, q in changes])
                self.assertEqual(
                    pieces, [Piece(d(s), d(e), q) for s, e, q in expected])

    def test_split_at_changes_generator_and_frozen(self):
        pieces = proration.split_at_changes(
            d('2026-01-01'), d('2026-04-01'), 1,
            ((d('2026-02-01'), 2) for _ in range(1)))
        self.assertEqual(len(pieces), 2)
        with self.assertRaises(AttributeError):
            pieces[0].quantity = 3

    def test_pieces_amount(self):
        april = month('2026-04-01')
        pieces = proration.split_at_changes(
            *april, 4, [(d('2026-04-19'), 8)])
        # 10 × (4 × 18/30 + 8 × 12/30)
        self.assertEqual(
            proration.pieces_amount(D('10'), pieces, *april, CENT),
            D('56.00'))


class ProratedAmountTestCase(unittest.TestCase):

    def test_prorated_amount(self):
        q1 = proration.period_bounds(d('2026-01-01'), 'quarter')
        y2024 = proration.period_bounds(d('2024-01-01'), 'year')
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
                    proration.prorated_amount(
                        price, quantity, d(start), d(end), *period, CENT),
                    expected)

    def test_prorated_amount_rejects_float_price(self):
        with self.assertRaises(TypeError):
            proration.prorated_amount(
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
            proration.pieces_amount(D('0.01'), pieces, *april, CENT),
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
                    proration.prepaid_amount(
                        price, quantity, d(start), d(end), CENT),
                    expected)

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
                    proration.prepaid_adjustment(
                        D('10'), old, new, d(change), end, CENT),
                    expected)

    def test_prepaid_adjustment_consistent_with_amount(self):
        start, change, end = d('2025-12-01'), d('2026-01-16'), d('2026-03-01')
        before = proration.prepaid_amount(D('10'), 4, start, end, CENT)
        used = proration.prepaid_amount(D('10'), 4, start, change, CENT)
        after = proration.prepaid_amount(D('10'), 8, change, end, CENT)
        adjustment = proration.prepaid_adjustment(
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
                    proration.describe_piece(
                        quantity, unit, d(start), d(end), *period),
                    expected)


TIERS = [
    Tier(D('10'), D('1.00')),
    Tier(D('50'), D('0.80')),
    Tier(None, D('0.50')),
    ]


class TieredAmountTestCase(unittest.TestCase):

    def test_graduated(self):
        for quantity, already_used, expected in [
                (0, 0, D('0.00')),
                (5, 0, D('5.00')),
                (10, 0, D('10.00')),
                (30, 0, D('26.00')),  # 10 × 1 + 20 × 0.8
                (60, 0, D('47.00')),  # 10 + 40 × 0.8 + 10 × 0.5
                (D('2.5'), 0, D('2.50')),
                (5, 8, D('4.40')),  # 2 × 1 + 3 × 0.8
                (50, 8, D('38.00')),  # 2 × 1 + 40 × 0.8 + 8 × 0.5
                (5, 10, D('4.00')),  # starts exactly on a bound
                (10, 100, D('5.00')),
                ]:
            with self.subTest(quantity=quantity, already_used=already_used):
                self.assertEqual(
                    proration.tiered_amount(
                        quantity, TIERS, 'graduated', already_used,
                        rounding=CENT),
                    expected)

    def test_volume(self):
        for quantity, already_used, expected in [
                (0, 0, D('0.00')),
                (5, 0, D('5.00')),
                (10, 0, D('10.00')),  # bounds are inclusive
                (11, 0, D('8.80')),
                (30, 0, D('24.00')),
                (60, 0, D('30.00')),
                (2, 8, D('2.00')),  # total 10: first tier
                (5, 8, D('4.00')),  # total 13: second tier
                (5, 48, D('2.50')),  # total 53: last tier
                ]:
            with self.subTest(quantity=quantity, already_used=already_used):
                self.assertEqual(
                    proration.tiered_amount(
                        quantity, TIERS, mode='volume',
                        already_used=already_used, rounding=CENT),
                    expected)

    def test_single_open_tier_and_rounding(self):
        tiers = [Tier(None, D('0.333'))]
        for mode in proration.TIER_MODES:
            with self.subTest(mode=mode):
                self.assertEqual(
                    proration.tiered_amount(3, tiers, mode, rounding=CENT),
                    D('1.00'))
                self.assertEqual(
                    proration.tiered_amount(
                        3, tiers, mode, rounding=D('0.001')),
                    D('0.999'))

    def test_tuples_accepted(self):
        self.assertEqual(
            proration.tiered_amount(
                30, [(10, D('1')), (None, D('0.5'))], rounding=CENT),
            D('20.00'))

    def test_invalid_tiers(self):
        for name, tiers in [
                ('empty', []),
                ('last not open', [Tier(D('10'), D('1'))]),
                ('open not last', [Tier(None, D('1')), Tier(D('10'), D('1'))]),
                ('two open', [Tier(None, D('1')), Tier(None, D('2'))]),
                ('descending', [
                        Tier(D('50'), D('1')), Tier(D('10'), D('1')),
                        Tier(None, D('1'))]),
                ('equal', [
                        Tier(D('10'), D('1')), Tier(D('10'), D('2')),
                        Tier(None, D('1'))]),
                ('zero bound', [Tier(D('0'), D('1')), Tier(None, D('1'))]),
                ('negative bound',
                    [Tier(D('-5'), D('1')), Tier(None, D('1'))]),
                ]:
            with self.subTest(name):
                with self.assertRaises(ValueError):
                    proration.validate_tiers(tiers)
                for mode in proration.TIER_MODES:
                    with self.assertRaises(ValueError):
                        proration.tiered_amount(
                            1, tiers, mode, rounding=CENT)

    def test_invalid_arguments(self):
        with self.assertRaises(ValueError):
            proration.tiered_amount(1, TIERS, 'stairstep', rounding=CENT)
        with self.assertRaises(ValueError):
            proration.tiered_amount(-1, TIERS, rounding=CENT)
        with self.assertRaises(ValueError):
            proration.tiered_amount(1, TIERS, already_used=-1, rounding=CENT)


class SplitAmountTestCase(unittest.TestCase):

    def test_split_amount(self):
        for total, weights, rounding, expected in [
                ('100.00', [1, 1, 1], CENT, ['33.34', '33.33', '33.33']),
                ('10.00', [1, 2], CENT, ['3.33', '6.67']),
                ('-100.00', [1, 1, 1], CENT, ['-33.34', '-33.33', '-33.33']),
                ('0.05', [1] * 7, CENT,
                    ['0.01'] * 5 + ['0.00'] * 2),
                ('1.00', [0, 1], CENT, ['0.00', '1.00']),
                ('0.00', [1, 2], CENT, ['0.00', '0.00']),
                ('1.00', [D('0.5'), D('0.25'), D('0.25')], CENT,
                    ['0.50', '0.25', '0.25']),
                ('1.00', [1, 1, 1], D('0.05'), ['0.35', '0.35', '0.30']),
                ('10', [Fraction(1, 3), Fraction(2, 3)], D('1'), ['3', '7']),
                ('7.00', [5], CENT, ['7.00']),
                ]:
            with self.subTest(total=total, weights=weights):
                parts = proration.split_amount(D(total), weights, rounding)
                self.assertEqual([str(p) for p in parts], expected)
                self.assertEqual(sum(parts), D(total))

    def test_split_amount_invalid(self):
        for total, weights in [
                ('10.00', []),
                ('10.00', [0, 0]),
                ('10.00', [1, -1, 2]),
                ('10.005', [1, 1]),
                ]:
            with self.subTest(total=total, weights=weights):
                with self.assertRaises(ValueError):
                    proration.split_amount(D(total), weights, CENT)


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
                    proration.hourly_periods(start, end, frequency),
                    expected)

    def test_hourly_periods_invalid(self):
        start = dt.datetime(2026, 1, 1, 10)
        with self.assertRaises(ValueError):
            proration.hourly_periods(start, start, 'weekly')
        with self.assertRaises(ValueError):
            proration.hourly_periods(
                start, start - dt.timedelta(hours=1), 'hourly')


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

DATES = st.dates(
    min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))
ROUNDINGS = st.sampled_from([D('0.01'), D('0.05'), D('1'), D('0.001')])
PRICES = st.decimals(
    min_value=0, max_value=10000, places=4, allow_nan=False,
    allow_infinity=False)
QUANTITIES = st.one_of(
    st.integers(min_value=0, max_value=1000),
    st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False,
        allow_infinity=False))


@st.composite
def periods_with_cuts(draw):
    "A calendar period and sorted cut dates strictly inside it."
    period = draw(st.sampled_from(['month', 'quarter', 'year']))
    p_start, p_end = proration.period_bounds(draw(DATES), period)
    days = (p_end - p_start).days
    offsets = draw(st.sets(
            st.integers(min_value=1, max_value=days - 1), max_size=12))
    cuts = [p_start + dt.timedelta(days=o) for o in sorted(offsets)]
    return p_start, p_end, cuts


@st.composite
def tier_lists(draw):
    bounds = sorted(draw(st.sets(
                st.decimals(min_value=D('0.5'), max_value=1000, places=1,
                    allow_nan=False, allow_infinity=False),
                max_size=4)))
    prices = draw(st.lists(
            PRICES, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    return [Tier(b, p) for b, p in zip(bounds + [None], prices)]


class PropertyTestCase(unittest.TestCase):

    @PROPERTY_SETTINGS
    @given(periods_with_cuts(), PRICES, QUANTITIES, ROUNDINGS)
    def test_pieces_of_a_period(self, period_cuts, price, quantity, rounding):
        p_start, p_end, cuts = period_cuts
        bounds = [p_start] + cuts + [p_end]
        ranges = list(zip(bounds[:-1], bounds[1:]))
        shares = [proration.day_share(s, e, p_start, p_end)
            for s, e in ranges]
        self.assertEqual(sum(shares), 1)

        full = proration.prorated_amount(
            price, quantity, p_start, p_end, p_start, p_end, rounding)
        self.assertEqual(
            full, proration.round_money(price * D(quantity), rounding))
        # Rounded once over all the pieces: equal to the full amount
        pieces = [Piece(s, e, quantity) for s, e in ranges]
        self.assertEqual(
            proration.pieces_amount(price, pieces, p_start, p_end, rounding),
            full)
        # Each piece rounded on its own: each rounding may lose half a unit
        parts = [proration.prorated_amount(
                price, quantity, s, e, p_start, p_end, rounding)
            for s, e in ranges]
        tolerance = rounding * ((len(ranges) + 1) // 2)
        self.assertLessEqual(abs(sum(parts) - full), tolerance)
        if len(ranges) <= 2:
            self.assertLessEqual(abs(sum(parts) - full), rounding)

    @PROPERTY_SETTINGS
    @given(
        st.integers(min_value=-10 ** 7, max_value=10 ** 7),
        st.lists(
            st.one_of(
                st.integers(min_value=0, max_value=1000),
                st.decimals(min_value=0, max_value=1000, places=2,
                    allow_nan=False, allow_infinity=False)),
            min_size=1, max_size=12),
        ROUNDINGS)
    def test_split_amount(self, units, weights, rounding):
        if not sum(weights):
            weights = weights + [1]
        total = units * rounding
        parts = proration.split_amount(total, weights, rounding)
        self.assertEqual(len(parts), len(weights))
        self.assertEqual(sum(parts), total)
        weight_sum = sum(Fraction(w) for w in weights)
        for part, weight in zip(parts, weights):
            exact = Fraction(total) * Fraction(weight) / weight_sum
            self.assertLess(abs(Fraction(part) - exact), Fraction(rounding))
            self.assertEqual(part % rounding, 0)
            if not weight:
                self.assertEqual(part, 0)

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
            sum(proration.month_count(s, e) for s, e in ranges),
            proration.month_count(start, end))
        whole = proration.prepaid_amount(price, quantity, start, end, rounding)
        parts = [proration.prepaid_amount(price, quantity, s, e, rounding)
            for s, e in ranges]
        self.assertLessEqual(abs(sum(parts) - whole), rounding * len(ranges))

    @PROPERTY_SETTINGS
    @given(tier_lists(), QUANTITIES, QUANTITIES, ROUNDINGS)
    def test_graduated_is_additive(self, tiers, a, b, rounding):
        def amount(quantity, already_used=0):
            return proration.tiered_amount(
                quantity, tiers, 'graduated', already_used, rounding=rounding)
        both = amount(D(a) + D(b))
        self.assertLessEqual(
            abs(amount(a) + amount(b, already_used=a) - both), rounding)
        # with a fine enough rounding the split is exact
        fine = D('1E-10')
        self.assertEqual(
            proration.tiered_amount(a, tiers, rounding=fine)
            + proration.tiered_amount(b, tiers, already_used=a, rounding=fine),
            proration.tiered_amount(D(a) + D(b), tiers, rounding=fine))

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
        pieces = proration.split_at_changes(p_start, p_end, initial, changes)
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

    @PROPERTY_SETTINGS
    @given(
        st.datetimes(
            min_value=dt.datetime(2020, 1, 1),
            max_value=dt.datetime(2030, 1, 1)),
        st.timedeltas(
            min_value=dt.timedelta(0), max_value=dt.timedelta(days=3)),
        st.sampled_from(proration.FREQUENCIES))
    def test_hourly_periods_cover(self, start, length, frequency):
        end = start + length
        step = dt.timedelta(hours=1 if frequency == 'hourly' else 24)
        windows = proration.hourly_periods(start, end, frequency)
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
