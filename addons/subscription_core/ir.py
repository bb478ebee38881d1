# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""One clock: the server's date, which no client can move.

``ir.date.today()`` is the server's real date. No key of a client's context
changes it (the context key ``billing_date`` that once did is gone). Two
things, both inside the server's own code, give it another value:

* :func:`job_date` — while a billing job runs for a date (the scheduler's
  today, or an earlier day a finance user re-runs, never a later one: see
  ``billing_run.check_run_date``), the dates Tryton stamps on its own
  records (the dunning's date, the move's post date) follow that date. It
  lives on the transaction object, not in its context, so no RPC or HTTP
  request can set it.
* :func:`travel` — tests and the demo builder replay history by moving the
  process's date. It is a Python call inside the server's process.

``ir.date.server_today()`` is the server's date without a job's date: what the
destructive steps re-check against. Only :func:`preview_date` moves it, for
the billing preview, whose transaction is rolled back and whose remote
actions never run. :func:`server_now` is the server's instant (on the date a
test travelled to).
"""
import datetime
from contextlib import contextmanager

from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

# The date the process travelled to, or None for the real date. Only
# travel() sets it.
_travelled_to = None
# The transaction attribute job_date() sets.
_JOB_DATE = '_subscription_core_job_date'
# The transaction attribute preview_date() sets.
_PREVIEW_DATE = '_subscription_core_preview_date'


@contextmanager
def travel(date):
    """Make ``ir.date.today()`` return date inside the block (tests, demo)

    It is process-wide and not reachable by a client: a scenario or the
    demo builder calls it in the server's own process to replay history.
    """
    global _travelled_to
    previous, _travelled_to = _travelled_to, date
    try:
        yield date
    finally:
        _travelled_to = previous


def server_now():
    """The server's instant: ``datetime.now()``, on the date a test
    travelled to (the time of day is the real one). No job's date and no
    client's context changes it."""
    now = datetime.datetime.now()
    if _travelled_to is not None:
        return datetime.datetime.combine(_travelled_to, now.time())
    return now


@contextmanager
def job_date(date):
    "Make ``ir.date.today()`` return date for this transaction's job run"
    transaction = Transaction()
    previous = getattr(transaction, _JOB_DATE, None)
    setattr(transaction, _JOB_DATE, date)
    try:
        yield date
    finally:
        setattr(transaction, _JOB_DATE, previous)


def job_scope(date=None):
    """The date a job runs for (``ir.date.today()`` when it is not given)
    and the id of the company it runs in (-1: none)"""
    if date is None:
        date = Pool().get('ir.date').today()
    return date, Transaction().context.get('company', -1)


@contextmanager
def preview_date(date):
    """Make ``ir.date.server_today()`` return date in this transaction

    For the billing preview only (``preview.py``): it runs job (4) for a
    chosen day, a later one too, inside a savepoint it rolls back, and no
    remote action runs there (their queued tasks are dropped). The actions
    are checked as the real run of that day will check them.
    """
    transaction = Transaction()
    previous = getattr(transaction, _PREVIEW_DATE, None)
    setattr(transaction, _PREVIEW_DATE, date)
    try:
        yield date
    finally:
        setattr(transaction, _PREVIEW_DATE, previous)


class Date(metaclass=PoolMeta):
    __name__ = 'ir.date'

    @classmethod
    def today(cls, timezone=None):
        "The date of the job running in this transaction, or the server's"
        date = getattr(Transaction(), _JOB_DATE, None)
        if date is not None:
            return date
        return cls.server_today(timezone=timezone)

    @classmethod
    def server_today(cls, timezone=None):
        "The server's date (or the date a test travelled to), never a job's"
        date = getattr(Transaction(), _PREVIEW_DATE, None)
        if date is not None:
            return date
        if _travelled_to is not None:
            return _travelled_to
        return super().today(timezone=timezone)
