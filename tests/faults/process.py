"""The other processes of the fault tests: a database builder, a queue
worker that can be made to stop at a point and be killed there, and a job
runner (the scheduler's cron loop). Run as ``python -m faults.process
COMMAND ...`` with ``tests`` on ``PYTHONPATH``, the test's ``TRYTOND_*``
variables and ``DB_NAME`` naming the database (see ``Processes``).

Commands:

* ``build SETUP...``: ``activate_modules('cloud_billing', setup_billing,
  world.SETUP...)`` into ``DB_NAME`` (restored from ``DB_CACHE`` when the
  snapshot exists);
* ``work NOVA DATE [--job] [--stop POINT] [--ready FILE]``: run job (4) for
  DATE first with ``--job`` (committed, its tasks left to the queue), then
  pull and run the queued tasks as ``trytond-worker`` does
  (``Queue.pull`` then ``run_task``) until none is left, against the
  shared Nova in the file NOVA. With ``--stop``, the first time the
  worker reaches POINT (``call``: a remote action is about to call Nova;
  ``outcome``: Nova did the work, the outcome is about to be recorded) it
  touches FILE and waits to be killed;
* ``cron NOVA DATE [--stop POINT] [--ready FILE] [--go FILE]``:
  ``ir.cron.run`` (the scheduler's loop: its transaction, its retries,
  then the queued tasks) over the crons due, on DATE. With ``--stop
  lines``, the first time the invoice lines are created (not committed),
  it touches FILE and waits for the file GO; ``--stop day`` the same when
  the billing day's jobs have all run, before the scheduler commits; ``--stop insert`` touches
  FILE before the first insert of invoice lines and goes on (to wait in
  the database on the lines another runner has not committed).
"""
import argparse
import contextlib
import datetime
import os
import pathlib
import signal
import subprocess
import sys
import time
from unittest.mock import patch

ROOT = pathlib.Path(__file__).resolve().parents[2]


class Processes:
    """Start the commands above for the database name, in the environment
    of the test; every process started is stopped by ``stop_all``"""

    def __init__(self, name, log_dir, **env):
        self.name = name
        self.log_dir = pathlib.Path(log_dir)
        self.started = []
        self.env = dict(os.environ, DB_NAME=name, **env,
            PYTHONPATH=os.pathsep.join(
                [str(ROOT / 'tests')]
                + [p for p in [os.environ.get('PYTHONPATH')] if p]))

    def start(self, label, *args):
        log = open(self.log_dir / ('%s.log' % label), 'w')
        process = subprocess.Popen(
            [sys.executable, '-m', 'faults.process', *map(str, args)],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        process.label = label
        process.log = log
        self.started.append(process)
        return process

    def run(self, label, *args, timeout=1800):
        "Start a command and wait for it; fail with its log if it fails"
        process = self.start(label, *args)
        code = process.wait(timeout=timeout)
        if code:
            raise AssertionError('%s ended with %s:\n%s' % (
                    label, code, self.output(process)[-4000:]))
        return process

    def output(self, process):
        process.log.flush()
        return (self.log_dir / ('%s.log' % process.label)).read_text()

    def kill(self, process):
        "SIGKILL: the process dies at once, whatever it was doing"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self):
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
            process.log.close()

    def wait_for(self, path, process, timeout=300):
        "Wait until process touched path; fail (with its log) if it ended"
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError('%s did not reach %s (%s):\n%s' % (
                        process.label, path, process.returncode,
                        self.output(process)[-4000:]))
            time.sleep(0.1)


def _stop_here(ready, go=None):
    "Touch ready, then wait for go (or forever: to be killed)"
    pathlib.Path(ready).touch()
    while go is None or not os.path.exists(go):
        time.sleep(0.05)


@contextlib.contextmanager
def _stop_at(point, ready, go=None):
    """Stop the first time the code reaches point (see the module's
    docstring); only the first time: a retry goes through"""
    from cloud_billing.resource import Resource
    from subscription_core.action import BillingAction
    from subscription_core.invoice import InvoiceLine
    stopped = []

    def first():
        if stopped:
            return False
        stopped.append(point)
        return True

    if point == 'call':
        original = Resource.remote_action.__func__

        def remote_action(cls, *args, **kwargs):
            if first():
                _stop_here(ready, go)
            return original(cls, *args, **kwargs)
        target = (Resource, 'remote_action', classmethod(remote_action))
    elif point == 'outcome':
        original = BillingAction._finish

        def finish(self, *args, **kwargs):
            if first():
                _stop_here(ready, go)
            return original(self, *args, **kwargs)
        target = (BillingAction, '_finish', finish)
    elif point in {'lines', 'insert'}:
        original = InvoiceLine.create_billing_lines.__func__

        def create_billing_lines(cls, charges, date):
            if point == 'insert' and charges and first():
                # Say so and go on: the insert is where this runner waits
                # (in the database) for the lines another runner holds
                pathlib.Path(ready).touch()
            try:
                lines = original(cls, charges, date)
            except Exception as e:
                # What the test reads in the log: the key tripped
                print('create_billing_lines raised %s' % type(e).__name__,
                    flush=True)
                raise
            if point == 'lines' and lines and first():
                _stop_here(ready, go)
            return lines
        target = (InvoiceLine, 'create_billing_lines',
            classmethod(create_billing_lines))
    elif point == 'day':
        from subscription_core.billing_run import Cron
        original = Cron.run_billing_day.__func__

        def run_billing_day(cls, date=None):
            result = original(cls, date=date)
            if first():
                _stop_here(ready, go)
            return result
        target = (Cron, 'run_billing_day', classmethod(run_billing_day))
    else:
        yield
        return
    with patch.object(*target):
        yield


def _company_context(database):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from . import world
    with Transaction().start(database, 0, readonly=True):
        pool = Pool(database)
        pool.init()
        company, = pool.get('company.company').search([])
        return {'company': company.id, 'cloud_billing_connection': world.FAKE}


def _job(database, context, date):
    "Job (4) for date, committed; its tasks are left in the queue"
    from trytond.transaction import Transaction, TransactionError
    from subscription_core.billing_run import run_billing_job
    extras = {}
    while True:
        with Transaction().start(database, 0, context=context,
                **extras) as transaction:
            try:
                run_billing_job(
                    'sale.subscription.billing.action|process', date)
            except TransactionError as e:
                transaction.rollback()
                e.fix(extras)
                continue
            transaction.commit()
            transaction.tasks.clear()
            return


def work(database, context):
    "Pull and run the queued tasks as trytond-worker does, until none"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.worker import run_task
    from trytond import backend
    while True:
        with Transaction().start(database, 0) as transaction:
            Queue = Pool().get('ir.queue')
            if backend.name == 'postgresql':
                task_id, _ = Queue.pull(
                    transaction.database, transaction.connection)
            else:
                # Queue.pull's query is PostgreSQL's (trytond-worker needs
                # it): the same dequeue, the oldest task first
                tasks = Queue.search([('dequeued_at', '=', None)],
                    order=[('id', 'ASC')], limit=1)
                Queue.write(tasks, {'dequeued_at': datetime.datetime.now()})
                task_id = tasks[0].id if tasks else None
            transaction.commit()
        if not task_id:
            return
        run_task(database, task_id)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('command', choices=['build', 'work', 'cron'])
    parser.add_argument('arguments', nargs='*')
    parser.add_argument('--job', action='store_true')
    parser.add_argument('--stop')
    parser.add_argument('--ready')
    parser.add_argument('--go')
    options = parser.parse_args(argv)
    database = os.environ['DB_NAME']
    from cloud_billing import openstack
    from . import world
    if options.command == 'build':
        from trytond.tests.tools import activate_modules
        from cloud_billing.tests.tools import MailCatcher
        from subscription_core.tests.tools import setup_billing
        with MailCatcher():
            activate_modules('cloud_billing', setup_billing,
                *(getattr(world, name) for name in options.arguments))
        return
    nova, date = options.arguments[:2]
    date = datetime.date.fromisoformat(date)
    nova = world.SharedNova(nova)
    nova.register()
    if options.command == 'cron':
        # The scheduler's context names no connection: its tasks use the
        # default one, here the shared fake Nova too
        openstack.register_connection_factory('openstacksdk', nova.connect)
    from subscription_core.ir import travel
    context = _company_context(database)
    with travel(date), _stop_at(options.stop, options.ready, options.go):
        if options.command == 'work':
            if options.job:
                _job(database, context, date)
            work(database, context)
        else:
            cron(database)


def cron(database):
    "ir.cron.run: the scheduler's loop over the crons due"
    from trytond.pool import Pool
    Pool(database).get('ir.cron').run(database)


if __name__ == '__main__':
    main()
