# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Billing errors: one bad record fails alone, and finance sees it.

Each billing job runs its subscriptions or customers in groups, each inside
a savepoint (``isolation.py``): the group that raises is rolled back and
recorded here, everyone else is billed. Nothing of the failed group is
kept, so the next run of the job retries it. A
``sale.subscription.billing_error`` row is the open error of one job for
one subscription (or one customer): its first and last try, how many runs
failed and the last (redacted) message. A run of the job in which the
subscription or customer does not fail resolves it; only the jobs write
these rows (finance reads them, on the *Billing Errors* list and the
dashboard).

A job opens the session of its run with ``job_errors(job, date)``; inside,
``run_isolated(groups, work)`` runs batches of groups and ``isolate(target)``
one group (a billing action). Outside a job (a payment that runs a restore,
a user's button) both run the code as it is.
"""
import datetime
import logging
from contextlib import contextmanager

from sql import Null
from sql.aggregate import Count
from sql.conditionals import Coalesce

from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from . import redaction
from .audit import ModuleRecordMixin
from .billing_run import BILLING_JOBS
from .isolation import is_transient, run_batches, savepoint
from .validation import InputMixin

logger = logging.getLogger(__name__)

ERROR_STATES = [
    ('open', "Open"),
    ('resolved', "Resolved"),
    ]
# The billing jobs work on this many subscriptions (or customers) at a
# time, in one savepoint when none fails: each batch reads its records once,
# creates, writes and posts them together, and its records are forgotten
# after it, so the cost of a run grows linearly with the number of
# customers.
ISOLATION_BATCH = 50
# The transaction attribute of the session of the job running
_SESSION = '_subscription_core_billing_errors'


def error_text(exception):
    "The text of exception as finance reads it (before redaction)"
    if isinstance(exception, (UserError, UserWarning)):
        text = exception.message
        if exception.description:
            text = '%s\n%s' % (text, exception.description)
        return text
    return '%s: %s' % (exception.__class__.__name__, exception)


class _Session:
    "The run of a job: its date, the groups failed and whether in one"
    __slots__ = ('job', 'date', 'company', 'failed', 'inside', 'nested')

    def __init__(self, job, date, company, nested):
        self.job = job
        self.date = date
        self.company = company
        self.failed = set()
        self.inside = False
        self.nested = nested


def _session():
    return getattr(Transaction(), _SESSION, None)


@contextmanager
def job_errors(job, date, resolve=True):
    """The session of a run of job for date (a key of BILLING_JOBS)

    When the run ends without an error, the open errors of the job that
    did not fail in it are resolved: their subscription or customer was
    billed, or has nothing left to do. A job run inside another's group
    (the close expires credits) isolates its groups too but resolves
    nothing; nor does a run without resolve, that works on part of what
    the job does (a finance user's re-run of a few days).
    """
    pool = Pool()
    BillingError = pool.get('sale.subscription.billing_error')
    transaction = Transaction()
    previous = _session()
    session = _Session(job, date, transaction.context.get('company'),
        nested=previous is not None)
    setattr(transaction, _SESSION, session)
    try:
        yield session
    except backend.DatabaseIntegrityError as exception:
        if session.nested:
            raise
        # A unique key hit by a concurrent run of the job (a second
        # scheduler, a finance user re-running the day): the other run
        # committed the same rows. The transaction is retried whole, as
        # for a serialization failure (ir.cron, the RPC dispatcher and
        # the worker retry a DatabaseOperationalError, not an integrity
        # error), and the retry finds those rows billed.
        logger.info("%s for %s met a concurrent run, retried: %s",
            job, date, exception)
        raise backend.DatabaseOperationalError(str(exception)) from exception
    finally:
        setattr(transaction, _SESSION, previous)
    if resolve and not session.nested and session.company is not None:
        BillingError.resolve(session)


def _group_failed(session, target, exception):
    pool = Pool()
    BillingError = pool.get('sale.subscription.billing_error')
    if isinstance(exception, (UserError, UserWarning)):
        logger.warning("%s failed for %s: %s", session.job, target,
            redaction.redact(error_text(exception)))
    else:
        logger.error("%s failed for %s", session.job, target,
            exc_info=exception)
    session.failed.add(BillingError.record(session, target, exception))


@contextmanager
def _inside(session):
    previous, session.inside = session.inside, True
    try:
        yield
    finally:
        session.inside = previous


@contextmanager
def isolate(target):
    """Run the block as one group of the job running, for target

    target is the subscription or the customer (party) the block works for.
    When the block raises, what it did is rolled back and the error is
    recorded for target; the code after the block goes on. Outside a job,
    or inside another group, the block runs as it is.
    """
    session = _session()
    if session is None or session.inside:
        yield
        return
    try:
        with _inside(session), savepoint():
            yield
    except Exception as exception:
        if is_transient(exception):
            raise
        _group_failed(session, target, exception)


def run_isolated(groups, work, first=None):
    """Run work(ids) on the (target, ids) groups of the job running

    The groups run together in batches; a batch that fails runs again one
    group at a time and the groups that fail alone are recorded (see
    isolation.run_batches). Return the results of work that succeeded.
    Outside a job, or inside a group, work runs on the batches as they are.
    """
    session = _session()
    if session is None or session.inside:
        results = []
        ids = [i for _, group_ids in groups for i in group_ids]
        if ids:
            results.extend(work(ids) or [])
        return results

    def failed(target, exception):
        _group_failed(session, target, exception)

    def run(ids):
        with _inside(session):
            return work(ids)
    return run_batches(
        list(groups), run, failed, ISOLATION_BATCH, first=first)


def grouped(pairs):
    """[(target, [id, ...])] of (target, id) pairs, in their first order

    target is the subscription or the customer (party) an id belongs to.
    """
    groups = {}
    for target, id_ in pairs:
        groups.setdefault(target, []).append(id_)
    return list(groups.items())


class BillingError(ModuleRecordMixin, InputMixin, ModelSQL, ModelView):
    "Billing Error"
    __name__ = 'sale.subscription.billing_error'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    job = fields.Selection(
        BILLING_JOBS, "Job", required=True, readonly=True, sort=False,
        help="The billing job that failed.")
    job_string = job.translated('job')
    date = fields.Date(
        "Billing Date", required=True, readonly=True,
        help="The day the last failed run billed for.")
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", readonly=True,
        ondelete='CASCADE',
        help="The subscription the job failed for; empty when it works "
        "per customer.")
    party = fields.Many2One(
        'party.party', "Customer", required=True, readonly=True,
        ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The customer invoiced.")
    message = fields.Text("Message", readonly=True)
    first_seen = fields.Timestamp("First Seen", required=True, readonly=True)
    last_seen = fields.Timestamp("Last Seen", required=True, readonly=True)
    tries = fields.Integer(
        "Tries", required=True, readonly=True,
        help="The runs of the job that failed for it.")
    state = fields.Selection(
        ERROR_STATES, "State", required=True, readonly=True, sort=False,
        help="Open: the last run failed for it; the next run tries again.\n"
        "Resolved: a later run did not fail for it.")
    resolved_at = fields.Timestamp("Resolved at", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('last_seen', 'DESC'),
            ('id', 'DESC'),
            ]

    @classmethod
    def default_state(cls):
        return 'open'

    def get_rec_name(self, name):
        return '%s: %s' % (self.job_string,
            (self.subscription or self.party).rec_name)

    @staticmethod
    def _key(subscription, party):
        return (subscription.id if subscription else None, party.id)

    @classmethod
    def _target_values(cls, target):
        "company, subscription and party of a subscription or a party"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        if isinstance(target, Subscription):
            return (target.company.id, target,
                target.invoice_party or target.party)
        return Transaction().context.get('company'), None, target

    @classmethod
    def record(cls, session, target, exception):
        """Record that the job of session failed for target with exception

        The open error of the job and target counts one more try; else a
        new one is opened. Return the key of the error.
        """
        company, subscription, party = cls._target_values(target)
        message = redaction.redact(error_text(exception))
        now = datetime.datetime.now()
        with without_check_access():
            errors = cls.search([
                    ('company', '=', company),
                    ('job', '=', session.job),
                    ('subscription', '=',
                        subscription.id if subscription else None),
                    ('party', '=', party.id),
                    ('state', '=', 'open'),
                    ], limit=1)
            if errors:
                error, = errors
                cls.write([error], {
                        'date': session.date,
                        'message': message,
                        'last_seen': now,
                        'tries': error.tries + 1,
                        })
            else:
                cls.create([{
                            'company': company,
                            'job': session.job,
                            'date': session.date,
                            'subscription': (
                                subscription.id if subscription else None),
                            'party': party.id,
                            'message': message,
                            'first_seen': now,
                            'last_seen': now,
                            'tries': 1,
                            'state': 'open',
                            }])
        return cls._key(subscription, party)

    @classmethod
    def resolve(cls, session):
        "Resolve the open errors of the job of session it did not fail for"
        with without_check_access():
            errors = cls.search([
                    ('company', '=', session.company),
                    ('job', '=', session.job),
                    ('state', '=', 'open'),
                    ])
            errors = [e for e in errors
                if cls._key(e.subscription, e.party) not in session.failed]
            if errors:
                cls.write(errors, {
                        'state': 'resolved',
                        'resolved_at': datetime.datetime.now(),
                        })
        return errors

    @classmethod
    def open_count_query(cls):
        """Per subscription: its open billing errors, and those of its
        customer's jobs that work per customer (columns subscription, count)
        """
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        subscription = Subscription.__table__()
        error = cls.__table__()
        return (subscription
            .join(error, condition=(error.state == 'open')
                & (error.company == subscription.company)
                & (((error.subscription == Null)
                        & (error.party == Coalesce(
                                subscription.invoice_party,
                                subscription.party)))
                    | (error.subscription == subscription.id)))
            .select(
                subscription.id.as_('subscription'),
                Count(error.id).as_('count'),
                group_by=[subscription.id]))
