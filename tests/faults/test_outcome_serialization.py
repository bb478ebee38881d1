"""Fault: a serialization failure in the transaction that records the
outcome of a remote action (PostgreSQL raises it when a concurrent
transaction changed the row; injected here, once, as the outcome is
written).

The outcome is recorded again in a new transaction: the action ends done,
not running for the reaper; Nova is not called again; its next steps are
planned and its email sent once.
"""
from unittest.mock import patch

from trytond import backend

from subscription_core.action import BillingAction as CoreAction

from . import cases, world
from .cases import ACTIONS


class OutcomeSerializationTestCase(cases.CommittedTestCase):
    "A serialization failure in the outcome transaction"

    def test_outcome_retried(self):
        transition = CoreAction._transition.__func__
        raised = []

        def serialization_failure(cls, actions, state, *args, **kwargs):
            if state == 'done' and not raised:
                raised.append([a.id for a in actions])
                raise backend.DatabaseOperationalError(
                    "could not serialize access due to concurrent update")
            return transition(cls, actions, state, *args, **kwargs)

        with patch.object(CoreAction, '_transition',
                classmethod(serialization_failure)):
            self.job(ACTIONS, world.SHELVE_DAY)

        shelves = self.actions('shelve')
        self.assertEqual(len(raised), 1)
        self.assertEqual(
            {n: (a.state, a.attempts) for n, a in shelves.items()},
            {'alpha': ('done', 1), 'beta': ('done', 1)})
        self.assertEqual(
            [[(e.from_state, e.to_state) for e in a.events][-2:]
                for a in shelves.values()],
            [[('planned', 'running'), ('running', 'done')]] * 2)
        self.assertShelvedOnce()
