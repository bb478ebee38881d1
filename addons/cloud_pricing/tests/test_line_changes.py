# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""What a spec change does to the lines of a priced instance: table tests
(no database)."""
import unittest
from decimal import Decimal

from cloud_pricing.line_changes import CurrentLine, line_changes
from cloud_pricing.pricing import LineItem


def item(key, product, value, price):
    return LineItem(key.split(':')[0], product, Decimal(value),
        Decimal(price), Decimal(value) * Decimal(price), key, key=key)


def line(key, product, quantity, price):
    return CurrentLine(key, product, quantity, Decimal(price), ref=key)


CURRENT = [
    line('compute:app', 'plan-8', 2.0, '80.00'),
    line('storage:app:disk', 'ssd', 100.0, '0.10'),
    line('storage:db:disk', 'ssd', 20.0, '0.10'),
    line('managed', 'managed', 1.0, '80.00'),
    line('sizing:1', 'b1', 6.0, '6.50'),
    ]


class LineChangesTestCase(unittest.TestCase):

    def test_same_items_change_nothing(self):
        changes = line_changes(CURRENT, [item(l.key, l.product, l.quantity,
                    l.unit_price) for l in CURRENT])
        self.assertFalse(changes)

    def test_table(self):
        same = {l.key: item(l.key, l.product, l.quantity, l.unit_price)
            for l in CURRENT}
        for name, new, changed, ended, added in [
                ("a quantity", dict(same, **{
                            'storage:app:disk': item('storage:app:disk',
                                'ssd', 150, '0.10')}),
                    [('storage:app:disk', Decimal(150))], [], []),
                ("a quantity to zero stays a limit change", dict(same, **{
                            'sizing:1': item('sizing:1', 'b1', 0, '6.50')}),
                    [('sizing:1', Decimal(0))], [], []),
                ("another product (plan)", dict(same, **{
                            'compute:app': item('compute:app', 'plan-16', 2,
                                '160.00')}),
                    [], ['compute:app'], ['compute:app']),
                ("another price (catalog)", dict(same, **{
                            'managed': item('managed', 'managed', 1,
                                '85.00')}),
                    [], ['managed'], ['managed']),
                ("a price only in its digits", dict(same, **{
                            'managed': item('managed', 'managed', 1,
                                '80.0000')}),
                    [], [], []),
                ("an item gone", {k: v for k, v in same.items()
                        if k != 'storage:db:disk'},
                    [], ['storage:db:disk'], []),
                ("a new item", dict(same, **{
                            'sizing:2': item('sizing:2', 'b2', 10, '5.85')}),
                    [], [], ['sizing:2']),
                ]:
            with self.subTest(name=name):
                changes = line_changes(CURRENT, list(new.values()))
                self.assertEqual([(l.key, q) for l, q in changes.changed],
                    changed)
                self.assertEqual([l.key for l in changes.ended], ended)
                self.assertEqual([i.key for i in changes.added], added)

    def test_ended_in_current_order(self):
        changes = line_changes(CURRENT, [
                item('managed', 'managed', 1, '90.00')])
        self.assertEqual([l.key for l in changes.ended], [
                'compute:app', 'storage:app:disk', 'storage:db:disk',
                'managed', 'sizing:1'])
        self.assertEqual([i.key for i in changes.added], ['managed'])

    def test_keys_distinct(self):
        with self.assertRaises(ValueError):
            line_changes(CURRENT + [CURRENT[0]], [])
        with self.assertRaises(ValueError):
            line_changes([], [item('managed', 'm', 1, '1')] * 2)
        with self.assertRaises(ValueError):
            line_changes([], [item('', 'm', 1, '1')])

    def test_not_finite(self):
        with self.assertRaises(ValueError):
            line_changes([line('managed', 'm', float('nan'), '1')],
                [item('managed', 'm', 1, '1')])
