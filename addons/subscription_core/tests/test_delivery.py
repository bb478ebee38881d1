# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"The delays between the attempts to deliver an email (delivery.py)"
import datetime
import unittest

from hypothesis import given, strategies as st

from subscription_core import delivery

T0 = datetime.datetime(2026, 3, 2, 23, 50)
MINUTE = datetime.timedelta(minutes=1)


class DeliveryTestCase(unittest.TestCase):

    def test_next_attempt_table(self):
        for attempts, expected in [
                (1, T0 + 5 * MINUTE),
                (2, T0 + 15 * MINUTE),
                (3, T0 + 30 * MINUTE),
                (4, T0 + 60 * MINUTE),
                (8, T0 + 960 * MINUTE),
                (9, None),  # the last attempt: none left
                (10, None),
                ]:
            with self.subTest(attempts=attempts):
                self.assertEqual(
                    delivery.next_attempt_at(T0, attempts), expected)
        self.assertEqual(delivery.MAX_ATTEMPTS, 9)
        with self.assertRaises(ValueError):
            delivery.next_attempt_at(T0, 0)

    def test_is_due_table(self):
        for state, next_at, expected in [
                ('queued', None, True),
                ('failed', T0 - MINUTE, True),
                ('failed', T0, True),
                ('failed', T0 + MINUTE, False),
                ('failed', None, False),  # given up
                ('sent', None, False),
                ('sent', T0 - MINUTE, False),
                (None, None, False),  # not followed
                ]:
            with self.subTest(state=state, next_at=next_at):
                self.assertEqual(
                    delivery.is_due(state, next_at, T0), expected)

    @given(st.integers(min_value=1, max_value=delivery.MAX_ATTEMPTS - 2))
    def test_delays_grow(self, attempts):
        "Each delay is longer than the one before and after the failure"
        first = delivery.next_attempt_at(T0, attempts)
        second = delivery.next_attempt_at(T0, attempts + 1)
        self.assertGreater(first, T0)
        self.assertGreater(second - T0, first - T0)

    @given(st.integers(min_value=1, max_value=100))
    def test_bounded(self, attempts):
        "No attempt after MAX_ATTEMPTS, whatever happened"
        result = delivery.next_attempt_at(T0, attempts)
        self.assertEqual(result is None, attempts >= delivery.MAX_ATTEMPTS)
