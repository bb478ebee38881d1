# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
import datetime
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import round_price
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .charge import (
    Charge, adjusts_prepaid_term, due_charges, next_due_date, quantity_at)
from .period import (
    billing_end, billing_start, convert_price, prepaid_adjustment)
from .usage_window import ON_DEMAND_PERIODS, last_window_end
from . import bounds
from .billing_error import grouped, job_errors, run_isolated
from .exceptions import (
    GuardedFieldError, LimitChangeError, PrepaidEndDateError,
    SubscriptionLineError, UsageError)
from .validation import (
    InputMixin, WizardInputMixin, check_bounds, check_dates)
from .ir import job_scope

BILLING_STATUSES = [
    ('active', "Active"),
    ('grace', "Grace"),
    ]
BILLING_TYPES = [
    ('fixed', "Fixed"),
    ('limit', "Limit"),
    ('usage', "Usage"),
    ('one_time', "One Time"),
    ]
BILLING_PERIODS = [
    ('month', "Month"),
    ('quarter', "Quarter"),
    ('year', "Year"),
    ('total', "Total"),
    ('day', "Day (on demand)"),
    ('hour', "Hour (on demand)"),
    ]
# Types whose unit price is per billing period (usage: per unit consumed,
# one time: per charge)
PERIOD_PRICED_TYPES = {'fixed', 'limit'}
TIER_MODES = [
    ('graduated', "Graduated"),
    ('volume', "Volume"),
    ('package', "Package"),
    ]


class BillingTermsMixin:
    "The default terms of a service and of the subscription lines"
    __slots__ = ()

    @classmethod
    def default_billing_type(cls):
        return 'limit'

    @classmethod
    def default_billing_period(cls):
        return 'month'


def first_of_month(date):
    return date.replace(day=1)


# The end dates a user types are the last day served, included, as in
# sale_subscription; the billing arithmetic works on half-open ranges
# [start, end): the end it is given is the day after.
END_DATE_HELP = (
    "The last day served and billed (included).\n"
    "Leave empty for no end.")



def changed_fields(record, values):
    """The names of values that would change record

    One2Many and Many2Many actions always count as a change.
    """
    names = []
    for name, value in values.items():
        field = record._fields.get(name)
        if field is None:
            continue
        if field._type in {'one2many', 'many2many'}:
            if value:
                names.append(name)
            continue
        current = getattr(record, name)
        if field._type == 'many2one':
            current = current.id if current else None
        if current != value:
            names.append(name)
    return names


def check_guarded_fields(
        records, values, server_fields, draft_fields, is_draft, error):
    """Refuse a client's write of guarded fields on records

    server_fields and draft_fields map field names to message ids: the
    first are only written by the server's own code, the second only
    while is_draft(record). error(message_id, record, field) returns the
    exception to raise.
    """
    for record in records:
        for name in changed_fields(record, values):
            if name in server_fields:
                raise error(server_fields[name], record, name)
            if name in draft_fields and not is_draft(record):
                raise error(draft_fields[name], record, name)


def guarded_field_error(message_id, record, name, **kwargs):
    "The GuardedFieldError of a client's write of name on record"
    string = record.fields_get([name])[name]['string']
    return GuardedFieldError(gettext(
            message_id, field=string, record=record.rec_name, **kwargs))


def check_on_demand_period(records, field_names=None):
    "On-demand periods (day, hour) are for usage lines and services only"
    if field_names and not (field_names & {'billing_type', 'billing_period'}):
        return
    for record in records:
        if (record.billing_period in ON_DEMAND_PERIODS
                and record.billing_type != 'usage'):
            period = dict(record.fields_get(['billing_period'])[
                    'billing_period']['selection'])[record.billing_period]
            raise UsageError(gettext(
                    'subscription_core.msg_on_demand_period_usage_only',
                    record=record.rec_name, period=period))


class Subscription(InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    billing_model = fields.Selection([
            ('monthly', "Monthly (limit-based)"),
            ('prepaid', "Prepaid"),
            ], "Billing Model", required=True,
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="Monthly: billed each month in arrears on the reserved limits.\n"
        "Prepaid: billed upfront for the whole subscription term.")
    billing_status = fields.Selection(
        BILLING_STATUSES, "Billing Status", readonly=True, required=True,
        sort=False,
        help="Where the subscription stands in the billing ladder. "
        "It only changes through billing actions.")
    automation_hold_until = fields.Date(
        "No Automated Action Until", readonly=True,
        help="No automated billing action runs on this subscription "
        "before this date (inclusive).\n"
        "Set by the Hold Automation and Release Hold actions.")
    automation_hold_reason = fields.Char(
        "Hold Reason", readonly=True,
        states={
            'invisible': ~Eval('automation_hold_until'),
            })
    quote_first_invoice_date = fields.Function(fields.Date(
            "First Invoice Date",
            help="The day the first billing run invoices the subscription."),
        'get_quote')
    quote_first_invoice_amount = fields.Function(Monetary(
            "First Invoice", currency='currency', digits='currency',
            help="Untaxed amount the first billing run invoices "
            "(usage excluded: it is priced from the consumptions)."),
        'get_quote')
    quote_month_amount = fields.Function(Monetary(
            "Per Month", currency='currency', digits='currency',
            help="Untaxed amount invoiced for each following full month."),
        'get_quote')
    quote_quarter_amount = fields.Function(Monetary(
            "Per Quarter", currency='currency', digits='currency',
            help="Untaxed amount invoiced for each following full quarter."),
        'get_quote')
    quote_year_amount = fields.Function(Monetary(
            "Per Year", currency='currency', digits='currency',
            help="Untaxed amount invoiced for each following full year."),
        'get_quote')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.end_date.help = END_DATE_HELP
        cls.end_date.states['required'] = (
            (Eval('billing_model') == 'prepaid')
            & (Eval('state') != 'draft'))
        # A subscription that ran may have been billed: it never goes back
        # to draft, where its guarded fields could change.
        cls._transitions.discard(('running', 'draft'))
        cls._buttons['draft']['invisible'] = ~Eval('state').in_(
            ['quotation', 'cancelled'])
        # The engine bills by billing period and cycle, not by
        # sale_subscription's invoice recurrence (doc/design.rst): the
        # recurrence is optional and, with its dates, hidden.
        cls.invoice_recurrence.required = False

    def compute_next_invoice_date(self):
        "No next invoice date without an invoice recurrence (not used)"
        if not self.invoice_recurrence:
            return None
        return super().compute_next_invoice_date()

    @classmethod
    def validate_invoice_recurrence(cls, subscriptions, field_names=None):
        super().validate_invoice_recurrence(
            [s for s in subscriptions if s.invoice_recurrence], field_names)

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('//page[@id="quote"]', 'states', {
                    'invisible': ~Eval('state').in_(['draft', 'quotation']),
                    }),
            ]

    @classmethod
    def default_billing_model(cls):
        return 'monthly'

    @classmethod
    def default_billing_status(cls):
        return 'active'

    @classmethod
    def copy(cls, subscriptions, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billing_status', cls.default_billing_status())
        default.setdefault('automation_hold_until')
        default.setdefault('automation_hold_reason')
        return super().copy(subscriptions, default=default)

    @classmethod
    def validate_fields(cls, subscriptions, field_names):
        super().validate_fields(subscriptions, field_names)
        cls.check_prepaid_end_date(subscriptions, field_names)
        check_dates(subscriptions, field_names, [('start_date', 'end_date')])

    # Hooks the overlay extends: {field name: message id}.
    @classmethod
    def _server_fields(cls):
        "Fields that only the server's own code writes, in any state"
        engine = 'subscription_core.msg_subscription_field_engine'
        hold = 'subscription_core.msg_subscription_field_hold'
        return {
            'state': engine,
            'number': engine,
            'next_invoice_date': engine,
            'quoted_by': engine,
            'run_by': engine,
            'automation_hold_until': hold,
            'automation_hold_reason': hold,
            }

    @classmethod
    def _draft_fields(cls):
        "Fields that a client writes only while the subscription is draft"
        draft = 'subscription_core.msg_subscription_field_draft'
        return {name: draft for name in [
                'company', 'party', 'invoice_party', 'currency',
                'start_date', 'end_date', 'invoice_start_date',
                'invoice_recurrence', 'billing_model', 'lines']}

    @classmethod
    def check_modification(
            cls, mode, subscriptions, values=None, external=False):
        """Clients never write what the engine owns

        Tryton does not enforce readonly: a client's (external) write of a
        server field, or of a draft field once the subscription left draft,
        is refused. The engine's jobs, buttons and wizards run in the server
        (external is False) and keep writing them.
        """
        super().check_modification(
            mode, subscriptions, values=values, external=external)
        if not external:
            return
        if mode == 'write':
            check_guarded_fields(
                subscriptions, values, cls._server_fields(),
                cls._draft_fields(), lambda s: s.state == 'draft',
                guarded_field_error)
        elif mode == 'delete':
            for subscription in subscriptions:
                if subscription.state not in {'draft', 'cancelled'}:
                    raise GuardedFieldError(gettext(
                            'subscription_core.msg_subscription_delete_draft',
                            subscription=subscription.rec_name))
        elif mode == 'create':
            for subscription in subscriptions:
                if subscription.state != 'draft':
                    raise guarded_field_error(
                        'subscription_core.msg_subscription_field_engine',
                        subscription, 'state')
                for name in ['automation_hold_until',
                        'automation_hold_reason']:
                    if getattr(subscription, name):
                        raise guarded_field_error(
                            'subscription_core.msg_subscription_field_hold',
                            subscription, name)

    @classmethod
    def check_prepaid_end_date(cls, subscriptions, field_names=None):
        if field_names and not (
                field_names & {'billing_model', 'end_date', 'state'}):
            return
        for subscription in subscriptions:
            if (subscription.billing_model == 'prepaid'
                    and subscription.state != 'draft'
                    and not subscription.end_date):
                raise PrepaidEndDateError(gettext(
                        'subscription_core.msg_prepaid_end_date_required',
                        subscription=subscription.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('running')
    def run(cls, subscriptions):
        cls.check_billable_lines(subscriptions)
        super().run(subscriptions)

    @classmethod
    def check_billable_lines(cls, subscriptions):
        """Refuse to run a subscription with a line the jobs cannot bill

        Every line needs a unit price (a usage line priced by its service's
        tiers excepted) and every line but a usage line a quantity, within
        their bounds. Once running, they only change through Change Limit:
        a line without them would fail its billing run after run.
        """
        for subscription in subscriptions:
            for line in subscription.lines:
                line.check_billable()

    def automation_held(self, date):
        "Whether an override forbids automated billing actions on date"
        party = self.invoice_party or self.party
        for until in [self.automation_hold_until,
                party.automation_hold_until]:
            if until and date <= until:
                return True
        return False

    @classmethod
    def get_quote(cls, subscriptions, names):
        "Price of a draft or quoted subscription, as the billing runs will be"
        result = {name: {} for name in names}
        for subscription in subscriptions:
            quote = {}
            if subscription.state in {'draft', 'quotation'}:
                quote = subscription._get_quote()
            for name in names:
                result[name][subscription.id] = quote.get(name)
        return result

    def _get_quote(self):
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        if (self.billing_model == 'prepaid' and not self.end_date
                or not self.start_date):
            return {}
        lead = self._prepaid_invoice_lead()
        lines = [l for l in self.lines
            if l.billing_type != 'usage' and l.start_date
            and l.unit_price is not None and l.quantity is not None]
        dues = {}
        for line in lines:
            due = next_due_date(
                self.billing_model, line.billing_type, line.billing_period,
                line.billing_start, line.billing_end, None, lead)
            if due:
                dues[line] = due
        if not dues:
            return {}
        first = min(dues.values())
        quote = {
            'quote_first_invoice_date': first,
            'quote_first_invoice_amount': sum(
                (c.amount for l in lines for _, c in l.get_due_charges(
                        first)[0]), Decimal(0)),
            }
        # The next period of each recurring line, billed as the runs will
        recurring = defaultdict(Decimal)
        for line, due in dues.items():
            if line.billing_period not in {'month', 'quarter', 'year'}:
                continue
            _, billed_until = line.get_due_charges(due)
            next_due = next_due_date(
                self.billing_model, line.billing_type, line.billing_period,
                line.billing_start, line.billing_end, billed_until, lead)
            if not billed_until or not next_due:
                continue
            following = Line(line.id)
            following.billed_until = billed_until
            charges, _ = following.get_due_charges(next_due)
            recurring[line.billing_period] += sum(
                c.amount for _, c in charges)
        for period, amount in recurring.items():
            quote['quote_%s_amount' % period] = amount
        return quote

    def _get_billing_invoice(self, cycle, per_service=False):
        "A new draft invoice for the billing cycle"
        invoice = self._get_invoice()
        invoice.invoice_date = None
        invoice.billing_cycle = cycle
        invoice.description = self.rec_name if per_service else None
        if per_service:
            invoice.billing_subscription = self
        return invoice

    # Hook: the overlay issues prepaid/renewal invoices ahead of the term.
    def _prepaid_invoice_lead(self):
        return datetime.timedelta(0)

    # Scheduled job (1): create invoice lines for due periods.
    @classmethod
    def create_billing_lines(cls, date=None):
        "Create the invoice lines of every period due on date"
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        date, company_id = job_scope(date)
        lines = Line.search_read([
                ('subscription.state', 'in', ['running', 'closed']),
                ('subscription.company', '=', company_id),
                ['OR',
                    ('billed_until', '=', None),
                    ('billed_until', '<', datetime.date.max),
                    ],
                ],
            order=[('subscription', 'ASC'), ('sequence', 'ASC'),
                ('id', 'ASC')],
            fields_names=['subscription'])
        # One subscription that fails is left out (billing_error.py).
        with job_errors('sale.subscription|create_billing_lines', date):
            return run_isolated(
                grouped(((cls(l['subscription']), l['id']) for l in lines)),
                lambda ids: cls._create_billing_lines(Line.browse(ids), date))

    @classmethod
    def _create_billing_lines(cls, lines, date):
        "Create the invoice lines due on date of a batch of lines"
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        InvoiceLine = pool.get('account.invoice.line')
        charges = []
        to_write = defaultdict(list)
        for line in lines:
            line_charges, billed_until = line.get_due_charges(date)
            charges.extend(line_charges)
            if billed_until:
                to_write[billed_until].append(line)
        charges.extend(Line.get_due_adjustments(lines, date))
        invoice_lines = InvoiceLine.create_billing_lines(charges, date)
        if to_write:
            Line.write(*(v for k, l in to_write.items() for v in (l, {
                            'billed_until': k})))
        invoice_lines += cls.create_usage_lines(lines, date)
        return invoice_lines

    # Scheduled job (hourly): on-demand usage invoices.
    @classmethod
    def create_on_demand_invoices(cls, date=None):
        """Invoice the usage of every day or hour (UTC) ended at date

        date is a datetime (naive UTC) or a date (its 00:00 UTC); by default
        now.
        """
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        if date is None:
            date = datetime.datetime.now(datetime.timezone.utc).replace(
                tzinfo=None)
        company_id = Transaction().context.get('company', -1)
        lines = Line.search([
                ('billing_type', '=', 'usage'),
                ('billing_period', 'in', ON_DEMAND_PERIODS),
                ('subscription.state', 'in', ['running', 'closed']),
                ('subscription.company', '=', company_id),
                ], order=[('id', 'ASC')])
        # A customer that fails is left out (billing_error.py): an
        # on-demand invoice is per customer and window.
        with job_errors('sale.subscription|create_on_demand_invoices',
                date.date() if isinstance(date, datetime.datetime)
                else date):
            return run_isolated(
                grouped(((l.subscription.invoice_party
                            or l.subscription.party, l.id) for l in lines)),
                lambda ids: cls.create_usage_lines(Line.browse(ids), date))

    @classmethod
    def create_usage_lines(cls, lines, until):
        """Invoice the consumptions of the usage windows ended at until

        Windows of a month, quarter, year or the total term go on the
        customer's invoice of the billing cycle; on-demand windows (day,
        hour) on an invoice per customer and window, closed (posted) at once.
        until is a date (00:00 UTC) or a naive UTC datetime.
        """
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        Consumption = pool.get('sale.subscription.line.consumption')
        date = until.date() if isinstance(until, datetime.datetime) else until
        lines = [l for l in lines if l.billing_type == 'usage']
        if not lines:
            return []
        charges = Line.get_due_usage_charges(lines, until)
        in_cycle, on_demand = [], []
        for origin, charge in charges:
            sub_line = InvoiceLine._billing_subscription_line(origin)
            if sub_line.billing_period in ON_DEMAND_PERIODS:
                on_demand.append((origin, charge))
            else:
                in_cycle.append((origin, charge))
        invoice_lines = InvoiceLine.create_billing_lines(in_cycle, date)
        on_demand_lines = InvoiceLine.create_on_demand_lines(on_demand, date)
        invoice_lines += on_demand_lines
        Consumption.link_billing_lines(invoice_lines, charges)
        if on_demand_lines:
            Invoice.close_billing(
                list({l.invoice for l in on_demand_lines}), date)
        to_write = defaultdict(list)
        for line in lines:
            billed_until = last_window_end(
                line.billing_period, until, line.billing_start,
                line.billing_end)
            if billed_until and (not line.billed_until
                    or billed_until > line.billed_until):
                to_write[billed_until].append(line)
        if to_write:
            Line.write(*(v for k, l in to_write.items() for v in (l, {
                            'billed_until': k})))
        return invoice_lines

    @classmethod
    def generate_invoice(cls, date=None):
        "Invoice through the billing jobs"
        # sale_subscription's own job would invoice the consumptions a second
        # time, outside the billing cycles: its cron and wizard run the
        # engine's job instead.
        cls.create_billing_lines(date=date)

    # Scheduled job (2): close the cycle.
    @classmethod
    def close_billing_cycle(cls, date=None):
        "Apply credits and compensations, then post the cycle's invoices"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Party = pool.get('party.party')
        date, company_id = job_scope(date)
        invoices = Invoice.search_read([
                ('company', '=', company_id),
                ('type', '=', 'out'),
                ('state', '=', 'draft'),
                ('billing_cycle', '<=', first_of_month(date)),
                ], order=[('id', 'ASC')], fields_names=['party'])

        def close(ids):
            Invoice.close_billing(Invoice.browse(ids), date)
            return ids
        # Posting locks the strict sequences and the journal period when
        # it first needs them; ir.cron then restarts the job with the locks
        # taken from the start: a first batch of one customer makes that
        # restart cheap. A customer that fails is left out
        # (billing_error.py).
        with job_errors('sale.subscription|close_billing_cycle', date):
            ids = run_isolated(
                grouped(((Party(i['party']), i['id']) for i in invoices)),
                close, first=1)
        return Invoice.browse(ids)


class Line(BillingTermsMixin, InputMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription.line'

    billing_type = fields.Selection(
        BILLING_TYPES, "Billing Type", required=True,
        states={
            'readonly': Eval('subscription_state') != 'draft',
            },
        help="Fixed: a flat price per period.\n"
        "Limit: price × reserved limit; the limit can change at any time.\n"
        "Usage: price × consumed quantity, billed in arrears.\n"
        "One Time: charged once.")
    billing_period = fields.Selection(
        BILLING_PERIODS, "Billing Period", required=True,
        states={
            'readonly': Eval('subscription_state') != 'draft',
            })
    billed_until = fields.Date(
        "Billed Until", readonly=True,
        help="The line is invoiced up to this date (excluded).")
    limit_changes = fields.One2Many(
        'sale.subscription.line.limit_change', 'line', "Limit Changes",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.end_date.help = END_DATE_HELP
        cls.unit_price.help = (
            "Fixed and limit lines: the price of one unit for one billing "
            "period of the line (a month, a quarter, a year or the whole "
            "term), in both billing models.\n"
            "Usage: per unit consumed. One time: per charge.")

    @fields.depends('service', 'quantity', 'unit',
        'subscription', '_parent_subscription.party',
        methods=['_service_unit_price'])
    def on_change_service(self):
        super().on_change_service()
        if self.service:
            if self.unit_price is None:
                self.unit_price = self._service_unit_price()
            self.billing_type = self.service.billing_type
            self.billing_period = self.service.billing_period

    @fields.depends('service', 'quantity', methods=['_get_context_sale_price'])
    def _service_unit_price(self):
        "The service's sale price, per the service's billing period"
        pool = Pool()
        Product = pool.get('product.product')
        # The on-change record may carry a partial product: price it again
        # from the stored one.
        product = Product(self.service.product.id)
        with Transaction().set_context(self._get_context_sale_price()):
            return Product.get_sale_price(
                [product], self.quantity or 0)[product.id]

    @fields.depends('service', 'billing_type', 'billing_period',
        methods=['_service_unit_price'])
    def on_change_billing_period(self):
        """The unit price is per billing period: a fixed or limit line that
        changes its period takes the service's price converted to the new
        period (10 a month is 120 a year), or none to type when it does not
        convert (total)"""
        if self.billing_type not in PERIOD_PRICED_TYPES:
            return
        price = None
        if self.service and self.billing_period:
            price = self._service_unit_price()
            if price is not None:
                price = convert_price(
                    price, self.service.billing_period, self.billing_period)
        self.unit_price = (
            round_price(Decimal(price.numerator) / price.denominator)
            if price is not None else None)

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billed_until')
        default.setdefault('limit_changes')
        return super().copy(lines, default=default)

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        check_on_demand_period(lines, field_names)
        check_bounds(lines, field_names, {
                'quantity': bounds.QUANTITY,
                'unit_price': bounds.PRICE,
                })
        check_dates(lines, field_names, [('start_date', 'end_date')])

    # Hooks the overlay extends: {field name: message id}.
    @classmethod
    def _server_fields(cls):
        "Fields that only the server's own code writes, in any state"
        engine = 'subscription_core.msg_line_field_engine'
        return {
            'billed_until': engine,
            'limit_changes': engine,
            'next_consumption_date': engine,
            'consumed_until': engine,
            }

    @classmethod
    def _draft_fields(cls):
        "Fields that a client writes only while the subscription is draft"
        draft = 'subscription_core.msg_line_field_draft'
        fields_ = {name: draft for name in [
                'subscription', 'service', 'unit', 'unit_price',
                'start_date', 'end_date', 'billing_type', 'billing_period',
                'consumption_recurrence', 'consumption_delay']}
        fields_['quantity'] = 'subscription_core.msg_line_field_limit'
        return fields_

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        """Clients change a line of a subscription only while it is draft

        The limit (quantity) of a running subscription changes through the
        Change Limit wizard, billed_until only by the billing jobs. Lines
        are added or removed only while the subscription is draft.
        """
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        super().check_modification(
            mode, lines, values=values, external=external)
        if not external:
            return
        if mode == 'write':
            check_guarded_fields(
                lines, values, cls._server_fields(), cls._draft_fields(),
                lambda l: l.subscription.state == 'draft',
                guarded_field_error)
            if values.get('subscription'):
                target = Subscription(values['subscription'])
                if target.state != 'draft':
                    raise GuardedFieldError(gettext(
                            'subscription_core.msg_line_add_remove_draft',
                            subscription=target.rec_name))
            if 'billing_period' in values and 'unit_price' not in values:
                # The unit price is per billing period: never keep it
                # silently for another period
                for line in lines:
                    if (line.billing_type in PERIOD_PRICED_TYPES
                            and line.billing_period
                            != values['billing_period']):
                        raise GuardedFieldError(gettext(
                                'subscription_core.msg_line_period_price',
                                line=line.rec_name))
        else:
            for line in lines:
                if line.subscription.state != 'draft':
                    raise GuardedFieldError(gettext(
                            'subscription_core.msg_line_add_remove_draft',
                            subscription=line.subscription.rec_name))
                if mode == 'create':
                    for name in cls._server_fields():
                        if getattr(line, name, None):
                            raise guarded_field_error(
                                cls._server_fields()[name], line, name)

    def check_billable(self):
        "Raise SubscriptionLineError when the jobs cannot bill the line"
        values = {
            'subscription': self.subscription.rec_name,
            'line': self.rec_name,
            }
        tiered = self.billing_type == 'usage' and self.service.usage_tiers
        if self.unit_price is None and not tiered:
            raise SubscriptionLineError(gettext(
                    'subscription_core.msg_line_run_price', **values))
        if self.quantity is None and self.billing_type != 'usage':
            raise SubscriptionLineError(gettext(
                    'subscription_core.msg_line_run_quantity', **values))
        check_bounds([self], None, {
                'quantity': bounds.QUANTITY,
                'unit_price': bounds.PRICE,
                })

    @property
    def billing_start(self):
        return billing_start(self.start_date, self.subscription.start_date)

    @property
    def billing_end(self):
        "The first day not billed: the day after the last day served"
        return billing_end(self.end_date, self.subscription.end_date)

    @property
    def limit_history(self):
        "(initial quantity, [(date, quantity)]) of the reserved limit"
        changes = sorted(self.limit_changes, key=lambda c: (c.date, c.id))
        initial = changes[0].old_quantity if changes else self.quantity
        return initial, [(c.date, c.quantity) for c in changes]

    def get_due_charges(self, date):
        "Return the Charge due on date and the new billed_until"
        if self.billing_type == 'usage':
            # Billed from the consumptions by get_due_usage_charges
            return [], None
        subscription = self.subscription
        initial, changes = self.limit_history
        if subscription.billing_model == 'prepaid':
            initial = quantity_at(
                initial, changes, self.billing_start)
            changes = []
        charges, billed_until = due_charges(
            subscription.billing_model, self.billing_type,
            self.billing_period, self.billing_start, self.billing_end,
            self.billed_until, Decimal(str(initial)),
            [(d, Decimal(str(q))) for d, q in changes],
            self.unit_price, date, subscription.currency.rounding,
            lead=subscription._prepaid_invoice_lead())
        return [(self, c) for c in charges], billed_until

    @classmethod
    def get_due_usage_charges(cls, lines, until):
        "(origin, Charge) of the usage windows ended at until"
        pool = Pool()
        Consumption = pool.get('sale.subscription.line.consumption')
        return Consumption.get_due_usage_charges(lines, until)

    @classmethod
    def get_due_adjustments(cls, lines, date):
        "Supplements and credits of limit changes on billed prepaid terms"
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        changes = [c for l in lines
            if l.subscription.billing_model == 'prepaid'
            and l.billed_until
            for c in l.limit_changes
            if c.date <= date and adjusts_prepaid_term(
                c.date, l.billing_start, l.billed_until, c.after_invoice)]
        if not changes:
            return []
        invoiced = {l.origin.id for l in InvoiceLine.search([
                    ('origin', 'in', [str(c) for c in changes]),
                    ])}
        # The term's invoice line each adjustment is linked to
        terms = {(l.origin.id, l.billing_start): l.id
            for l in InvoiceLine.search([
                    ('origin', 'in', list({str(c.line) for c in changes})),
                    ('billing_start', '!=', None),
                    ])}
        adjustments = []
        for change in changes:
            if change.id in invoiced:
                continue
            line = change.line
            amount = prepaid_adjustment(
                line.unit_price, Decimal(str(change.old_quantity)),
                Decimal(str(change.quantity)), change.date,
                line.billed_until, line.subscription.currency.rounding,
                line.billing_period, line.billing_start)
            if amount:
                adjustments.append((change, Charge(
                            change.date, line.billed_until,
                            change.date, line.billed_until,
                            Decimal(str(change.quantity - change.old_quantity)),
                            amount,
                            adjusts=terms.get(
                                (line.id, line.billing_start)))))
        return adjustments

    @classmethod
    def request_limit_change(cls, line, quantity, date, reason=None):
        """What the Change Limit wizard does: change the limit of line

        Core: at once (change_limit). A hook: the cloud overlay applies the
        limit of a line that drives a quota in OpenStack first.
        """
        return cls.change_limit(line, quantity, date, reason=reason)

    @classmethod
    def check_limit_change(cls, line, quantity, date):
        "Raise LimitChangeError when the limit of line may not change so"
        if line.billing_type not in {'limit', 'fixed'}:
            raise LimitChangeError(gettext(
                    'subscription_core.msg_limit_change_type',
                    line=line.rec_name))
        if quantity is None or quantity < 0:
            raise LimitChangeError(gettext(
                    'subscription_core.msg_limit_change_negative',
                    line=line.rec_name))
        if (line.subscription.billing_model == 'monthly'
                and line.billed_until and date < line.billed_until):
            raise LimitChangeError(gettext(
                    'subscription_core.msg_limit_change_billed',
                    line=line.rec_name, date=date,
                    billed_until=line.billed_until))
        if line.billing_end and date >= line.billing_end \
                or date < line.billing_start:
            raise LimitChangeError(gettext(
                    'subscription_core.msg_limit_change_outside',
                    line=line.rec_name, date=date))

    @classmethod
    def change_limit(cls, line, quantity, date, reason=None):
        "Change the reserved limit of line from date on"
        pool = Pool()
        LimitChange = pool.get('sale.subscription.line.limit_change')
        cls.check_limit_change(line, quantity, date)
        change = LimitChange(
            line=line, date=date, old_quantity=line.quantity,
            quantity=quantity, reason=reason,
            after_invoice=bool(
                line.subscription.billing_model == 'prepaid'
                and line.billed_until))
        change.save()
        cls.write([line], {'quantity': quantity})
        return change


class LimitChange(InputMixin, ModelSQL, ModelView):
    "Subscription Line Limit Change"
    __name__ = 'sale.subscription.line.limit_change'

    line = fields.Many2One(
        'sale.subscription.line', "Line", required=True, ondelete='CASCADE',
        readonly=True)
    date = fields.Date("Date", required=True, readonly=True,
        help="The new limit applies from this day on.")
    old_quantity = fields.Float("Old Limit", readonly=True, required=True)
    quantity = fields.Float("New Limit", readonly=True, required=True)
    reason = fields.Char("Reason", readonly=True)
    after_invoice = fields.Boolean("After Invoice", readonly=True,
        help="The prepaid term was already invoiced when the limit changed: "
        "the change is billed as a supplement or a credit, even on the "
        "term's first day.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('line')
        cls._order.insert(0, ('date', 'ASC'))

    def get_rec_name(self, name):
        return '%s: %s → %s (%s)' % (
            self.line.rec_name, self.old_quantity, self.quantity, self.date)

    @classmethod
    def validate_fields(cls, changes, field_names):
        super().validate_fields(changes, field_names)
        check_bounds(changes, field_names, {
                'old_quantity': bounds.QUANTITY,
                'quantity': bounds.QUANTITY,
                })


class ChangeLimitStart(InputMixin, ModelView):
    "Change Subscription Limit"
    __name__ = 'sale.subscription.line.change_limit.start'

    line = fields.Many2One(
        'sale.subscription.line', "Line", readonly=True, required=True)
    current_quantity = fields.Float("Current Limit", readonly=True)
    quantity = fields.Float("New Limit", required=True,
        domain=[('quantity', '>=', 0)])
    date = fields.Date("From", required=True,
        help="The new limit applies from this day on.")
    reason = fields.Char("Reason")


class ChangeLimit(WizardInputMixin, Wizard):
    "Change Subscription Limit"
    __name__ = 'sale.subscription.line.change_limit'
    start = StateView('sale.subscription.line.change_limit.start',
        'subscription_core.line_change_limit_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Change", 'change', 'tryton-ok', default=True),
            ])
    change = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        Date = pool.get('ir.date')
        line = self.record
        if not line:
            raise LimitChangeError(gettext(
                    'subscription_core.msg_limit_change_wizard_no_line'))
        if line.subscription.state != 'running':
            raise LimitChangeError(gettext(
                    'subscription_core.msg_limit_change_wizard_line_running',
                    line=line.rec_name))
        return {
            'line': line.id,
            'current_quantity': line.quantity,
            'quantity': line.quantity,
            'date': Date.today(),
            }

    def transition_change(self):
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        Line.request_limit_change(
            self.record, self.start.quantity, self.start.date,
            reason=self.start.reason)
        return 'end'
