# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Billing actions: the audited steps that change a subscription's status.

Every automated or manual billing step (grace, restore, close and the
overlay's shelve, delete, ...) is a ``sale.subscription.billing.action``
planned for a date; what each type needs and sets is the table of
``action_type.py``. Scheduled job (4), ``process``, runs the planned actions
that are due (``action_run.py``). The subscription's billing status only
ever changes through a done action.
"""
import datetime
import logging
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import action_type, ladder
from .action_run import (
    BillingActionRun, action_path, in_action_path, lock_for_update)
from .audit import ModuleRecordMixin
from .document import CompanyDocumentMixin
from .exceptions import (
    BillingActionAccessError, BillingActionError, BillingActionFailure,
    BillingStatusError)
from .validation import InputMixin, WizardInputMixin

logger = logging.getLogger(__name__)

ACTION_STATES = [
    ('planned', "Planned"),
    ('running', "Running"),
    ('done', "Done"),
    ('failed', "Failed"),
    ('cancelled', "Cancelled"),
    ]


class BillingAction(
        CompanyDocumentMixin, BillingActionRun, InputMixin, ModelSQL,
        ModelView):
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
    # The selection and help come from the table (_action_types).
    type = fields.Selection([], "Type", required=True, sort=False,
        states=_planned_states)
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
        types = cls._action_types().values()
        cls.type.selection = [(t.name, t.label) for t in types]
        cls.type.help = '\n'.join('%s: %s' % (t.label, t.help) for t in types)
        cls._buttons.update({
                'request_cancel': {
                    'invisible': ~Eval('state').in_(
                        ['planned', 'running', 'failed']),
                    'depends': ['state'],
                    },
                'retry': {
                    'invisible': ~Eval('state').in_(['running', 'failed']),
                    'depends': ['state'],
                    },
                })

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
        self.target_status = self._target_status(self.type)

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

    # The hook the overlay extends.
    @classmethod
    def _action_types(cls):
        "The table of the types: {name: action_type.ActionType}"
        return action_type.ACTION_TYPES

    @classmethod
    def _types_where(cls, **values):
        "The names of the types whose ActionType attributes have values"
        return action_type.types_where(cls._action_types(), **values)

    @classmethod
    def _target_status(cls, type_):
        "The billing status type_ leaves the subscription in"
        row = cls._action_types().get(type_)
        return row.target_status if row else None

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
            values['target_status'] = cls._target_status(values.get('type'))
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
            values.setdefault('target_status', cls._target_status(type))
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
            and self.type not in self._types_where(hold_exempt=True)
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
        if self.invoice and self.type in self._types_where(
                debt=action_type.UNPAID):
            if self._debt_settled(self.invoice):
                return gettext(
                    'subscription_core.msg_billing_action_debt_settled',
                    invoice=self.invoice.rec_name)
        if self.invoice and self.type in self._types_where(
                debt=action_type.PAID):
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

    def preview_targets(self):
        """What the action acts on, as text for the billing preview

        Core: nothing (its subscription is shown). An overlay names the
        remote targets (e.g. the servers).
        """
        return ''

    @classmethod
    def _status_string(cls, status):
        return dict(cls.get_billing_statuses()).get(status, status)

    def execute(self, date):
        """Do the action's work for date: dispatch to _execute_<type>(date)

        Return None or the external reference of the work done; raise
        BillingActionRetry or BillingActionFailure otherwise, and
        BillingActionCancel when the debt of a sanction is settled at the
        instant of the call (the debt is locked first, check_debt_now).
        """
        self.check_debt_now()
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

    # Cancellation and retry by hand.
    @classmethod
    def _check_taken_by_hand(cls, actions, states, message):
        """Raise unless each action is in states, or running past its
        timeout (stranded): one still running may be at work remotely"""
        now = datetime.datetime.now()
        for action in actions:
            if action.state == 'running' and not action.is_stranded(now):
                raise BillingActionError(gettext(
                        'subscription_core.msg_billing_action_running',
                        action=action.rec_name, started=action.started_at,
                        timeout=action.stranded_timeout()))
            if action.state not in states | {'running'}:
                raise BillingActionError(gettext(message,
                        action=action.rec_name))

    @classmethod
    def cancel(cls, actions, reason):
        """Cancel planned, failed or stranded running actions by hand

        A running action is cancelled only once past its timeout: what it
        did remotely stays as it is (see its remote outcomes).
        """
        if not reason or not reason.strip():
            raise BillingActionError(gettext(
                    'subscription_core.msg_billing_action_cancel_reason'))
        with action_path():
            lock_for_update(cls, actions)
            actions = cls.browse(actions)
        cls._check_taken_by_hand(actions, {'planned', 'failed'},
            'subscription_core.msg_billing_action_cancel_state')
        cls._transition(actions, 'cancelled', reason, cancel_reason=reason,
            user=Transaction().user or None)

    @classmethod
    @ModelView.button
    def retry(cls, actions):
        """Run failed or stranded running actions again now (by hand)

        The action goes back to planned with a fresh count of attempts
        (logged with the user) and runs at once through the ordinary path,
        which re-checks its preconditions and its debt.
        """
        pool = Pool()
        Date = pool.get('ir.date')
        with action_path():
            lock_for_update(cls, actions)
            actions = cls.browse(actions)
        cls._check_taken_by_hand(actions, {'failed'},
            'subscription_core.msg_billing_action_retry_state')
        user = Transaction().user or None
        cls._transition(actions, 'planned', gettext(
                'subscription_core.msg_billing_action_retried'),
            attempts=0, user=user)
        cls.run(cls.browse(actions), Date.today())

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
        # The billing actions decide under the same lock (_lock_debt): a
        # payment that waited for one reads the status it left.
        lock_for_update(cls, subscriptions)
        with action_path():
            planned = Action.search([
                    ('invoice', 'in', [i.id for i in invoices]),
                    ('state', '=', 'planned'),
                    ('type', 'not in', list(
                            Action._types_where(debt=action_type.PAID))),
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
        billed = cls.get_billed_invoices(subscriptions)
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
