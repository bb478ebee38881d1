"""Fault: two job runners at once (PostgreSQL only).

Two scheduler processes (``ir.cron.run``, its transaction and its retries)
run the billing day for the same date at the same time, through two jobs
(the module's *Run Billing Day* and a copy: a second scheduler). SQLite is
left out: it serializes its writers on the whole database (a second runner
waits for the first to commit and then finds everything done), so there is
no race to test.

* 1 February: runner A created January's invoice lines and has not
  committed; runner B creates the same lines, waits on their unique key,
  and trips it when A commits; B's run is retried and finds them billed.
  Both runs end; one invoice line per subscription line, one posted
  invoice per customer, no billing error.
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

    def finish(self, *runners):
        "Wait for the runners, which must end well"
        for runner in runners:
            runner.wait(timeout=600)
            self.assertEqual(runner.returncode, 0,
                self.processes.output(runner)[-4000:])

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
        a = self.runner('runner-a', day, '--stop', 'lines',
            '--ready', ready_a, '--go', go_a)
        self.processes.wait_for(ready_a, a)
        b = self.runner('runner-b', day, '--stop', 'insert',
            '--ready', ready_b)
        self.processes.wait_for(ready_b, b)
        time.sleep(2)
        self.assertIsNone(b.poll(), "B did not wait for A's lines")
        go_a.touch()
        self.finish(a, b)
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
        self.finish(self.runner('runner-c', world.SHELVE_DAY),
            self.runner('runner-d', world.SHELVE_DAY))
        for action in self.actions('shelve').values():
            self.assertEqual(len([e for e in action.events
                        if e.to_state == 'running']), 1)
        self.assertShelvedOnce()
