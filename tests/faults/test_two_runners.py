"""Fault: two job runners at once (PostgreSQL only).

Two scheduler processes (``ir.cron.run``, its transaction and its retries)
run the billing day for the same date at the same time, through two jobs
(the module's *Run Billing Day* and a copy: a second scheduler). SQLite is
left out: it serializes its writers on the whole database (a second runner
waits for the first to commit and then finds everything done), so there is
no race to test.

* 1 February: runner A ran the whole billing day and has not committed
  (trytond 8.0 restarts a transaction to lock each strict sequence, the
  invoice and move numbers, so only at the end of the day does A hold
  every lock it needs and commit without restarting); runner B creates
  the same invoice lines and waits, in the database, on their unique key. A commits: B trips on the key
  (``UniqueViolation``), its run is retried by the scheduler
  (``job_errors`` makes the error retryable) and finds the lines billed.
  One invoice line per subscription line, one posted invoice per
  customer, no billing error, each job logged once.
* A runner may also end on a lock the other holds (trytond's lock of the
  records a restarted transaction needs, ``NOWAIT``, retried a few times):
  the scheduler's thread ends, nothing committed, and its next tick (run
  here) must end well. Only that error is let through.
* 18 February (after the billing day of the 16th): both runners run the
  billing actions at once: each shelve runs once (one request per server,
  one start), its email is sent once.
"""
import datetime
import time
import unittest

from trytond import backend

from . import cases, world

D = datetime.date


@unittest.skipUnless(backend.name == 'postgresql',
    "PostgreSQL only: SQLite serializes its writers on the whole database, "
    "a second runner cannot race with the first")
class TwoRunnersTestCase(cases.ProcessTestCase):
    "Two job runners at once"

    label = 'runners'

    def schedule(self, date):
        """The two billing day jobs due now, every other job inactive;
        return their ids"""
        def due(pool):
            Cron = pool.get('ir.cron')
            crons = Cron.search([('method', '=', cases.BILLING_DAY)],
                order=[('id', 'ASC')])
            if len(crons) == 1:
                crons += Cron.copy(crons)
                self.assertEqual(crons[1].companies, crons[0].companies)
            Cron.write(Cron.search([('id', 'not in', crons)]),
                {'active': False})
            Cron.write(crons, {'next_call': datetime.datetime(2000, 1, 1)})
            return [c.id for c in crons]
        return self.job(due, date)

    def runner(self, label, date, *args):
        return self.processes.start(label, 'cron', self.folder / 'nova',
            date, *args)

    def finish(self, date, *runners):
        """Wait for the runners. One may end on a lock another runner
        holds (trytond's scheduler thread ends; nothing was committed):
        its next tick runs then and must end well. Return the number of
        runs that ended on a lock."""
        locked = 0
        for runner in runners:
            runner.wait(timeout=600)
            if runner.returncode:
                output = self.processes.output(runner)
                self.assertIn('LockNotAvailable', output, output[-4000:])
                locked += 1
                tick = self.runner(runner.label + '-next', date)
                tick.wait(timeout=600)
                self.assertEqual(tick.returncode, 0,
                    self.processes.output(tick)[-4000:])
        return locked

    def logs(self, crons):
        "The number of runs logged per cron"
        Log = cases.Model.get('ir.cron.log')
        return [len(Log.find([('cron', '=', c)])) for c in crons]

    def test_two_runners(self):
        self.build('setup_customers')

        # 1 February: B trips on A's invoice lines
        day = D(2026, 2, 1)
        crons = self.schedule(day)
        ready_a, go_a = self.folder / 'a.ready', self.folder / 'a.go'
        ready_b = self.folder / 'b.ready'
        a = self.runner('runner-a', day, '--stop', 'day',
            '--ready', ready_a, '--go', go_a)
        self.processes.wait_for(ready_a, a)
        b = self.runner('runner-b', day, '--stop', 'insert',
            '--ready', ready_b)
        self.processes.wait_for(ready_b, b)
        time.sleep(2)
        self.assertIsNone(b.poll(), "B did not wait for A's lines")
        go_a.touch()
        locked = self.finish(day, a, b)
        self.assertEqual(locked, 0)
        self.assertIn('create_billing_lines raised UniqueViolation',
            self.processes.output(b))
        self.assertEqual(self.logs(crons), [1, 1])

        InvoiceLine = cases.Model.get('account.invoice.line')
        Invoice = cases.Model.get('account.invoice')
        BillingError = cases.Model.get('sale.subscription.billing_error')
        lines = InvoiceLine.find([('billing_start', '=', D(2026, 1, 1))])
        self.assertEqual(sorted(l.invoice.party.name for l in lines),
            ['alpha', 'beta'])
        self.assertEqual(sorted((i.party.name, i.state)
                for i in Invoice.find([('type', '=', 'out')])),
            [('alpha', 'posted'), ('beta', 'posted')])
        self.assertEqual(BillingError.find([]), [])

        # 16 February: in grace
        grace = D(2026, 2, 16)
        self.job(lambda pool: pool.get('ir.cron').run_billing_day(
                date=grace), grace)
        self.mail.pop()

        # 18 February: both runners run the shelves at once
        crons = self.schedule(world.SHELVE_DAY)
        self.finish(world.SHELVE_DAY,
            self.runner('runner-c', world.SHELVE_DAY),
            self.runner('runner-d', world.SHELVE_DAY))
        self.assertEqual(self.logs(crons), [2, 2])
        for action in self.actions('shelve').values():
            self.assertEqual(len([e for e in action.events
                        if e.to_state == 'running']), 1)
        self.assertShelvedOnce()
