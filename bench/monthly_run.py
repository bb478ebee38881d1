# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Workload ``monthly_run``: invoice and post one month of N customers

ours
    The engine's scheduled jobs as ``ir.cron`` runs them (user 0, company
    in the context, one transaction per job, committed):
    ``sale.subscription|create_billing_lines`` then
    ``sale.subscription|close_billing_cycle`` (credits and compensations
    steps, then Tryton's ``account.invoice.post``) for 1 February 2025,
    which invoices January in arrears.
baseline
    Stock Tryton on a database where only ``sale_subscription`` is
    activated: ``sale.subscription.line.generate_consumption``,
    ``sale.subscription.generate_invoice`` and ``account.invoice.post`` of
    the invoices created, for 1 January 2025 (stock invoices the consumption
    of a period when it starts), one transaction per step and chunk.

Both post through ``account.invoice.post``, which pushes an
``account.invoice|print_invoice`` task to ``ir.queue`` per batch: a worker
renders the reports after the commit, outside the job, so neither path
measures report rendering (``queued_tasks`` counts them).
"""
import datetime
import os
import sys
import time
from decimal import Decimal

OURS_DATE = datetime.date(2025, 2, 1)
STOCK_DATE = datetime.date(2025, 1, 1)
# Stock fails on SQLite at about 1,000 customers in one call
# ("Expression tree is too large"): it runs in chunks of this many.
# Transactions restarted by a TransactionError (lock needed), as ir.cron
RETRIES = [0]
STOCK_CHUNK = int(os.environ.get("BENCH_STOCK_CHUNK", 500))


def _context(database):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        Company = Pool().get('company.company')
        company, = Company.search([])
        return {'company': company.id}


def in_transaction(database, context, function):
    """Run function in a committed transaction as ir.cron does

    A TransactionError (e.g. the strict invoice sequence must be locked
    from the start of the transaction) rolls back and starts again with the
    lock taken, exactly as ``ir.cron.run`` retries a job: the failed
    attempt is part of the cost.
    """
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    while True:
        with Transaction().start(
                database, 0, context=context, **extras) as transaction:
            try:
                result = function()
            except TransactionError as exception:
                transaction.rollback()
                exception.fix(extras)
                RETRIES[0] += 1
                print(f"bench: transaction retried with {extras}",
                    file=sys.stderr)
                continue
            transaction.commit()
            return result


def run_ours(database):
    from subscription_core.billing_run import run_billing_job
    context = _context(database)
    start = time.perf_counter()
    for job in ['sale.subscription|create_billing_lines',
            'sale.subscription|close_billing_cycle']:
        in_transaction(database, context,
            lambda: run_billing_job(job, OURS_DATE))
    return time.perf_counter() - start


def run_baseline(database, chunk=STOCK_CHUNK):
    """Stock's jobs, chunk customers at a time

    Stock's jobs take no list of subscriptions: a chunk is run by
    ``stock_chunk`` in the context, which restricts the jobs' searches of
    what is due to the chunk's subscriptions (bench/stock_chunk.py);
    everything else is stock code.
    """
    import stock_chunk
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    stock_chunk.install(Pool(database))
    context = _context(database)
    with Transaction().start(database, 0, readonly=True):
        Subscription = Pool().get('sale.subscription')
        ids = [s.id for s in Subscription.search(
                [], order=[('id', 'ASC')])]
    chunks = [ids[i:i + chunk] for i in range(0, len(ids), chunk)]

    def consume():
        Line = Pool().get('sale.subscription.line')
        Line.generate_consumption(date=STOCK_DATE)

    def invoice():
        Subscription = Pool().get('sale.subscription')
        Subscription.generate_invoice(date=STOCK_DATE)

    def post():
        Invoice = Pool().get('account.invoice')
        invoices = Invoice.search([
                ('type', '=', 'out'),
                ('state', '=', 'draft'),
                ], order=[('id', 'ASC')])
        with Transaction().set_context(_skip_warnings=True):
            Invoice.post(invoices)

    start = time.perf_counter()
    for chunk_ids in chunks:
        chunk_context = dict(context, stock_chunk=chunk_ids)
        for step in [consume, invoice, post]:
            in_transaction(database, chunk_context, step)
    return time.perf_counter() - start


def check(database):
    "What the run left: posted invoices, their lines, totals and moves"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Queue = pool.get('ir.queue')
        invoices = Invoice.search([('type', '=', 'out')])
        posted = [i for i in invoices if i.state == 'posted']
        return {
            'invoices': len(posted),
            'draft_invoices': len(invoices) - len(posted),
            'invoice_lines': sum(len(i.lines) for i in posted),
            'untaxed_amount': str(sum(
                    (i.untaxed_amount for i in posted), Decimal(0))),
            'tax_amount': str(sum(
                    (i.tax_amount for i in posted), Decimal(0))),
            'total_amount': str(sum(
                    (i.total_amount for i in posted), Decimal(0))),
            'numbers': len({i.number for i in posted}),
            'posted_moves': sum(
                1 for i in posted if i.move and i.move.state == 'posted'),
            'parties': len({i.party.id for i in posted}),
            'queued_tasks': Queue.search_count([]),
            }
