# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Workload ``usage_rating``: a month of daily usage rows rated

The data (outside the clock): the subscriptions of bench/usage_data.py
receive N usage events of January 2025 through ``billing_usage.event.
ingest`` (batches of 10,000, one committed transaction each), then the job
*Generate Usage Rows* for 1 February aggregates them into daily rows (one
per subscription line and day with events) and their consumptions
(``aggregate_seconds`` in the results: it reads every event, so it grows
with N).

ours (timed)
    The engine's rating of the month as its on-demand invoicing runs it:
    ``sale.subscription.line.consumption.get_due_usage_charges`` of the
    usage lines (found by a search query and browsed by id, as the
    invoicing hands them over) until 1 February 2025, which reads the
    rows' consumptions from the database and prices each day at the
    graduated tier the month's cumulative calls reached, in a transaction
    of its own (started inside the clock). Rows per second = rows rated /
    seconds. The rows of a month do not depend on the number of events, so
    neither should the cost: compare ``ours_ms_per_month`` across sizes.

    The first rating of the process (``ours_*``: the pool loaded, nothing
    else run) pays the first use of trytond's caches (access rules, the
    domains' SQL, translations); the median of the REPEAT ratings after it
    (``ours_warm_*``) is a running server's, which rates every hour.

    The service bills each day on demand: a charge (an invoice line, its
    description and trace) per row, the most a rating makes of its rows.

floor (timed, ``floor_*``)
    Not an engine: the least any rating of these rows in Python must do,
    in a transaction of its own on the same database, in a process of its
    own after ours. It reads the usage lines, their service's tiers and
    the rows with three plain queries (no access rules, no search), and
    for each row: its quantity's Decimal (once per distinct float), the
    month's cumulative per line, the graduated tiers it crosses, the
    amount rounded once to the cent, a description and a tuple. No
    validation, no trace by tier, no late usage, no other period or mode,
    no fallback for inexact sums. Its amount and charges are asserted
    equal to ours'. The median of 1 + REPEAT ratings; ours' running
    median over it is how far the engine is from that bound on this
    machine (``floor_ratio``), whatever the machine's speed.

ours, monthly lines (timed, ``ours_month_*``)
    The same rows rated as the usage lines of a monthly invoice: the lines'
    billing period set to ``month`` (outside the clock, in a transaction
    rolled back), then the same call: one charge per line for the 31 rows
    of its month, each day still priced at the tier the month reached;
    the median of REPEAT ratings after the daily ones.
"""
import datetime
import statistics
import time
from decimal import ROUND_HALF_EVEN, Decimal

import usage_data

UNTIL = datetime.datetime.combine(usage_data.MONTH_END, datetime.time())
# The ratings after the first (a running server's), and of monthly lines
REPEAT = 5


def fill(database, size, data):
    "Ingest the events and aggregate them into rows (not timed here)"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        Company = Pool().get('company.company')
        company, = Company.search([])
        context = {'company': company.id}
    accepted = 0
    for batch, _ in usage_data.events(data['numbers'], size):
        with Transaction().start(
                database, 0, context=context) as transaction:
            Event = Pool().get('billing_usage.event')
            accepted += sum(r['status'] == 'accepted'
                for r in Event.ingest(batch))
            transaction.commit()
    start = time.perf_counter()
    with Transaction().start(database, 0, context=context) as transaction:
        Row = Pool().get('billing_usage.row')
        rows = len(Row.generate(usage_data.MONTH_END))
        transaction.commit()
    return {'events': accepted, 'rows': rows,
        'aggregate_seconds': round(time.perf_counter() - start, 2)}


def run_ours(database, repeat=REPEAT):
    """The rating of the month: (seconds of the first rating, check), the
    check with the seconds of the ratings after it (``warm_seconds``) and
    those of the monthly lines (``month_seconds``, then ``month_*`` as the
    first check), each rating's check equal to the first's"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        Company = Pool().get('company.company')
        company, = Company.search([])
        context = {'company': company.id}
    warm, month = [], []
    for index in range(1 + repeat):
        start = time.perf_counter()
        with Transaction().start(
                database, 0, readonly=True, context=context):
            seconds, each = _rate(start)
        if index:
            assert each == check, (each, check)
            warm.append(seconds)
        else:
            first, check = seconds, each
    for index in range(repeat):
        with Transaction().start(
                database, 0, context=context) as transaction:
            # The lines invoiced monthly (rolled back: outside the clock)
            Line = Pool().get('sale.subscription.line')
            line = Line.__table__()
            transaction.connection.cursor().execute(*line.update(
                    [line.billing_period], ['month'],
                    where=line.billing_type == 'usage'))
            seconds, each = _rate(time.perf_counter())
            transaction.rollback()
        if index:
            assert each == month_check, (each, month_check)
        else:
            month_check = each
        month.append(seconds)
    check.update({'month_' + k: v for k, v in month_check.items()})
    check['warm_seconds'] = warm
    check['month_seconds'] = month
    return first, check


def _rate(start):
    """(seconds since start, check) of the rating of the month as
    get_due_usage_charges gives it for the usage lines"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Line = pool.get('sale.subscription.line')
    Consumption = pool.get('sale.subscription.line.consumption')
    # The lines as the on-demand invoicing hands them to the rating
    # (Line.browse of their ids, per customer): their ids by a search
    # query, the rating reading the values it needs
    cursor = Transaction().connection.cursor()
    cursor.execute(*Line.search(
            [('billing_type', '=', 'usage')], order=[], query=True))
    lines = Line.browse([i for i, in cursor])
    charges = Consumption.get_due_usage_charges(lines, UNTIL)
    seconds = time.perf_counter() - start
    return seconds, {
        'charges': len(charges),
        'rows_rated': sum(len(c.sources) for _, c in charges),
        'amount': str(sum(c.amount for _, c in charges)),
        'quantity': str(sum(c.quantity for _, c in charges)),
        }


def run_floor(database, repeat=REPEAT):
    """The floor's ratings: (median seconds, check), the check with each
    rating's seconds (``seconds``)"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        Company = Pool().get('company.company')
        company, = Company.search([])
        context = {'company': company.id}
    seconds, check = [], None
    for index in range(1 + repeat):
        start = time.perf_counter()
        with Transaction().start(
                database, 0, readonly=True, context=context) as transaction:
            charges = _floor(transaction.connection.cursor())
        seconds.append(time.perf_counter() - start)
        each = {
            'charges': len(charges),
            'rows_rated': len(charges),
            'amount': str(sum(c[3] for c in charges)),
            }
        assert check is None or each == check, (each, check)
        check = each
    check['seconds'] = seconds
    return statistics.median(seconds), check


_CENT, _ZERO = Decimal('0.01'), Decimal(0)


def _floor(cursor):
    "The charges of the month's rows (see the module's docstring)"
    from sql import Column, Table
    from trytond import backend

    def columns(table, *names):
        "The columns, typed on SQLite as ModelSQL.read types them"
        return [Column(table, n).as_(f'{n} [{t}]'
                if backend.name == 'sqlite' else n) for n, t in names]
    line = Table('sale_subscription_line')
    tier = Table('sale_subscription_service_tier')
    consumption = Table('sale_subscription_line_consumption')
    cursor.execute(*line.select(*columns(line, ('id', 'INTEGER'),
                ('service', 'INTEGER'), ('unit_price', 'NUMERIC')),
            where=line.billing_type == 'usage'))
    lines = {i: (service, price) for i, service, price in cursor}
    cursor.execute(*tier.select(*columns(tier, ('service', 'INTEGER'),
                ('from_quantity', 'FLOAT'), ('unit_price', 'NUMERIC')),
            order_by=[tier.service, tier.from_quantity]))
    starts = {}
    for service, from_quantity, price in cursor:
        starts.setdefault(service, []).append(
            (Decimal(repr(from_quantity)), price))
    # Per service its tiers as (ceiling or None, price)
    tiers = {s: [(t[i + 1][0] if i + 1 < len(t) else None, p)
            for i, (_, p) in enumerate(t)] for s, t in starts.items()}
    line_tiers = {i: tiers.get(s) for i, (s, _) in lines.items()}
    cursor.execute(*consumption.select(*columns(consumption,
                ('id', 'INTEGER'), ('line', 'INTEGER'), ('date', 'DATE'),
                ('quantity', 'FLOAT')),
            where=(consumption.invoice_line == None)  # noqa: E711
            & (consumption.date <= usage_data.MONTH_END)
            & consumption.line.in_(list(lines)),
            order_by=[consumption.date, consumption.id]))
    decimals, used, charges = {}, {}, []
    for id_, line_id, date, quantity in cursor.fetchall():
        exact = decimals.get(quantity)
        if exact is None:
            exact = decimals[quantity] = Decimal(repr(quantity))
        phase = (line_id, date.month)
        low = used.get(phase, 0)
        high = used[phase] = low + exact
        amount, floor = _ZERO, 0
        for ceiling, price in line_tiers[line_id]:
            top = high if ceiling is None or ceiling >= high else ceiling
            portion = top - (low if low > floor else floor)
            if portion > 0:
                amount += portion * price
            if top is high:
                break
            floor = ceiling
        amount = amount.quantize(_CENT, ROUND_HALF_EVEN)
        charges.append((line_id, date, exact, amount,
                f'{exact} calls ({date})', (id_,)))
    return charges
