# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Stranded billing actions: the reaper, retry and cancel by hand, the step
emails in their own task, the debt re-checked before each deleted server.

An action is stranded the way a dead worker leaves it: marked running by
the first transaction of the queued task (``_start``), its outcome never
recorded. The queued tasks (``recover_remote``, ``run_remote``) run here
inside the test transaction: their commits and rollbacks are turned into
no-ops (``no_commit``).
"""
import datetime
import json
import unittest
from contextlib import contextmanager
from unittest.mock import patch

from trytond.exceptions import UserError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from subscription_core.action_run import action_path

from ..configuration import SETTINGS
from ..exceptions import GraceConfigurationError
from . import test_action
from .test_action import DATE
from .test_module import PROJECT

HOURS_AGO = datetime.timedelta(hours=2)


class CloudBillingReaperTestCase(
        test_action.ActionTestMixin, unittest.TestCase):
    "Stranded billing actions"

    @contextmanager
    def no_commit(self):
        "The queued tasks' commits and rollbacks do nothing in the test"
        transaction = Transaction()
        with patch.object(transaction, 'commit', lambda: None), \
                patch.object(transaction, 'rollback', lambda: None):
            yield

    def strand(self, action, ago=HOURS_AGO):
        """Mark action running as the task's first transaction does, then
        date its start ago (the worker died then)"""
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        with action_path(), self.context():
            action = Action(action.id)
            self.assertTrue(action._start(DATE))
            Action.write([action], {
                    'started_at': datetime.datetime.now() - ago})
        return Action(action.id)

    def tasks(self, method, types=('shelve', 'unshelve', 'delete')):
        """The ir.queue tasks of method for actions of types (not the quota
        a running subscription sets), as their data"""
        pool = Pool()
        Queue = pool.get('ir.queue')
        Action = pool.get('sale.subscription.billing.action')
        return [t.data for t in Queue.search([])
            if t.data.get('method') == method
            and all(a.type in types
                for a in Action.browse(t.data.get('instances') or []))]

    def reap_and_recover(self):
        "The reaper's job, then the recovery tasks it queued"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        with self.context():
            stranded = Action.reap(date=DATE)
            with self.no_commit():
                for data in self.tasks('recover_remote'):
                    Action.recover_remote(
                        Action.browse(data['instances']), *data['args'])
        return stranded

    @with_transaction()
    def test_reaper_finishes_from_the_servers(self):
        "A shelve stranded after Nova shelved the servers is finished"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (company, subscription):
            self.configure(company, remote_wait=5)
            server = self.cloud.add_server(PROJECT, name='a')
            parked = self.cloud.add_server(
                PROJECT, name='parked', status='SHELVED_OFFLOADED')
            self.sync(subscription)
            action = self.strand(self.plan(subscription, 'shelve'))
            # The request went out, then the worker died during the wait.
            self.cloud.servers[server.id].status = 'SHELVED_OFFLOADED'
            calls = len(self.cloud.actions('POST'))

            stranded = self.reap_and_recover()

            self.assertEqual(stranded, [action])
            action = Action(action.id)
            self.assertEqual(action.state, 'done')
            self.assertEqual(action.subscription.billing_status, 'shelved')
            self.assertEqual(
                [(e.from_state, e.to_state) for e in action.events][-2:],
                [('running', 'running'), ('running', 'done')])
            self.assertIn('Stranded', action.events[-2].message)
            self.assertIn('Recovered', action.events[-1].message)
            # Nothing was sent again: the servers were read.
            self.assertEqual(len(self.cloud.actions('POST')), calls)
            by_name = {r.name: r for r in Resource.search([])}
            # Shelved by the lost attempt: billing's, given back on payment.
            self.assertTrue(by_name['a'].shelved_by_billing)
            self.assertFalse(by_name['parked'].shelved_by_billing)
            # The workflow follows: next steps planned, email queued.
            self.assertTrue(Action.search([('type', '=', 'delete')]))
            email, = self.tasks('send_step_email')
            self.assertEqual(list(email['instances']), [action.id])
            self.assertEqual(email['args'][0], 'shelved')

    @with_transaction()
    def test_reaper_runs_again_when_not_done(self):
        "A shelve stranded before Nova did it runs again"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        with self.cloud_subscription() as (company, subscription):
            self.configure(company, remote_wait=5)
            server = self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            action = self.strand(self.plan(subscription, 'shelve'))

            self.reap_and_recover()

            action = Action(action.id)
            self.assertEqual(action.state, 'planned')
            self.assertEqual(action.attempts, 1)
            self.assertIn(server.id, json.loads(
                    action.remote_outcomes)[0]['server_id'])
            self.assertIn('it runs again', action.events[-1].message)
            self.assertIn('not yet SHELVED', action.events[-1].message)
            # Queued again at once, through the ordinary path.
            task, = self.tasks('run_remote')
            self.assertEqual(list(task['instances']), [action.id])

            action = self.attempt(action)
            self.assertEqual(action.state, 'done')
            self.assertEqual(action.attempts, 2)
            self.assertEqual(
                self.cloud.servers[server.id].status, 'SHELVED_OFFLOADED')

    @with_transaction()
    def test_reaper_leaves_running_actions_in_time(self):
        "An action running for less than its timeout is not touched"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        with self.cloud_subscription() as (company, subscription):
            self.configure(company, remote_wait=5, stranded_timeout=30)
            self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            action = self.strand(self.plan(subscription, 'shelve'),
                ago=datetime.timedelta(minutes=20))

            self.assertEqual(self.reap_and_recover(), [])
            self.assertEqual(Action(action.id).state, 'running')
            self.assertEqual(self.tasks('recover_remote'), [])

    @with_transaction()
    def test_reaper_fails_and_alerts_a_second_time(self):
        "A recovery that did not end: failed, finance managers alerted"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Notification = pool.get('res.notification')
        with self.cloud_subscription() as (company, subscription):
            manager = self.manager(company)
            self.configure(company, remote_wait=5)
            self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            action = self.strand(self.plan(subscription, 'shelve'))
            with self.context():
                Action.reap(date=DATE)
                # Its recovery task died too, an hour passes.
                Action.write([action], {
                        'started_at': datetime.datetime.now() - HOURS_AGO})
                Action.reap(date=DATE)

            action = Action(action.id)
            self.assertEqual(action.state, 'failed')
            self.assertIn('Stranded again', action.last_error)
            notification, = Notification.search([('user', '=', manager.id)])
            self.assertEqual(json.loads(notification.records), [action.id])
            self.assertIn('stranded', notification.label)

    @with_transaction()
    def test_manager_cancels_and_retries_stranded(self):
        "Cancel and retry by hand: stranded only, logged with the user"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        with self.cloud_subscription() as (company, subscription):
            manager = self.manager(company)
            self.configure(company, remote_wait=5)
            self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            fresh = self.strand(self.plan(subscription, 'shelve'),
                ago=datetime.timedelta(minutes=1))
            with Transaction().set_user(manager.id), self.context():
                for call in [
                        lambda: Action.cancel([fresh], "customer called"),
                        lambda: Action.retry([fresh])]:
                    with self.assertRaises(UserError) as cm:
                        call()
                    self.assertIn('may still be at work', cm.exception.message)
            self.assertEqual(Action(fresh.id).state, 'running')

            with action_path():
                Action.write([fresh], {
                        'started_at': datetime.datetime.now() - HOURS_AGO})
            with Transaction().set_user(manager.id), self.context():
                Action.cancel([fresh], "customer called")
            action = Action(fresh.id)
            self.assertEqual(action.state, 'cancelled')
            self.assertEqual(action.cancel_reason, "customer called")
            event = action.events[-1]
            self.assertEqual((event.from_state, event.to_state, event.user),
                ('running', 'cancelled', manager))

            failed = self.strand(self.plan(
                    subscription, 'shelve', date=DATE, reason="again"))
            with action_path():
                Action.write([failed], {'state': 'failed', 'attempts': 5})
            with Transaction().set_user(manager.id), self.context():
                Action.retry([failed])
            action = Action(failed.id)
            self.assertEqual((action.state, action.attempts), ('planned', 0))
            event = action.events[-1]
            self.assertEqual((event.to_state, event.user),
                ('planned', manager))
            self.assertIn('Retried by hand', event.message)
            task, = self.tasks('run_remote')
            self.assertEqual(list(task['instances']), [action.id])
            with Transaction().set_user(manager.id), self.context(), \
                    self.assertRaises(UserError):
                Action.retry([Action(fresh.id)])

    @with_transaction()
    def test_step_email_in_its_own_task(self):
        "A done step queues its email: nothing is sent in its transaction"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Subscription = pool.get('sale.subscription')
        with self.cloud_subscription() as (company, subscription):
            self.configure(company, remote_wait=5)
            self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            sent = []
            with patch.object(Subscription, 'send_billing_email',
                    lambda self, *a, **k: sent.append(a)):
                action = self.attempt(self.plan(subscription, 'unshelve'))
                self.assertEqual(action.state, 'done')
                # Nothing sent in the transaction of the outcome...
                self.assertEqual(sent, [])
                self.assertFalse(Transaction()._datamanagers)
                task, = self.tasks('send_step_email')
                self.assertEqual(task['args'][0], 'restored')
                self.assertEqual(task['args'][1],
                    {'restore_date': DATE})
                # ... but by the task, after it committed.
                Action.send_step_email(
                    Action.browse(task['instances']), *task['args'])
                self.assertEqual(len(sent), 1)
                self.assertEqual(sent[0][0], 'restored')

    @with_transaction()
    def test_delete_rechecks_the_debt_before_each_server(self):
        "A debt settled during a delete: the next servers are not deleted"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (company, subscription):
            self.configure(company, remote_wait=5)
            first = self.cloud.add_server(PROJECT, name='a')
            second = self.cloud.add_server(PROJECT, name='b')
            self.sync(subscription)
            self.pending_deletion(subscription, DATE)
            action = self.plan(subscription, 'delete')
            checks = []

            def debt_settled_now(self):
                # The payment lands once the first server is deleted.
                checks.append(len(self_cloud.actions('DELETE')))
                if self_cloud.actions('DELETE'):
                    return "paid meanwhile"
                return None
            self_cloud = self.cloud
            with patch.object(Action, 'debt_settled_now', debt_settled_now):
                action = self.attempt(action)

            self.assertEqual(action.state, 'cancelled')
            self.assertEqual(action.cancel_reason, "paid meanwhile")
            self.assertNotIn(first.id, self.cloud.servers)
            self.assertIn(second.id, self.cloud.servers)
            self.assertEqual(len(self.cloud.actions('DELETE')), 1)
            self.assertGreaterEqual(len(checks), 3)
            self.assertEqual(action.subscription.billing_status,
                'pending_deletion')
            gone = {r.name for r in Resource.search([('gone', '=', True)])}
            self.assertEqual(gone, {'a'})

    @with_transaction()
    def test_stranded_timeout_bounded(self):
        "The timeout is minutes within its bounds, above the remote wait"
        pool = Pool()
        Value = pool.get('cloud_billing.configuration.company')
        company = create_company()
        with set_company(company):
            for values in [
                    {'stranded_timeout': 0},
                    {'stranded_timeout': 4},
                    {'stranded_timeout': 7 * 24 * 60 + 1},
                    {'stranded_timeout': 5, 'remote_wait': 300},
                    {'stranded_timeout': None},
                    {'stranded_timeout': True},
                    ]:
                with self.subTest(**values):
                    record = Value(company=company, **Value.default_get(
                            SETTINGS, with_rec_name=False))
                    for name, value in values.items():
                        setattr(record, name, value)
                    with self.assertRaises(GraceConfigurationError) as cm:
                        Value.check_stranded_timeout([record])
                    self.assertIn('between 5 and 10080 minutes',
                        cm.exception.message)
            self.assertEqual(Value.default_stranded_timeout(), 60)
            configuration = self.configure(
                company, stranded_timeout=10, remote_wait=300)
            self.assertEqual(configuration.stranded_timeout, 10)
