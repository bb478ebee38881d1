# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The debt is checked at the instant of the call (PostgreSQL only).

Two customers owe January and their servers are due to be shelved on 18
February. While the billing actions job runs their shelves, a second
connection (a thread with its own transaction) pays:

* ``payer`` pays after the transaction that decided to shelve committed and
  before the call to Nova: its shelve is cancelled, its server is never
  touched;
* ``waiter`` pays while the shelve holds the lock of its debt: the payment
  waits for the call to end (the debt was real at that instant), then the
  payment gives the server back.

SQLite is left out: its writers are serialized by a lock on the whole
database and it has no row locks (``SELECT ... FOR UPDATE``), so there is
no second connection to race with.
"""
import datetime
import threading
import time
import unittest
from unittest.mock import patch

from proteus import Model, Wizard

from trytond import backend
from trytond.tests.test_tryton import drop_db
from trytond.tests.tools import activate_modules

from cloud_billing import openstack
from cloud_billing.tests import fake_openstack
from cloud_billing.tests.tools import MailCatcher, create_cloud_customers
from subscription_core.action import BillingAction as CoreAction
from subscription_core.tests.tools import (
    create_payment_method, run_billing, setup_billing, travel)

from ..resource import Resource

D = datetime.date
SHELVE_DAY = D(2026, 2, 18)
# How long the payment of waiter is given to go through while the shelve
# holds the lock of its debt: it must still be waiting then.
BLOCKED = 3


def pay(config, party_id, payment_method_id, date, errors):
    """Pay the posted invoices of the party in this thread's transactions

    A payment that meets the shelve's lock or its commit fails with a
    serialization error and is paid again, as trytond's dispatcher retries
    a request.
    """
    Invoice = Model.get('account.invoice', config=config)
    try:
        for invoice in Invoice.find([
                    ('party', '=', party_id), ('state', '=', 'posted')]):
            for attempt in range(20):
                try:
                    wizard = Wizard('account.invoice.pay', [invoice],
                        config=config)
                    wizard.form.payment_method = Model.get(
                        'account.invoice.payment.method',
                        config=config)(payment_method_id)
                    wizard.form.date = date
                    wizard.execute('choice')
                    break
                except backend.DatabaseOperationalError:
                    time.sleep(0.2)
            else:
                errors.append("not paid after 20 attempts")
    except Exception as e:
        errors.append(repr(e))


@unittest.skipUnless(backend.name == 'postgresql',
    "PostgreSQL only: SQLite has no row locks and serializes its writers, "
    "there is no second connection to race with")
class DebtRaceTestCase(unittest.TestCase):
    "A payment from a second connection during a run of billing actions"

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mail = MailCatcher().start()
        cls.config = config = activate_modules('cloud_billing', setup_billing)
        openstack.register_connection_factory('fake', fake_openstack.connect)
        cls.nova = fake_openstack.reset()
        config._context['cloud_billing_connection'] = 'fake'

        cls.payment_method = create_payment_method()
        cls.customers = create_cloud_customers(['payer', 'waiter'], cls.nova)
        run_billing(D(2026, 2, 1))
        run_billing(D(2026, 2, 16))

    @classmethod
    def tearDownClass(cls):
        cls.mail.stop()
        drop_db()
        super().tearDownClass()

    def shelve(self, name):
        Action = Model.get('sale.subscription.billing.action')
        subscription, _ = self.customers[name]
        action, = Action.find([
                ('subscription', '=', subscription.id),
                ('type', '=', 'shelve')])
        return action

    def test_payment_during_the_run(self):
        "No server of a paying customer is touched; a payment waits"
        config = self.config
        payer, payer_server = self.customers['payer']
        waiter, waiter_server = self.customers['waiter']
        for subscription in [payer, waiter]:
            subscription.reload()
            self.assertEqual(subscription.billing_status, 'grace')
        errors = {'payer': [], 'waiter': []}
        threads = {}

        def start_payment(name):
            subscription, _ = self.customers[name]
            thread = threading.Thread(target=pay, args=(
                    config, subscription.party.id, self.payment_method.id,
                    SHELVE_DAY, errors[name]))
            thread.start()
            threads[name] = thread
            return thread

        execute = CoreAction.execute
        payer_shelve = self.shelve('payer').id

        def execute_after_a_payment(action, date):
            # After the commit of the transaction that decided, before the
            # call: payer pays in a second connection and commits. (No
            # query before: this transaction's snapshot starts after it.)
            if action.id == payer_shelve:
                start_payment('payer').join(120)
            return execute(action, date)

        remote_action = Resource.remote_action.__func__
        waited = []

        def remote_action_while_paid(cls, resources, action, **kwargs):
            # The shelve holds the lock of waiter's debt: its payment waits.
            if {r.subscription.id for r in resources} == {waiter.id}:
                thread = start_payment('waiter')
                time.sleep(BLOCKED)
                waited.append(thread.is_alive())
            return remote_action(cls, resources, action, **kwargs)

        with patch.object(CoreAction, 'execute', execute_after_a_payment), \
                patch.object(Resource, 'remote_action',
                    classmethod(remote_action_while_paid)):
            run_billing(SHELVE_DAY,
                job='sale.subscription.billing.action|process')
        for thread in threads.values():
            thread.join(120)
            self.assertFalse(thread.is_alive())
        self.assertEqual(errors, {'payer': [], 'waiter': []})

        # payer paid before the call: never touched. waiter's payment
        # waited for the shelve (the debt was real at that instant), then
        # gave the server back.
        with travel(SHELVE_DAY):
            run_billing(SHELVE_DAY,
                job='sale.subscription.billing.action|process')
        for subscription in [payer, waiter]:
            subscription.reload()
        payer_shelve = self.shelve('payer')
        calls = self.nova.actions('POST')
        observed = {
            'payer shelve': payer_shelve.state,
            'payer shelve reason': 'paid' in (
                payer_shelve.cancel_reason or ''),
            'payer server': self.nova.servers[payer_server.id].status,
            'payer server calls': [c for c in calls
                if payer_server.id in c[1]],
            'payer status': payer.billing_status,
            'waiter payment waited': waited,
            'waiter shelve': self.shelve('waiter').state,
            'waiter server': self.nova.servers[waiter_server.id].status,
            'waiter status': waiter.billing_status,
            }
        self.assertEqual(observed, {
                'payer shelve': 'cancelled',
                'payer shelve reason': True,
                'payer server': 'ACTIVE',
                'payer server calls': [],
                'payer status': 'active',
                'waiter payment waited': [True],
                'waiter shelve': 'done',
                'waiter server': 'ACTIVE',
                'waiter status': 'active',
                })
