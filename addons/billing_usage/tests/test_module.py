# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
from decimal import Decimal

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

D = datetime.date
DT = datetime.datetime
JOB = 'billing_usage.row|generate'


def create_usage_subscription(company, name, metric, unit):
    "A running subscription of name billing metric in unit, per month"
    pool = Pool()
    Party = pool.get('party.party')
    Address = pool.get('party.address')
    Template = pool.get('product.template')
    Product = pool.get('product.product')
    Service = pool.get('sale.subscription.service')
    Subscription = pool.get('sale.subscription')
    Line = pool.get('sale.subscription.line')
    template = Template(name=name, type='service', default_uom=unit,
        list_price=Decimal('1'))
    template.save()
    product = Product(template=template)
    product.save()
    service = Service(product=product, billing_type='usage',
        billing_period='month', usage_metric=metric)
    service.save()
    party = Party(name=name, addresses=[Address()])
    party.save()
    subscription = Subscription(company=company, party=party,
        currency=company.currency, invoice_address=party.addresses[0],
        start_date=D(2026, 1, 1))
    subscription.lines = [Line(service=service, quantity=1, unit=unit,
            unit_price=Decimal('1'), start_date=D(2026, 1, 1),
            billing_type='usage', billing_period='month')]
    subscription.save()
    Subscription.quote([subscription])
    Subscription.run([subscription])
    return Subscription(subscription.id)


class BillingUsageTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Billing Usage module"
    module = 'billing_usage'

    @with_transaction()
    def test_cron_before_billing_day(self):
        "The rows are made at 00:05, before the billing day's jobs (00:10)"
        Cron = Pool().get('ir.cron')
        cron, = Cron.search([('method', '=', 'billing_usage.row|generate')])
        self.assertEqual(
            (cron.interval_number, cron.interval_type, cron.hour,
                cron.minute), (1, 'days', 0, 5))

    @with_transaction()
    def test_user_application(self):
        "Keys can be issued for the billing_usage application"
        UserApplication = Pool().get('res.user.application')
        self.assertIn('billing_usage', dict(
                UserApplication.fields_get(['application'])[
                    'application']['selection']))

    @with_transaction()
    def test_generate_isolates_subscription(self):
        """A row its unit cannot hold fails alone: the other subscriptions
        get their rows, finance a billing error, the next run retries"""
        pool = Pool()
        Uom = pool.get('product.uom')
        Metric = pool.get('billing_usage.metric')
        Event = pool.get('billing_usage.event')
        Row = pool.get('billing_usage.row')
        Consumption = pool.get('sale.subscription.line.consumption')
        BillingError = pool.get('sale.subscription.billing_error')
        company = create_company()
        with set_company(company):
            unit, = Uom.search([('name', '=', "Unit")])
            self.assertEqual(unit.digits, 0)
            gib, = Uom.copy([unit], {'name': "GiB",
                    'rounding': Decimal('0.000001'), 'digits': 6})
            metric, = Metric.create([{
                        'company': company.id, 'code': 'storage',
                        'name': "Storage", 'aggregation': 'sum',
                        'field_name': 'gib',
                        }])
            good = create_usage_subscription(company, "Good", metric, gib)
            bad = create_usage_subscription(company, "Bad", metric, unit)
            with Transaction().set_context(company=company.id):
                results = Event.ingest([{
                            'transaction_id': '%s-%s' % (s.number, i),
                            'subscription': s.number,
                            'metric': 'storage',
                            'timestamp': '2026-03-01T10:0%sZ' % i,
                            'properties': {'gib': 0.75},
                            } for s in [good, bad] for i in range(2)])
            self.assertEqual({r['status'] for r in results}, {'accepted'})

            def state():
                return (
                    {(r.subscription.party.name, r.quantity)
                        for r in Row.search([])},
                    {(c.line.subscription.party.name, c.quantity)
                        for c in Consumption.search([])},
                    {(e.subscription.party.name, e.state, e.tries)
                        for e in BillingError.search([('job', '=', JOB)])},
                    {(e.subscription.party.name, e.aggregated)
                        for e in Event.search([])})

            # The daily job twice, then the generate route (regenerate),
            # which records the error but leaves it open
            for tries, run in [
                    (1, lambda: Row.generate(D(2026, 3, 2))),
                    (2, lambda: Row.generate(D(2026, 3, 2))),
                    (3, lambda: Row.regenerate(D(2026, 3, 1), D(2026, 3, 2))),
                    ]:
                run()
                self.assertEqual(state(), (
                        {("Good", Decimal('1.5'))},
                        {("Good", 1.5)},
                        {("Bad", 'open', tries)},
                        {("Good", True), ("Bad", False)}))
            error, = BillingError.search([('job', '=', JOB)])
            self.assertEqual(error.subscription, bad)
            self.assertEqual(error.message,
                'The usage "storage 2026-03-01" of line "%s" is 1.5 but '
                'its unit "Unit" has 0 digits: give the unit of the line\'s '
                'service enough digits, or send quantities that round to '
                'them.' % bad.lines[0].rec_name)

            # Finance gives the unit digits: the next run bills it
            Uom.write([unit], {'rounding': Decimal('0.01'), 'digits': 2})
            Row.generate(D(2026, 3, 2))
            self.assertEqual(state(), (
                    {("Good", Decimal('1.5')), ("Bad", Decimal('1.5'))},
                    {("Good", 1.5), ("Bad", 1.5)},
                    {("Bad", 'resolved', 3)},
                    {("Good", True), ("Bad", True)}))


del ModuleTestCase
