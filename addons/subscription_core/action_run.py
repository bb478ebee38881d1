# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""How billing actions run: job (4), the local and the queued remote path.

``BillingActionRun`` is mixed into ``sale.subscription.billing.action``
(``action.py``). Scheduled job (4), ``process``, runs the planned actions
that are due: it re-checks their preconditions, runs the local ones in its
transaction and hands the remote ones to ``ir.queue`` (``run_remote``),
which runs them after the commit. Every change of state goes through
``_transition``, which records an event.

The debt is decided at the instant of the call: the transaction that
decides locks the subscription and the unpaid lines of its debt
(``SELECT ... FOR UPDATE`` on PostgreSQL, ``_lock_debt``) and re-checks
the debt there (``_start``) and again in the execute step
(``check_debt_now``): a payment committed in between cancels the action, a
payment arriving while the lock is held waits for the call to end.

An action whose outcome was lost (the worker died during the wait, the
outcome transaction failed) stays ``running``: the reaper, scheduled job
``reap``, finds the actions running past their timeout and queues
``recover_remote``, which asks the remote side where the action got to
(``recover``) and finishes it, or puts it back to planned and runs it
again. An action stranded a second time fails and the finance managers are
alerted (``_alert_stranded``).
"""
import datetime
import logging
import time
from collections import defaultdict
from contextlib import contextmanager

from trytond import backend, config
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import (
    Transaction, TransactionError, without_check_access)

from . import action_type, ladder, redaction
from .billing_error import isolate, job_errors
from .exceptions import (
    BillingActionCancel, BillingActionOutcome, BillingActionRetry)
from .ir import job_scope

logger = logging.getLogger(__name__)

# The context key the action code sets: only then may billing actions
# change state and subscriptions change billing status. Keys starting with
# "_" are stripped from the context of remote calls, so no client sets it.
ACTION_CONTEXT = '_billing_action'


@contextmanager
def action_path():
    "Run code as the action path: no access check, status writes allowed"
    with without_check_access(), \
            Transaction().set_context({ACTION_CONTEXT: True}):
        yield


def in_action_path():
    return bool(Transaction().context.get(ACTION_CONTEXT))


def lock_for_update(Model, records):
    """Lock the rows of records now, until the transaction ends

    ``SELECT ... FOR UPDATE NOWAIT`` on PostgreSQL, nothing on SQLite
    (whose writers are serialized anyway). Unlike ``ModelSQL.lock``, which
    in trytond 8.0 restarts the transaction to take its locks when it
    begins, it locks in the middle of a transaction: after the commits of a
    queued task, and without restarting a job once per record. A row
    another transaction holds raises DatabaseOperationalError, and the
    caller's transaction is retried.
    """
    transaction = Transaction()
    ids = sorted({i for i in (getattr(r, 'id', r) for r in records)
            if i is not None and i >= 0})
    if ids and transaction.database.has_select_for():
        transaction.database.lock_records(
            transaction.connection, Model._table, ids)


@contextmanager
def queue_context(name):
    """Push ir.queue tasks to the queue name, outside the action path

    The queued task keeps the context it was pushed with: it must not
    inherit the action path of the code that queued it.
    """
    with Transaction().set_context({
                'queue_name': name,
                ACTION_CONTEXT: False,
                }):
        yield


class BillingActionRun:
    "Running billing actions (sale.subscription.billing.action)"
    __slots__ = ()

    # Scheduled job (4).
    @classmethod
    def process(cls, date=None):
        "Run the planned actions due on date"
        date, company_id = job_scope(date)
        with action_path():
            actions = cls.search([
                    ('company', '=', company_id),
                    ('state', '=', 'planned'),
                    ('planned_date', '<=', date),
                    ], order=[('planned_date', 'ASC'), ('id', 'ASC')])
        # An action that fails is left out, planned, for the next run
        # (billing_error.py).
        with job_errors('sale.subscription.billing.action|process', date):
            return cls.run(actions, date)

    @classmethod
    def run(cls, actions, date):
        """Run the planned actions now, for date

        Local types run in this transaction; remote types are queued and run
        after the commit (see run_remote). Return the actions run locally.
        """
        remote_types = cls._types_where(remote=True)
        to_queue, ran = [], []
        with action_path():
            actions = cls.browse([a for a in actions if a.state == 'planned'])
            cls.lock(actions)
            for action in actions:
                # In the job, an action that raises is rolled back alone.
                with isolate(action.subscription):
                    remote = action.type in remote_types
                    # A remote action is marked running by its queued task.
                    if not action._start(date, mark_running=not remote):
                        continue
                    if remote:
                        to_queue.append(action)
                        continue
                    try:
                        external_ref = action.execute(date)
                    except BillingActionOutcome as e:
                        action._finish(date, cls._outcome_of(e), e.message,
                            e.external_ref)
                    else:
                        action._finish(date, 'done', None, external_ref)
                    ran.append(action)
        if to_queue:
            with queue_context(cls._queue_name()):
                for action in to_queue:
                    cls.__queue__.run_remote([action], date)
        return ran

    @staticmethod
    def _outcome_of(error):
        "The outcome of a BillingActionOutcome raised by an execute step"
        if isinstance(error, BillingActionCancel):
            return 'cancelled'
        if isinstance(error, BillingActionRetry):
            return 'retry'
        return 'failed'

    def _start(self, date, mark_running=True):
        """Re-check the action on date; mark it running when it may run

        Return True when the caller may execute it. A held action stays
        planned; an action whose preconditions fail is cancelled with the
        reason; an action with nothing left to do is done at once.

        The checks use the server's date when it is earlier than date: a
        run never shelves or deletes for a day that has not come yet.
        """
        pool = Pool()
        Date = pool.get('ir.date')
        cls = self.__class__
        if self.state != 'planned':
            return False
        date = min(date, Date.server_today())
        # The debt is decided here: nobody pays it until this commits.
        self._lock_debt()
        if self.held(date):
            message = self._hold_message()
            last = self.events[-1] if self.events else None
            if not last or last.message != message:
                cls._transition([self], 'planned', message, date=date)
            return False
        reason = self.check_preconditions(date)
        if reason:
            cls._transition([self], 'cancelled', reason, date=date,
                cancel_reason=reason)
            return False
        if self.already_done():
            cls._transition([self], 'done', gettext(
                    'subscription_core.msg_billing_action_nothing_to_do',
                    subscription=self.subscription.rec_name),
                date=date, done_at=datetime.datetime.now())
            cls.on_done([self], date)
            return False
        if not mark_running:
            return True
        cls._transition([self], 'running', gettext(
                'subscription_core.msg_billing_action_started',
                attempt=self.attempts + 1),
            date=date, attempts=self.attempts + 1,
            started_at=datetime.datetime.now(), last_error=None)
        return True

    def _finish(self, date, outcome, message=None, external_ref=None):
        """Record the outcome ('done', 'retry', 'failed', 'cancelled') of
        the running action run for date"""
        cls = self.__class__
        message = redaction.redact(message)
        if outcome == 'cancelled':
            cls._transition([self], 'cancelled', message, date=date,
                cancel_reason=message, last_error=None)
            return
        state = ladder.state_after_attempt(
            outcome, self.attempts, self._max_attempts())
        values = {}
        if external_ref:
            values['external_ref'] = external_ref
        if state == 'done':
            values['done_at'] = datetime.datetime.now()
            message = message or gettext(
                'subscription_core.msg_billing_action_done')
        else:
            if outcome == 'retry' and state == 'failed':
                message = gettext(
                    'subscription_core.msg_billing_action_max_attempts',
                    attempts=self.attempts, error=message)
            values['last_error'] = message
        cls._transition([self], state, message, date=date, **values)
        if state == 'done':
            cls._apply_target_status([self])
            cls.on_done([self], date)

    @classmethod
    def run_remote(cls, actions, date):
        """Queued task: run remote actions, one transaction per step

        For each action: lock it and re-check it in the transaction that
        marks it running (attempts + 1), commit, call the remote side
        (_execute_<type>, which locks and re-checks the debt first), then
        record the outcome and commit.

        The outcome is recorded only on the attempt that ran: an action a
        manager or the reaper took over meanwhile keeps its state. When the
        outcome cannot be recorded (the transaction fails), the action is
        left running for the reaper, and the other actions go on.
        """
        transaction = Transaction()
        for action in actions:
            with action_path():
                lock_for_update(cls, [action])
                action = cls(action.id)
                started = action._start(date)
                attempt = action.attempts
            transaction.commit()
            if not started:
                continue
            try:
                with action_path():
                    external_ref = action.execute(date)
            except BillingActionOutcome as e:
                outcome = (cls._outcome_of(e), e.message, e.external_ref)
                error = e
            except Exception as e:
                logger.exception("billing action %s failed", action.id)
                outcome = ('retry', str(e) or e.__class__.__name__, None)
                error = None
            else:
                outcome = ('done', None, external_ref)
                error = None
            if outcome[0] != 'done':
                # Keep nothing half-written by the failed remote step.
                transaction.rollback()
            cls._record_outcome(action, attempt, date, outcome, error)

    @classmethod
    def _record_outcome(cls, action, attempt, date, outcome, error):
        """Record the outcome of the attempt of run_remote and commit

        A transaction error of the database (a serialization failure, a
        lock another transaction holds: DatabaseOperationalError) is
        retried in a new transaction, as trytond retries a request: the
        remote side is not called again. When the outcome still cannot be
        recorded, the action is left running for the reaper.
        """
        transaction = Transaction()
        retry = config.getint('database', 'retry')
        for count in range(retry + 1):
            if count:
                time.sleep(0.02 * count)
            try:
                with action_path():
                    lock_for_update(cls, [action])
                    action = cls(action.id)
                    if (action.state != 'running'
                            or action.attempts != attempt):
                        # Taken over meanwhile (reaper, manager): what the
                        # remote side did is recorded, the state is not.
                        if error is not None:
                            action._record_failed_attempt(error)
                        cls._transition([action], action.state, gettext(
                                'subscription_core'
                                '.msg_billing_action_late_outcome',
                                attempt=attempt,
                                outcome=outcome[0]), date=date)
                    else:
                        if error is not None:
                            action._record_failed_attempt(error)
                        action._finish(date, *outcome)
                transaction.commit()
                return True
            except backend.DatabaseOperationalError:
                transaction.rollback()
                if count < retry:
                    logger.info("billing action %s: outcome %s not "
                        "recorded, retrying", action.id, outcome[0])
                    continue
                logger.exception(
                    "billing action %s: outcome %s not recorded after %s "
                    "tries, left running for the reaper", action.id,
                    outcome[0], count + 1)
            except Exception:
                logger.exception(
                    "billing action %s: outcome %s not recorded, left "
                    "running for the reaper", action.id, outcome[0])
                transaction.rollback()
            return False

    # The debt at the instant of the call.
    def _lock_debt(self):
        """Lock the subscription and the unpaid lines of the action's debt

        ``SELECT ... FOR UPDATE`` on PostgreSQL (lock_for_update), until
        the transaction ends: a payment (which reconciles these lines)
        waits for it, and one committed since the transaction began fails
        it with a serialization error (retried).
        """
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        lock_for_update(Subscription, [self.subscription])
        if self.invoice:
            invoice = Invoice(self.invoice.id)
            lock_for_update(MoveLine, [l for l in invoice.lines_to_pay
                    if not l.reconciliation])

    def debt_settled_now(self):
        """The message saying the debt is settled, or None while it is due

        Only for the types that need their debt unpaid (sanctions); read
        again from the database under the lock of _lock_debt.
        """
        pool = Pool()
        Invoice = pool.get('account.invoice')
        if (not self.invoice
                or self.type not in self._types_where(
                    debt=action_type.UNPAID)):
            return None
        invoice = Invoice(self.invoice.id)
        if self._debt_settled(invoice):
            return gettext(
                'subscription_core.msg_billing_action_debt_settled',
                invoice=invoice.rec_name)
        return None

    def check_debt_now(self):
        """Lock the debt and raise BillingActionCancel when it is settled

        Called by execute before the work of the action: the remote call
        comes after the commit of the decision, a payment may have come in
        between.
        """
        self._lock_debt()
        message = self.debt_settled_now()
        if message:
            raise BillingActionCancel(message)

    # Stranded actions: the reaper.
    def stranded_timeout(self):
        """How long the action may stay running before the reaper takes it
        (a datetime.timedelta): the overlay reads it from its configuration
        """
        return datetime.timedelta(hours=1)

    def is_stranded(self, now=None):
        "Whether the action is running for longer than its timeout"
        if now is None:
            now = datetime.datetime.now()
        return bool(self.state == 'running' and (not self.started_at
                or self.started_at + self.stranded_timeout() < now))

    def _reaped_before(self):
        """Whether the reaper already took this attempt and its recovery
        did not finish: the last event went from running to running"""
        last = self.events[-1] if self.events else None
        return bool(last and last.from_state == 'running'
            and last.to_state == 'running')

    @classmethod
    def reap(cls, date=None):
        """Scheduled job: recover the actions running past their timeout

        Each stranded action is recorded (event, fresh start) and handed to
        a queued task of its own, recover_remote. One the reaper already
        took whose recovery did not end fails, and the company's finance
        managers are alerted: a person retries or cancels it.
        """
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        company_id = Transaction().context.get('company', -1)
        now = datetime.datetime.now()
        with action_path():
            running = cls.search([
                    ('company', '=', company_id),
                    ('state', '=', 'running'),
                    ], order=[('started_at', 'ASC'), ('id', 'ASC')])
            lock_for_update(cls, running)
            stranded = [a for a in cls.browse(running) if a.is_stranded(now)]
        to_fail = [a for a in stranded if a._reaped_before()]
        to_recover = [a for a in stranded if a not in to_fail]
        for action in to_fail:
            message = gettext(
                'subscription_core.msg_billing_action_stranded_failed',
                action=action.rec_name, started=action.started_at)
            cls._transition([action], 'failed', message, date=date,
                last_error=message)
        if to_fail:
            cls._alert_stranded(to_fail)
        for action in to_recover:
            cls._transition([action], 'running', gettext(
                    'subscription_core.msg_billing_action_stranded',
                    started=action.started_at,
                    timeout=action.stranded_timeout()),
                date=date, started_at=now)
        if to_recover:
            with queue_context(cls._queue_name()):
                for action in to_recover:
                    cls.__queue__.recover_remote([action], date)
        return stranded

    @classmethod
    def recover_remote(cls, actions, date):
        """Queued task: finish or run again the stranded actions

        For each action still running: ask the remote side where it got to
        (recover). Done there: the outcome is recorded as done (its status,
        its next steps and emails follow). Otherwise it goes back to
        planned (or fails after its last attempt) and is run again at once,
        through the ordinary path that re-checks everything.
        """
        transaction = Transaction()
        for action in actions:
            try:
                with action_path():
                    lock_for_update(cls, [action])
                    action = cls(action.id)
                    if action.state != 'running':
                        continue
                    try:
                        external_ref = action.recover(date)
                    except BillingActionOutcome as e:
                        outcome = cls._outcome_of(e)
                        message = e.message
                        if outcome == 'retry':
                            message = gettext(
                                'subscription_core'
                                '.msg_billing_action_requeued',
                                detail=message)
                        action._record_failed_attempt(e)
                        action._finish(date, outcome, message,
                            e.external_ref)
                    else:
                        action._finish(date, 'done', gettext(
                                'subscription_core'
                                '.msg_billing_action_recovered'),
                            external_ref)
                    if action.state == 'planned':
                        cls.run([action], date)
                transaction.commit()
            except (TransactionError, backend.DatabaseOperationalError):
                # run locks the action (ModelSQL.lock): the worker starts
                # the task again with the lock taken (or after a
                # serialization failure); the actions already recovered
                # are no longer running and are left out.
                raise
            except Exception:
                # Left running: the next reaper run fails it and alerts.
                logger.exception(
                    "billing action %s not recovered", action.id)
                transaction.rollback()

    def recover(self, date):
        """Where the remote side got to for this running action

        Return the external reference when the work is done there; raise
        a BillingActionOutcome otherwise (BillingActionRetry: run it
        again). Core: the remote side cannot be asked, the action runs
        again (every execute step is idempotent and re-checks the state).
        """
        raise BillingActionRetry(gettext(
                'subscription_core.msg_billing_action_remote_unknown'))

    @classmethod
    def _alert_stranded(cls, actions):
        """Hook: tell a person about actions the reaper gave up on

        Core: a warning in the log; the overlay notifies the finance
        managers.
        """
        for action in actions:
            logger.warning("billing action %s stranded twice: failed",
                action.id)

    def _record_failed_attempt(self, error):
        """Hook: record what a failed remote attempt did remotely

        Called after the rollback of the attempt with the
        BillingActionRetry or BillingActionFailure it raised, in the
        transaction that records the outcome: an overlay keeps here what
        the remote side did before the failure (e.g. the servers already
        shelved). Core: nothing.
        """

    @classmethod
    def on_done(cls, actions, date):
        """Hook called once actions run for date are done (status applied)

        Core: a sanction done on a debt that got paid meanwhile hands the
        subscription back to the payment path (e.g. to restore it).
        """
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        debt_types = cls._types_where(debt=action_type.UNPAID)
        settled = [a for a in actions
            if a.type in debt_types and a.invoice
            and cls._debt_settled(a.invoice)]
        if settled:
            Subscription.on_debt_paid(
                list({a.subscription for a in settled}),
                list({a.invoice for a in settled}),
                date)

    @classmethod
    def _apply_target_status(cls, actions):
        "Set the target status of the done actions on their subscriptions"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        to_write = defaultdict(set)
        for action in actions:
            if (action.target_status and action.subscription.billing_status
                    != action.target_status):
                to_write[action.target_status].add(action.subscription)
        if to_write:
            with action_path():
                Subscription.write(*(v for status, subs in to_write.items()
                        for v in (list(subs), {'billing_status': status})))

    @classmethod
    def _transition(cls, actions, state, message=None, date=None, **values):
        "Write state and values on actions and record one event each"
        pool = Pool()
        Event = pool.get('sale.subscription.billing.action.event')
        actions = list(actions)
        if not actions:
            return
        events = [Event(action=a, from_state=a.state, to_state=state,
                message=message, billing_date=date) for a in actions]
        with action_path():
            cls.write(actions, dict(values, state=state))
            Event.save(events)
        for event in events:
            logger.info("billing action %s: %s → %s %s", event.action.id,
                event.from_state, state, message or '')
