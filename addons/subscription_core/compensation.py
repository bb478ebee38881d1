# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
import logging
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from . import adjustment
from .document import FrozenDocumentMixin
from .money import round_money
from .exceptions import CompensationError
from . import bounds
from .validation import InputMixin, check_bounds

logger = logging.getLogger(__name__)
_ONE_DAY = datetime.timedelta(days=1)


class Compensation(
        FrozenDocumentMixin, InputMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'sale.subscription.compensation'
    __string__ = "Subscription Compensation"
    _states = {
        'readonly': Eval('state') != 'draft',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    subscription = fields.Many2One(
        'sale.subscription', "Subscription", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states=_states)
    party = fields.Function(fields.Many2One(
            'party.party', "Customer",
            context={
                'company': Eval('company', -1),
                },
            depends={'company'}),
        'on_change_with_party', searcher='search_party')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    kind = fields.Selection([
            ('amount', "Refund of an Amount"),
            ('percentage', "Percentage Discount"),
            ], "Kind", required=True, sort=False, states=_states)
    amount = Monetary(
        "Amount", currency='currency', digits='currency',
        states={
            'readonly': _states['readonly'],
            'invisible': Eval('kind') != 'amount',
            },
        help="Refunded without taxes: the taxes of the compensated lines "
        "are refunded with it.")
    rate = fields.Numeric(
        "Percentage", digits=(None, 4),
        states={
            'readonly': _states['readonly'],
            'invisible': Eval('kind') != 'percentage',
            },
        help="The share of what the subscription is billed for the period.")
    period_start = fields.Date(
        "From", required=True, states=_states,
        help="The first day of the compensated period.")
    period_end = fields.Date(
        "To", required=True, states=_states,
        help="The last day of the compensated period (included).")
    reason = fields.Char(
        "Reason", states=_states,
        help="Why the customer is compensated; shown on the invoice.")
    applied_date = fields.Date("Applied On", readonly=True)
    invoice_lines = fields.One2Many(
        'account.invoice.line', 'origin', "Invoice Lines", readonly=True)
    invoices = fields.Function(fields.Many2Many(
            'account.invoice', None, None, "Invoices"), 'get_invoices')
    compensated_amount = fields.Function(Monetary(
            "Compensated Amount", currency='currency', digits='currency'),
        'get_compensated_amount')
    state = fields.Selection([
            ('draft', "Draft"),
            ('waiting', "Waiting for Billing"),
            ('applied', "Applied"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)

    del _states
    # What the compensated amount is computed from
    _deletable_states = {'draft', 'cancelled'}
    _frozen_fields = {
        'company', 'subscription', 'kind', 'amount', 'rate', 'period_start',
        'period_end', 'reason'}

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('period_start', 'DESC'))
        cls._transitions |= {
            ('draft', 'waiting'),
            ('draft', 'applied'),
            ('waiting', 'applied'),
            ('applied', 'waiting'),
            ('draft', 'cancelled'),
            ('waiting', 'cancelled'),
            }
        cls._buttons.update({
                'apply': {
                    'invisible': ~Eval('state').in_(['draft', 'waiting']),
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'waiting']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_kind(cls):
        return 'amount'

    @fields.depends('subscription')
    def on_change_with_party(self, name=None):
        if self.subscription:
            return (self.subscription.invoice_party
                or self.subscription.party)

    @classmethod
    def search_party(cls, name, clause):
        return ['OR',
            ('subscription.invoice_party',) + tuple(clause[1:]),
            [('subscription.invoice_party', '=', None),
                ('subscription.party',) + tuple(clause[1:])],
            ]

    @fields.depends('subscription', 'company')
    def on_change_with_currency(self, name=None):
        if self.subscription:
            return self.subscription.currency
        if self.company:
            return self.company.currency

    def get_rec_name(self, name):
        return '%s: %s (%s – %s)' % (
            self.subscription.rec_name, self.reason or '',
            self.period_start, self.period_end)

    @classmethod
    def get_invoices(cls, compensations, name):
        return {c.id: sorted({l.invoice.id for l in c.invoice_lines
                    if l.invoice}) for c in compensations}

    @classmethod
    def get_compensated_amount(cls, compensations, name):
        return {c.id: -sum((l.amount for l in c.invoice_lines),
                c.currency.round(0)) for c in compensations}

    @classmethod
    def copy(cls, compensations, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('invoice_lines')
        default.setdefault('applied_date')
        return super().copy(compensations, default=default)

    @classmethod
    def validate_fields(cls, compensations, field_names):
        super().validate_fields(compensations, field_names)
        check_bounds(compensations, field_names, {
                'amount': bounds.AMOUNT,
                'rate': bounds.RATIO,
                })
        cls.check_values(compensations, field_names)

    @classmethod
    def check_values(cls, compensations, field_names=None):
        if field_names and not (field_names & {
                    'reason', 'kind', 'amount', 'rate', 'period_start',
                    'period_end', 'subscription', 'company'}):
            return
        for compensation in compensations:
            if not (compensation.reason or '').strip():
                raise CompensationError(gettext(
                        'subscription_core.msg_compensation_reason_required',
                        subscription=compensation.subscription.rec_name))
            if compensation.period_end < compensation.period_start:
                raise CompensationError(gettext(
                        'subscription_core.msg_compensation_period',
                        compensation=compensation.rec_name))
            if compensation.kind == 'amount' and not (
                    compensation.amount and compensation.amount > 0):
                raise CompensationError(gettext(
                        'subscription_core.msg_compensation_amount_positive',
                        compensation=compensation.rec_name))
            if compensation.kind == 'percentage' and not (
                    compensation.rate and 0 < compensation.rate <= 1):
                raise CompensationError(gettext(
                        'subscription_core.msg_compensation_rate',
                        compensation=compensation.rec_name))
            if compensation.subscription.company != compensation.company:
                raise CompensationError(gettext(
                        'subscription_core.msg_compensation_company',
                        compensation=compensation.rec_name))

    @classmethod
    def _frozen_error(cls, mode, compensation):
        message = {
            'delete': 'subscription_core.msg_compensation_delete',
            'write': 'subscription_core.msg_compensation_modify',
            }[mode]
        return CompensationError(
            gettext(message, compensation=compensation.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, compensations):
        pass

    @classmethod
    @ModelView.button
    def apply(cls, compensations):
        "Apply now if the period is billed, otherwise at the close"
        pool = Pool()
        Date = pool.get('ir.date')
        cls.process(compensations, Date.today())

    @classmethod
    def process(cls, compensations, date, strict=True):
        """Apply the compensations whose period is billed, as of date

        On a draft invoice a compensation is a negative line; on a posted
        invoice it is a posted credit note. The others wait (state
        'waiting') for a later close. With strict, a compensation that
        cannot be applied raises an error, otherwise it is logged and
        waits.
        """
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        cls.lock(compensations)
        # Served first asked, first served: in the order they are created
        compensations = sorted((c for c in cls.browse(compensations)
                if c.state in {'draft', 'waiting'}), key=lambda c: c.id)
        to_wait, applied = [], []
        draft_lines, credit_notes = [], []
        served = []  # (compensation, amount) applied by this call
        for compensation in compensations:
            try:
                result = compensation._get_lines(served)
            except CompensationError as exception:
                if strict:
                    raise
                logger.warning("%s waits: %s", compensation.rec_name,
                    exception.message)
                result = None
            if result is None:
                to_wait.append(compensation)
                continue
            for invoice, lines in result.items():
                if invoice.state == 'draft':
                    for line in lines:
                        line.invoice = invoice
                    draft_lines.extend(lines)
                else:
                    credit_notes.append(compensation._get_credit_note(
                            invoice, lines, date))
            applied.append(compensation)
            served.append((compensation, -sum(
                        (l.unit_price for ls in result.values() for l in ls),
                        Decimal(0))))
        InvoiceLine.save(draft_lines)
        Invoice.save(credit_notes)
        to_tax = Invoice.browse(list(
                {l.invoice.id for l in draft_lines}
                | {i.id for i in credit_notes}))
        Invoice.update_taxes(to_tax)
        if credit_notes:
            # The move of a credit note dated by a job (date) may be in the
            # future of the server clock: nobody is there to answer.
            with Transaction().set_context(_skip_warnings=True):
                Invoice.post(credit_notes)
        cls.wait(to_wait)
        cls.mark_applied(applied, date)
        return applied

    @classmethod
    @Workflow.transition('waiting')
    def wait(cls, compensations):
        "Wait for a later close: the period is not billed yet"

    @classmethod
    @Workflow.transition('applied')
    def mark_applied(cls, compensations, date):
        "Record that the compensations were applied on date"
        cls.write(compensations, {'applied_date': date})

    @classmethod
    @Workflow.transition('waiting')
    def reopen(cls, compensations):
        "Wait again: the invoices the compensation was applied on are gone"
        cls.write(compensations, {'applied_date': None})

    @classmethod
    def reopen_cancelled(cls, compensations):
        "Reopen the applied compensations with no line left on a live invoice"
        compensations = [c for c in cls.browse(compensations)
            if c.state == 'applied'
            and all(l.invoice.state == 'cancelled' for l in c.invoice_lines
                if l.invoice)]
        if compensations:
            cls.reopen(compensations)
        return compensations

    @property
    def _period(self):
        "The compensated period as a half-open range"
        return self.period_start, self.period_end + _ONE_DAY

    @property
    def period_billed(self):
        """Whether the subscription is invoiced over the whole period

        Usage lines are not waited for: they are billed from
        consumptions by other jobs.
        """
        start, end = self._period
        subscription = self.subscription
        if subscription.state not in {'running', 'closed'}:
            return False
        for line in subscription.lines:
            if line.billing_type == 'usage':
                continue
            line_end = line.billing_end
            if line.billing_start >= end or (
                    line_end and line_end <= start):
                continue
            needed = min(end, line_end) if line_end else end
            if not line.billed_until or line.billed_until < needed:
                return False
        return True

    def _compensated_lines(self, start=None, end=None):
        "The billed lines of the subscription over the period (or [start, end))"
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        if start is None:
            start, end = self._period
        lines = InvoiceLine.search([
                ('invoice.type', '=', 'out'),
                ('invoice.state', '!=', 'cancelled'),
                ('invoice.company', '=', self.company.id),
                ('invoice.party', '=', self.party.id),
                ('type', '=', 'line'),
                ('billing_start', '!=', None),
                ('billing_start', '<', end),
                ('billing_end', '>=', start),
                ])
        return [l for l in lines if l.billed_subscription == self.subscription]

    def _get_lines(self, served=()):
        """The lines of the compensation per invoice, not saved

        Return None while the period is not billed. The compensation is
        split per invoice and taxes of the compensated lines, so that the
        taxes are refunded with it. It is capped by what the compensations
        of the subscription applied before it (served: those applied with
        it, before it) left of what is billed over its days.
        """
        if not self.period_billed:
            return None
        start, end = self._period
        before = self._served_before(served)
        first = min([start] + [c._period[0] for c, _ in before])
        last = max([end] + [c._period[1] for c, _ in before])
        bases = defaultdict(Fraction)
        invoices = {}
        pieces = []
        for line in self._compensated_lines(first, last):
            line_end = line.billing_end or line.billing_start
            pieces.append(adjustment.BilledPiece(
                    line.amount, line.billing_start, line_end))
            if not (line.billing_start < end and line_end >= start):
                continue
            invoice = line.invoice
            if invoice.state == 'validated':
                # Neither editable nor posted yet
                return None
            key = (invoice.id, tuple(sorted(t.id for t in line.taxes)))
            invoices[invoice.id] = invoice
            bases[key] += adjustment.period_share(
                line.amount, line.billing_start, line_end, start, end)
        keys = sorted(bases)
        exacts = [bases[k] for k in keys]
        rounding = self.currency.rounding
        billed = round_money(sum(exacts, Fraction(0)), rounding)
        if billed <= 0:
            raise CompensationError(gettext(
                    'subscription_core.msg_compensation_nothing_billed',
                    compensation=self.rec_name))
        if self.kind == 'amount' and self.amount > billed:
            raise CompensationError(gettext(
                    'subscription_core.msg_compensation_exceeds',
                    compensation=self.rec_name, billed=billed))
        refunds = [adjustment.Refund(*c._period, served=amount)
            for c, amount in before]
        refunds.append(adjustment.Refund(start, end,
                amount=self.amount if self.kind == 'amount' else None,
                rate=self.rate if self.kind == 'percentage' else None))
        amount = adjustment.serve_refunds(pieces, refunds, rounding)[-1]
        if amount <= 0:
            raise CompensationError(gettext(
                    'subscription_core.msg_compensation_nothing_left',
                    compensation=self.rec_name))
        if (self.kind == 'percentage' and amount == round_money(
                    sum(exacts, Fraction(0)) * Fraction(self.rate),
                    rounding)):
            parts = adjustment.percentage_parts(exacts, self.rate, rounding)
        else:
            parts = adjustment.proportional_parts(amount, exacts, rounding)
        account = self._account()
        result = defaultdict(list)
        for (invoice_id, taxes), part in zip(keys, parts):
            if not part:
                continue
            result[invoices[invoice_id]].append(
                self._get_invoice_line(part, account, taxes))
        return result

    def _served_before(self, served=()):
        """(compensation, amount) served before this one, in order

        The applied compensations of the subscription whose days touch
        this one's, directly or through another: in the order they were
        applied, then those of served (applied with this one, before it).
        """
        pool = Pool()
        Compensation = pool.get('sale.subscription.compensation')
        served = [(c, a) for c, a in served
            if c.subscription == self.subscription and c.id != self.id]
        others = {c.id for c, _ in served} | {self.id}
        applied = Compensation.search([
                ('subscription', '=', self.subscription.id),
                ('state', '=', 'applied'),
                ('id', 'not in', list(others)),
                ], order=[('applied_date', 'ASC'), ('id', 'ASC')])
        before = [(c, -sum((l.amount for l in c.invoice_lines
                        if l.invoice and l.invoice.state != 'cancelled'),
                    Decimal(0))) for c in applied] + served
        # Only the compensations chained to this one by their days matter
        start, end = self._period
        chained, changed = [], True
        while changed:
            changed = False
            for item in before:
                if item in chained:
                    continue
                c_start, c_end = item[0]._period
                if c_start < end and start < c_end:
                    chained.append(item)
                    start, end = min(start, c_start), max(end, c_end)
                    changed = True
        return [item for item in before if item in chained]

    def _account(self):
        pool = Pool()
        Configuration = pool.get('account.configuration')
        account = Configuration(1).get_multivalue(
            'compensation_account', company=self.company.id)
        if not account:
            raise CompensationError(gettext(
                    'subscription_core.msg_compensation_missing_account',
                    compensation=self.rec_name))
        return account

    def _get_invoice_line(self, amount, account, taxes):
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        if self.kind == 'percentage':
            description = gettext(
                'subscription_core.msg_compensation_percentage_description',
                rate=format(self.rate * 100, 'f').rstrip('0').rstrip('.'),
                reason=self.reason, start=self.period_start,
                end=self.period_end, subscription=self.subscription.rec_name)
        else:
            description = gettext(
                'subscription_core.msg_compensation_amount_description',
                reason=self.reason, start=self.period_start,
                end=self.period_end, subscription=self.subscription.rec_name)
        return InvoiceLine(
            type='line', company=self.company, currency=self.currency,
            quantity=1, unit_price=-amount, account=account,
            taxes=list(taxes), origin=self, description=description)

    def _get_credit_note(self, invoice, lines, date):
        "A credit note of the posted invoice with the lines, not saved"
        credit_note = invoice._credit()
        credit_note.lines = lines
        credit_note.taxes = []
        credit_note.invoice_date = date
        credit_note.billing_subscription = invoice.billing_subscription
        return credit_note


class Invoice(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def _billing_close_steps(cls):
        # Compensations first: credits offset what is left of the invoices.
        steps = super()._billing_close_steps()
        before = ('apply_billing_credits'
            if 'apply_billing_credits' in steps else 'post_billing')
        steps.insert(steps.index(before), 'apply_billing_compensations')
        return steps

    @classmethod
    def cancel(cls, invoices):
        pool = Pool()
        Compensation = pool.get('sale.subscription.compensation')
        # A compensation applied on a draft invoice that is cancelled was
        # never given: it waits again for a billed period.
        compensations = {l.origin.id for i in invoices
            if i.state in {'draft', 'validated'} for l in i.lines
            if isinstance(l.origin, Compensation) and l.origin.id >= 0}
        super().cancel(invoices)
        if compensations:
            Compensation.reopen_cancelled(list(compensations))

    @classmethod
    def apply_billing_compensations(cls, invoices, date):
        """Apply the waiting compensations whose period is billed

        Only those of the customers of invoices: a waiting compensation
        becomes applicable when job 1 bills its period, on an invoice of
        the customer its subscription is invoiced to, which this close (or a
        later one) posts. So a close in batches never rescans the
        compensations of every customer for each batch.
        """
        pool = Pool()
        Compensation = pool.get('sale.subscription.compensation')
        company_id = Transaction().context.get('company', -1)
        parties = list({i.party.id for i in cls.browse(invoices)})
        if not parties:
            return
        compensations = Compensation.search([
                ('company', '=', company_id),
                ('state', '=', 'waiting'),
                ['OR',
                    ('subscription.invoice_party', 'in', parties),
                    [
                        ('subscription.invoice_party', '=', None),
                        ('subscription.party', 'in', parties),
                        ],
                    ],
                ], order=[('id', 'ASC')])
        Compensation.process(compensations, date, strict=False)


class InvoiceLine(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['sale.subscription.compensation']

    @classmethod
    def _billed_origins(cls):
        return super()._billed_origins() | {
            'sale.subscription.compensation': 'subscription',
            }

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        pool = Pool()
        Compensation = pool.get('sale.subscription.compensation')
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode == 'delete':
            for line in lines:
                if (isinstance(line.origin, Compensation)
                        and line.origin.id >= 0
                        and line.origin.state == 'applied'):
                    raise CompensationError(gettext(
                            'subscription_core.msg_compensation_line_delete',
                            line=line.rec_name,
                            compensation=line.origin.rec_name))
