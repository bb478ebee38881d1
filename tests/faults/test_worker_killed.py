"""Fault: the worker running a remote action is killed (SIGKILL) between
the commit that marks the action running and the record of its outcome.

Two real worker processes (``process.py work``, trytond's ``Queue.pull``
and ``run_task``) on a database built in another process, the servers in
a fake Nova shared through a file:

* the first runs the billing actions job of the shelve day and the first
  shelve; it is killed just before the call to Nova (nothing done there);
* a second worker takes the next task and is killed once Nova shelved the
  server, before the outcome is recorded.

Both actions are left running. Two hours later the reaper (``reap``, the
scheduler's job, in the test's process) runs the first shelve again and
finishes the second from the server's state: both done, each server shelved by
one request, the deletion planned once, each email sent once.
"""
import datetime
import os
import pathlib
import shutil
import tempfile
import unittest

from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction
from trytond.worker import run_task

from cloud_billing import openstack
from cloud_billing.tests import fake_openstack
from cloud_billing.tests.tools import MailCatcher
from subscription_core.action_run import action_path
from subscription_core.ir import travel
from trytond_server import drop_postgresql_database

from . import world
from .committed import CommittedTestCase
from .process import Processes


class WorkerKilledTestCase(unittest.TestCase):
    "A worker killed while a remote action runs"

    # The read helpers of the committed tests (on self.config, self.nova)
    requests = CommittedTestCase.requests
    servers = CommittedTestCase.servers
    sent_emails = CommittedTestCase.sent_emails
    actions = CommittedTestCase.actions
    received = CommittedTestCase.received

    def setUp(self):
        super().setUp()
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix='faults-kill-'))
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.name = '%s_kill_%s' % (
            DB_NAME if backend.name == 'postgresql' else 'faults',
            os.getpid())
        self.processes = Processes(self.name, self.folder)
        self.addCleanup(self.drop)
        self.addCleanup(self.processes.stop_all)
        self.mail = MailCatcher().start()
        self.addCleanup(self.mail.stop)
        self.shared = world.SharedNova(self.folder / 'nova')
        self.shared.save(world.fresh_nova())
        self.shared.register()
        self.addCleanup(openstack.register_connection_factory,
            world.FAKE, fake_openstack.connect)

    def drop(self):
        if backend.name == 'postgresql':
            drop_postgresql_database(
                os.environ['TRYTOND_DATABASE__URI'], self.name)
        else:
            path = pathlib.Path(os.environ['TRYTOND_DATABASE__PATH'])
            for suffix in ['', '-wal', '-shm', '-journal']:
                (path / ('%s.sqlite%s' % (self.name, suffix))).unlink(
                    missing_ok=True)

    @property
    def nova(self):
        return self.shared.load()

    def kill_at(self, label, point, *args):
        "Start a worker, wait until it reaches point, kill it"
        ready = self.folder / ('%s.ready' % label)
        worker = self.processes.start(label, 'work', self.folder / 'nova',
            world.SHELVE_DAY, '--stop', point, '--ready', ready, *args)
        self.processes.wait_for(ready, worker)
        self.processes.kill(worker)
        return worker

    def transaction(self):
        return Transaction().start(self.name, 0, context={
                'company': self.company_id,
                'cloud_billing_connection': world.FAKE,
                })

    def test_worker_killed(self):
        self.processes.run('build', 'build', 'setup_customers', 'setup_grace')
        self.kill_at('worker-1', 'call', '--job')
        self.kill_at('worker-2', 'outcome')

        with Transaction().start(self.name, 0, readonly=True):
            Pool(self.name).init()
            company, = Pool().get('company.company').search([])
            self.company_id = company.id
        # Read through proteus as the other fault tests do
        from proteus import config as pconfig
        self.config = pconfig.set_trytond(self.name)

        shelves = self.actions('shelve')
        self.assertEqual({n: a.state for n, a in shelves.items()},
            {'alpha': 'running', 'beta': 'running'})
        # The worker killed before the call left its server as it was, the
        # one killed after it left its server shelved
        untouched, = [n for n, s in self.servers().items() if s == 'ACTIVE']
        shelved, = [n for n, s in self.servers().items()
            if s == 'SHELVED_OFFLOADED']

        # Two hours later, the reaper's hourly job and its tasks
        with self.transaction() as transaction, action_path():
            Action = Pool().get('sale.subscription.billing.action')
            running = Action.search([('state', '=', 'running')])
            Action.write(running, {'started_at': datetime.datetime.now()
                    - datetime.timedelta(hours=2)})
            transaction.commit()
        with travel(world.SHELVE_DAY):
            with self.transaction() as transaction:
                stranded = Pool().get('sale.subscription.billing.action').reap(
                    date=world.SHELVE_DAY)
                self.assertEqual(len(stranded), 2)
                transaction.commit()
            while transaction.tasks:
                run_task(self.name, transaction.tasks.pop())

        shelves = self.actions('shelve')
        self.assertEqual({n: a.state for n, a in shelves.items()},
            {'alpha': 'done', 'beta': 'done'})
        self.assertEqual(
            [e.message.split(':')[0] for e in shelves[shelved].events[-2:]],
            ['Stranded', 'Recovered'])
        self.assertEqual(
            [(e.from_state, e.to_state)
                for e in shelves[untouched].events[-4:]],
            [('running', 'running'), ('running', 'planned'),
                ('planned', 'running'), ('running', 'done')])
        self.assertEqual(self.servers(),
            {'alpha': 'SHELVED_OFFLOADED', 'beta': 'SHELVED_OFFLOADED'})
        self.assertEqual(self.requests(), {'alpha': 1, 'beta': 1})
        for type_ in ['pending_deletion', 'delete']:
            self.assertEqual(sorted(self.actions(type_)), ['alpha', 'beta'])
        self.assertEqual(self.sent_emails('shelved'), ['alpha', 'beta'])
        self.assertEqual(self.received(),
            ['alpha@example.com', 'beta@example.com'])
