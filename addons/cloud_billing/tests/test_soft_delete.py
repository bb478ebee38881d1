# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Reversible deletion on a cloud with a reclaim interval (fake OpenStack).

Nova keeps a deleted server SOFT_DELETED for its reclaim interval: the
servers stay recorded and restorable until the subscription's restore
deadline, a payment until then plans ``undelete`` (Nova ``restore``), which
gives the service back and cancels the close planned for the day after.
"""
import datetime
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from cloud_billing import openstack

from . import test_action
from .test_action import DATE
from .test_module import PROJECT, parse


class SoftDeleteTestCase(test_action.ActionTestMixin, unittest.TestCase):
    "A cloud with a reclaim interval: deletion restorable until the deadline"

    def soft_delete(self, company, subscription, days=3):
        """Delete the project's servers on DATE on a cloud keeping deleted
        servers for days: return the servers and the done delete action"""
        pool = Pool()
        Cloud = pool.get('cloud_billing.cloud')
        ContactMechanism = pool.get('party.contact_mechanism')
        ContactMechanism.create([{
                    'party': subscription.party.id, 'type': 'email',
                    'value': 'customer@customer.example'}])
        self.configure(company, remote_wait=5)
        self.cloud.reclaim_seconds = days * 24 * 60 * 60
        Cloud.write([subscription.cloud], {
                'reclaim_seconds': self.cloud.reclaim_seconds})
        servers = [self.cloud.add_server(PROJECT, name=n)
            for n in ['web', 'db']]
        self.sync(subscription)
        self.pending_deletion(subscription, DATE)
        action = self.attempt(self.plan(subscription, 'delete'))
        return servers, action

    def pay(self, subscription, date):
        "The debt is paid on date: what the engine's payment hook plans"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Action = pool.get('sale.subscription.billing.action')
        with self.context(date):
            Subscription.on_debt_paid([subscription], [], date)
        return Action.search([
                ('subscription', '=', subscription.id),
                ('type', '=', 'undelete'),
                ])

    def delete(self, subscription):
        "Sync, then delete the subscription's servers on DATE"
        self.sync(subscription)
        self.pending_deletion(subscription, DATE)
        return self.attempt(self.plan(subscription, 'delete'))

    def assert_deletion_final(self, subscription):
        "Closed and deleted, nothing restorable: a payment plans nothing"
        Subscription = Pool().get('sale.subscription')
        subscription = Subscription(subscription.id)
        self.assertEqual(
            (subscription.state, subscription.billing_status,
                subscription.cloud_restore_deadline),
            ('closed', 'deleted', None))
        self.assertEqual(self.pay(subscription, DATE), [])

    def closes(self, subscription):
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        return Action.search([
                ('subscription', '=', subscription.id),
                ('type', '=', 'close'),
                ])

    @with_transaction()
    def test_delete_leaves_servers_restorable(self):
        "Soft-deleted servers are recorded, not gone; close waits"
        pool = Pool()
        Resource = pool.get('cloud_billing.resource')
        Subscription = pool.get('sale.subscription')
        Dashboard = pool.get('cloud_billing.dashboard')
        with self.cloud_subscription() as (company, subscription):
            servers, action = self.soft_delete(company, subscription)

            self.assertEqual(action.state, 'done')
            subscription = Subscription(subscription.id)
            self.assertEqual(subscription.billing_status, 'deleted')
            self.assertEqual(subscription.state, 'running')
            deadline = DATE + datetime.timedelta(days=3)
            self.assertEqual(subscription.cloud_restore_deadline, deadline)
            for server in servers:
                self.assertEqual(
                    self.cloud.servers[server.id].status, 'SOFT_DELETED')
            self.assertEqual(
                {(r.status, r.gone) for r in Resource.search([])},
                {('SOFT_DELETED', False)})
            # A sync keeps them: restorable, not gone.
            self.sync(subscription)
            self.assertEqual(
                {(r.status, r.gone) for r in Resource.search([])},
                {('SOFT_DELETED', False)})
            close, = self.closes(subscription)
            self.assertEqual(
                (close.state, close.planned_date, close.invoice),
                ('planned', deadline + datetime.timedelta(days=1), None))
            with self.context():
                row, = Dashboard.search(
                    [('subscription', '=', subscription.id)])
            self.assertEqual(row.restore_deadline, deadline)

    @with_transaction()
    def test_payment_in_window_restores(self):
        "A payment until the deadline restores the servers and the service"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        BillingEmail = pool.get('sale.subscription.billing_email')
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (company, subscription):
            servers, _ = self.soft_delete(company, subscription)
            paid_on = DATE + datetime.timedelta(days=3)

            undelete, = self.pay(subscription, paid_on)
            undelete = self.attempt(undelete, date=paid_on)

            self.assertEqual(undelete.state, 'done')
            for server in servers:
                self.assertEqual(
                    self.cloud.servers[server.id].status, 'ACTIVE')
            self.assertEqual(
                {(r.status, r.gone) for r in Resource.search([])},
                {('ACTIVE', False)})
            subscription = Subscription(subscription.id)
            self.assertEqual(
                (subscription.state, subscription.billing_status,
                    subscription.cloud_restore_deadline,
                    subscription.cloud_deletion_date),
                ('running', 'active', None, None))
            close, = self.closes(subscription)
            self.assertEqual(close.state, 'cancelled')
            self.send_step_emails(paid_on)
            email, = BillingEmail.search([('kind', '=', 'restored')])
            self.assertEqual(
                (email.subscription, email.date, email.state),
                (subscription, paid_on, 'queued'))
            # The close of the deadline's next day does not run.
            close_date = paid_on + datetime.timedelta(days=1)
            self.assertEqual(
                self.attempt(close, date=close_date).state, 'cancelled')
            self.assertEqual(
                Subscription(subscription.id).state, 'running')

    @with_transaction()
    def test_payment_after_deadline_restores_nothing(self):
        "After the deadline: nothing planned, the close runs, servers gone"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        BillingEmail = pool.get('sale.subscription.billing_email')
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (company, subscription):
            servers, _ = self.soft_delete(company, subscription, days=1)
            late = DATE + datetime.timedelta(days=2)

            self.assertEqual(self.pay(subscription, late), [])

            self.assertEqual(
                Subscription(subscription.id).billing_status, 'deleted')
            close, = self.closes(subscription)
            self.assertEqual(close.state, 'planned')
            close = self.attempt(close, date=late)
            self.assertEqual(close.state, 'done')
            self.assertEqual(Subscription(subscription.id).state, 'closed')
            self.assertEqual(
                BillingEmail.search([('kind', '=', 'restored')]), [])
            # Nova's periodic task reclaims them: gone at the next read.
            self.cloud.reclaim()
            for server in servers:
                self.assertNotIn(server.id, self.cloud.servers)
            with self.context(late):
                Resource.record_servers(
                    Subscription(subscription.id), [], None,
                    lambda uuids: openstack.confirm_missing(
                        self.cloud.connection(), uuids, PROJECT))
            self.assertEqual(
                {r.gone for r in Resource.search([])}, {True})

    @with_transaction()
    def test_reclaimed_early_fails_undelete(self):
        "Reclaimed before the restore: the undelete fails, the close stays"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Resource = pool.get('cloud_billing.resource')
        with self.cloud_subscription() as (company, subscription):
            servers, _ = self.soft_delete(company, subscription)
            paid_on = DATE + datetime.timedelta(days=1)
            undelete, = self.pay(subscription, paid_on)
            self.cloud.reclaim()

            undelete = self.attempt(undelete, date=paid_on)

            self.assertEqual(undelete.state, 'failed')
            self.assertIn(
                'cannot be restored: the cloud already reclaimed it',
                undelete.last_error)
            self.assertEqual(
                Subscription(subscription.id).billing_status, 'deleted')
            close, = self.closes(subscription)
            self.assertEqual(close.state, 'planned')
            self.assertEqual({r.gone for r in Resource.search([])}, {True})

    @with_transaction()
    def test_offloaded_servers_deletion_final(self):
        "Nova deletes an offloaded server at once: nothing restorable"
        pool = Pool()
        Cloud = pool.get('cloud_billing.cloud')
        with self.cloud_subscription() as (company, subscription):
            self.configure(company, remote_wait=5)
            self.cloud.reclaim_seconds = 3 * 24 * 60 * 60
            Cloud.write([subscription.cloud], {
                    'reclaim_seconds': self.cloud.reclaim_seconds})
            server = self.cloud.add_server(
                PROJECT, name='web', status='SHELVED_OFFLOADED')
            self.delete(subscription)

            self.assertNotIn(server.id, self.cloud.servers)
            self.assert_deletion_final(subscription)

    @with_transaction()
    def test_no_reclaim_interval_deletion_final(self):
        "Without a reclaim interval: closed at once, nothing restorable"
        with self.cloud_subscription() as (company, subscription):
            self.configure(company, remote_wait=5)
            self.assertTrue(subscription.cloud.deletion_final)
            self.cloud.add_server(PROJECT, name='web')
            self.delete(subscription)

            self.assert_deletion_final(subscription)

    @with_transaction()
    def test_warning_says_whether_deletion_is_final(self):
        "The pre-deletion warning: final, or restorable until the deadline"
        pool = Pool()
        Cloud = pool.get('cloud_billing.cloud')
        ContactMechanism = pool.get('party.contact_mechanism')
        values = {
            'invoice_numbers': ['INV-1'],
            'overdue_amount': Decimal('10'),
            'deletion_date': DATE,
            }
        with self.cloud_subscription() as (company, subscription):
            ContactMechanism.create([{
                        'party': subscription.party.id, 'type': 'email',
                        'value': 'customer@customer.example'}])
            server = self.cloud.add_server(
                PROJECT, name='web', status='SHELVED_OFFLOADED')
            self.sync(subscription)
            # Offloaded: Nova would delete it at once, the cloud's interval
            # does not apply.
            Cloud.write([subscription.cloud], {'reclaim_seconds': 86400})
            msg, _ = subscription.get_billing_email(
                'pre_deletion', values, date=DATE)
            self.assertIn('Deletion is final', ' '.join(
                    parse(msg).get_body(('plain',)).get_content().split()))
            self.cloud.servers[server.id].status = 'ACTIVE'
            self.sync(subscription)
            texts = {}
            for seconds in [0, 2 * 24 * 60 * 60]:
                Cloud.write([subscription.cloud],
                    {'reclaim_seconds': seconds})
                self.assertEqual(
                    subscription.cloud.deletion_final, not seconds)
                for kind in ['pre_deletion', 'deleted']:
                    msg, _ = subscription.get_billing_email(
                        kind, values, date=DATE)
                    texts[kind, seconds] = ' '.join(
                        parse(msg).get_body(('plain',)).get_content().split())
        for kind in ['pre_deletion', 'deleted']:
            self.assertIn(
                'Deletion is final: this cloud does not keep deleted '
                'servers, and deleted data cannot be recovered.',
                texts[kind, 0])
            self.assertIn(
                'After the deletion, a payment received until 02/12/2026 '
                'still restores your servers; after that day deleted data '
                'cannot be recovered.', texts[kind, 2 * 24 * 60 * 60])
            self.assertNotIn('Deletion is final',
                texts[kind, 2 * 24 * 60 * 60])
