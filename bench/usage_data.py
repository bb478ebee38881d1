# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Data of the usage benchmarks (``usage_ingest``, ``usage_rating``)

The template of flavour ``usage`` (bench/template.py: ``billing_usage``
activated, company, chart, fiscal year 2025, services) gets:

- the metric ``api_calls`` (sum of the property ``calls``) rating a usage
  service invoiced on demand each day, with graduated tiers (1.00, then
  0.50 from the month's 1,000th call, 0.25 from the 100,000th);
- S customers (``BENCH_USAGE_SUBSCRIPTIONS``, 100 by default), each with a
  running subscription from 1 January 2025 with one line of that service;
- a user of the group Billing Usage Producer and its key of the user
  application ``billing_usage`` (the HTTP route's authentication).

``events(size, batch)`` yields the events of a run batch by batch (never
the whole run in memory): event i of the run is ``calls = 1 + i % 7`` for
subscription ``i % S`` at a moment of January 2025 spread over its 31 days;
from the second batch on, the first ``DUPLICATES`` events of a batch repeat
transaction ids of the batch before (sent again: duplicates), so the route
answers ``size - duplicates`` accepted events.
"""
import datetime
import os
from decimal import Decimal

START = datetime.date(2025, 1, 1)
MONTH_END = datetime.date(2025, 2, 1)
BATCH = int(os.environ.get('BENCH_USAGE_BATCH', 10_000))
SUBSCRIPTIONS = int(os.environ.get('BENCH_USAGE_SUBSCRIPTIONS', 100))
# Share of each batch (after the first) sent again
DUPLICATE_SHARE = 0.01
METRIC = 'api_calls'
TIERS = [(0, Decimal('1.00')), (1_000, Decimal('0.50')),
    (100_000, Decimal('0.25'))]
_SECONDS = 31 * 24 * 3600


def generate(database, subscriptions=SUBSCRIPTIONS):
    """The metric, the service, S subscriptions and the producer's key;
    return {'key', 'numbers' (subscription numbers in order)}"""
    from proteus import Model, config as pconfig
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    from billing_usage.tests.tools import (
        create_producer, create_usage_service, issue_key)

    config = pconfig.set_trytond(database=database)
    Metric = Model.get('billing_usage.metric')
    metric = Metric(code=METRIC, name="API calls", unit="calls")
    metric.aggregation = 'sum'
    metric.field_name = 'calls'
    metric.save()
    service = create_usage_service(
        'requests', "API requests", '1.00', metric, period='day')
    for from_quantity, price in TIERS:
        service.tiers.new(from_quantity=from_quantity, unit_price=price)
    service.save()
    key = issue_key(create_producer(login='bench_metering'))
    service_id = service.id

    with Transaction().start(database, 0, readonly=True):
        Company = Pool().get('company.company')
        company, = Company.search([])
        company_id, currency_id = company.id, company.currency.id
    numbers = []
    with Transaction().start(
            database, 0, context={'company': company_id}) as transaction:
        pool = Pool()
        Party = pool.get('party.party')
        Service = pool.get('sale.subscription.service')
        Subscription = pool.get('sale.subscription')
        RuleSet = pool.get('sale.subscription.recurrence.rule.set')
        service = Service(service_id)
        monthly, = RuleSet.search([('name', '=', "Monthly")])
        for offset in range(0, subscriptions, 400):
            indexes = range(offset, min(offset + 400, subscriptions))
            parties = Party.create([{
                        'name': 'Usage customer %05d' % i,
                        'addresses': [('create', [{}])],
                        } for i in indexes])
            records = Subscription.create([{
                        'company': company_id,
                        'party': p.id,
                        'invoice_address': p.addresses[0].id,
                        'currency': currency_id,
                        'start_date': START,
                        'invoice_recurrence': monthly.id,
                        'lines': [('create', [{
                                        'service': service.id,
                                        'unit': service.product.default_uom.id,
                                        'unit_price': Decimal('1.00'),
                                        'billing_type': 'usage',
                                        'billing_period': 'day',
                                        'start_date': START,
                                        }])],
                        } for p in parties])
            Subscription.quote(records)
            Subscription.run(records)
            numbers += [s.number for s in records]
        transaction.commit()
    return {'key': key, 'numbers': numbers}


def events(numbers, size, batch=BATCH):
    """(events, repeated) of each batch of a run of size events: a list of
    dicts, and how many of them repeat the batch before"""
    batch = max(1, min(batch, size))
    count = len(numbers)
    previous = []
    sent = 0
    while sent < size:
        current = []
        repeat = (previous[:max(1, int(len(previous) * DUPLICATE_SHARE))]
            if previous else [])
        current.extend(repeat[:size - sent])
        for i in range(sent, sent + min(batch, size - sent) - len(current)):
            moment = datetime.datetime(2025, 1, 1) + datetime.timedelta(
                seconds=(i * 7919) % _SECONDS)
            current.append({
                    'transaction_id': 'bench-%09d' % i,
                    'subscription': numbers[i % count],
                    'metric': METRIC,
                    'timestamp': moment.isoformat() + 'Z',
                    'properties': {'calls': 1 + i % 7},
                    })
        sent += len(current)
        previous = current[len(repeat):]
        yield current, min(len(repeat), len(current))


def read(database):
    "{'key', 'numbers'} of a generated database"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        pool = Pool()
        Application = pool.get('res.user.application')
        Subscription = pool.get('sale.subscription')
        application, = Application.search([
                ('application', '=', 'billing_usage'),
                ('state', '=', 'validated'),
                ])
        return {
            'key': application.key,
            'numbers': [s.number for s in Subscription.search(
                    [], order=[('id', 'ASC')])],
            }
