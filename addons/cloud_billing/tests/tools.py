# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Test helpers of the cloud overlay: a real SMTP server on loopback, the
workflow's call of the billing emails, and customers of a cloud whose
servers are in a fake Nova (``create_cloud_customers``).

``MailCatcher`` starts an aiosmtpd SMTP server on 127.0.0.1 on a free port
and points trytond's ``[email] uri`` at it, so the emails go the way they go
in production: the transactional SMTP data manager connects at commit and
hands them over with smtplib. ``down()`` and ``up()`` take the server away
and back on the same port (a mail server outage); ``refuse()`` makes it
answer each message with a permanent error until ``accept()``. Stop it at the end (``stop()``, or use it as a
context manager); the previous configuration is restored.
"""
import email
import email.policy
import socket
import struct
import threading
import zlib

from proteus.config import get_config

from trytond import config as tconfig

__all__ = ['MailCatcher', 'send_billing_email', 'make_png',
    'create_cloud_customers']


class MailCatcher:
    "An SMTP server on loopback that keeps what it receives"

    def __init__(self, sender='billing@cloud.example'):
        self.sender = sender
        self.messages = []
        self._lock = threading.Lock()
        self._controller = None
        self._previous = {}
        self.refusing = None
        self.refused = 0

    # aiosmtpd handler hook
    async def handle_DATA(self, server, session, envelope):
        if self.refusing:
            with self._lock:
                self.refused += 1
            return self.refusing
        message = email.message_from_bytes(
            envelope.original_content or envelope.content,
            policy=email.policy.default)
        with self._lock:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), message))
        return '250 Message accepted for delivery'

    def start(self):
        from aiosmtpd.controller import Controller
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(('127.0.0.1', 0))
            self.port = sock.getsockname()[1]
        self._controller = Controller(
            self, hostname='127.0.0.1', port=self.port, ready_timeout=10)
        self._controller.start()
        for option, value in [
                ('uri', f'smtp://127.0.0.1:{self.port}'),
                ('from', self.sender),
                ]:
            self._previous[option] = tconfig.get('email', option)
            tconfig.set('email', option, value)
        return self

    def stop(self):
        for option, value in self._previous.items():
            tconfig.set('email', option, value)
        self._previous.clear()
        if self._controller:
            self._controller.stop()
            self._controller = None

    def down(self):
        """Stop the SMTP server and keep the configuration pointing at its
        port: a mail server that is down (connections refused)"""
        if self._controller:
            self._controller.stop()
            self._controller = None
        return self

    def up(self):
        "Start the SMTP server again on the same port"
        from aiosmtpd.controller import Controller
        self._controller = Controller(
            self, hostname='127.0.0.1', port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def refuse(self, reply='554 5.7.1 Message refused by policy'):
        "Answer each message with reply (an SMTP error) until accept()"
        self.refusing = reply
        return self

    def accept(self):
        "Accept the messages again"
        self.refusing = None
        return self

    def pop(self):
        "The messages received since the last call, as (from, to, message)"
        with self._lock:
            messages, self.messages = self.messages, []
        return messages

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def send_billing_email(
        subscription, kind, step_key, values=None, date=None, config=None):
    """Call ``send_billing_email`` as the workflow's scheduled job does.

    In its own transaction as the root user with the subscription's company,
    committed at the end; then its delivery tasks run, so the email leaves
    through the SMTP server.
    ``values`` may hold proteus invoices under ``invoices``. Return the
    state of the new billing email record after its delivery, or None when
    the step was already mailed.
    """
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.worker import run_task
    if config is None:
        config = get_config()
    values = dict(values or {})
    # Read everything through proteus before the transaction starts: a
    # proteus call would run inside it.
    company_id = subscription.company.id
    subscription_id = subscription.id
    if 'invoices' in values:
        values['invoices'] = [i.id for i in values['invoices']]
    with Transaction().start(config.database_name, 0,
            context={'company': company_id}) as transaction:
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Invoice = pool.get('account.invoice')
        if 'invoices' in values:
            values['invoices'] = Invoice.browse(values['invoices'])
        record = Subscription(subscription_id).send_billing_email(
            kind, step_key, values, date=date)
        record_id = record.id if record else None
        tasks = list(transaction.tasks)
    # The delivery tasks run after the commit, as the queue does.
    for task_id in tasks:
        run_task(Pool(config.database_name), task_id)
    if record_id is None:
        return None
    with Transaction().start(config.database_name, 0):
        BillingEmail = Pool().get('sale.subscription.billing_email')
        return BillingEmail(record_id).state


def make_png(width=96, height=32, color=(0x1f, 0x4e, 0x79)):
    "A plain-colour RGB PNG image"
    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    row = b'\x00' + bytes(color) * width
    return (b'\x89PNG\r\n\x1a\n'
        + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
        + chunk(b'IDAT', zlib.compress(row * height))
        + chunk(b'IEND', b''))


def create_cloud_customers(names, nova, server_id=None, config=None):
    """Customers of a cloud, each with a server in the fake Nova, through
    proteus (the fake connection must be the config's
    ``cloud_billing_connection``)

    The cloud billing configuration waits 10 s for the servers; a cloud
    RegionOne; a payment term of 14 days and a dunning level planning
    *Grace* the day after the due date; per name a customer (email
    name@example.com) with a running subscription of the project p-<name>
    from 1 January 2026 (2 vCPU, billed monthly) and a server in nova
    (uuid server_id(name) when given), synced. Return {name: (subscription,
    server)}.
    """
    import datetime
    from proteus import Model
    from subscription_core.tests.tools import (
        create_customer, create_dunning_procedure, create_payment_term,
        get_monthly_recurrence, get_services)
    Configuration = Model.get('cloud_billing.configuration', config=config)
    configuration = Configuration()
    configuration.remote_wait = 10
    configuration.save()
    payment_term = create_payment_term(14, config=config)
    create_dunning_procedure(
        [{'overdue': 1, 'action': 'grace'}], config=config)
    Cloud = Model.get('cloud_billing.cloud', config=config)
    cloud = Cloud(name="RegionOne", entry='test', region='RegionOne')
    cloud.save()
    Subscription = Model.get('sale.subscription', config=config)
    vcpu = get_services(config=config)['vcpu']
    customers = {}
    for name in names:
        party = create_customer(
            name, email='%s@example.com' % name, config=config)
        party.customer_payment_term = payment_term
        party.save()
        subscription = Subscription(party=party)
        subscription.start_date = datetime.date(2026, 1, 1)
        subscription.invoice_recurrence = get_monthly_recurrence(config)
        subscription.cloud = cloud
        subscription.project_id = 'p-%s' % name
        line = subscription.lines.new(service=vcpu)
        line.quantity = 2
        subscription.click('quote')
        subscription.click('run')
        server = nova.add_server(subscription.project_id, name=name,
            server_id=server_id(name) if server_id else None)
        subscription.click('sync_resources')
        customers[name] = (subscription, server)
    return customers
