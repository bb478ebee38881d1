# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The transaction attributes a savepoint (the billing preview, the
isolated groups of the jobs) restores after its rollback, pinned against
the trytond installed."""
import ast
import inspect
import textwrap
import unittest

from trytond.transaction import Transaction

from subscription_core import isolation


def assigned_attributes(function, name):
    "The attributes function assigns on the variable name (self, instance)"
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {node.attr for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name) and node.value.id == name}


class TransactionStateTestCase(unittest.TestCase):

    def test_every_attribute_is_restored_or_kept(self):
        "A trytond upgrade that adds a Transaction attribute fails here"
        attributes = (assigned_attributes(Transaction.__new__, 'instance')
            | assigned_attributes(Transaction.start, 'self'))
        restored = set(isolation.TRANSACTION_STATE)
        kept = set(isolation.TRANSACTION_KEPT)
        self.assertFalse(restored & kept)
        self.assertEqual(restored | kept, attributes)

    def test_restored_are_the_side_channels(self):
        "The restored attributes start as None and become collections"
        created = assigned_attributes(Transaction.__new__, 'instance')
        started = assigned_attributes(Transaction.start, 'self')
        self.assertLessEqual(set(isolation.TRANSACTION_STATE),
            created & started)
