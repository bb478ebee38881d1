"""The two ways the fault tests run the product, with real commits:

* ``CommittedTestCase``: in the test's process, on the database of
  ``world.setup_grace`` (snapshot in ``DB_CACHE``);
* ``ProcessTestCase``: a database built by another process
  (``process.py build``), that worker and scheduler processes share with
  the test, the fake Nova shared through a file (``world.SharedNova``).

Both run the jobs as the scheduler runs them (their own transaction,
restarted for the locks it asks for, committed, then the queued tasks
through trytond's ``run_task``) and send the emails to a mail server on
loopback (``MailCatcher``); ``FaultTestMixin`` reads what happened.
"""
import datetime
import os
import pathlib
import shutil
import tempfile
import unittest

from proteus import Model, config as pconfig

from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.tests.tools import activate_modules
from trytond.transaction import Transaction, TransactionError
from trytond.worker import run_task

from cloud_billing import openstack
from cloud_billing.tests import fake_openstack
from cloud_billing.tests.tools import MailCatcher
from subscription_core.action_run import action_path
from subscription_core.billing_run import run_billing_job
from subscription_core.tests.tools import setup_billing, travel
from trytond_server import drop_postgresql_database

from . import world
from .process import Processes

ACTIONS = 'sale.subscription.billing.action|process'
BILLING_DAY = 'ir.cron|run_billing_day'


class FaultTestMixin:
    """Run the jobs, read what happened (on self.config, self.company_id,
    self.nova)"""

    def job(self, job, date):
        """Run job (a cron method, or a callable of the pool) for date as
        the scheduler does: commit, then the queued tasks; return what it
        returned"""
        extras = {}
        with travel(date):
            while True:
                with Transaction().start(self.config.database_name, 0,
                        context={
                            'company': self.company_id,
                            'cloud_billing_connection': world.FAKE,
                            }, **extras) as transaction:
                    try:
                        if callable(job):
                            result = job(Pool())
                        else:
                            result = run_billing_job(job, date)
                    except TransactionError as e:
                        # Restarted with the locks it asks for, as ir.cron
                        transaction.rollback()
                        e.fix(extras)
                        continue
                    transaction.commit()
                break
            while transaction.tasks:
                run_task(self.config.database_name, transaction.tasks.pop())
        return result

    def sql(self, query):
        "Run a query of the test (aging rows) in its own transaction"
        with Transaction().start(self.config.database_name, 0) as transaction:
            transaction.connection.cursor().execute(query)
            transaction.commit()

    def age_tasks(self, hours):
        "The queued tasks not finished were pushed hours earlier"
        self.sql('UPDATE ir_queue SET create_date = create_date - '
            "INTERVAL '%s hours' WHERE finished_at IS NULL" % hours
            if backend.name == 'postgresql' else
            "UPDATE ir_queue SET create_date = datetime(create_date, "
            "'-%s hours') WHERE finished_at IS NULL" % hours)

    def retry_emails(self, hours, date=world.SHELVE_DAY):
        """The failed emails failed hours earlier; then the retry job
        (send_failed_emails, every 5 minutes) and the deliveries it
        queued"""
        self.sql('UPDATE ir_email SET delivery_next_at = delivery_next_at - '
            "INTERVAL '%s hours' WHERE delivery_next_at IS NOT NULL" % hours
            if backend.name == 'postgresql' else
            "UPDATE ir_email SET delivery_next_at = datetime("
            "delivery_next_at, '-%s hours') "
            "WHERE delivery_next_at IS NOT NULL" % hours)
        return self.job(lambda pool: pool.get(
                'ir.email').send_failed_emails(date=date), date)

    def reap(self, date=world.SHELVE_DAY):
        "The reaper's hourly job, then the tasks it queued"
        return self.job(lambda pool: pool.get(
                'sale.subscription.billing.action').reap(date=date), date)

    def actions(self, type_):
        "The actions of type_, by customer name"
        Action = Model.get('sale.subscription.billing.action')
        return {a.subscription.party.name: a
            for a in Action.find([('type', '=', type_)])}

    def sent_emails(self, kind):
        "The billing emails of kind recorded sent, as customer names"
        BillingEmail = Model.get('sale.subscription.billing_email')
        return sorted(e.subscription.party.name for e in BillingEmail.find([
                    ('kind', '=', kind), ('state', '=', 'sent')]))

    def received(self):
        "The recipients of the messages the mail server got since the last"
        return sorted(to for _, tos, _ in self.mail.pop() for to in tos)

    def requests(self):
        "The server actions Nova got (POST), counted per customer"
        nova = self.nova
        names = {world.server_id(n): n for n in world.CUSTOMERS}
        counts = {}
        for _, path in nova.actions('POST'):
            name = names[path.split('/')[2]]
            counts[name] = counts.get(name, 0) + 1
        return counts

    def servers(self):
        "The status of each customer's server in Nova"
        nova = self.nova
        return {name: nova.servers[world.server_id(name)].status
            for name in world.CUSTOMERS}

    def assertShelvedOnce(self):
        """Both shelves done, each server shelved by one request, the
        deletion planned once, the shelved email sent once to each"""
        self.assertEqual(
            {n: a.state for n, a in self.actions('shelve').items()},
            {'alpha': 'done', 'beta': 'done'})
        self.assertEqual(self.servers(),
            {'alpha': 'SHELVED_OFFLOADED', 'beta': 'SHELVED_OFFLOADED'})
        self.assertEqual(self.requests(), {'alpha': 1, 'beta': 1})
        for type_ in ['pending_deletion', 'delete']:
            self.assertEqual(sorted(self.actions(type_)), ['alpha', 'beta'])
        self.assertEqual(self.sent_emails('shelved'), ['alpha', 'beta'])
        self.assertEqual(self.received(),
            ['alpha@example.com', 'beta@example.com'])

    def age_running(self, hours):
        "The running actions started hours earlier (their worker is gone)"
        def age(pool):
            Action = pool.get('sale.subscription.billing.action')
            with action_path():
                Action.write(Action.search([('state', '=', 'running')]), {
                        'started_at': datetime.datetime.now()
                        - datetime.timedelta(hours=hours)})
        self.job(age, world.SHELVE_DAY)


class CommittedTestCase(FaultTestMixin, unittest.TestCase):
    "The customers of world.setup_grace, in grace; the servers ACTIVE"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mail = MailCatcher().start()
        cls.config = activate_modules('cloud_billing', setup_billing,
            world.setup_customers, world.setup_grace)
        cls.config._context['cloud_billing_connection'] = world.FAKE
        openstack.register_connection_factory(
            world.FAKE, fake_openstack.connect)
        cls.nova = fake_openstack.CLOUD = world.fresh_nova()
        Company = Model.get('company.company')
        company, = Company.find([])
        cls.company_id = company.id
        cls.mail.pop()

    @classmethod
    def tearDownClass(cls):
        cls.mail.stop()
        drop_db()
        super().tearDownClass()


class ProcessTestCase(FaultTestMixin, unittest.TestCase):
    """A database of its own (DB_NAME_<label> on PostgreSQL, a file on
    SQLite) that other processes (self.processes) share with the test"""

    label = 'faults'

    def setUp(self):
        super().setUp()
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix='faults-'))
        self.addCleanup(shutil.rmtree, self.folder, True)
        if backend.name == 'sqlite':
            # The database is a file the processes share: its folder may
            # not exist yet (a clean clone has no data/)
            pathlib.Path(os.environ['TRYTOND_DATABASE__PATH']).mkdir(
                parents=True, exist_ok=True)
        self.name = '%s_%s_%s' % (
            DB_NAME if backend.name == 'postgresql' else 'faults',
            self.label, os.getpid())
        self.mail = MailCatcher().start()
        self.addCleanup(self.mail.stop)
        self.processes = Processes(self.name, self.folder,
            TRYTOND_EMAIL__URI='smtp://127.0.0.1:%s' % self.mail.port)
        self.addCleanup(self.drop)
        self.addCleanup(self.processes.stop_all)
        self.shared = world.SharedNova(self.folder / 'nova')
        self.shared.save(world.fresh_nova())
        self.shared.register()
        self.addCleanup(openstack.register_connection_factory,
            world.FAKE, fake_openstack.connect)

    def drop(self):
        # Forget it in this process: proteus restarts the known pools
        Pool.stop(self.name)
        backend.Database(self.name).close()
        if backend.name == 'postgresql':
            drop_postgresql_database(
                os.environ['TRYTOND_DATABASE__URI'], self.name)
        else:
            path = pathlib.Path(os.environ['TRYTOND_DATABASE__PATH'])
            for suffix in ['', '-wal', '-shm', '-journal']:
                (path / ('%s.sqlite%s' % (self.name, suffix))).unlink(
                    missing_ok=True)

    def build(self, *setups):
        "Build the database with the setups of world, open it here"
        self.processes.run('build', 'build', *setups)
        with Transaction().start(self.name, 0, readonly=True):
            Pool(self.name).init()
            company, = Pool().get('company.company').search([])
            self.company_id = company.id
        # proteus points TRYTOND_DATABASE_URI at the database it is given,
        # where the next test's configuration would find it
        uri = os.environ.get('TRYTOND_DATABASE_URI')
        self.config = pconfig.set_trytond(self.name)
        if uri is None:
            del os.environ['TRYTOND_DATABASE_URI']
        else:
            os.environ['TRYTOND_DATABASE_URI'] = uri

    @property
    def nova(self):
        return self.shared.load()
