# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
import unittest

from cloud_billing import grace
from cloud_billing.grace import GraceSettingError
from subscription_core.action_type import PAID, UNPAID, types_where

D = datetime.date


class GraceDatesTestCase(unittest.TestCase):
    "Dates of the grace workflow"

    def test_shelve_date(self):
        for start, hours, expected in [
                (D(2026, 3, 1), 48, D(2026, 3, 3)),
                (D(2026, 3, 1), 24, D(2026, 3, 2)),
                (D(2026, 3, 1), 30, D(2026, 3, 3)),
                (D(2026, 3, 1), 1, D(2026, 3, 2)),
                (D(2026, 2, 27), 48, D(2026, 3, 1)),
                (D(2028, 2, 28), 48, D(2028, 3, 1)),
                (D(2026, 12, 31), 72, D(2027, 1, 3)),
                ]:
            with self.subTest(start=start, hours=hours):
                self.assertEqual(grace.shelve_date(start, hours), expected)

    def test_deletion_and_warning(self):
        for shelved, retention, warning, deletion, warn in [
                (D(2026, 3, 3), 14, 7, D(2026, 3, 17), D(2026, 3, 10)),
                (D(2026, 2, 20), 14, 7, D(2026, 3, 6), D(2026, 2, 27)),
                (D(2028, 2, 20), 14, 7, D(2028, 3, 5), D(2028, 2, 27)),
                # warning as long as the retention: the day of the shelve
                (D(2026, 3, 3), 7, 7, D(2026, 3, 10), D(2026, 3, 3)),
                # one day of retention: warned on the shelve day
                (D(2026, 3, 3), 1, 1, D(2026, 3, 4), D(2026, 3, 3)),
                ]:
            with self.subTest(shelved=shelved, retention=retention):
                self.assertEqual(
                    grace.deletion_date(shelved, retention), deletion)
                self.assertEqual(
                    grace.warning_date(deletion, warning, shelved), warn)

    def test_missing_or_zero_never_now(self):
        "A missing, zero or negative duration raises, never 'today'"
        day = D(2026, 3, 3)
        for value in [None, 0, -1, -14, False]:
            with self.subTest(value=value):
                with self.assertRaises(GraceSettingError):
                    grace.deletion_date(day, value)
                with self.assertRaises(GraceSettingError):
                    grace.shelve_date(day, value)
                with self.assertRaises(GraceSettingError):
                    grace.warning_date(day, value)

    def test_check_settings(self):
        grace.check_settings(7, 48, 14, 7, 10)
        for values, name in [
                ((None, 48, 14, 7, 10), 'pre_expiry_days'),
                ((7, 0, 14, 7, 10), 'shelve_grace_hours'),
                ((7, 48, 0, 7, 10), 'retention_days'),
                ((7, 48, 14, None, 10), 'deletion_warning_days'),
                ((7, 48, 14, 7, 0), 'destructive_limit'),
                ((7, 48, 5, 7, 10), 'deletion_warning_days'),
                ]:
            with self.subTest(values=values):
                with self.assertRaises(GraceSettingError) as cm:
                    grace.check_settings(*values)
                self.assertEqual(cm.exception.name, name)

    def test_noticed_deletion_date(self):
        "No deletion before the warning days after a delivered warning"
        for warned, days, deletion, expected in [
                (D(2026, 2, 25), 7, D(2026, 3, 4), D(2026, 3, 4)),
                # warned late (mail server down): the deletion waits
                (D(2026, 2, 27), 7, D(2026, 3, 4), D(2026, 3, 6)),
                # warned early: the recorded deletion day stands
                (D(2026, 2, 20), 7, D(2026, 3, 4), D(2026, 3, 4)),
                (D(2026, 2, 25), 7, None, D(2026, 3, 4)),
                (D(2028, 2, 28), 1, None, D(2028, 2, 29)),
                (D(2026, 12, 30), 7, D(2027, 1, 1), D(2027, 1, 6)),
                # never warned (no address, never delivered): no day
                (None, 7, D(2026, 3, 4), None),
                ]:
            with self.subTest(warned=warned, days=days, deletion=deletion):
                self.assertEqual(grace.noticed_deletion_date(
                        warned, days, deletion), expected)
        for value in [None, 0, -7, False]:
            with self.subTest(value=value):
                with self.assertRaises(GraceSettingError):
                    grace.noticed_deletion_date(D(2026, 3, 1), value)

    def test_lead_days(self):
        self.assertEqual(grace.lead_days(7), datetime.timedelta(days=7))
        self.assertEqual(grace.lead_days(None), datetime.timedelta(0))
        self.assertEqual(grace.lead_days(0), datetime.timedelta(0))


class CapTestCase(unittest.TestCase):
    "The 24-hour cap of the destructive actions"

    def test_over_cap(self):
        for counted, new, limit, over in [
                (0, 0, 1, False),
                (0, 1, 1, False),
                (0, 2, 1, True),
                (2, 0, 2, False),
                (1, 1, 2, False),
                (2, 1, 2, True),
                (9, 1, None, False),  # the default: 10
                (10, 1, 0, True),
                (10, 1, -5, True),
                (10, 1, True, True),
                ]:
            with self.subTest(counted=counted, new=new, limit=limit):
                self.assertEqual(grace.over_cap(counted, new, limit), over)

    def test_window(self):
        now = datetime.datetime(2026, 3, 1, 0, 30)
        self.assertEqual(grace.cap_window_start(now),
            datetime.datetime(2026, 2, 28, 0, 30))


class RestoreDeadlineTestCase(unittest.TestCase):
    "The last day a payment restores soft-deleted servers"

    def test_restore_deadline(self):
        deleted = D(2026, 2, 28)
        for seconds, deadline in [
                (None, None), (0, None), (-5, None), (True, None),
                (1, D(2026, 2, 28)),
                (86399, D(2026, 2, 28)),
                (86400, D(2026, 3, 1)),
                (7 * 86400, D(2026, 3, 7)),
                ]:
            with self.subTest(seconds=seconds):
                self.assertEqual(
                    grace.restore_deadline(deleted, seconds), deadline)

    def test_restorable(self):
        deadline = D(2026, 3, 1)
        self.assertTrue(grace.restorable(deadline, D(2026, 2, 27)))
        self.assertTrue(grace.restorable(deadline, deadline))
        self.assertFalse(grace.restorable(deadline, D(2026, 3, 2)))
        self.assertFalse(grace.restorable(None, D(2026, 2, 27)))


class NextStepsTestCase(unittest.TestCase):
    "The grace workflow table: what follows each done step"

    settings = {
        'shelve_grace_hours': 48,
        'retention_days': 14,
        'deletion_warning_days': 7,
        }

    def test_next_steps(self):
        today = D(2026, 3, 1)
        for type_, deletion, email, values, records, steps in [
                ('grace', None, 'reminder', {'shelve_date': D(2026, 3, 3)},
                    {}, [('shelve', D(2026, 3, 3), 'grace', False)]),
                ('shelve', None, 'shelved', {
                        'shelve_date': today,
                        'deletion_date': D(2026, 3, 15)}, {
                        'cloud_shelved_date': today,
                        'cloud_deletion_date': D(2026, 3, 15)}, [
                        ('pending_deletion', D(2026, 3, 8), 'shelved',
                            False),
                        ('delete', D(2026, 3, 15), 'pending_deletion',
                            False)]),
                ('pending_deletion', D(2026, 3, 8), 'pre_deletion',
                    {'deletion_date': D(2026, 3, 8)},
                    {'cloud_deletion_date': D(2026, 3, 8)}, []),
                # Warned late: the deletion moves to give the warning days.
                ('pending_deletion', D(2026, 3, 5), 'pre_deletion',
                    {'deletion_date': D(2026, 3, 8)},
                    {'cloud_deletion_date': D(2026, 3, 8)}, []),
                # No reclaim interval: deletion is final, close at once.
                ('delete', D(2026, 2, 27), 'deleted',
                    {'deletion_date': D(2026, 2, 27)},
                    {'cloud_restore_deadline': None},
                    [('close', today, None, True)]),
                # Without a recorded deletion date: the day it was done.
                ('delete', None, 'deleted', {'deletion_date': today},
                    {'cloud_restore_deadline': None},
                    [('close', today, None, True)]),
                ('undelete', None, 'restored',
                    {'restore_date': today}, {
                        'cloud_shelved_date': None,
                        'cloud_deletion_date': None,
                        'cloud_restore_deadline': None}, []),
                ('unshelve', D(2026, 3, 8), 'restored',
                    {'restore_date': today}, {
                        'cloud_shelved_date': None,
                        'cloud_deletion_date': None}, []),
                ('restore', None, None, {}, {}, []),
                ('close', None, None, {}, {}, []),
                ('quota_change', None, None, {}, {}, []),
                ('quota_set', None, None, {}, {}, []),
                ]:
            with self.subTest(type=type_, deletion=deletion):
                follow = grace.next_steps(
                    type_, today, self.settings, deletion_date=deletion)
                self.assertEqual(follow.email, email)
                self.assertEqual(follow.email_values, values)
                self.assertEqual(follow.records, records)
                self.assertEqual(follow.steps, steps)

    def test_delete_with_reclaim_interval(self):
        "Soft delete: restorable until the deadline, close the day after"
        today = D(2026, 3, 1)
        for seconds, deadline in [
                (3600, D(2026, 3, 1)),
                (86400, D(2026, 3, 2)),
                (3 * 86400 + 1, D(2026, 3, 4)),
                ]:
            with self.subTest(seconds=seconds):
                follow = grace.next_steps('delete', today,
                    dict(self.settings, reclaim_seconds=seconds))
                self.assertEqual(follow.records,
                    {'cloud_restore_deadline': deadline})
                self.assertEqual(follow.steps, [
                        ('close', deadline + datetime.timedelta(days=1),
                            None, False)])
                self.assertEqual(follow.email, 'deleted')

    def test_warning_not_before_shelve(self):
        follow = grace.next_steps('shelve', D(2026, 3, 1), dict(
                self.settings, retention_days=3, deletion_warning_days=3))
        self.assertEqual(follow.steps[0][:2],
            ('pending_deletion', D(2026, 3, 1)))

    def test_invalid_setting_nothing_follows(self):
        for type_, name in [
                ('grace', 'shelve_grace_hours'),
                ('shelve', 'retention_days'),
                ('shelve', 'deletion_warning_days'),
                ]:
            for value in [None, 0, -1]:
                with self.subTest(type=type_, name=name, value=value):
                    with self.assertRaises(GraceSettingError):
                        grace.next_steps(type_, D(2026, 3, 1),
                            dict(self.settings, **{name: value}))
        # A step that needs no setting does not read them.
        grace.next_steps('unshelve', D(2026, 3, 1), {})

    def test_table(self):
        "What each type needs, sets and is"
        table = grace.ACTION_TYPES
        self.assertEqual(list(table), [
                'grace', 'restore', 'close', 'shelve', 'unshelve',
                'pending_deletion', 'delete', 'undelete', 'quota_change',
                'quota_set'])
        self.assertEqual(
            {n: t.target_status for n, t in table.items() if t.target_status},
            {'grace': 'grace', 'restore': 'active', 'shelve': 'shelved',
                'unshelve': 'active', 'pending_deletion': 'pending_deletion',
                'delete': 'deleted', 'undelete': 'active'})
        self.assertEqual(types_where(table, debt=UNPAID),
            {'grace', 'close', 'shelve', 'pending_deletion', 'delete'})
        self.assertEqual(types_where(table, debt=PAID),
            {'restore', 'unshelve', 'undelete'})
        self.assertEqual(types_where(table, hold_exempt=True), {'restore'})
        self.assertEqual(types_where(table, remote=True),
            {'shelve', 'unshelve', 'delete', 'undelete', 'quota_change',
                'quota_set'})
        self.assertEqual(types_where(table, destructive=True),
            {'shelve', 'delete'})
        # Every step a type leads to is a type of the table, every email
        # value and recorded date one the type computes.
        for name, type_ in table.items():
            dates = {'today', 'deletion_date'} | {d for d, _ in type_.dates}
            for next_ in type_.leads_to:
                self.assertIn(next_.type, table)
                self.assertIn(next_.date, dates)
            self.assertLessEqual(set(type_.email_values), dates)
            self.assertLessEqual(
                {d for _, d in type_.records if d}, dates)
