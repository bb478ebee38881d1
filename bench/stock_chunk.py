# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Run stock Tryton's subscription jobs on a chunk of subscriptions

Stock's jobs take only a date and search everything due: subscription
lines to consume, consumptions to invoice, and the subscriptions whose next
invoice date to move on (all of them, invoiced or not). On SQLite they fail
at about 1,000 customers in one call ("Expression tree is too large", the
validation of the records they create), so the baseline runs them chunk by
chunk: with ``stock_chunk`` (subscription ids) in the context, exactly
those three searches get the clause ``subscription in chunk`` added. Every
other line of code is stock's.
"""
from trytond.transaction import Transaction

# model: ((field, operator) of a clause that marks the job's search,
#   field of the chunk clause)
JOB_SEARCHES = {
    'sale.subscription.line': (
        ('consumption_recurrence', '!='), 'subscription'),
    'sale.subscription.line.consumption': (
        ('invoice_line', '='), 'line.subscription'),
    'sale.subscription': (
        ('next_invoice_date', '<='), 'id'),
    }


def install(pool):
    for name, (marker, field) in JOB_SEARCHES.items():
        Model = pool.get(name)
        Model.search = classmethod(_chunked(Model.search.__func__, marker,
                field))


def _chunked(search, marker, field):
    def wrapper(cls, domain, *args, **kwargs):
        chunk = Transaction().context.get('stock_chunk')
        if chunk is not None and any(
                isinstance(c, tuple) and c[:2] == marker for c in domain):
            domain = [domain, (field, 'in', chunk)]
        return search(cls, domain, *args, **kwargs)
    return wrapper
