# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Data of the benchmarks: the same shape for the engine and for stock

Two flavours of database are built from the same code:

- ``ours``: ``subscription_core`` activated (the engine);
- ``stock``: only ``sale_subscription`` (and what it depends on, among
  them ``account_invoice``), so the baseline runs Tryton's own code with
  nothing of ours in its pool.

Both start from a template (bench/template.py). Then N customers, each with one running subscription
started on 1 January 2025 with 3 lines (vCPU, RAM, Instance): ``limit``
lines of the monthly model on ``ours``, lines consumed monthly on
``stock`` (``consumption_recurrence``), same quantities and prices, so a
January invoice of either has the same 3 lines and the same totals.

Records are created with the ORM in batches (bulk ``create``, then the
subscriptions' own ``quote`` and ``run`` transitions per batch), one
transaction per batch: they are exactly what the product would store.
"""
import datetime
from decimal import Decimal

START = datetime.date(2025, 1, 1)
YEAR = 2025
# SQLite refuses the domain validation of larger batches
# ("Expression tree is too large").
BATCH = 400
# service code: quantity of customer i
LINES = {
    'vcpu': lambda i: 1 + i % 16,
    'ram': lambda i: 2 * (1 + i % 16),
    'instance': lambda i: 1 + i % 4,
    }


def generate(database, size, flavour, batch=BATCH):
    "N customers with one running subscription of 3 lines each"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    Pool(database).init()
    with Transaction().start(database, 0, readonly=True):
        pool = Pool()
        Company = pool.get('company.company')
        Service = pool.get('sale.subscription.service')
        RuleSet = pool.get('sale.subscription.recurrence.rule.set')
        company, = Company.search([])
        company_id, currency_id = company.id, company.currency.id
    # Prices are per company
    with Transaction().start(
            database, 0, readonly=True, context={'company': company_id}):
        pool = Pool()
        Service = pool.get('sale.subscription.service')
        RuleSet = pool.get('sale.subscription.recurrence.rule.set')
        services = {s.product.code: (
                s.id, s.product.default_uom.id, s.product.template.list_price)
            for s in Service.search([])}
        monthly, = RuleSet.search([('name', '=', "Monthly")])
        monthly_id = monthly.id

    for offset in range(0, size, batch):
        numbers = range(offset, min(offset + batch, size))
        with Transaction().start(
                database, 0, context={'company': company_id}) as transaction:
            pool = Pool()
            Party = pool.get('party.party')
            Subscription = pool.get('sale.subscription')
            parties = Party.create([{
                        'name': 'Customer %05d' % i,
                        'addresses': [('create', [{
                                        'street': '%d Cloud Street' % i,
                                        }])],
                        } for i in numbers])
            subscriptions = Subscription.create([
                    _subscription_values(
                        flavour, i, party, company_id, currency_id,
                        services, monthly_id)
                    for i, party in zip(numbers, parties)])
            Subscription.quote(subscriptions)
            Subscription.run(subscriptions)
            transaction.commit()


def _subscription_values(
        flavour, i, party, company_id, currency_id, services, monthly_id):
    lines = []
    for code, quantity in LINES.items():
        service_id, unit_id, price = services[code]
        line = {
            'service': service_id,
            'quantity': quantity(i),
            'unit': unit_id,
            'unit_price': price,
            'start_date': START,
            }
        if flavour == 'ours':
            line.update(billing_type='limit', billing_period='month')
        else:
            line['consumption_recurrence'] = monthly_id
        lines.append(line)
    values = {
        'company': company_id,
        'party': party.id,
        'invoice_address': party.addresses[0].id,
        'currency': currency_id,
        'start_date': START,
        'invoice_recurrence': monthly_id,
        'lines': [('create', lines)],
        }
    if flavour == 'ours':
        values['billing_model'] = 'monthly'
    return values


def expected_total(size):
    "Untaxed amount of one month of the N customers (the invoices' check)"
    prices = {'vcpu': Decimal('10.00'), 'ram': Decimal('4.00'),
        'instance': Decimal('2.00')}
    return sum(prices[code] * quantity(i)
        for i in range(size) for code, quantity in LINES.items())
