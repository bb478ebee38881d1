# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The cloud's billing actions against the fake OpenStack connection.

Each attempt goes the way the engine's queued task runs it
(``_start`` re-check, ``execute``, ``_record_failed_attempt``, ``_finish``)
inside the test transaction.
"""
import datetime
import json
import unittest
from contextlib import contextmanager
from unittest.mock import patch

from trytond import config
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from cloud_billing import openstack
from cloud_billing.tests import fake_openstack
from subscription_core import preview
from subscription_core.action_run import action_path
from subscription_core.ir import server_now, travel
from subscription_core.exceptions import (
    BillingActionFailure, BillingActionOutcome)

from ..configuration import SETTINGS
from ..exceptions import (
    DestructiveBatchError, GraceConfigurationError, QuotaChangeError,
    QuotaMappingError)
from . import test_module as base
from .test_module import OTHER, PROJECT

DATE = datetime.date(2026, 2, 10)


class ActionTestMixin:
    "The fake cloud and the helpers of the tests of billing actions"

    create_service = base.CloudBillingTestCase.create_service
    create_subscription = base.CloudBillingTestCase.create_subscription
    _cloud_subscription = base.CloudBillingTestCase._cloud_subscription
    cloud_subscription = base.CloudBillingTestCase.cloud_subscription

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('cloud_billing')
        openstack.register_connection_factory('fake', fake_openstack.connect)

    @classmethod
    def tearDownClass(cls):
        # The next class may restore the database from the cache, which
        # needs it gone (as ModuleTestCase drops it)
        drop_db()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.cloud = fake_openstack.reset()

    @contextmanager
    def context(self, date=DATE):
        "The fake cloud, on date (the server's clock travels there)"
        with Transaction().set_context(cloud_billing_connection='fake'), \
                travel(date):
            yield

    def sync(self, subscription):
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        with self.context():
            Subscription.fetch_cloud_resources([subscription])

    def plan(self, subscription, type_, date=DATE, **values):
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        return Action.plan(subscription, type_, date, **values)

    def attempt(self, action, date=DATE):
        "One attempt of the queued task, without its commits"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        with action_path(), self.context(date):
            action = Action(action.id)
            if not action._start(date):
                return Action(action.id)
            try:
                ref = action.execute(date)
            except BillingActionOutcome as e:
                action._record_failed_attempt(e)
                action._finish(date, Action._outcome_of(e), e.message,
                    e.external_ref)
            else:
                action._finish(date, 'done', None, ref)
        return Action(action.id)

    def pending_deletion(self, subscription, deletion, warned=7,
            state='sent'):
        """Put subscription in pending deletion, its servers going on
        deletion, its customer warned (state) warned days before"""
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        BillingEmail = pool.get('sale.subscription.billing_email')
        with action_path():
            Subscription.write([subscription], {
                    'billing_status': 'pending_deletion',
                    'cloud_deletion_date': deletion,
                    })
            if warned is not None:
                BillingEmail.create([{
                            'company': subscription.company.id,
                            'subscription': subscription.id,
                            'kind': 'pre_deletion',
                            'step_key': 'warning-%s' % deletion,
                            'date': deletion - datetime.timedelta(
                                days=warned),
                            'sent_date': (deletion - datetime.timedelta(
                                    days=warned)) if state == 'sent' else None,
                            'state': state,
                            }])

    @contextmanager
    def remote_subscription(self, **settings):
        """cloud_subscription() in a company configured for remote actions
        (a wait of 5 s and settings)"""
        with self.cloud_subscription() as (company, subscription):
            self.configure(company, **{"remote_wait": 5, **settings})
            yield company, subscription

    def configure(self, company, **values):
        pool = Pool()
        Configuration = pool.get('cloud_billing.configuration.company')
        configuration = Configuration(company=company, **values)
        configuration.save()
        return configuration

    def send_step_emails(self, date=DATE):
        "Run the queued tasks that send the steps' emails"
        pool = Pool()
        Queue = pool.get('ir.queue')
        Action = pool.get('sale.subscription.billing.action')
        with self.context(date):
            for task in Queue.search([], order=[('id', 'ASC')]):
                if task.data.get('method') == 'send_step_email':
                    Action.send_step_email(
                        Action.browse(task.data['instances']),
                        *task.data['args'])
                    task.delete([task])

    def manager(self, company):
        "A finance manager of company"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        manager = User(login='fm', name="FM", companies=[company],
            company=company, groups=[ModelData.get_id(
                    'subscription_core', 'group_billing_finance_manager')])
        manager.save()
        return manager



class CloudBillingActionTestCase(ActionTestMixin, unittest.TestCase):
    "Cloud billing actions"

    @with_transaction()
    def test_shelve_state_machine(self):
        "Shelve: active, shutoff, paused, suspended shelved; shelved kept"
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        with self.remote_subscription() as (company, subscription):
            servers = {s: self.cloud.add_server(PROJECT, name=s.lower(),
                    status=s) for s in ['ACTIVE', 'SHUTOFF', 'PAUSED',
                    'SUSPENDED', 'SHELVED', 'SHELVED_OFFLOADED']}
            self.sync(subscription)

            action = self.attempt(self.plan(subscription, 'shelve'))

            self.assertEqual(action.state, 'done')
            self.assertEqual(action.subscription.billing_status, 'shelved')
            self.assertTrue(action.external_ref)
            for status, server in servers.items():
                self.assertEqual(self.cloud.servers[server.id].status,
                    'SHELVED_OFFLOADED' if status != 'SHELVED' else 'SHELVED',
                    status)
            by_name = {r.name: r for r in Resource.search([])}
            for status in ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED']:
                self.assertTrue(
                    by_name[status.lower()].shelved_by_billing, status)
            for status in ['SHELVED', 'SHELVED_OFFLOADED']:
                self.assertFalse(
                    by_name[status.lower()].shelved_by_billing, status)
            outcomes = json.loads(action.remote_outcomes)
            self.assertEqual(len(outcomes), 6)

    @with_transaction()
    def test_shelve_409_retries_and_keeps_marks(self):
        "A 409 retries later; servers shelved before it stay marked"
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        with self.remote_subscription() as (company, subscription):
            first = self.cloud.add_server(PROJECT, name='a')
            second = self.cloud.add_server(PROJECT, name='b')
            self.sync(subscription)
            self.cloud.inject('shelve_server', second.id, fault=409)

            action = self.attempt(self.plan(subscription, 'shelve'))

            self.assertEqual(action.state, 'planned')
            self.assertEqual(action.attempts, 1)
            self.assertIn(second.id, action.last_error)
            self.assertEqual(action.subscription.billing_status, 'active')
            marked = {r.name for r in Resource.search([
                        ('shelved_by_billing', '=', True)])}
            self.assertEqual(marked, {'a'})

            action = self.attempt(action)

            self.assertEqual(action.state, 'done')
            self.assertEqual(action.attempts, 2)
            self.assertEqual(
                {self.cloud.servers[s.id].status for s in [first, second]},
                {'SHELVED_OFFLOADED'})
            marked = {r.name for r in Resource.search([
                        ('shelved_by_billing', '=', True)])}
            # a was shelved by the first attempt: still billing's.
            self.assertEqual(marked, {'a', 'b'})

    @with_transaction()
    def test_shelve_error_fails(self):
        "An ERROR server fails the action: a person looks"
        with self.remote_subscription() as (company, subscription):
            server = self.cloud.add_server(PROJECT, name='a')
            broken = self.cloud.add_server(PROJECT, name='b', status='ERROR')
            self.sync(subscription)

            action = self.attempt(self.plan(subscription, 'shelve'))

            self.assertEqual(action.state, 'failed')
            self.assertEqual(
                self.cloud.servers[server.id].status, 'SHELVED_OFFLOADED')
            self.assertIn(broken.id, action.last_error)
            self.assertIn('ERROR', action.last_error)
            self.assertEqual(action.subscription.billing_status, 'active')

    @with_transaction()
    def test_shelve_on_a_cloud_that_keeps_shelved_servers(self):
        """A cloud that never offloads: a shelve is done at SHELVED, in its
        first attempt (waiting for SHELVED_OFFLOADED, it would be planned
        again and done only at the next run)"""
        with self.remote_subscription(remote_wait=1) as (
                company, subscription):
            self.cloud.offload = False
            server = self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            cloud = subscription.cloud
            cloud.shelve_keeps_host = True
            cloud.save()

            action = self.attempt(self.plan(subscription, 'shelve'))

            self.assertEqual(action.state, 'done')
            self.assertEqual(action.attempts, 1)
            self.assertEqual(action.subscription.billing_status, 'shelved')
            self.assertEqual(self.cloud.servers[server.id].status, 'SHELVED')

    @with_transaction()
    def test_shelve_waits_for_offload(self):
        "By default a shelve is done once the server is SHELVED_OFFLOADED"
        with self.remote_subscription(remote_wait=1) as (
                company, subscription):
            self.cloud.offload = False
            server = self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)

            action = self.attempt(self.plan(subscription, 'shelve'))

            self.assertEqual(action.state, 'planned')
            self.assertEqual(self.cloud.servers[server.id].status, 'SHELVED')

    @with_transaction()
    def test_shelve_timeout_retries(self):
        with self.remote_subscription() as (company, subscription):
            server = self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            self.cloud.inject('shelve_server', server.id, fault='timeout')

            action = self.attempt(self.plan(subscription, 'shelve'))

            self.assertEqual(action.state, 'planned')
            self.assertEqual(action.attempts, 1)
            self.assertTrue(action.last_error)

    @with_transaction()
    def test_unshelve_only_billing_shelved(self):
        "Unshelve gives back what billing shelved, not what a person did"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        with self.remote_subscription() as (company, subscription):
            web = self.cloud.add_server(PROJECT, name='web')
            parked = self.cloud.add_server(
                PROJECT, name='parked', status='SHELVED_OFFLOADED')
            self.sync(subscription)
            self.attempt(self.plan(subscription, 'shelve'))

            action = self.attempt(self.plan(subscription, 'unshelve'))

            self.assertEqual(action.state, 'done')
            self.assertEqual(action.subscription.billing_status, 'active')
            self.assertEqual(self.cloud.servers[web.id].status, 'ACTIVE')
            self.assertEqual(
                self.cloud.servers[parked.id].status, 'SHELVED_OFFLOADED')
            self.assertEqual(Action.search([
                        ('type', '=', 'unshelve')]), [action])

    @with_transaction()
    def test_delete_only_when_due(self):
        "Delete needs pending deletion and its date; 404 counts as done"
        with self.remote_subscription() as (company, subscription):
            server = self.cloud.add_server(PROJECT, name='a')
            gone = self.cloud.add_server(PROJECT, name='b')
            self.sync(subscription)

            # Not pending deletion: cancelled, nothing deleted.
            action = self.attempt(self.plan(subscription, 'delete'))
            self.assertEqual(action.state, 'cancelled')
            self.assertIn(server.id, self.cloud.servers)

            deletion = DATE + datetime.timedelta(days=3)
            self.pending_deletion(subscription, deletion)
            # Before its date: process does not pick it; forced, refused.
            action = self.plan(subscription, 'delete', date=deletion)
            early = self.attempt(action, date=DATE)
            self.assertEqual(early.state, 'cancelled')
            self.assertIn(server.id, self.cloud.servers)

            del self.cloud.servers[gone.id]
            action = self.attempt(
                self.plan(subscription, 'delete', date=deletion),
                date=deletion)
            self.assertEqual(action.state, 'done')
            self.assertEqual(action.subscription.billing_status, 'deleted')
            self.assertNotIn(server.id, self.cloud.servers)
            self.assertTrue(action.external_ref)
            results = {o['server_id']: o['result']
                for o in json.loads(action.remote_outcomes)}
            self.assertEqual(results, {
                    server.id: openstack.DONE, gone.id: openstack.DONE})

    @with_transaction()
    def test_delete_needs_delivered_warning(self):
        "No deletion without a warning delivered the warning days before"
        pool = Pool()
        BillingEmail = pool.get('sale.subscription.billing_email')
        with self.cloud_subscription() as (company, subscription):
            self.configure(company, remote_wait=5)
            server = self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            deletion = DATE + datetime.timedelta(days=3)
            for warned, state in [
                    (None, None),  # never warned
                    (7, 'no_recipient'),  # no address: not delivered
                    (7, 'failed'),  # refused by the mail server
                    (7, 'queued'),  # not handed over yet
                    (6, 'sent'),  # delivered a day short
                    ]:
                with self.subTest(warned=warned, state=state):
                    self.pending_deletion(
                        subscription, deletion, warned=warned, state=state)
                    action = self.attempt(
                        self.plan(subscription, 'delete', date=deletion),
                        date=deletion)
                    self.assertEqual(action.state, 'cancelled')
                    self.assertIn('not deleted', action.cancel_reason)
                    self.assertIn(server.id, self.cloud.servers)
                    with action_path():
                        BillingEmail.delete(BillingEmail.search([]))
            self.assertEqual(self.cloud.actions('DELETE'), [])
            # Delivered seven days before: deleted.
            self.pending_deletion(subscription, deletion)
            action = self.attempt(
                self.plan(subscription, 'delete', date=deletion),
                date=deletion)
            self.assertEqual(action.state, 'done')
            self.assertNotIn(server.id, self.cloud.servers)

    @with_transaction()
    def test_delete_checked_on_the_server_date(self):
        "A run for a later day deletes nothing before the server's date"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        with self.remote_subscription() as (company, subscription):
            server = self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            deletion = DATE + datetime.timedelta(days=3)
            self.pending_deletion(subscription, deletion)
            action = self.plan(subscription, 'delete', date=deletion)

            # The server's date is DATE; the task is handed the deletion
            # date (as a run for a later day would): it re-checks on DATE.
            with self.context(DATE), action_path():
                started = Action(action.id)._start(deletion)
                self.assertFalse(started)
                self.assertEqual(Action(action.id).state, 'cancelled')
                # Even its execute step alone refuses.
                again = self.plan(subscription, 'delete', date=deletion)
                with self.assertRaises(BillingActionFailure):
                    again.execute(deletion)
            self.assertIn(server.id, self.cloud.servers)
            self.assertEqual(self.cloud.actions('DELETE'), [])

    @with_transaction()
    def test_delete_refuses_foreign_project(self):
        "A recorded server of another project: nothing is deleted"
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        with self.remote_subscription() as (company, subscription):
            own = self.cloud.add_server(PROJECT, name='own')
            foreign = self.cloud.add_server(OTHER, name='foreign')
            self.sync(subscription)
            resource, = Resource.search([])
            Resource.copy([resource], {
                    'uuid': foreign.id, 'project_id': OTHER})
            self.pending_deletion(subscription, DATE)

            action = self.attempt(self.plan(subscription, 'delete'))

            self.assertEqual(action.state, 'failed')
            self.assertIn(foreign.id, action.last_error)
            self.assertIn(own.id, self.cloud.servers)
            self.assertIn(foreign.id, self.cloud.servers)
            self.assertEqual(self.cloud.actions('DELETE'), [])

    @with_transaction()
    def test_quota_change(self):
        "Quota applied without force, read back, then the limit changes"
        pool = Pool()
        LimitChange = pool.get('sale.subscription.line.limit_change')
        with self.cloud_subscription() as (company, subscription):
            vcpu = [l for l in subscription.lines
                if l.service.quota_key == 'cores'][0]
            action = self.plan(subscription, 'quota_change',
                quota_line=vcpu, quota_quantity=6, actor='user')

            action = self.attempt(action)

            self.assertEqual(action.state, 'done')
            self.assertEqual(self.cloud.quota(PROJECT)['cores'], 6)
            self.assertEqual(self.cloud.quota(PROJECT)['ram'], 8 * 1024)
            change, = LimitChange.search([])
            self.assertEqual(
                (change.date, change.old_quantity, change.quantity),
                (DATE, 4, 6))

    @with_transaction()
    def test_quota_change_refused(self):
        "A quota the cloud does not take leaves the limit unchanged"
        with self.cloud_subscription() as (company, subscription):
            vcpu = [l for l in subscription.lines
                if l.service.quota_key == 'cores'][0]
            self.cloud.ignored_quota_keys.add('cores')
            action = self.plan(subscription, 'quota_change',
                quota_line=vcpu, quota_quantity=6, actor='user')

            action = self.attempt(action)

            self.assertEqual(action.state, 'failed')
            self.assertIn('cores', action.last_error)

    @with_transaction()
    def test_run_sets_quota(self):
        "A cloud subscription that starts running queues its quota"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Queue = pool.get('ir.queue')
        with self.context(), \
                self.cloud_subscription() as (company, subscription):
            action, = Action.search([
                    ('subscription', '=', subscription.id)])
            self.assertEqual(
                (action.type, action.state, action.planned_date,
                    action.actor),
                ('quota_set', 'planned', DATE, 'user'))
            tasks = [t for t in Queue.search([])
                if t.data['method'] == 'run_remote'
                and list(t.data['instances']) == [action.id]]
            self.assertEqual(len(tasks), 1)

            action = self.attempt(action)

            self.assertEqual(action.state, 'done')
            self.assertEqual(self.cloud.quota(PROJECT),
                {'cores': 4, 'ram': 8 * 1024, 'instances': 10})

    @with_transaction()
    def test_change_limit_quota_first(self):
        "Change Limit of a quota line: the limit changes once OpenStack took it"
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        LimitChange = pool.get('sale.subscription.line.limit_change')
        with self.context(), \
                self.cloud_subscription() as (company, subscription):
            vcpu, = [l for l in subscription.lines
                if l.service.quota_key == 'cores']

            action = Line.request_limit_change(vcpu, 6, DATE, reason="Growth")

            self.assertEqual(
                (action.type, action.state, action.quota_line,
                    action.quota_quantity, action.planned_date, action.actor),
                ('quota_change', 'planned', vcpu, 6, DATE, 'user'))
            self.assertEqual(Line(vcpu.id).quantity, 4)
            self.assertEqual(LimitChange.search([]), [])

            action = self.attempt(action)

            self.assertEqual(action.state, 'done')
            self.assertEqual(self.cloud.quota(PROJECT)['cores'], 6)
            self.assertEqual(Line(vcpu.id).quantity, 6)
            self.assertEqual(Line(vcpu.id).limit_history, (4, [(DATE, 6)]))

    @with_transaction()
    def test_change_limit_quota_refused(self):
        "A quota refused by OpenStack: limit unchanged, the user notified"
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        LimitChange = pool.get('sale.subscription.line.limit_change')
        Notification = pool.get('res.notification')
        with self.context(), \
                self.cloud_subscription() as (company, subscription):
            vcpu, = [l for l in subscription.lines
                if l.service.quota_key == 'cores']
            self.cloud.ignored_quota_keys.add('cores')

            action = self.attempt(Line.request_limit_change(vcpu, 6, DATE))

            message = ('The quota of project project-a was not applied: '
                'The cloud did not apply: cores=20 (asked 6).')
            self.assertEqual((action.state, action.last_error),
                ('failed', message))
            self.assertEqual(Line(vcpu.id).quantity, 4)
            self.assertEqual(Line(vcpu.id).limit_history, (4, []))
            self.assertEqual(LimitChange.search([]), [])
            notification, = Notification.search([
                    ('user', '=', Transaction().user)])
            self.assertEqual(
                (notification.label, notification.description),
                ('Quota not applied: %s' % subscription.rec_name, message))

    @with_transaction()
    def test_change_limit_quota_refusals(self):
        "Change Limit of a quota line refuses what cannot apply in OpenStack"
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        LimitChange = pool.get('sale.subscription.line.limit_change')
        with self.context(), \
                self.cloud_subscription() as (company, subscription):
            vcpu, ram, support = sorted(subscription.lines,
                key=lambda l: l.service.quota_key or 'zz')
            self.assertEqual(
                (vcpu.service.quota_key, ram.service.quota_key),
                ('cores', 'ram'))

            with self.assertRaises(QuotaChangeError) as cm:
                Line.request_limit_change(
                    vcpu, 6, DATE - datetime.timedelta(days=1))
            self.assertEqual(cm.exception.message,
                'The limit of "%s" sets the quota of project project-a in '
                'OpenStack: it changes from today (2026-02-10) on, not from '
                '2026-02-09.' % vcpu.rec_name)

            with self.assertRaises(QuotaMappingError):
                Line.request_limit_change(ram, 0.0001, DATE)

            later = DATE + datetime.timedelta(days=5)
            action = Line.request_limit_change(vcpu, 6, later)
            self.assertEqual((action.state, action.planned_date),
                ('planned', later))
            with self.assertRaises(QuotaChangeError) as cm:
                Line.request_limit_change(ram, 16, DATE)
            self.assertEqual(cm.exception.message,
                'The limit of "%s" cannot change while the quota change '
                '"%s" waits: let it run or cancel it first.' % (
                    ram.rec_name, action.rec_name))
            self.assertEqual(LimitChange.search([]), [])

            # A line without a quota changes at once.
            change = Line.request_limit_change(support, 2, DATE)
            self.assertEqual(LimitChange.search([]), [change])

    @with_transaction()
    def test_preview_lists_job_4(self):
        "The preview lists the actions job 4 runs, OpenStack untouched"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Queue = pool.get('ir.queue')
        Preview = pool.get('sale.subscription.billing.preview', type='wizard')
        labels = dict(Action.fields_get(['type'])['type']['selection'])
        with self.context(), \
                self.cloud_subscription() as (company, shelved):
            self.configure(company, remote_wait=5)
            vcpu, = [l.service for l in shelved.lines
                if l.service.quota_key == 'cores']
            deleted = self.create_subscription(company, [(vcpu, 2)],
                project_id=OTHER, cloud=shelved.cloud)
            restored = self.create_subscription(company, [(vcpu, 2)],
                project_id='project-c', cloud=shelved.cloud)
            graced = self.create_subscription(company, [(vcpu, 2)],
                project_id='project-d', cloud=shelved.cloud)
            for subscription, names in [(shelved, ['a1', 'a2']),
                    (deleted, ['b1']), (restored, ['c1'])]:
                for name in names:
                    self.cloud.add_server(
                        subscription.project_id, name=name)
                self.sync(subscription)
            for action in Action.search([
                        ('company', '=', company.id),
                        ('type', '=', 'quota_set'),
                        ]):
                self.attempt(action)
            self.attempt(self.plan(restored, 'shelve'))
            self.pending_deletion(deleted, DATE)
            self.plan(shelved, 'shelve')
            self.plan(deleted, 'delete')
            self.plan(restored, 'unshelve')
            self.plan(graced, 'grace')
            self.plan(graced, 'shelve', DATE + datetime.timedelta(days=1))
            planned = {a.id for a in Action.search([
                        ('company', '=', company.id),
                        ('state', '=', 'planned'),
                        ])}

        # The day before, finance previews the day (job 4 checks the
        # deletion date as that day will).
        calls = list(self.cloud.calls)
        tasks = Queue.search([])
        # Job 4 only: this company has no accounts to invoice (the
        # preview of a whole day: scenario_billing_preview.rst).
        with self.context(DATE - datetime.timedelta(days=1)), \
                set_company(company), patch.object(preview, 'preview_jobs',
                    return_value=['sale.subscription.billing.action|process']):
            lines = Preview.preview(DATE)
        shown = [(l['subscription'], l['description']) for l in lines
            if l['kind'] == 'action_run']
        self.assertEqual(sorted(shown), sorted([
                    (shelved.id, 'Shelve: a1 (%s), a2 (%s)' % tuple(
                            self.uuids(shelved))),
                    (deleted.id, 'Delete: b1 (%s)' % tuple(
                            self.uuids(deleted))),
                    (restored.id, 'Unshelve: c1 (%s)' % tuple(
                            self.uuids(restored))),
                    (graced.id, 'Grace: '),
                    ]))
        self.assertEqual(self.cloud.calls, calls)
        self.assertEqual({a.id for a in Action.search([
                        ('company', '=', company.id),
                        ('state', '=', 'planned'),
                        ])}, planned)
        self.assertEqual(Queue.search([]), tasks)

        # The real run of the day does what the preview listed.
        names = {s.id: s.name for s in self.cloud.servers.values()}
        real = []
        with self.context(), set_company(company):
            Action.process(DATE)
            for action in Action.browse(sorted(planned)):
                if action.state == 'done':
                    real.append(
                        (action.subscription.id,
                            '%s: ' % labels[action.type]))
            for task in Queue.search([
                        ('id', 'not in', [t.id for t in tasks]),
                        ], order=[('id', 'ASC')]):
                if task.data.get('method') != 'run_remote':
                    continue  # the steps' emails
                for action in Action.browse(task.data['instances']):
                    before = len(self.cloud.calls)
                    self.attempt(action)
                    acted = [p.split('/')[2]
                        for m, p in self.cloud.actions()[before:]
                        if m in {'POST', 'DELETE'}]
                    real.append((action.subscription.id, '%s: %s' % (
                                labels[action.type], ', '.join(
                                    '%s (%s)' % (names[u], u)
                                    for u in acted))))
        self.assertEqual(sorted(real), sorted(shown))

    def uuids(self, subscription):
        "The uuids of the servers of the subscription's project, by name"
        return [s.id for s in sorted(self.cloud.servers.values(),
                key=lambda s: s.name)
            if s.project_id == subscription.project_id]

    @with_transaction()
    def test_pause_switch(self):
        "Paused: scheduler actions stay planned, by hand ones run"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        with self.remote_subscription(automation_paused=True) as (
                company, subscription):
            server = self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            action = self.plan(subscription, 'shelve')

            with self.context():
                Action.process(date=DATE)
            action = self.attempt(action)

            self.assertEqual(action.state, 'planned')
            self.assertIn('paused', action.events[-1].message)
            self.assertEqual(self.cloud.servers[server.id].status, 'ACTIVE')

    @with_transaction()
    def test_server_switch(self):
        "The server's switch stops every shelve and delete, not unshelve"
        with self.remote_subscription() as (company, subscription):
            server = self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)
            by_hand = self.plan(subscription, 'shelve', actor='user')
            unshelve = self.plan(subscription, 'unshelve', actor='user')
            if not config.has_section('cloud_billing'):
                config.add_section('cloud_billing')
            config.set('cloud_billing', 'stop_destructive', 'true')
            try:
                for action in [by_hand, unshelve]:
                    action = self.attempt(action)
                    if action.type == 'shelve':
                        self.assertEqual(action.state, 'planned')
                        self.assertIn('stop_destructive',
                            action.events[-1].message)
                    else:
                        self.assertNotEqual(action.state, 'planned')
                self.assertEqual(
                    self.cloud.servers[server.id].status, 'ACTIVE')
            finally:
                config.set('cloud_billing', 'stop_destructive', 'false')

            action = self.attempt(by_hand)
            self.assertEqual(action.state, 'done')
            self.assertEqual(
                self.cloud.servers[server.id].status, 'SHELVED_OFFLOADED')

    @with_transaction()
    def test_destructive_limit(self):
        "Above the limit no destructive action runs; managers alerted"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Batch = pool.get('cloud_billing.destructive_batch')
        Notification = pool.get('res.notification')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        company = create_company()
        with set_company(company):
            manager = User(login='fm', name="FM", companies=[company],
                company=company, groups=[ModelData.get_id(
                        'subscription_core',
                        'group_billing_finance_manager')])
            manager.save()
            self.configure(company, destructive_limit=1, remote_wait=5)
            first = self._cloud_subscription(company)
            cloud = first.cloud
            second = self.create_subscription(
                company, [], project_id=OTHER, cloud=cloud)
            actions = [self.plan(s, 'shelve') for s in [first, second]]

            with self.context():
                Action.process(date=DATE)

            self.assertEqual(
                [Action(a.id).state for a in actions], ['planned'] * 2)
            self.assertIn('limit', Action(actions[0].id).events[-1].message)
            batch, = Batch.search([])
            self.assertEqual(batch.state, 'held')
            self.assertEqual(sorted(a.id for a in batch.actions),
                sorted(a.id for a in actions))
            notification, = Notification.search([('user', '=', manager.id)])
            self.assertEqual(notification.model, Batch.__name__)
            self.assertEqual(json.loads(notification.records), [batch.id])

    def shelves(self, company, cloud, names, actor='user'):
        "A subscription with its own project and a planned shelve per name"
        return [self.plan(self.create_subscription(
                    company, [], project_id='p-%s' % n, cloud=cloud),
                'shelve', actor=actor) for n in names]

    @with_transaction()
    def test_destructive_cap_rolling(self):
        """The cap counts the actions it let start in the previous 24 hours
        across runs, by hand ones too; one notification per held batch;
        a release with a reason lets the batch run past the cap once"""
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Batch = pool.get('cloud_billing.destructive_batch')
        Notification = pool.get('res.notification')
        company = create_company()
        with set_company(company):
            manager = self.manager(company)
            self.configure(company, destructive_limit=2, remote_wait=5)
            cloud = self._cloud_subscription(company).cloud

            def process():
                with self.context():
                    Action.process(date=DATE)

            def notified():
                return Notification.search([('user', '=', manager.id)])

            # One done 25 hours ago no longer counts, one 23 hours ago does
            old, recent = self.shelves(company, cloud, ['old', 'recent'])
            with self.context():
                now = server_now()
            with action_path():
                Action.write([old], {'state': 'done',
                        'destructive_counted_at':
                            now - datetime.timedelta(hours=25)})
                Action.write([recent], {'state': 'done',
                        'destructive_counted_at':
                            now - datetime.timedelta(hours=23)})
            first, = self.shelves(company, cloud, ['first'])
            process()
            first = Action(first.id)
            self.assertTrue(first.destructive_counted_at)
            self.assertEqual(Batch.search([]), [])

            # A later run the same day: 2 counted + 1 by hand > 2
            by_hand, = self.shelves(company, cloud, ['hand'])
            process()
            by_hand = Action(by_hand.id)
            self.assertEqual(by_hand.state, 'planned')
            self.assertIsNone(by_hand.destructive_counted_at)
            self.assertIn('after 2 in the previous 24 hours',
                by_hand.events[-1].message)
            batch, = Batch.search([])
            self.assertEqual(
                [a.id for a in batch.actions], [by_hand.id])
            notification, = notified()
            self.assertEqual(json.loads(notification.records), [batch.id])

            # The next hourly runs notify nobody again, log nothing new; a
            # new one over the cap (planned by a job) joins the held batch
            events = len(by_hand.events)
            process()
            scheduled, = self.shelves(
                company, cloud, ['job'], actor='scheduler')
            process()
            self.assertEqual(len(notified()), 1)
            self.assertEqual(len(Action(by_hand.id).events), events)
            batch, = Batch.search([])
            self.assertEqual(sorted(a.id for a in batch.actions),
                sorted([by_hand.id, scheduled.id]))

            # Released with a reason (an event on each), they run once
            with self.assertRaises(DestructiveBatchError):
                Batch.release([batch], '  ')
            with Transaction().set_user(manager.id), self.context():
                Batch.release([batch], "Checked: all unpaid")
            batch = Batch(batch.id)
            self.assertEqual(batch.state, 'released')
            self.assertEqual(batch.released_by, manager)
            for action in [by_hand, scheduled]:
                event = Action(action.id).events[-1]
                self.assertEqual(event.message,
                    "Released past the 24-hour cap by FM: "
                    "Checked: all unpaid")
                self.assertEqual(event.user, manager)
            with self.assertRaises(DestructiveBatchError):
                Batch.release([batch], "again")
            process()
            for action in [by_hand, scheduled]:
                self.assertTrue(Action(action.id).destructive_counted_at)
            self.assertEqual(len(Batch.search([])), 1)

            # Their tasks did not run yet: a later run leaves them be
            process()
            self.assertEqual(len(Batch.search([])), 1)

            # Once: still planned the next day (say a retry), they are
            # counted as new again (first too): over the cap
            late, = self.shelves(company, cloud, ['late'])
            with self.context(DATE + datetime.timedelta(days=1)):
                Action.process(date=DATE + datetime.timedelta(days=1))
            held, = Batch.search([('state', '=', 'held')])
            self.assertEqual(sorted(a.id for a in held.actions),
                sorted([first.id, by_hand.id, scheduled.id, late.id]))
            self.assertEqual(len(notified()), 2)

    @with_transaction()
    def test_destructive_cap_skips_held_actions(self):
        "Paused scheduler actions are not counted; by hand ones are"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Batch = pool.get('cloud_billing.destructive_batch')
        company = create_company()
        with set_company(company):
            self.configure(company, destructive_limit=1, remote_wait=5,
                automation_paused=True)
            cloud = self._cloud_subscription(company).cloud
            self.shelves(company, cloud, ['a', 'b'], actor='scheduler')
            by_hand, = self.shelves(company, cloud, ['c'])

            with self.context():
                Action.process(date=DATE)

            self.assertEqual(Batch.search([]), [])
            self.assertTrue(Action(by_hand.id).destructive_counted_at)

    @with_transaction()
    def test_configuration_never_zero(self):
        "A zero or missing duration is refused; defaults when none"
        pool = Pool()
        Configuration = pool.get('cloud_billing.configuration')
        Value = pool.get('cloud_billing.configuration.company')
        company = create_company()
        with set_company(company):
            defaults = Configuration.get_for(company)
            self.assertEqual(
                (defaults.pre_expiry_days, defaults.shelve_grace_hours,
                    defaults.retention_days, defaults.deletion_warning_days),
                (7, 48, 14, 7))
            for name in ['retention_days', 'shelve_grace_hours',
                    'deletion_warning_days', 'destructive_limit',
                    'pre_expiry_days']:
                for value in [0, -1, None]:
                    with self.subTest(name=name, value=value):
                        record = Value(company=company, **Value.default_get(
                                    SETTINGS, with_rec_name=False))
                        setattr(record, name, value)
                        with self.assertRaises(GraceConfigurationError):
                            Value.check_durations([record])
            with self.assertRaises(GraceConfigurationError):
                self.configure(company, retention_days=0)

    @with_transaction()
    def test_shelve_without_valid_retention_plans_no_delete(self):
        "Defensive: a retention of zero in the database never deletes now"
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Configuration = pool.get('cloud_billing.configuration.company')
        with self.remote_subscription() as (company, subscription):
            configuration, = Configuration.search(
                [('company', '=', company.id)])
            # Bypass the validation, as a bad migration would.
            table = Configuration.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.retention_days], [0],
                    where=table.id == configuration.id))
            Transaction().cache.clear()
            self.cloud.add_server(PROJECT, name='a')
            self.sync(subscription)

            action = self.attempt(self.plan(subscription, 'shelve'))

            self.assertEqual(action.state, 'done')
            self.assertEqual(Action.search([
                        ('type', 'in', ['delete', 'pending_deletion'])]), [])
            self.assertIsNone(action.subscription.cloud_deletion_date)
