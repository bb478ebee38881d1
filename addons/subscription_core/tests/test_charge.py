# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of what is due on a subscription line (subscription_core.charge).

Pure Python: runs with pytest or plain unittest, no database needed.
"""
import datetime as dt
import pathlib
import sys
import unittest

from hypothesis import given, strategies as st

try:
    import subscription_core  # noqa: F401
except ImportError:
    # Not installed: import the plain-Python files from their folder
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))
from subscription_core.period import period_bounds, PERIODS
from subscription_core.charge import (
    adjusts_prepaid_term, due_charges, next_due_date)
from subscription_core.tests.arithmetic import (
    CENT, D, DATES, PROPERTY_SETTINGS, d)


class NextDueDateTestCase(unittest.TestCase):

    def test_next_due_date(self):
        lead = dt.timedelta(days=7)
        for args, expected in [
                (('monthly', 'limit', 'month', '2026-01-10', None, None),
                    '2026-02-01'),
                (('monthly', 'limit', 'month', '2026-01-10', None,
                        '2026-02-01'), '2026-03-01'),
                (('monthly', 'fixed', 'quarter', '2026-02-10', None, None),
                    '2026-04-01'),
                (('monthly', 'fixed', 'year', '2026-02-10', None,
                        '2027-01-01'), '2028-01-01'),
                (('monthly', 'one_time', 'total', '2026-02-10', None, None),
                    '2026-02-10'),
                (('monthly', 'one_time', 'total', '2026-02-10', None,
                        '2026-02-11'), None),
                (('prepaid', 'limit', 'month', '2025-12-01', '2026-03-01',
                        None), '2025-12-01'),
                (('prepaid', 'limit', 'month', '2025-12-01', '2026-03-01',
                        '2026-03-01'), None),
                (('monthly', 'usage', 'month', '2026-01-01', None, None),
                    None),
                (('monthly', 'limit', 'month', '2026-01-01', '2026-01-20',
                        '2026-01-20'), None),
                ]:
            with self.subTest(args=args):
                model, type_, period, start, end, billed = args
                self.assertEqual(
                    next_due_date(
                        model, type_, period, d(start),
                        d(end) if end else None,
                        d(billed) if billed else None),
                    d(expected) if expected else None)
        self.assertEqual(
            next_due_date('prepaid', 'limit', 'month',
                d('2025-12-01'), d('2026-03-01'), None, lead),
            d('2025-11-24'))

    def test_due_charges_before_start(self):
        "A running line that starts later owes nothing yet"
        self.assertEqual(
            due_charges('monthly', 'limit', 'month',
                d('2026-03-01'), None, None, D(1), [], D(10),
                d('2026-02-01'), CENT),
            ([], None))


class PrepaidAdjustmentTestCase(unittest.TestCase):

    def test_adjusts_prepaid_term(self):
        "A change on the first day of an invoiced term is billed too"
        start, billed = '2026-01-01', '2026-04-01'
        for date, billed_until, after_invoice, expected in [
                ('2026-01-01', billed, True, True),
                ('2026-01-01', billed, False, False),  # priced in the term
                ('2026-01-02', billed, False, True),
                ('2026-01-02', billed, True, True),
                ('2026-03-31', billed, False, True),
                ('2026-04-01', billed, True, False),  # after the term
                ('2026-01-01', None, True, False),  # term not invoiced
                ('2026-01-15', None, False, False),
                ]:
            with self.subTest(date=date, billed_until=billed_until,
                    after_invoice=after_invoice):
                self.assertEqual(
                    adjusts_prepaid_term(d(date), d(start),
                        d(billed_until) if billed_until else None,
                        after_invoice),
                    expected)


# Properties
# ---------------------------------------------------------------------------

class ChargePropertyTestCase(unittest.TestCase):

    @PROPERTY_SETTINGS
    @given(
        st.sampled_from(['monthly', 'prepaid']),
        st.sampled_from(['fixed', 'limit', 'one_time']),
        st.sampled_from(PERIODS),
        DATES, st.one_of(st.none(), st.integers(min_value=1, max_value=800)),
        st.integers(min_value=0, max_value=400))
    def test_next_due_date_is_first_charge(
            self, model, type_, period, start, length, billed_after):
        "due_charges owes nothing the day before next_due_date, and a "
        "charge on it"
        end = start + dt.timedelta(days=length) if length else None
        if model == 'prepaid' and end is None:
            end = start + dt.timedelta(days=90)
        billed_until = None
        if billed_after and type_ != 'one_time' and model == 'monthly' \
                and period != 'total':
            # a real watermark: the end of a billed period
            billed_until = period_bounds(
                start + dt.timedelta(days=billed_after), period)[0]
            if billed_until <= start:
                billed_until = None
        due = next_due_date(
            model, type_, period, start, end, billed_until)

        def charges(date):
            return due_charges(
                model, type_, period, start, end, billed_until, D(2), [],
                D('10'), date, CENT)[0]
        if due is None:
            self.assertTrue(end is not None and billed_until is not None)
            self.assertEqual(charges(end + dt.timedelta(days=400)), [])
            return
        self.assertTrue(charges(due))
        self.assertEqual(charges(due - dt.timedelta(days=1)), [])


if __name__ == '__main__':
    unittest.main()
