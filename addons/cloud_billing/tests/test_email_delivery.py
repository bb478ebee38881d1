# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Every billing email is delivered once, and tried again until it is.

A real SMTP server on loopback (``tools.MailCatcher``) refuses the messages,
or is down, then accepts them. The delivery tasks (``ir.email.deliver``)
and the job that sends the failed emails again run inside the test
transaction, on the server's clock moved with ``travel``.
"""
import datetime
import unittest
from contextlib import contextmanager
from decimal import Decimal

from trytond import config
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from subscription_core import delivery
from subscription_core.email_ import _error_text
from subscription_core.ir import travel

from . import test_action
from . import test_module as base
from .test_module import create_subscription
from .tools import MailCatcher

DATE = datetime.date(2026, 3, 2)
DEBT = {
    'invoice_numbers': ['INV-7'],
    'overdue_amount': Decimal('12.50'),
    'oldest_due_date': datetime.date(2026, 2, 1),
    'shelve_date': datetime.date(2026, 2, 20),
    'deletion_date': datetime.date(2026, 3, 10),
    }
KINDS = ['reminder', 'shelved', 'pre_deletion', 'deleted', 'restored']


class CloudBillingEmailDeliveryTestCase(
        test_action.ActionTestMixin, unittest.TestCase):
    "Failed billing emails are recorded and sent again, never twice"

    setup_company = base.CloudBillingTestCase.setup_company

    def setUp(self):
        super().setUp()
        self.mail = MailCatcher().start()
        self.addCleanup(self.mail.stop)

    def deliver(self, date=DATE):
        "Run the queued delivery tasks on date; return how many ran"
        pool = Pool()
        Queue = pool.get('ir.queue')
        Email = pool.get('ir.email')
        tasks = [t for t in Queue.search([], order=[('id', 'ASC')])
            if t.data.get('method') == 'deliver'
            and t.data.get('model') == 'ir.email']
        with travel(date):
            for task in tasks:
                Email.deliver(
                    Email.browse(task.data['instances']), *task.data['args'])
        Queue.delete(tasks)
        return len(tasks)

    @contextmanager
    def customer(self, name):
        "A subscription of a customer with an address, in its company"
        company = self.setup_company()
        with set_company(company):
            yield create_subscription(company, name=name,
                email='it@%s.example' % name.lower())

    def send_all(self, subscription, step='debt-1', date=DATE):
        return [subscription.send_billing_email(kind, step, DEBT, date=date)
            for kind in KINDS]

    def states(self, records):
        pool = Pool()
        BillingEmail = pool.get('sale.subscription.billing_email')
        return [(r.kind, r.state, r.attempts, r.sent_date)
            for r in BillingEmail.browse(records)]

    @with_transaction()
    def test_refused_then_accepted(self):
        "Each kind refused is failed, tried again later, and sent once"
        pool = Pool()
        BillingEmail = pool.get('sale.subscription.billing_email')
        Email = pool.get('ir.email')
        with self.customer("Retry") as subscription:
            records = self.send_all(subscription)
            self.assertEqual({r.state for r in records}, {'queued'})

            self.mail.refuse()
            self.assertEqual(self.deliver(), len(KINDS))
            self.assertEqual(self.mail.pop(), [])
            self.assertEqual(self.mail.refused, len(KINDS))
            self.assertEqual(self.states(records),
                [(k, 'failed', 1, None) for k in KINDS])
            for record in BillingEmail.browse(records):
                self.assertIn('554', record.last_error)
                self.assertTrue(record.next_attempt_at)
            failed, = BillingEmail.search(
                [('state', '=', 'failed'), ('kind', '=', 'pre_deletion')])
            # The workflow asks again for a step whose retry is pending:
            # nothing new is sent nor recorded.
            self.assertEqual(
                [r for r in self.send_all(subscription) if r], [])

            # The job does not try before the next attempt is due.
            with travel(DATE):
                self.assertEqual(Email.send_failed_emails(DATE), [])
            self.assertEqual(self.deliver(), 0)

            # The next day the server accepts: the job sends each once.
            self.mail.accept()
            later = DATE + datetime.timedelta(days=1)
            with travel(later):
                self.assertEqual(
                    len(Email.send_failed_emails(later)), len(KINDS))
            self.assertEqual(self.deliver(later), len(KINDS))
            received = self.mail.pop()
            self.assertEqual(len(received), len(KINDS))
            self.assertEqual(self.states(records),
                [(k, 'sent', 2, later) for k in KINDS])
            logged = {r.email.message_id for r in BillingEmail.browse(
                    records)}
            self.assertEqual({m['Message-ID'] for _, _, m in received},
                logged)

            # Idempotent per email: its task queued again sends nothing.
            Email.queue_delivery([r.email for r in BillingEmail.browse(
                        records)], later)
            with travel(later):
                self.assertEqual(Email.send_failed_emails(later), [])
            self.assertEqual(self.deliver(later), len(KINDS))
            self.assertEqual(self.mail.pop(), [])
            self.assertEqual(
                [r for r in self.send_all(subscription) if r], [])

    @with_transaction()
    def test_server_down_bounded_attempts(self):
        """A server down fails each attempt, with growing delays, until no
        attempt is left; the step is then sent again by the workflow"""
        pool = Pool()
        BillingEmail = pool.get('sale.subscription.billing_email')
        Email = pool.get('ir.email')
        with self.customer("Down") as subscription:
            record = subscription.send_billing_email(
                'pre_deletion', 'debt-1', DEBT, date=DATE)
            self.mail.down()
            day = DATE
            self.deliver(day)
            for attempt in range(2, delivery.MAX_ATTEMPTS + 1):
                record = BillingEmail(record.id)
                self.assertEqual(
                    (record.state, record.attempts), ('failed', attempt - 1))
                self.assertTrue(record.next_attempt_at)
                day += datetime.timedelta(days=1)
                with travel(day):
                    self.assertEqual(
                        Email.send_failed_emails(day), [record.email])
                self.deliver(day)
            record = BillingEmail(record.id)
            self.assertEqual((record.state, record.attempts),
                ('failed', delivery.MAX_ATTEMPTS))
            self.assertIsNone(record.next_attempt_at)
            self.assertIn('ConnectionRefusedError', record.last_error)
            with travel(day + datetime.timedelta(days=1)):
                self.assertEqual(Email.send_failed_emails(day), [])

            # Given up: the workflow's next call for the step sends it anew.
            self.mail.up()
            again = subscription.send_billing_email(
                'pre_deletion', 'debt-1', DEBT, date=day)
            self.assertEqual(again.state, 'queued')
            self.deliver(day)
            self.assertEqual(BillingEmail(again.id).state, 'sent')
            self.assertEqual(len(self.mail.pop()), 1)

    def test_error_without_credentials(self):
        "The error recorded names no credential of the mail server's URI"
        uri = 'smtp://billing%40cloud.example:s3cr3t-pw@127.0.0.1:25'
        previous = config.get('email', 'uri')
        config.set('email', 'uri', uri)
        try:
            text = _error_text(RuntimeError(
                    "login to %s failed: 535 bad s3cr3t-pw" % uri))
        finally:
            config.set('email', 'uri', previous)
        self.assertNotIn('s3cr3t-pw', text)
        self.assertIn('RuntimeError', text)
        self.assertIn('535', text)
