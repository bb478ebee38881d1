# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
from collections import defaultdict
from decimal import Decimal

from sql import Literal
from sql.aggregate import Sum
from sql.conditionals import Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.transaction import without_check_access

from . import adjustment
from .audit import ModuleRecordMixin
from .billing_error import grouped, job_errors, run_isolated
from .document import FrozenDocumentMixin
from .exceptions import CreditError
from . import bounds
from .validation import InputMixin, check_bounds
from .ir import job_scope

MOVEMENT_KINDS = [
    ('grant', "Grant"),
    ('application', "Application"),
    ('expiry', "Expiry"),
    ('reversal', "Reversal"),
    ]


class Credit(FrozenDocumentMixin, InputMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'sale.subscription.credit'
    __string__ = "Customer Credit"
    _states = {
        'readonly': Eval('state') != 'draft',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    party = fields.Many2One(
        'party.party', "Customer", required=True, states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    subscription = fields.Many2One(
        'sale.subscription', "Subscription",
        domain=[
            ('company', '=', Eval('company', -1)),
            If(Bool(Eval('party')),
                ['OR',
                    ('party', '=', Eval('party', -1)),
                    ('invoice_party', '=', Eval('party', -1)),
                    ],
                []),
            ],
        states=_states,
        help="Only the part of the invoices billing this subscription "
        "is offset. Leave empty for the whole invoices of the customer.")
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        states=_states, help="The prepaid amount granted.")
    date = fields.Date(
        "Date", required=True, states=_states,
        help="The credit offsets the invoices closed from this day on.")
    expiry_date = fields.Date(
        "Expiry Date", states=_states,
        help="The credit offsets the invoices closed until this day "
        "(included); on the day after it, what is left expires.")
    description = fields.Char("Description", states=_states)
    balance = fields.Function(Monetary(
            "Balance", currency='currency', digits='currency'),
        'get_balance', searcher='search_balance')
    movements = fields.One2Many(
        'sale.subscription.credit.movement', 'credit', "Movements",
        readonly=True, order=[('date', 'ASC'), ('id', 'ASC')])
    move = fields.Many2One(
        'account.move', "Grant Move", readonly=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ])
    state = fields.Selection([
            ('draft', "Draft"),
            ('granted', "Granted"),
            ], "State", readonly=True, required=True, sort=False)

    del _states
    # What the movements and the grant move are based on
    _frozen_fields = {
        'company', 'party', 'subscription', 'amount', 'date', 'expiry_date'}

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))
        cls._transitions |= {
            ('draft', 'granted'),
            }
        cls._buttons.update({
                'grant': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'reverse': {
                    'invisible': ((Eval('state') != 'granted')
                        | (Eval('balance', 0) <= 0)),
                    'depends': ['state', 'balance'],
                    },
                })

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @fields.depends('party', 'subscription')
    def on_change_party(self):
        if self.subscription and self.party and self.party not in {
                self.subscription.party, self.subscription.invoice_party}:
            self.subscription = None

    def get_rec_name(self, name):
        return '%s (%s)' % (
            self.description or self.party.rec_name, self.date)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith(('!', 'not ')) else 'OR'
        return [bool_op,
            ('description', *clause[1:]),
            ('party.rec_name', *clause[1:]),
            ]

    @classmethod
    def get_balance(cls, credits, name):
        return {c.id: sum((m.amount for m in c.movements),
                c.currency.round(Decimal(0))) for c in credits}

    @classmethod
    def search_balance(cls, name, clause):
        pool = Pool()
        Movement = pool.get('sale.subscription.credit.movement')
        credit = cls.__table__()
        movement = Movement.__table__()
        _, operator, value = clause
        Operator = fields.SQL_OPERATORS[operator]
        amount = Coalesce(Sum(movement.amount), 0)
        if backend.name == 'sqlite':
            cast_ = Movement.amount.sql_cast
            if operator in {'in', 'not in'}:
                value = [cast_(Literal(Decimal(v or 0))) for v in value]
            else:
                value = cast_(Literal(Decimal(value or 0)))
            amount = cast_(amount)
        query = credit.join(movement, 'LEFT',
            condition=movement.credit == credit.id
            ).select(credit.id,
                group_by=[credit.id],
                having=Operator(amount, value))
        return [('id', 'in', query)]

    @classmethod
    def copy(cls, credits, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('movements')
        default.setdefault('move')
        return super().copy(credits, default=default)

    @classmethod
    def validate_fields(cls, credits, field_names):
        super().validate_fields(credits, field_names)
        check_bounds(credits, field_names, {'amount': bounds.AMOUNT})
        cls.check_amount_dates(credits, field_names)

    @classmethod
    def check_amount_dates(cls, credits, field_names=None):
        if field_names and not (field_names & {
                    'amount', 'date', 'expiry_date', 'party',
                    'subscription', 'company'}):
            return
        for credit in credits:
            if credit.amount is not None and credit.amount <= 0:
                raise CreditError(gettext(
                        'subscription_core.msg_credit_amount_positive',
                        credit=credit.rec_name))
            if credit.expiry_date and credit.expiry_date < credit.date:
                raise CreditError(gettext(
                        'subscription_core.msg_credit_expiry_before_date',
                        credit=credit.rec_name))
            subscription = credit.subscription
            if subscription and (credit.party not in {
                        subscription.party, subscription.invoice_party}
                    or subscription.company != credit.company):
                raise CreditError(gettext(
                        'subscription_core.msg_credit_subscription_party',
                        credit=credit.rec_name,
                        subscription=subscription.rec_name))

    @classmethod
    def _frozen_error(cls, mode, credit):
        message = {
            'delete': 'subscription_core.msg_credit_delete_granted',
            'write': 'subscription_core.msg_credit_modify_granted',
            }[mode]
        return CreditError(gettext(message, credit=credit.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('granted')
    def grant(cls, credits):
        "Record the prepaid balance: receivable to the credit liability"
        pool = Pool()
        Move = pool.get('account.move')
        Movement = pool.get('sale.subscription.credit.movement')
        moves, movements = [], []
        for credit in credits:
            accounts = credit._accounts()
            move = credit._get_move(
                credit.date, credit.amount,
                debit=credit.party.account_receivable_used,
                credit_=accounts['credit'],
                description=gettext(
                    'subscription_core.msg_credit_grant_description',
                    credit=credit.rec_name))
            credit.move = move
            moves.append(move)
            movements.append(Movement(
                    credit=credit, date=credit.date, kind='grant',
                    amount=credit.amount, move=move))
        Move.save(moves)
        Move.post(moves)
        cls.save(credits)
        with without_check_access():
            Movement.save(movements)

    @classmethod
    @ModelView.button
    def reverse(cls, credits, date=None):
        "Give back what is left: credit liability to receivable"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        cls._close_balances(credits, date, 'reversal')

    @classmethod
    def expire(cls, date=None):
        """Record the expiry of what is left of the credits expired on date

        A daily job of its own (Expire Credits): a credit
        expires the day after its expiry date whether or not a close has an
        invoice that day. The close calls it too, before applying credits.
        """
        date, company_id = job_scope(date)
        credits = cls.search([
                ('company', '=', company_id),
                ('state', '=', 'granted'),
                ('expiry_date', '<', date),
                ('balance', '>', 0),
                ], order=[('id', 'ASC')])
        # A customer that fails is left out (billing_error.py).
        with job_errors('sale.subscription.credit|expire', date):
            return run_isolated(
                grouped((c.party, c.id) for c in credits),
                lambda ids: cls._close_balances(
                    cls.browse(ids), date, 'expiry'))

    @classmethod
    def _close_balances(cls, credits, date, kind):
        pool = Pool()
        Move = pool.get('account.move')
        Movement = pool.get('sale.subscription.credit.movement')
        cls.lock(credits)
        credits = [c for c in cls.browse(credits)
            if c.state == 'granted' and c.balance > 0]
        moves, movements = [], []
        for credit in credits:
            accounts = credit._accounts(expiry=kind == 'expiry')
            if kind == 'expiry':
                counterpart = accounts['expiry']
            else:
                counterpart = credit.party.account_receivable_used
            move = credit._get_move(
                date, credit.balance, debit=accounts['credit'],
                credit_=counterpart,
                description=gettext(
                    'subscription_core.msg_credit_%s_description' % kind,
                    credit=credit.rec_name))
            moves.append(move)
            movements.append(Movement(
                    credit=credit, date=date, kind=kind,
                    amount=-credit.balance, move=move))
        Move.save(moves)
        Move.post(moves)
        with without_check_access():
            Movement.save(movements)
        return credits

    def _accounts(self, expiry=False):
        pool = Pool()
        Configuration = pool.get('account.configuration')
        config = Configuration(1)
        accounts = {
            'credit': config.get_multivalue(
                'customer_credit_account', company=self.company.id),
            'journal': config.get_multivalue(
                'customer_credit_journal', company=self.company.id),
            }
        if expiry:
            accounts['expiry'] = config.get_multivalue(
                'customer_credit_expiry_account', company=self.company.id)
        if not all(accounts.values()):
            raise CreditError(gettext(
                    'subscription_core.msg_credit_missing_account',
                    credit=self.rec_name))
        return accounts

    def _get_move(self, date, amount, debit, credit_, description):
        "A posted move of amount from the debit to the credit_ account"
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        journal = self._accounts()['journal']
        zero = self.company.currency.round(Decimal(0))
        lines = []
        for account, debit_amount, credit_amount in [
                (debit, amount, zero),
                (credit_, zero, amount)]:
            line = Line(account=account, debit=debit_amount,
                credit=credit_amount, description=description)
            if account.party_required:
                line.party = self.party
            if account.type.receivable or account.type.payable:
                line.maturity_date = date
            lines.append(line)
        return Move(
            company=self.company, journal=journal,
            period=Period.find(self.company, date=date), date=date,
            origin=self, description=description, lines=lines)

    @classmethod
    def apply_to_invoices(cls, invoices, date):
        """Offset the draft customer invoices with the credits open on date

        Restricted credits go first, then the credits expiring first.
        Return the movements.
        """
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        Movement = pool.get('sale.subscription.credit.movement')
        invoices = [i for i in Invoice.browse(invoices)
            if i.state == 'draft' and i.type == 'out']
        if not invoices:
            return []
        credits = cls.search([
                ('state', '=', 'granted'),
                ('company', 'in', list({i.company.id for i in invoices})),
                ('party', 'in', list({i.party.id for i in invoices})),
                ('date', '<=', date),
                ['OR',
                    ('expiry_date', '=', None),
                    ('expiry_date', '>=', date),
                    ],
                ('balance', '>', 0),
                ])
        if not credits:
            return []
        cls.lock(credits)
        credits = [c for c in cls.browse(credits) if c.balance > 0]
        Invoice.update_taxes(invoices)
        invoices = Invoice.browse(invoices)

        def group_key(record):
            return (record.company.id, record.party.id, record.currency.id)
        invoice_groups = defaultdict(list)
        for invoice in invoices:
            invoice_groups[group_key(invoice)].append(invoice)
        credit_groups = defaultdict(list)
        for credit in credits:
            credit_groups[group_key(credit)].append(credit)

        lines, movements = [], []
        for key, group_credits in credit_groups.items():
            group_invoices = sorted(invoice_groups.get(key, []),
                key=lambda i: (i.billing_cycle or datetime.date.min, i.id))
            group_credits.sort(key=lambda c: (
                    c.subscription is None,
                    c.expiry_date or datetime.date.max, c.date, c.id))
            scopes = {c.subscription.id for c in group_credits
                if c.subscription}
            capacities = []
            for invoice in group_invoices:
                parts = {}
                if scopes:
                    parts = {s: a for s, a in
                        invoice._billing_subscription_amounts().items()
                        if s in scopes}
                capacities.append(adjustment.InvoiceCapacity(
                        invoice, invoice.total_amount, parts))
            allocations, _ = adjustment.allocate_credits(
                [adjustment.CreditBalance(
                        c, c.balance,
                        c.subscription.id if c.subscription else None)
                    for c in group_credits],
                capacities)
            for allocation in allocations:
                credit = allocation.credit
                line = credit._get_application_line(
                    allocation.invoice, allocation.amount)
                lines.append(line)
                movements.append(Movement(
                        credit=credit, date=date, kind='application',
                        amount=-allocation.amount))
        InvoiceLine.save(lines)
        for line, movement in zip(lines, movements):
            movement.invoice_line = line
        with without_check_access():
            Movement.save(movements)
        return movements

    def _get_application_line(self, invoice, amount):
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        line = InvoiceLine(
            invoice=invoice, type='line', company=invoice.company,
            currency=invoice.currency, quantity=1, unit_price=-amount,
            account=self._accounts()['credit'], taxes=[], origin=self,
            description=gettext(
                'subscription_core.msg_credit_application_description',
                credit=self.rec_name))
        try:
            line.sequence = max(l.sequence for l in invoice.lines
                if l.sequence is not None) + 1
        except ValueError:
            pass
        return line

    @classmethod
    def reverse_applications(cls, undone):
        """Give back to their credits the applications undone

        undone are (application line, line undoing it, date): a line of a
        posted credit note, or the application line itself when its
        invoice is cancelled. An application is given back once.
        """
        pool = Pool()
        Movement = pool.get('sale.subscription.credit.movement')
        if not undone:
            return []
        applications = {a.id for a, _, _ in undone}
        done = {m.invoice_line.id for m in Movement.search([
                    ('kind', '=', 'reversal'),
                    ('invoice_line', 'in', list(applications)),
                    ])}
        done |= {m.invoice_line.origin.id for m in Movement.search([
                    ('kind', '=', 'reversal'),
                    ('invoice_line.origin', 'in', [
                            str(a) for a, _, _ in undone]),
                    ])}
        cls.lock(list({a.origin for a, _, _ in undone}))
        movements = []
        for application, line, date in undone:
            if application.id in done:
                continue
            done.add(application.id)
            movements.append(Movement(
                    credit=application.origin, date=date, kind='reversal',
                    amount=-application.amount, invoice_line=line))
        with without_check_access():
            Movement.save(movements)
        return movements


# Only the credit code writes movements (audit.py): a movement by hand would
# change a balance with no move behind it.
class CreditMovement(ModuleRecordMixin, InputMixin, ModelSQL, ModelView):
    __name__ = 'sale.subscription.credit.movement'
    __string__ = "Customer Credit Movement"

    credit = fields.Many2One(
        'sale.subscription.credit', "Credit", required=True,
        ondelete='RESTRICT', readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    kind = fields.Selection(MOVEMENT_KINDS, "Kind", required=True,
        readonly=True, sort=False)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True,
        help="Positive when it adds to the balance, negative when it "
        "takes from it.")
    invoice_line = fields.Many2One(
        'account.invoice.line', "Invoice Line", readonly=True,
        help="The line offsetting the invoice, or undoing that.")
    invoice = fields.Function(fields.Many2One(
            'account.invoice', "Invoice"), 'on_change_with_invoice')
    move = fields.Many2One('account.move', "Move", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('credit')
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @fields.depends('credit', '_parent_credit.company')
    def on_change_with_currency(self, name=None):
        if self.credit and self.credit.company:
            return self.credit.company.currency

    @fields.depends('invoice_line')
    def on_change_with_invoice(self, name=None):
        if self.invoice_line:
            return self.invoice_line.invoice

    def get_rec_name(self, name):
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        kind = dict(self.__class__.fields_get(['kind'])['kind']
            ['selection'])[self.kind]
        return '%s %s %s' % (self.date, kind, lang.currency(
                self.amount, self.currency))

    @classmethod
    def check_modification(cls, mode, movements, values=None,
            external=False):
        super().check_modification(
            mode, movements, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise CreditError(gettext(
                    'subscription_core.msg_credit_movement_modify'))


class Invoice(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def _billing_close_steps(cls):
        # Credits offset what is left once compensations are applied.
        steps = super()._billing_close_steps()
        steps.insert(steps.index('post_billing'), 'apply_billing_credits')
        return steps

    @classmethod
    def apply_billing_credits(cls, invoices, date):
        "Expire the credits expired on date, then offset the invoices"
        pool = Pool()
        Credit = pool.get('sale.subscription.credit')
        Credit.expire(date)
        Credit.apply_to_invoices(invoices, date)

    def _billing_subscription_amounts(self):
        """Amount (taxes included) billing each subscription id

        What each line is owed for (InvoiceLine.owed_subscription, debt.py).
        Credits are left out.
        """
        pool = Pool()
        Credit = pool.get('sale.subscription.credit')
        amounts = defaultdict(Decimal)
        for line in self.lines:
            if line.type != 'line' or isinstance(line.origin, Credit):
                continue
            subscription = line.owed_subscription
            if not subscription:
                continue
            amounts[subscription.id] += line.amount + sum(
                (t.amount for t in line._get_taxes().values()), Decimal(0))
        return {k: self.currency.round(v) for k, v in amounts.items()}

    @classmethod
    def _post(cls, invoices):
        pool = Pool()
        Credit = pool.get('sale.subscription.credit')
        InvoiceLine = pool.get('account.invoice.line')
        super()._post(invoices)
        # A credit note undoing an application gives the amount back.
        undone = [(l.origin, l, i.accounting_date or i.invoice_date)
            for i in invoices for l in i.lines
            if isinstance(l.origin, InvoiceLine) and l.origin.id >= 0
            and isinstance(l.origin.origin, Credit)]
        if undone:
            Credit.reverse_applications(undone)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, invoices):
        pool = Pool()
        Date = pool.get('ir.date')
        Credit = pool.get('sale.subscription.credit')
        # A posted invoice refunded by a credit note already has its
        # cancel move: the credit note gave its applications back.
        undone = [i for i in invoices
            if not (i.state in {'posted', 'paid'} and i.cancel_move)]
        super().cancel(invoices)
        today = Date.today()
        undone = [(l, l, today) for i in undone for l in i.lines
            if isinstance(l.origin, Credit)]
        if undone:
            Credit.reverse_applications(undone)


class InvoiceLine(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['sale.subscription.credit']

    @classmethod
    def _account_domain(cls, type_):
        domain = super()._account_domain(type_)
        if type_ == 'out':
            domain = domain + [('type.customer_credit', '=', True)]
        return domain
