# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""How billing actions run: job (4), the local and the queued remote path.

``BillingActionRun`` is mixed into ``sale.subscription.billing.action``
(``action.py``). Scheduled job (4), ``process``, runs the planned actions
that are due: it re-checks their preconditions, runs the local ones in its
transaction and hands the remote ones to ``ir.queue`` (``run_remote``),
which runs them after the commit. Every change of state goes through
``_transition``, which records an event.
"""
import datetime
import logging
from collections import defaultdict
from contextlib import contextmanager

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from . import action_type, ladder, redaction
from .billing_error import isolate, job_errors
from .exceptions import BillingActionFailure, BillingActionRetry
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
                    except BillingActionRetry as e:
                        action._finish(
                            date, 'retry', e.message, e.external_ref)
                    except BillingActionFailure as e:
                        action._finish(
                            date, 'failed', e.message, e.external_ref)
                    else:
                        action._finish(date, 'done', None, external_ref)
                    ran.append(action)
        if to_queue:
            with Transaction().set_context(queue_name=cls._queue_name()):
                for action in to_queue:
                    cls.__queue__.run_remote([action], date)
        return ran

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
        """Record the outcome ('done', 'retry', 'failed') of the running
        action run for date"""
        cls = self.__class__
        message = redaction.redact(message)
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
        (_execute_<type>), then record the outcome and commit.
        """
        transaction = Transaction()
        for action in actions:
            with action_path():
                cls.lock([action])
                action = cls(action.id)
                started = action._start(date)
            transaction.commit()
            if not started:
                continue
            try:
                with action_path():
                    external_ref = action.execute(date)
            except BillingActionRetry as e:
                outcome = ('retry', e.message, e.external_ref)
                error = e
            except BillingActionFailure as e:
                outcome = ('failed', e.message, e.external_ref)
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
            with action_path():
                action = cls(action.id)
                if error is not None:
                    action._record_failed_attempt(error)
                action._finish(date, *outcome)
            transaction.commit()

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
