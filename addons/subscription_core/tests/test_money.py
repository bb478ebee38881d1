# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the money numbers (subscription_core.money).

Pure Python: runs with pytest or plain unittest, no database needed.
"""
import pathlib
import sys
import unittest
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, strategies as st

try:
    import subscription_core  # noqa: F401
except ImportError:
    # Not installed: import the plain-Python files from their folder
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))
from subscription_core.money import round_money, split_amount
from subscription_core.tests.arithmetic import (
    CENT, D, PROPERTY_SETTINGS, ROUNDINGS)


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
                result = round_money(value, rounding)
                self.assertEqual(result, expected)
                self.assertEqual(str(result), str(expected))
                self.assertIsInstance(result, Decimal)

    def test_round_money_rejects_float(self):
        with self.assertRaises(TypeError):
            round_money(0.1, CENT)

    def test_round_money_invalid_rounding(self):
        for rounding in [D(0), D('-0.01'), D('NaN')]:
            with self.subTest(rounding=rounding):
                with self.assertRaises(ValueError):
                    round_money(D(1), rounding)


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
                parts = split_amount(D(total), weights, rounding)
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
                    split_amount(D(total), weights, CENT)


class MoneyPropertyTestCase(unittest.TestCase):

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
        parts = split_amount(total, weights, rounding)
        self.assertEqual(len(parts), len(weights))
        self.assertEqual(sum(parts), total)
        weight_sum = sum(Fraction(w) for w in weights)
        for part, weight in zip(parts, weights):
            exact = Fraction(total) * Fraction(weight) / weight_sum
            self.assertLess(abs(Fraction(part) - exact), Fraction(rounding))
            self.assertEqual(part % rounding, 0)
            if not weight:
                self.assertEqual(part, 0)


if __name__ == '__main__':
    unittest.main()
