# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from sql.aggregate import Max

from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateView, Wizard

from .billing_run import BILLING_JOBS, run_billing_job
from .ir import preview_date
from .isolation import savepoint
from .validation import InputMixin, WizardInputMixin


def preview_jobs():
    """Every job of a billing day: what it would invoice, post, plan and
    run. Job (4) runs the local actions inside the savepoint; its remote
    actions are only queued, and the preview lists them instead of running
    them (their queued tasks are dropped with the savepoint)."""
    return [job for job, _ in BILLING_JOBS]


class BillingPreviewStart(InputMixin, ModelView):
    "Preview Billing Run"
    __name__ = 'sale.subscription.billing.preview.start'

    date = fields.Date("Date", required=True,
        help="The day the billing run would run for.")

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class BillingPreviewLine(InputMixin, ModelView):
    "Billing Preview Line"
    __name__ = 'sale.subscription.billing.preview.line'

    kind = fields.Selection([
            ('invoice_line', "Invoice Line"),
            ('invoice', "Invoice Posted"),
            ('action', "Billing Action"),
            ('action_run', "Billing Action Run"),
            ('email', "Email"),
            ], "Kind", readonly=True, sort=False)
    party = fields.Many2One('party.party', "Customer", readonly=True)
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", readonly=True)
    description = fields.Char("Description", readonly=True)
    billing_start = fields.Date("From", readonly=True)
    billing_end = fields.Date("To", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)
    planned_date = fields.Date("Planned Date", readonly=True)


class BillingPreviewResult(InputMixin, ModelView):
    "Billing Preview"
    __name__ = 'sale.subscription.billing.preview.result'

    date = fields.Date("Date", readonly=True)
    lines = fields.One2Many(
        'sale.subscription.billing.preview.line', None, "Preview",
        readonly=True)


class BillingPreview(WizardInputMixin, Wizard):
    "Preview Billing Run"
    __name__ = 'sale.subscription.billing.preview'
    start = StateView('sale.subscription.billing.preview.start',
        'subscription_core.billing_preview_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Preview", 'result', 'tryton-ok', default=True),
            ])
    result = StateView('sale.subscription.billing.preview.result',
        'subscription_core.billing_preview_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_result(self, fields):
        date = self.start.date
        return {
            'date': date,
            'lines': self.preview(date),
            }

    @classmethod
    def preview(cls, date):
        """Run the jobs of a billing day for date inside a savepoint rolled
        back at the end and return what they did as preview line values.

        Nothing is written: the rows, the emails queued for the commit, the
        queued tasks and the caches are all dropped with the savepoint
        (isolation.savepoint). A customer a job fails for is left out of
        the preview, as the run leaves it out (billing_error.py).
        The remote actions job (4) queues are listed, never run: OpenStack
        is not called. The actions are checked for date (``preview_date``),
        as the real run of that day checks them.
        """
        before = cls._max_ids()
        with savepoint(rollback=True):
            draft = cls._draft_invoice_ids()
            with preview_date(date):
                for job in preview_jobs():
                    run_billing_job(job, date)
                # Only what the jobs just created is read back.
                with without_check_access():
                    lines = cls._collect(before, draft)
        return lines

    @classmethod
    def _preview_models(cls):
        return ['account.invoice', 'account.invoice.line',
            'sale.subscription.billing.action',
            'sale.subscription.billing.action.event', 'ir.queue', 'ir.email']

    @classmethod
    def _max_ids(cls):
        pool = Pool()
        cursor = Transaction().connection.cursor()
        result = {}
        for name in cls._preview_models():
            table = pool.get(name).__table__()
            cursor.execute(*table.select(Max(table.id)))
            result[name], = cursor.fetchone()
            result[name] = result[name] or 0
        return result

    @classmethod
    def _draft_invoice_ids(cls):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoice = Invoice.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*invoice.select(invoice.id,
                where=(invoice.state == 'draft') & (invoice.type == 'out')))
        return {i for i, in cursor}

    @classmethod
    def _collect(cls, before, draft):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        Action = pool.get('sale.subscription.billing.action')
        Email = pool.get('ir.email')
        action_types = dict(
            Action.fields_get(['type'])['type']['selection'])
        lines = []
        for line in InvoiceLine.search([
                    ('id', '>', before['account.invoice.line']),
                    ('invoice.type', '=', 'out'),
                    ], order=[('invoice.party', 'ASC'), ('id', 'ASC')]):
            subscription = cls._line_subscription(line)
            lines.append({
                    'kind': 'invoice_line',
                    'party': line.invoice.party.id,
                    'subscription': subscription.id if subscription else None,
                    'description': line.description,
                    'billing_start': line.billing_start,
                    'billing_end': line.billing_end,
                    'currency': line.invoice.currency.id,
                    'amount': line.amount,
                    })
        posted = Invoice.search([
                ['OR',
                    ('id', '>', before['account.invoice']),
                    ('id', 'in', list(draft)),
                    ],
                ('type', '=', 'out'),
                ('state', 'in', ['posted', 'paid']),
                ], order=[('party', 'ASC'), ('id', 'ASC')])
        for invoice in posted:
            lines.append({
                    'kind': 'invoice',
                    'party': invoice.party.id,
                    'subscription': (invoice.billing_subscription.id
                        if invoice.billing_subscription else None),
                    'description': invoice.number,
                    'currency': invoice.currency.id,
                    'amount': invoice.total_amount,
                    })
        for action in Action.search([
                    ('id', '>', before['sale.subscription.billing.action']),
                    ], order=[('id', 'ASC')]):
            lines.append({
                    'kind': 'action',
                    'party': action.subscription.party.id,
                    'subscription': action.subscription.id,
                    'description': '%s: %s' % (
                        action_types.get(action.type, action.type), action.reason or ''),
                    'planned_date': action.planned_date,
                    })
        for action in cls._actions_run(before):
            lines.append({
                    'kind': 'action_run',
                    'party': action.subscription.party.id,
                    'subscription': action.subscription.id,
                    'description': cls.action_run_description(
                        action, action_types),
                    'planned_date': action.planned_date,
                    })
        for email in Email.search([
                    ('id', '>', before['ir.email']),
                    ], order=[('id', 'ASC')]):
            lines.append({
                    'kind': 'email',
                    'description': '%s: %s' % (
                        email.recipients, email.subject),
                    })
        return lines

    @staticmethod
    def action_run_description(action, action_types):
        "Type: targets of an action run (the preview's description)"
        return '%s: %s' % (action_types.get(action.type, action.type),
            action.preview_targets())

    @classmethod
    def _actions_run(cls, before):
        """The actions job (4) ran since before, in order: the local ones
        started (or done at once, nothing left to do) and the remote ones
        queued for after the commit"""
        pool = Pool()
        Action = pool.get('sale.subscription.billing.action')
        Event = pool.get('sale.subscription.billing.action.event')
        Queue = pool.get('ir.queue')
        ids = []
        for event in Event.search([
                    ('id', '>', before['sale.subscription.billing.action.event']),
                    ('from_state', '=', 'planned'),
                    ('to_state', 'in', ['running', 'done']),
                    ], order=[('id', 'ASC')]):
            ids.append(event.action.id)
        for task in Queue.search([
                    ('id', '>', before['ir.queue']),
                    ], order=[('id', 'ASC')]):
            data = task.data or {}
            if (data.get('model') == Action.__name__
                    and data.get('method') == 'run_remote'):
                instances = data.get('instances')
                ids.extend([instances] if isinstance(instances, int)
                    else instances)
        return Action.browse(list(dict.fromkeys(ids)))

    @staticmethod
    def _line_subscription(line):
        pool = Pool()
        SubscriptionLine = pool.get('sale.subscription.line')
        origin = line.origin
        if isinstance(origin, SubscriptionLine):
            return origin.subscription
        sub_line = getattr(origin, 'line', None)
        if isinstance(sub_line, SubscriptionLine):
            return sub_line.subscription
        subscription = getattr(origin, 'subscription', None)
        if subscription and subscription.__name__ == 'sale.subscription':
            return subscription
        return None
