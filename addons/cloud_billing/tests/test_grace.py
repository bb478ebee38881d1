# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
import unittest

from cloud_billing import grace
from cloud_billing.grace import GraceSettingError

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

    def test_lead_days(self):
        self.assertEqual(grace.lead_days(7), datetime.timedelta(days=7))
        self.assertEqual(grace.lead_days(None), datetime.timedelta(0))
        self.assertEqual(grace.lead_days(0), datetime.timedelta(0))
