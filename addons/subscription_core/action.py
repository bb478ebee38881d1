# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Billing actions: the audited steps that change a subscription's status.

Every automated or manual billing step (grace, restore, close and the
overlay's shelve, delete, ...) is a ``sale.subscription.billing.action``
planned for a date. Scheduled job (4), ``process``, runs the planned actions
that are due: it re-checks their preconditions, runs the local ones in its
transaction and hands the remote ones to ``ir.queue`` (``run_remote``),
which runs them after the commit. The subscription's billing status only
ever changes through a done action.
"""
import datetime
import logging
from collections import defaultdict
from contextlib import contextmanager

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import ladder, redaction
from .audit import ModuleRecordMixin
from .exceptions import (
    BillingActionAccessError, BillingActionError, BillingActionFailure,
    BillingActionRetry, BillingStatusError)
from .validation import InputMixin, WizardInputMixin

logger = logging.getLogger(__name__)

ACTION_STATES = [
    ('planned', "Planned"),
    ('running', "Running"),
    ('done', "Done"),
    ('failed', "Failed"),
    ('cancelled', "Cancelled"),
    ]
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


class BillingAction(InputMixin, ModelSQL, ModelView):
    "Billing Action"
    __name__ = 'sale.subscription.billing.action'

    _planned_states = {
        'readonly': Eval('state') != 'planned',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={
            'readonly': (
                (Eval('state') != 'planned') | (Eval('id', -1) >= 0)),
            })
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True,
        ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': (
                (Eval('state') != 'planned') | (Eval('id', -1) >= 0)),
            })
    party = fields.Function(fields.Many2One(
            'party.party', "Party",
            context={
                'company': Eval('company', -1),
                },
            depends={'company'}),
        'on_change_with_party', searcher='search_party')
    invoice = fields.Many2One(
        'account.invoice', "Invoice",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('type', '=', 'out'),
            If(Eval('party'),
                ('party', '=', Eval('party', -1)),
                ()),
            ],
        states=_planned_states,
        help="The debt the action is about.")
    dunning = fields.Many2One(
        'account.dunning', "Dunning", readonly=True,
        help="The dunning whose level planned the action.")
    type = fields.Selection([
            ('grace', "Grace"),
            ('restore', "Restore"),
            ('close', "Close"),
            ], "Type", required=True, sort=False,
        states=_planned_states,
        help="Grace: the subscription enters its grace period.\n"
        "Restore: the subscription is active again.\n"
        "Close: the subscription ends on the day the action runs.")
    planned_date = fields.Date(
        "Planned Date", required=True, states=_planned_states,
        help="The action runs on the first run of the billing actions job "
        "on or after this day.")
    state = fields.Selection(
        ACTION_STATES, "State", readonly=True, required=True, sort=False)
    actor = fields.Selection([
            ('scheduler', "Scheduler"),
            ('user', "User"),
            ], "Actor", readonly=True, required=True,
        help="Scheduler: planned by a billing job; automation holds "
        "apply.\nUser: planned by hand.")
    user = fields.Many2One(
        'res.user', "User", readonly=True,
        help="Who planned or cancelled the action by hand.")
    reason = fields.Text("Reason", states=_planned_states)
    attempts = fields.Integer("Attempts", readonly=True, required=True)
    last_error = fields.Text("Last Error", readonly=True)
    external_ref = fields.Char(
        "External Reference", readonly=True,
        help="The reference of the remote operation (e.g. a request id).")
    expected_status = fields.Selection(
        'get_billing_statuses', "Expected Status", sort=False,
        states=_planned_states,
        help="When set, the action is cancelled if the subscription is no "
        "longer in this status when it runs.")
    target_status = fields.Selection(
        'get_billing_statuses', "Target Status", sort=False,
        states=_planned_states,
        help="The billing status of the subscription once the action is "
        "done.")
    started_at = fields.Timestamp("Started at", readonly=True)
    done_at = fields.Timestamp("Done at", readonly=True)
    cancel_reason = fields.Text("Cancel Reason", readonly=True)
    events = fields.One2Many(
        'sale.subscription.billing.action.event', 'action', "Events",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('planned_date', 'DESC'),
            ('id', 'DESC'),
            ]
        cls._buttons.update({
                'request_cancel': {
                    'invisible': ~Eval('state').in_(['planned', 'failed']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'planned'

    @classmethod
    def default_actor(cls):
        return 'user'

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def default_planned_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def get_billing_statuses(cls):
        Subscription = Pool().get('sale.subscription')
        selection = Subscription.fields_get(
            ['billing_status'])['billing_status']['selection']
        return [(None, '')] + list(selection)

    @fields.depends('subscription', '_parent_subscription.party')
    def on_change_with_party(self, name=None):
        return self.subscription.party if self.subscription else None

    @classmethod
    def search_party(cls, name, clause):
        return [('subscription.party' + clause[0][len(name):],)
            + tuple(clause[1:])]

    @fields.depends('type')
    def on_change_type(self):
        self.target_status = self._type_target_status().get(self.type)

    def get_rec_name(self, name):
        type_ = dict(self.fields_get(['type'])['type']['selection']).get(
            self.type, self.type)
        return '%s @ %s (%s)' % (
            type_, self.subscription.rec_name, self.planned_date)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        bool_op = 'AND' if operator.startswith('!') or operator.startswith(
            'not ') else 'OR'
        return [bool_op,
            ('subscription.rec_name', operator, operand, *extra),
            ('party.rec_name', operator, operand, *extra),
            ]

    # Hooks the overlay extends.
    @classmethod
    def _type_target_status(cls):
        "The billing status each type leaves the subscription in"
        return {
            'grace': 'grace',
            'restore': 'active',
            }

    @classmethod
    def _debt_types(cls):
        "Types that only run while their debt (invoice) is unpaid"
        return {'grace', 'close'}

    @classmethod
    def _settled_debt_types(cls):
        "Types that only run once their debt (invoice) is paid"
        return {'restore'}

    @classmethod
    def _hold_exempt_types(cls):
        """Types an automation hold does not stop

        A hold protects a customer from automated sanctions; giving the
        service back after a payment is never one.
        """
        return {'restore'}

    @classmethod
    def _remote_types(cls):
        "Types executed after the commit by an ir.queue task"
        return set()

    @classmethod
    def _max_attempts(cls):
        return 5

    @classmethod
    def _queue_name(cls):
        return 'billing_action'

    # Creation and modification rules.
    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not in_action_path():
            # By hand: always a planned action by the user.
            values.update({
                    'state': 'planned',
                    'actor': 'user',
                    'user': Transaction().user or None,
                    'attempts': 0,
                    'last_error': None,
                    'external_ref': None,
                    'started_at': None,
                    'done_at': None,
                    'cancel_reason': None,
                    'dunning': None,
                    })
        if mode == 'create' and 'target_status' not in values:
            values['target_status'] = cls._type_target_status().get(
                values.get('type'))
        return values

    @classmethod
    def _editable_fields(cls):
        "Fields a user may change on a planned action"
        return {'planned_date', 'reason', 'invoice', 'expected_status',
            'target_status'}

    @classmethod
    def check_modification(cls, mode, actions, values=None, external=False):
        super().check_modification(
            mode, actions, values=values, external=external)
        if in_action_path() or not external:
            return
        if mode == 'write':
            fields_ = set(values) - cls._editable_fields()
            for action in actions:
                if action.state != 'planned' or fields_:
                    raise BillingActionAccessError(gettext(
                            'subscription_core.msg_billing_action_modify',
                            action=action.rec_name))
        elif mode == 'delete':
            for action in actions:
                if action.state not in {'planned', 'cancelled'}:
                    raise BillingActionAccessError(gettext(
                            'subscription_core.msg_billing_action_delete',
                            action=action.rec_name))

    @classmethod
    def on_modification(cls, mode, actions, field_names=None):
        pool = Pool()
        Event = pool.get('sale.subscription.billing.action.event')
        super().on_modification(mode, actions, field_names=field_names)
        if mode == 'create':
            with without_check_access():
                Event.save([Event(
                            action=a, from_state=None, to_state=a.state,
                            message=a.reason) for a in actions])

    @classmethod
    def copy(cls, actions, default=None):
        "A copy is a new planned action: none of the run is copied"
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'planned')
        for name in ['dunning', 'user', 'last_error', 'external_ref',
                'started_at', 'done_at', 'cancel_reason', 'events']:
            default.setdefault(name)
        default.setdefault('attempts', 0)
        return super().copy(actions, default=default)

    # Planning.
    @classmethod
    def plan(cls, subscription, type, date, invoice=None, dunning=None,
            reason=None, actor='scheduler', **values):
        """Plan an action of type on subscription for date and return it

        Idempotent: the same step (same type, subscription and debt, see
        ladder.duplicate_of) is returned instead of planned twice.
        """
        with action_path():
            existing = cls.search([
                    ('subscription', '=', subscription.id),
                    ('type', '=', type),
                    ('invoice', '=', invoice.id if invoice else None),
                    ('state', 'in', ladder.ACTIVE_STATES),
                    ], order=[('id', 'ASC')])
            duplicate = ladder.duplicate_of(
                [(a.id, a.state, a.planned_date) for a in existing],
                date, with_debt=bool(invoice))
            if duplicate is not None:
                return cls(duplicate)
            values.setdefault(
                'target_status', cls._type_target_status().get(type))
            action = cls(
                company=subscription.company,
                subscription=subscription,
                type=type,
                planned_date=date,
                invoice=invoice,
                dunning=dunning,
                reason=reason,
                actor=actor,
                user=(Transaction().user or None) if actor == 'user' else None,
                state='planned',
                attempts=0,
                **values)
            action.save()
        # The first event of an action is logged by on_modification.
        logger.info("planned %s", action.rec_name)
        return action

    # Preconditions.
    def held(self, date):
        "Whether an automation hold keeps this action planned on date"
        return (self.actor == 'scheduler'
            and self.type not in self._hold_exempt_types()
            and self.subscription.automation_held(date))

    def _hold_message(self):
        subscription = self.subscription
        party = subscription.invoice_party or subscription.party
        until = max(d for d in [subscription.automation_hold_until,
                party.automation_hold_until] if d)
        return gettext('subscription_core.msg_billing_action_held',
            subscription=subscription.rec_name, date=until)

    @staticmethod
    def _debt_settled(invoice):
        "Whether the invoice no longer needs paying (paid or cancelled)"
        return (invoice.state in {'paid', 'cancelled'}
            or bool(invoice.state == 'posted' and invoice.reconciled))

    def check_preconditions(self, date):
        "None when the action may run on date, else why it may not"
        subscription = self.subscription
        if self.invoice and self.type in self._debt_types():
            if self._debt_settled(self.invoice):
                return gettext(
                    'subscription_core.msg_billing_action_debt_settled',
                    invoice=self.invoice.rec_name)
        if self.invoice and self.type in self._settled_debt_types():
            if not self._debt_settled(self.invoice):
                return gettext(
                    'subscription_core.msg_billing_action_debt_unpaid',
                    invoice=self.invoice.rec_name)
        if self.held(date):
            return self._hold_message()
        if (self.expected_status
                and subscription.billing_status != self.expected_status):
            return gettext(
                'subscription_core.msg_billing_action_unexpected_status',
                subscription=subscription.rec_name,
                expected=self._status_string(self.expected_status),
                status=self._status_string(subscription.billing_status))
        return None

    def already_done(self):
        "Whether the subscription is already where the action leads"
        if self.type == 'close':
            return self.subscription.state in {'closed', 'cancelled'}
        return bool(self.target_status
            and self.subscription.billing_status == self.target_status)

    @classmethod
    def _status_string(cls, status):
        return dict(cls.get_billing_statuses()).get(status, status)

    # Scheduled job (4).
    @classmethod
    def process(cls, date=None):
        "Run the planned actions due on date"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        company_id = Transaction().context.get('company', -1)
        with action_path():
            actions = cls.search([
                    ('company', '=', company_id),
                    ('state', '=', 'planned'),
                    ('planned_date', '<=', date),
                    ], order=[('planned_date', 'ASC'), ('id', 'ASC')])
        return cls.run(actions, date)

    @classmethod
    def run(cls, actions, date):
        """Run the planned actions now, for date

        Local types run in this transaction; remote types are queued and run
        after the commit (see run_remote). Return the actions run locally.
        """
        remote_types = cls._remote_types()
        to_queue, ran = [], []
        with action_path():
            actions = cls.browse([a for a in actions if a.state == 'planned'])
            cls.lock(actions)
            for action in actions:
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
                    action._finish(date, 'retry', e.message, e.external_ref)
                except BillingActionFailure as e:
                    action._finish(date, 'failed', e.message, e.external_ref)
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

    def execute(self, date):
        """Do the action's work for date: dispatch to _execute_<type>(date)

        Return None or the external reference of the work done; raise
        BillingActionRetry or BillingActionFailure otherwise.
        """
        return getattr(self, '_execute_%s' % self.type)(date)

    def _execute_grace(self, date):
        "Grace only changes the status (done by the action path)"

    def _execute_restore(self, date):
        "Restore only changes the status (done by the action path)"

    def _execute_close(self, date):
        "Close the subscription on the day the action runs for"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Line = pool.get('sale.subscription.line')
        subscription = self.subscription
        if subscription.state != 'running':
            raise BillingActionFailure(gettext(
                    'subscription_core.msg_billing_action_not_running',
                    subscription=subscription.rec_name))
        # End dates are the last day served (included): the day before
        end = max(date - datetime.timedelta(days=1), subscription.start_date)
        if subscription.end_date and subscription.end_date < end:
            end = subscription.end_date
        lines = [l for l in subscription.lines
            if not l.end_date or l.end_date > end]
        for line in lines:
            line.end_date = max(
                end, line.start_date, line.consumed_until or end)
        Line.save(lines)
        subscription.end_date = end
        subscription.save()
        Subscription.close([subscription])

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
        debt_types = cls._debt_types()
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

    # Cancellation.
    @classmethod
    def cancel(cls, actions, reason):
        "Cancel planned (or failed) actions by hand, for reason"
        if not reason or not reason.strip():
            raise BillingActionError(gettext(
                    'subscription_core.msg_billing_action_cancel_reason'))
        for action in actions:
            if action.state not in {'planned', 'failed'}:
                raise BillingActionError(gettext(
                        'subscription_core.msg_billing_action_cancel_state',
                        action=action.rec_name))
        cls._transition(actions, 'cancelled', reason, cancel_reason=reason,
            user=Transaction().user or None)

    @classmethod
    def _cancel(cls, actions, reason, date=None):
        "Cancel planned actions automatically (no user)"
        actions = [a for a in actions if a.state == 'planned']
        cls._transition(actions, 'cancelled', reason, date=date,
            cancel_reason=reason)
        return actions

    @classmethod
    @ModelView.button_action(
        'subscription_core.wizard_billing_action_cancel')
    def request_cancel(cls, actions):
        pass


# Only the action code writes events (audit.py)
class BillingActionEvent(
        ModuleRecordMixin, InputMixin, ModelSQL, ModelView):
    "Billing Action Event"
    __name__ = 'sale.subscription.billing.action.event'

    action = fields.Many2One(
        'sale.subscription.billing.action', "Action", required=True,
        ondelete='CASCADE', readonly=True)
    date = fields.Timestamp("Date", required=True, readonly=True)
    billing_date = fields.Date(
        "Billing Date", readonly=True,
        help="The day the billing job ran for.")
    from_state = fields.Selection(
        [(None, '')] + ACTION_STATES, "From", readonly=True)
    to_state = fields.Selection(ACTION_STATES, "To", readonly=True)
    message = fields.Text("Message", readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('action')
        cls._order = [
            ('date', 'ASC'),
            ('id', 'ASC'),
            ]

    @classmethod
    def default_date(cls):
        return datetime.datetime.now()

    @classmethod
    def default_user(cls):
        return Transaction().user or None


class CancelStart(InputMixin, ModelView):
    "Cancel Billing Actions"
    __name__ = 'sale.subscription.billing.action.cancel.start'

    reason = fields.Text("Reason", required=True)


class Cancel(WizardInputMixin, Wizard):
    "Cancel Billing Actions"
    __name__ = 'sale.subscription.billing.action.cancel'
    start = StateView('sale.subscription.billing.action.cancel.start',
        'subscription_core.billing_action_cancel_start_view_form', [
            Button("Close", 'end', 'tryton-close'),
            Button("Cancel Actions", 'cancel_', 'tryton-ok', default=True),
            ])
    cancel_ = StateTransition()

    def transition_cancel_(self):
        self.model.cancel(self.records, self.start.reason)
        return 'end'


class Subscription(InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    billing_actions = fields.One2Many(
        'sale.subscription.billing.action', 'subscription',
        "Billing Actions", readonly=True)

    @classmethod
    def copy(cls, subscriptions, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billing_actions')
        return super().copy(subscriptions, default=default)

    @classmethod
    def check_modification(
            cls, mode, subscriptions, values=None, external=False):
        super().check_modification(
            mode, subscriptions, values=values, external=external)
        if in_action_path():
            return
        if mode == 'write' and 'billing_status' in values:
            changed = [s for s in subscriptions
                if s.billing_status != values['billing_status']]
        elif mode == 'create':
            default = cls.default_billing_status()
            changed = [s for s in subscriptions
                if s.billing_status != default]
        else:
            changed = []
        if changed:
            raise BillingStatusError(gettext(
                    'subscription_core.msg_billing_status_action_only',
                    subscription=changed[0].rec_name))

    def _restore_action_type(self):
        "The action type that gives the service back once the debt is paid"
        return 'restore'

    @classmethod
    def get_billing_invoices(cls, subscriptions, states=None):
        """Return {subscription id: [invoices]} billed on the subscriptions

        Customer invoices whose lines bill the subscriptions (see
        account.invoice.line._billed_subscription), in states when given.
        """
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        ids = [s.id for s in subscriptions]
        result = {i: set() for i in ids}
        if not ids:
            return {}
        with without_check_access():
            domain = [
                ('invoice.type', '=', 'out'),
                InvoiceLine._billed_subscription_domain(ids),
                ]
            if states:
                domain.append(('invoice.state', 'in', list(states)))
            lines = InvoiceLine.search(domain)
            for line in lines:
                subscription = line._billed_subscription()
                if subscription and subscription.id in result:
                    result[subscription.id].add(line.invoice)
        return {k: sorted(v, key=lambda i: i.id) for k, v in result.items()}

    @classmethod
    def get_overdue_invoices(cls, subscriptions, date):
        "Return {subscription id: [invoices]} unpaid and overdue on date"
        invoices = cls.get_billing_invoices(subscriptions, states=['posted'])
        return {k: [i for i in v if i.is_billing_overdue(date)]
            for k, v in invoices.items()}

    @classmethod
    def on_debt_paid(cls, subscriptions, invoices, date):
        """Hook called when invoices billing subscriptions are paid

        Core: the planned actions about these invoices are cancelled
        ("paid"), and each subscription not active and with no other
        overdue invoice is given back through a restore action run now
        (its type from _restore_action_type).
        """
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        invoices = list(invoices)
        with action_path():
            planned = Action.search([
                    ('invoice', 'in', [i.id for i in invoices]),
                    ('state', '=', 'planned'),
                    ('type', 'not in', list(Action._settled_debt_types())),
                    ], order=[('id', 'ASC')])
        by_invoice = defaultdict(list)
        for action in planned:
            by_invoice[action.invoice].append(action)
        for invoice, actions in by_invoice.items():
            Action._cancel(actions, gettext(
                    'subscription_core.msg_billing_action_cancel_paid',
                    invoice=invoice.rec_name), date=date)

        subscriptions = [s for s in cls.browse(subscriptions)
            if s.billing_status != cls.default_billing_status()]
        if not subscriptions:
            return
        overdue = cls.get_overdue_invoices(subscriptions, date)
        billed = cls.get_billing_invoices(subscriptions)
        paid_ids = {i.id for i in invoices}
        to_run = []
        for subscription in subscriptions:
            if overdue.get(subscription.id):
                continue
            debts = [i for i in billed.get(subscription.id, [])
                if i.id in paid_ids]
            debt = debts[-1] if debts else None
            to_run.append(Action.plan(
                    subscription, subscription._restore_action_type(), date,
                    invoice=debt,
                    reason=gettext(
                        'subscription_core.msg_billing_action_reason_paid',
                        invoice=debt.rec_name if debt else '')))
        Action.run(to_run, date)
