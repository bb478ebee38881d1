# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Table-driven tests of the billing action and dunning ladder rules."""
import datetime
import unittest

from subscription_core import action_type, ladder

D = datetime.date
TD = datetime.timedelta


class HoldTestCase(unittest.TestCase):

    def test_hold_applies(self):
        for date, holds, expected in [
                (D(2026, 3, 1), (), False),
                (D(2026, 3, 1), (None, None), False),
                (D(2026, 3, 1), (D(2026, 3, 10),), True),
                # The hold's date is the last day it applies.
                (D(2026, 3, 10), (D(2026, 3, 10),), True),
                (D(2026, 3, 11), (D(2026, 3, 10),), False),
                # Customer and subscription holds: the later one counts.
                (D(2026, 3, 11), (D(2026, 3, 10), D(2026, 3, 20)), True),
                (D(2026, 3, 11), (None, D(2026, 3, 10)), False),
                (D(2026, 3, 21), (D(2026, 3, 10), D(2026, 3, 20)), False),
                ]:
            with self.subTest(date=date, holds=holds):
                self.assertEqual(ladder.hold_applies(date, *holds), expected)


class PlannedDateTestCase(unittest.TestCase):

    def test_action_planned_date(self):
        for reached, delay, expected in [
                (D(2026, 3, 1), None, D(2026, 3, 1)),
                (D(2026, 3, 1), TD(0), D(2026, 3, 1)),
                (D(2026, 3, 1), TD(days=2), D(2026, 3, 3)),
                # Whole days only: hours of a delay are dropped.
                (D(2026, 3, 1), TD(days=2, hours=12), D(2026, 3, 3)),
                (D(2026, 2, 27), TD(days=2), D(2026, 3, 1)),
                (D(2028, 2, 28), TD(days=1), D(2028, 2, 29)),
                (D(2026, 12, 31), TD(days=1), D(2027, 1, 1)),
                # Never before the level is reached.
                (D(2026, 3, 1), TD(days=-3), D(2026, 3, 1)),
                ]:
            with self.subTest(reached=reached, delay=delay):
                self.assertEqual(
                    ladder.action_planned_date(reached, delay), expected)


class AttemptTestCase(unittest.TestCase):

    def test_state_after_attempt(self):
        for outcome, attempts, max_attempts, expected in [
                ('done', 1, 5, 'done'),
                ('done', 5, 5, 'done'),
                ('failed', 1, 5, 'failed'),
                ('retry', 1, 5, 'planned'),
                ('retry', 4, 5, 'planned'),
                ('retry', 5, 5, 'failed'),
                ('retry', 6, 5, 'failed'),
                ('retry', 1, 1, 'failed'),
                ]:
            with self.subTest(
                    outcome=outcome, attempts=attempts, max=max_attempts):
                self.assertEqual(
                    ladder.state_after_attempt(
                        outcome, attempts, max_attempts),
                    expected)

    def test_state_after_unknown_outcome(self):
        with self.assertRaises(ValueError):
            ladder.state_after_attempt('maybe', 1, 5)


class DuplicateTestCase(unittest.TestCase):

    def test_duplicate_of(self):
        day, later = D(2026, 3, 1), D(2026, 4, 1)
        for existing, date, with_debt, expected in [
                ([], day, True, None),
                ([], day, False, None),
                # With a debt every step happens once.
                ([(1, 'planned', day)], later, True, 1),
                ([(1, 'running', day)], later, True, 1),
                ([(1, 'done', day)], later, True, 1),
                ([(1, 'cancelled', day)], later, True, None),
                ([(1, 'failed', day)], later, True, None),
                ([(1, 'cancelled', day), (2, 'planned', day)], day, True, 2),
                # Without a debt a done step may come back another day.
                ([(1, 'planned', day)], later, False, 1),
                ([(1, 'running', day)], later, False, 1),
                ([(1, 'done', day)], later, False, None),
                ([(1, 'done', day)], day, False, 1),
                ([(1, 'done', day), (2, 'planned', later)], later, False, 2),
                ]:
            with self.subTest(existing=existing, date=date, debt=with_debt):
                self.assertEqual(
                    ladder.duplicate_of(existing, date, with_debt), expected)


class OverdueTestCase(unittest.TestCase):

    def test_is_overdue(self):
        for maturities, date, expected in [
                ([], D(2026, 3, 1), False),
                ([D(2026, 3, 1)], D(2026, 3, 1), False),
                ([D(2026, 3, 1)], D(2026, 3, 2), True),
                ([D(2026, 3, 1)], D(2026, 2, 28), False),
                ([D(2026, 4, 1), D(2026, 3, 1)], D(2026, 3, 15), True),
                ([None], D(2026, 3, 1), True),
                ]:
            with self.subTest(maturities=maturities, date=date):
                self.assertEqual(
                    ladder.is_overdue(maturities, date), expected)


class ActionTypeTestCase(unittest.TestCase):
    "The engine's table of action types"

    def test_core_table(self):
        table = action_type.ACTION_TYPES
        where = action_type.types_where
        self.assertEqual(list(table), ['grace', 'restore', 'close'])
        for type_, target, debt, hold_exempt in [
                ('grace', 'grace', action_type.UNPAID, False),
                ('restore', 'active', action_type.PAID, True),
                ('close', None, action_type.UNPAID, False),
                ]:
            with self.subTest(type=type_):
                row = table[type_]
                self.assertEqual(row.target_status, target)
                self.assertEqual(row.debt, debt)
                self.assertEqual(row.hold_exempt, hold_exempt)
                self.assertFalse(row.remote or row.destructive)
                self.assertFalse(row.leads_to or row.email)
        self.assertEqual(where(table, debt=action_type.UNPAID),
            {'grace', 'close'})
        self.assertEqual(where(table, remote=True), set())
        self.assertEqual(where(table, debt=None, remote=True), set())
