# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"Tables of the input rules of bounds.py (what an RPC client may send)"
import datetime
import math
import unittest
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from subscription_core import bounds


class CheckValueTestCase(unittest.TestCase):
    def test_table(self):
        for kind, value, code in [
                ('float', 1.5, None),
                ('float', float('nan'), 'not_finite'),
                ('float', float('inf'), 'not_finite'),
                ('float', -float('inf'), 'not_finite'),
                ('float', 1e30, 'range'),
                ('float', [1], 'type'),
                ('float', '1', 'type'),
                ('float', True, 'type'),
                ('numeric', Decimal('NaN'), 'not_finite'),
                ('numeric', Decimal('sNaN'), 'not_finite'),
                ('numeric', Decimal('Infinity'), 'not_finite'),
                ('numeric', Decimal('1E+999999'), 'range'),
                ('numeric', Decimal('-12.50'), None),
                # More decimal places than a database column holds
                # (PostgreSQL's numeric: 16383), however small or zero
                ('numeric', Decimal('1E-999999'), 'range'),
                ('numeric', Decimal('0E-999999'), 'range'),
                ('numeric', Decimal('1E-1000'), None),
                ('numeric', Decimal('1E-1001'), 'range'),
                ('integer', 2 ** 31, 'range'),
                ('integer', 1.0, 'type'),
                ('integer', 7, None),
                ('date', datetime.date.max, 'range'),
                ('date', datetime.date(2026, 3, 1), None),
                ('date', datetime.datetime(2026, 3, 1), 'type'),
                ('timestamp', [], 'type'),
                ('timedelta', datetime.timedelta.max, 'range'),
                ('timedelta', 3600, 'type'),
                ('char', 'x' * 1001, 'too_long'),
                ('char', 'a\x00b', 'text'),
                ('char', '\ud800', 'text'),
                ('text', 'é' * 100_000, None),
                ('text', 'x' * 10_000_000, 'too_long'),
                ('many2one', -1, 'range'),
                ('many2one', 0, 'range'),
                ('many2one', '1', 'type'),
                ('reference', '', 'type'),
                ('reference', 'account.invoice,-1', None),
                ('reference', 'account.invoice,12', None),
                ('reference', 'account.invoice,x', 'type'),
                ('boolean', 1, 'type'),
                ('selection', 'posted', None),
                ('selection', '\x00', 'text'),
                ('selection', 'a\x00b', 'text'),
                ('selection', '\ud800', 'text'),
                ('selection', 1, 'type'),
                ('char', None, None),
                ]:
            with self.subTest(kind=kind, value=value):
                self.assertEqual(bounds.check_value(kind, value), code)

    def test_size(self):
        self.assertEqual(bounds.check_value('char', 'abc', size=2),
            'too_long')

    @given(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
            st.decimals(allow_nan=True, allow_infinity=True)))
    def test_accepted_numbers_are_finite(self, value):
        if bounds.check_value('numeric', value) is None:
            self.assertTrue(math.isfinite(value))
            self.assertLessEqual(abs(value), bounds.NUMBER_MAX)


class CheckBoundTestCase(unittest.TestCase):
    def test_table(self):
        for value, bound, code in [
                (1, bounds.QUANTITY, None),
                (-1, bounds.QUANTITY, 'below'),
                (10 ** 10, bounds.QUANTITY, 'above'),
                (float('nan'), bounds.QUANTITY, 'not_finite'),
                (Decimal('-0.01'), bounds.PRICE, 'below'),
                (3651, bounds.DAYS, 'above'),
                (datetime.timedelta(days=-1), bounds.DURATION, 'below'),
                (None, bounds.DAYS, None),
                ]:
            with self.subTest(value=value, bound=bound):
                self.assertEqual(bounds.check_bound(value, bound), code)

    def test_order(self):
        day = datetime.date(2026, 3, 1)
        self.assertTrue(bounds.check_order(day, day))
        self.assertTrue(bounds.check_order(None, day))
        self.assertFalse(
            bounds.check_order(day, day - datetime.timedelta(days=1)))
