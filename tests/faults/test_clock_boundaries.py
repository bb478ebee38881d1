"""Fault: the clock crossing each boundary of the workflow, a day (or an
hour) before, on, and after it.

One clock: the jobs are called through the Python API with their date (the
server's date travels there, as the scheduler's would be), never with a
date a client could set. Each step happens exactly on its day and not the
day before, and nothing happens twice the day after:

* grace end: the shelve planned *Shelve Grace Hours* (48) after the grace
  runs on 18 February, not on the 17th;
* hold expiry: a customer held until the 18th is shelved on the 19th;
* deletion warning: the pre-deletion warning goes *Deletion Warning Days*
  (7) before the deletion date, not a day earlier;
* deletion date (shelve day + *Retention Days*, 14): the servers are
  deleted on it, not the day before, once;
* hourly on-demand invoicing: the hour 10:00-11:00 is invoiced by the run
  at 11:00, not by the runs at 10:00 or 10:59:59, and not again at 12:00.
"""
import datetime
from decimal import Decimal

from proteus import Model

from subscription_core.tests.tools import create_customer, get_services

from . import cases, world
from .cases import ACTIONS

D = datetime.date
DT = datetime.datetime


class ClockBoundariesTestCase(cases.CommittedTestCase):
    "The clock crossing each boundary"

    def day(self, date):
        """Run the billing actions of date; return the state of each
        customer's actions (type: state) and its server"""
        self.job(ACTIONS, date)
        states = {name: {} for name in world.CUSTOMERS}
        for type_ in ['shelve', 'pending_deletion', 'delete']:
            for name, action in self.actions(type_).items():
                states[name][type_] = action.state
        nova = self.nova
        for name in world.CUSTOMERS:
            server = nova.servers.get(world.server_id(name))
            states[name]['server'] = server.status if server else 'gone'
        return states

    def hold(self, name, until):
        def hold(pool):
            Hold = pool.get('sale.subscription.automation_hold')
            Subscription = pool.get('sale.subscription')
            subscription, = Subscription.search([
                    ('party.name', '=', name)])
            Hold.hold([subscription], until, "Disputed invoice")
        self.job(hold, D(2026, 2, 17))

    def test_boundaries(self):
        self.hold('beta', world.SHELVE_DAY)

        # Grace end: the shelve day
        self.assertEqual(self.day(D(2026, 2, 17)), {
                'alpha': {'shelve': 'planned', 'server': 'ACTIVE'},
                'beta': {'shelve': 'planned', 'server': 'ACTIVE'},
                })
        self.assertEqual(self.day(world.SHELVE_DAY), {
                'alpha': {'shelve': 'done', 'pending_deletion': 'planned',
                    'delete': 'planned', 'server': 'SHELVED_OFFLOADED'},
                'beta': {'shelve': 'planned', 'server': 'ACTIVE'},
                })
        # Hold expiry: the day after the hold
        self.assertEqual(self.day(D(2026, 2, 19))['beta'], {
                'shelve': 'done', 'pending_deletion': 'planned',
                'delete': 'planned', 'server': 'SHELVED_OFFLOADED'})
        self.assertEqual(self.received(),
            ['alpha@example.com', 'beta@example.com'])
        Subscription = Model.get('sale.subscription')
        deletion = {s.party.name: s.cloud_deletion_date
            for s in Subscription.find([('cloud', '!=', None)])}
        self.assertEqual(deletion, {
                'alpha': D(2026, 3, 4), 'beta': D(2026, 3, 5)})

        # Deletion warning: 7 days before the deletion date
        states = self.day(D(2026, 2, 24))
        self.assertEqual(states['alpha']['pending_deletion'], 'planned')
        self.assertEqual(self.received(), [])
        states = self.day(D(2026, 2, 25))
        self.assertEqual(
            (states['alpha']['pending_deletion'],
                states['beta']['pending_deletion']),
            ('done', 'planned'))
        self.assertEqual(self.received(), ['alpha@example.com'])
        self.assertEqual(
            self.day(D(2026, 2, 26))['beta']['pending_deletion'], 'done')
        self.assertEqual(self.received(), ['beta@example.com'])

        # Deletion date: deleted on it, not the day before, once
        states = self.day(D(2026, 3, 3))
        self.assertEqual(
            {n: (s['delete'], s['server']) for n, s in states.items()},
            {'alpha': ('planned', 'SHELVED_OFFLOADED'),
                'beta': ('planned', 'SHELVED_OFFLOADED')})
        states = self.day(D(2026, 3, 4))
        self.assertEqual(
            {n: (s['delete'], s['server']) for n, s in states.items()},
            {'alpha': ('done', 'gone'),
                'beta': ('planned', 'SHELVED_OFFLOADED')})
        states = self.day(D(2026, 3, 5))
        self.assertEqual(
            {n: (s['delete'], s['server']) for n, s in states.items()},
            {'alpha': ('done', 'gone'), 'beta': ('done', 'gone')})
        self.day(D(2026, 3, 6))
        deletes = [p for m, p in self.nova.actions('DELETE')]
        self.assertEqual(sorted(deletes), sorted(
                '/servers/%s' % world.server_id(n) for n in world.CUSTOMERS))
        self.assertEqual(self.sent_emails('deleted'), ['alpha', 'beta'])
        self.assertEqual(self.received(),
            ['alpha@example.com', 'beta@example.com'])

    def test_hourly_invoicing(self):
        "The hour 10:00-11:00 is invoiced at 11:00, once"
        Subscription = Model.get('sale.subscription')
        Consumption = Model.get('sale.subscription.line.consumption')
        Invoice = Model.get('account.invoice')
        hourly = Subscription(party=create_customer('gamma'))
        hourly.start_date = D(2026, 2, 1)
        line = hourly.lines.new(service=get_services()['traffic'])
        line.billing_period = 'hour'
        line.unit_price = Decimal('0.10')
        hourly.click('quote')
        hourly.click('run')
        consumption = Consumption(line=hourly.lines[0], quantity=5)
        consumption.consumed_at = DT(2026, 2, 18, 10, 30)
        consumption.save()

        def run(at):
            self.job(lambda pool: pool.get(
                    'sale.subscription').create_on_demand_invoices(at),
                at.date())
            return [(i.description, i.state, i.total_amount)
                for i in Invoice.find([('billing_cycle', '=', None)])]

        self.assertEqual(run(DT(2026, 2, 18, 10, 0)), [])
        self.assertEqual(run(DT(2026, 2, 18, 10, 59, 59)), [])
        invoiced = [(
                'On-demand usage (2026-02-18 10:00–11:00 UTC)', 'posted',
                Decimal('0.50'))]
        self.assertEqual(run(DT(2026, 2, 18, 11, 0)), invoiced)
        self.assertEqual(run(DT(2026, 2, 18, 12, 0)), invoiced)
