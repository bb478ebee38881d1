# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The support dashboard: where each cloud subscription stands in billing.

``cloud_billing.dashboard`` is a read-only SQL view with one row per
subscription (running or closed): its customer, cloud billing status, the
overdue amount and the oldest due date of the unpaid invoices billing it,
the next planned billing action with why it is planned (the invoice,
the dunning level that planned it, its reason), its open billing errors
(``subscription_core/billing_error.py``), its shelve and delete actions held
above the destructive cap (``destructive_batch.py``) and the restore
deadline of its deleted servers. A row's id is its
subscription's id, so the relate actions open the subscription's resources,
billing actions and emails. Everything is computed by one set-based query
(``table_query``); nothing loops over the rows in Python. What a
subscription owes comes from the engine's debt (``subscription_core/debt.py``:
``account.invoice.billing_debt_query``), the rule the ladder follows.
"""
from sql import Literal, Window
from sql.conditionals import Coalesce
from sql.aggregate import Count
from sql.functions import Round, RowNumber

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import without_check_access

from subscription_core.audit import ModuleRecordMixin
from subscription_core.document import rec_name_domain
from subscription_core.validation import InputMixin

# The subscription states a support agent looks at.
DASHBOARD_STATES = ('running', 'closed')
# Visual of each billing status in the list (the others have none).
STATUS_VISUALS = [
    ('active', 'success'),
    ('grace', 'warning'),
    ('shelved', 'danger'),
    ('pending_deletion', 'danger'),
    ('deleted', 'muted'),
    ]


# A view: a client's create, write or delete is refused with a message
# (ModelSQL would raise NotImplementedError, and __access__ lends it the
# subscription's rights).
class Dashboard(ModuleRecordMixin, InputMixin, ModelSQL, ModelView):
    "Cloud Billing Dashboard"
    __name__ = 'cloud_billing.dashboard'

    company = fields.Many2One('company.company', "Company", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    party = fields.Many2One(
        'party.party', "Customer", readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True, readonly=True)
    state = fields.Selection(
        'get_subscription_states', "State", readonly=True)
    billing_status = fields.Selection(
        'get_billing_statuses', "Cloud Billing Status", readonly=True,
        sort=False)
    billing_status_string = billing_status.translated('billing_status')
    billing_status_label = fields.Function(fields.Char(
            "Cloud Billing Status",
            help="The status as the user reads it (the graph groups on it)."),
        'get_billing_status_label')
    cloud = fields.Many2One('cloud_billing.cloud', "Cloud", readonly=True)
    project_id = fields.Char("Project ID", readonly=True)
    overdue_amount = Monetary(
        "Overdue Amount", currency='currency', digits='currency',
        readonly=True,
        help="The unpaid amount past its due date of the posted invoices "
        "billing the subscription (in the company currency); an invoice "
        "billing several subscriptions counts for each the share its lines "
        "bill.")
    oldest_due_date = fields.Date(
        "Oldest Due Date", readonly=True,
        help="The oldest due date of the overdue unpaid amounts.")
    restore_deadline = fields.Date(
        "Restorable Until", readonly=True,
        help="The last day a payment restores the deleted servers (the "
        "cloud keeps them soft-deleted for its reclaim interval).")
    next_action = fields.Many2One(
        'sale.subscription.billing.action', "Next Action", readonly=True,
        help="The planned (or running) billing action that comes first.")
    next_action_type = fields.Selection(
        'get_action_types', "Next Action Type", readonly=True)
    next_action_date = fields.Date("Next Action Date", readonly=True)
    next_action_invoice = fields.Many2One(
        'account.invoice', "Invoice", readonly=True,
        help="The invoice (debt) the next action is about.")
    next_action_invoice_number = fields.Char(
        "Invoice Number", readonly=True,
        help="The number of the invoice the next action is about.")
    next_action_level = fields.Many2One(
        'account.dunning.level', "Dunning Level", readonly=True,
        help="The dunning level that planned the next action.")
    next_action_step = fields.Function(fields.Char(
            "Ladder Step",
            help="The step of the dunning ladder that planned the next "
            "action."),
        'get_next_action_step')
    next_action_reason = fields.Text("Why", readonly=True)
    billing_errors = fields.Integer(
        "Billing Errors", readonly=True,
        help="The open billing errors of the subscription and of its "
        "customer: a billing job failed for them and retries each run "
        "(Billing Errors list).")
    held_actions = fields.Integer(
        "Held Actions", readonly=True,
        help="The planned shelve and delete actions of the subscription "
        "held above the destructive cap, until a finance manager "
        "releases their batch (Held Destructive Batches).")
    subscription_count = fields.Integer(
        "Subscriptions", readonly=True,
        help="1 per row: the graph sums it into counts per status.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('subscription')
        cls._order = [
            ('oldest_due_date', 'ASC NULLS LAST'),
            ('party', 'ASC'),
            ('id', 'ASC'),
            ]
        cls._buttons.update({
                'open_subscription': {},
                'sync_resources': {
                    'invisible': (~Eval('cloud')
                        | (Eval('state') != 'running')),
                    'depends': ['cloud', 'state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        visual = ''
        for status, value in reversed(STATUS_VISUALS):
            visual = If(Eval('billing_status') == status, value, visual)
        return super().view_attributes() + [
            ('/tree', 'visual', visual),
            ('/tree/field[@name="billing_status"]', 'visual', visual),
            ]

    @classmethod
    def get_subscription_states(cls):
        Subscription = Pool().get('sale.subscription')
        return Subscription.fields_get(['state'])['state']['selection']

    @classmethod
    def get_billing_statuses(cls):
        Subscription = Pool().get('sale.subscription')
        return Subscription.fields_get(
            ['billing_status'])['billing_status']['selection']

    @classmethod
    def get_action_types(cls):
        Action = Pool().get('sale.subscription.billing.action')
        return [(None, '')] + list(
            Action.fields_get(['type'])['type']['selection'])

    @classmethod
    def _next_action_query(cls):
        "Per subscription: the id of the planned action that comes first"
        Action = Pool().get('sale.subscription.billing.action')
        action = Action.__table__()
        ranked = action.select(
            action.id.as_('action'),
            action.subscription.as_('subscription'),
            RowNumber(window=Window([action.subscription],
                    order_by=[action.planned_date.asc, action.id.asc])
                ).as_('rank'),
            where=action.state.in_(['planned', 'running']))
        return ranked.select(
            ranked.action, ranked.subscription,
            where=ranked.rank == 1)

    @classmethod
    def _held_query(cls):
        "Per subscription: its planned actions in a held batch"
        pool = Pool()
        tables = [pool.get(name).__table__() for name in [
                'cloud_billing.destructive_batch-billing.action',
                'cloud_billing.destructive_batch',
                'sale.subscription.billing.action']]
        link, batch, action = tables
        held = link.join(batch, condition=(batch.id == link.batch)
            & (batch.state == 'held'))
        held = held.join(action, condition=(action.id == link.action)
            & (action.state == 'planned'))
        return held.select(action.subscription.as_('subscription'),
            Count(action.id, distinct=True).as_('count'),
            group_by=[action.subscription])

    @classmethod
    def table_query(cls):
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Action = pool.get('sale.subscription.billing.action')
        BillingError = pool.get('sale.subscription.billing_error')
        Dunning = pool.get('account.dunning')
        Company = pool.get('company.company')
        Currency = pool.get('currency.currency')
        Date = pool.get('ir.date')
        subscription = Subscription.__table__()
        Invoice = pool.get('account.invoice')
        action = Action.__table__()
        dunning = Dunning.__table__()
        invoice = Invoice.__table__()
        company = Company.__table__()
        currency = Currency.__table__()
        date = Date.today()
        overdue = Invoice.billing_debt_query(date)
        next_ = cls._next_action_query()
        errors = BillingError.open_count_query()
        held = cls._held_query()

        return (subscription
            .join(company, condition=subscription.company == company.id)
            .join(currency, condition=company.currency == currency.id)
            .join(overdue, 'LEFT',
                condition=overdue.subscription == subscription.id)
            .join(next_, 'LEFT',
                condition=next_.subscription == subscription.id)
            .join(action, 'LEFT', condition=action.id == next_.action)
            .join(dunning, 'LEFT', condition=dunning.id == action.dunning)
            .join(invoice, 'LEFT', condition=invoice.id == action.invoice)
            .join(errors, 'LEFT',
                condition=errors.subscription == subscription.id)
            .join(held, 'LEFT',
                condition=held.subscription == subscription.id)
            .select(
                subscription.id.as_('id'),
                subscription.create_uid.as_('create_uid'),
                subscription.create_date.as_('create_date'),
                subscription.write_uid.as_('write_uid'),
                subscription.write_date.as_('write_date'),
                subscription.company.as_('company'),
                company.currency.as_('currency'),
                subscription.party.as_('party'),
                subscription.id.as_('subscription'),
                subscription.state.as_('state'),
                subscription.billing_status.as_('billing_status'),
                subscription.cloud.as_('cloud'),
                subscription.project_id.as_('project_id'),
                # Rounded once to the currency's digits: SQLite sums in
                # floating point.
                Round(cls.overdue_amount.sql_cast(
                        Coalesce(overdue.amount, Literal(0))),
                    currency.digits).as_('overdue_amount'),
                overdue.oldest_due_date.as_('oldest_due_date'),
                subscription.cloud_restore_deadline.as_('restore_deadline'),
                action.id.as_('next_action'),
                action.type.as_('next_action_type'),
                action.planned_date.as_('next_action_date'),
                action.invoice.as_('next_action_invoice'),
                invoice.number.as_('next_action_invoice_number'),
                dunning.level.as_('next_action_level'),
                action.reason.as_('next_action_reason'),
                Coalesce(errors.count, Literal(0)).as_('billing_errors'),
                Coalesce(held.count, Literal(0)).as_('held_actions'),
                Literal(1).as_('subscription_count'),
                where=subscription.state.in_(DASHBOARD_STATES)))

    @classmethod
    def get_next_action_step(cls, rows, name):
        "The ladder step of each row's next action: one read per batch"
        pool = Pool()
        Level = pool.get('account.dunning.level')
        level_ids = {r.id: r.next_action_level.id
            for r in rows if r.next_action_level}
        result = dict.fromkeys([r.id for r in rows])
        # Support reads the step without reading the dunning configuration.
        with without_check_access():
            levels = {l.id: l for l in Level.browse(set(level_ids.values()))}
            for row_id, level_id in level_ids.items():
                level = levels[level_id]
                procedure = level.procedure
                result[row_id] = gettext(
                    'cloud_billing.msg_dashboard_ladder_step',
                    procedure=procedure.rec_name,
                    step=procedure.levels.index(level) + 1)
        return result

    def get_billing_status_label(self, name):
        return self.billing_status_string

    def get_rec_name(self, name):
        return self.subscription.rec_name

    @classmethod
    def search_rec_name(cls, name, clause):
        return rec_name_domain(
            clause, ['subscription.rec_name', 'party.rec_name'])

    @classmethod
    @ModelView.button_action('cloud_billing.act_dashboard_subscription')
    def open_subscription(cls, rows):
        pass

    @classmethod
    @ModelView.button
    def sync_resources(cls, rows):
        "Sync the subscriptions' cloud resources (finance)"
        Subscription = Pool().get('sale.subscription')
        Subscription.sync_resources(
            Subscription.browse([r.subscription.id for r in rows]))
