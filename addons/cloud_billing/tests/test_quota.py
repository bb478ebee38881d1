# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the quota mapping arithmetic (cloud_billing.quota). Plain
Python, no database."""
import unittest
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from cloud_billing.quota import (
    QUOTA_KEYS, QuotaError, format_quota, project_quota)

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None)


class ProjectQuotaTestCase(unittest.TestCase):

    def test_table(self):
        for items, expected in [
                ([], {}),
                ([('cores', 4, 1)], {'cores': 4}),
                # RAM sold in GiB, Nova counts MB
                ([('ram', 8, 1024)], {'ram': 8192}),
                ([('ram', 0.5, 1024)], {'ram': 512}),
                ([('ram', 1.25, 1024)], {'ram': 1280}),
                ([('ram', Decimal('2.5'), 1024)], {'ram': 2560}),
                # a float quantity is taken as written, not as binary
                ([('ram', 0.1, 10)], {'ram': 1}),
                # two lines on one key add up
                ([('cores', 4, 1), ('cores', 2, 1)], {'cores': 6}),
                ([('cores', 4, 1), ('ram', 8, 1024), ('instances', 2, 1),
                        ('volumes', 3, 1), ('gigabytes', 100, 1)],
                    {'cores': 4, 'ram': 8192, 'instances': 2, 'volumes': 3,
                        'gigabytes': 100}),
                # lines without a key do not count
                ([(None, 7, 1), ('', 3, 1), ('cores', 1, 1)], {'cores': 1}),
                ([('cores', 0, 1)], {'cores': 0}),
                ([('cores', None, 1)], {'cores': 0}),
                ]:
            with self.subTest(items=items):
                self.assertEqual(project_quota(items), expected)

    def test_not_whole(self):
        for items, key, value in [
                ([('cores', 1.5, 1)], 'cores', Decimal('1.5')),
                ([('ram', 0.3, 1000), ('cores', 0.5, 1)], 'cores',
                    Decimal('0.5')),
                ([('ram', Decimal('0.0001'), 1024)], 'ram',
                    Decimal('0.1024')),
                ([('instances', -1, 1)], 'instances', Decimal('-1')),
                ]:
            with self.subTest(items=items):
                with self.assertRaises(QuotaError) as cm:
                    project_quota(items)
                self.assertEqual((cm.exception.key, cm.exception.value),
                    (key, value))

    def test_error_names_the_item(self):
        with self.assertRaises(QuotaError) as cm:
            project_quota([('cores', 2, 1, 'line 1'), ('cores', 0.5, 1,
                        'line 2')])
        self.assertEqual(cm.exception.item, 'line 2')

    def test_format(self):
        self.assertEqual(
            format_quota({'ram': 8192, 'gigabytes': 10, 'cores': 4}),
            'cores=4, ram=8192, gigabytes=10')
        self.assertEqual(format_quota({}), '')

    @PROPERTY_SETTINGS
    @given(st.lists(st.tuples(
                st.sampled_from([k for k, _ in QUOTA_KEYS]),
                st.integers(min_value=0, max_value=10 ** 6),
                st.sampled_from([1, 1000, 1024])), max_size=12),
        st.randoms())
    def test_sum_in_any_order(self, items, random):
        "The quota is the per-key sum, whatever the order of the lines"
        expected = {}
        for key, quantity, multiplier in items:
            expected[key] = expected.get(key, 0) + quantity * multiplier
        shuffled = list(items)
        random.shuffle(shuffled)
        self.assertEqual(project_quota(items), expected)
        self.assertEqual(project_quota(shuffled), expected)

    @PROPERTY_SETTINGS
    @given(st.integers(min_value=0, max_value=10 ** 6),
        st.sampled_from([2, 4, 8, 1024]))
    def test_fraction_of_gib(self, halves, multiplier):
        "Halves of a unit are whole exactly when the multiplier is even"
        quantity = Decimal(halves) / 2
        self.assertEqual(
            project_quota([('ram', quantity, multiplier)]),
            {'ram': halves * multiplier // 2})
