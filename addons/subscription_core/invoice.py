# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
from trytond.i18n import gettext
from trytond.model import dualmethod, fields
from trytond.modules.product import price_digits
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import rating
from .money import _format_quantity
from .period import (
    describe_periods, describe_piece, describe_price, describe_window)
from .exceptions import BillingError
from .subscription import first_of_month
from .validation import InputMixin


# Invoices are created and posted this many at a time: the validation of
# a batch builds one clause per customer (their addresses, accounts...) and
# SQLite refuses expressions deeper than 1,000 ("Expression tree is too
# large"); it also bounds the memory of a run.
INVOICE_BATCH = 50


class Invoice(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice'

    billing_cycle = fields.Date(
        "Billing Cycle", readonly=True,
        help="The first day of the month of the billing run "
        "that created the invoice.")
    billing_subscription = fields.Many2One(
        'sale.subscription', "Billing Subscription", readonly=True,
        help="Set when the customer is invoiced per subscription.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._check_modify_exclude.update(['billing_cycle'])

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billing_cycle')
        default.setdefault('billing_subscription')
        return super().copy(invoices, default=default)

    @classmethod
    def _billing_invoice_key(cls, subscription, cycle):
        "Key of the invoice a subscription is billed on for a cycle"
        party = subscription.invoice_party or subscription.party
        per_service = party.subscription_invoice_grouping == 'subscription'
        return (subscription.company.id, party.id, subscription.currency.id,
            cycle, subscription.id if per_service else None)

    @classmethod
    def _billing_invoice_key_of(cls, invoice):
        """Key of an existing draft invoice of a billing cycle: the key
        _billing_invoice_key gives the subscriptions billed on it (an
        overlay that extends one extends the other; the last element
        stays the subscription of an invoice per subscription)"""
        return (invoice.company.id, invoice.party.id, invoice.currency.id,
            invoice.billing_cycle,
            invoice.billing_subscription.id
            if invoice.billing_subscription else None)

    @classmethod
    def get_billing_invoices(cls, subscriptions, cycle):
        "Return the draft invoices of the cycle per key, creating them"
        subscriptions = list({s.id: s for s in subscriptions}.values())
        parties = {(s.invoice_party or s.party).id for s in subscriptions}
        invoices = {}
        for invoice in cls.search([
                    ('type', '=', 'out'),
                    ('state', '=', 'draft'),
                    ('billing_cycle', '=', cycle),
                    ('party', 'in', list(parties)),
                    ]):
            invoices.setdefault(cls._billing_invoice_key_of(invoice), invoice)
        to_create = {}
        # Created empty: their taxes are computed once their lines are
        # (create_billing_lines), not on save. Records keep the context
        # they are made in, so their save below is deferred (update_taxes).
        with Transaction().set_context(_billing_defer_taxes=True):
            for subscription in subscriptions:
                key = cls._billing_invoice_key(subscription, cycle)
                if key not in invoices and key not in to_create:
                    to_create[key] = subscription._get_billing_invoice(
                        cycle, per_service=key[-1] is not None)
        if to_create:
            for batch in grouped_slice(list(to_create.values()),
                    INVOICE_BATCH):
                cls.save(list(batch))
            invoices.update(to_create)
        return invoices

    # Pipeline of the month-end close: each step takes (invoices, date).
    # Adjustments (compensations, then credits) are inserted before
    # 'post_billing' by the modules that define them.
    @classmethod
    def _billing_close_steps(cls):
        return ['post_billing']

    @classmethod
    def close_billing(cls, invoices, date):
        for step in cls._billing_close_steps():
            getattr(cls, step)(invoices, date)

    @classmethod
    def post_billing(cls, invoices, date):
        "Post with Tryton's own checks, numbering and moves"
        invoices = [i for i in cls.browse(invoices) if i.state == 'draft']
        if not invoices:
            return
        # A scheduled job cannot answer warnings (e.g. an invoice dated in
        # the future of the server clock when a run is replayed).
        with Transaction().set_context(_skip_warnings=True):
            for batch in grouped_slice(invoices, INVOICE_BATCH):
                cls._post_billing_batch(list(batch), date)

    @classmethod
    def _post_billing_batch(cls, invoices, date):
        """Date, tax and post a batch of draft invoices

        The taxes are computed once, for the invoice date posted; posting
        then saves the invoices three times (number, amounts cache, move)
        and each save of a draft invoice would compute them again: those
        updates are deferred (see update_taxes). Tryton's own check that the
        taxes are right still runs when each move is made (get_move), so an
        invoice whose taxes are not those of its lines is never posted.
        """
        with Transaction().set_context(_billing_defer_taxes=True):
            # A record's save() runs in the context the record was read
            # in: the invoices are read again under the deferral so that
            # the saves inside post keep it.
            invoices = cls.browse(invoices)
            undated = [i for i in invoices if not i.invoice_date]
            if undated:
                cls.write(undated, {'invoice_date': date})
        cls.update_taxes(invoices)
        with Transaction().set_context(_billing_defer_taxes=True):
            cls.post(invoices)

    @dualmethod
    def update_taxes(cls, invoices, exception=False):
        # Deferred updates only: the check (exception=True) always runs.
        if not exception and Transaction().context.get(
                '_billing_defer_taxes'):
            return
        super().update_taxes(invoices, exception=exception)

    @classmethod
    def validate_invoice(cls, invoices):
        cls.check_journal(invoices)
        super().validate_invoice(invoices)

    @classmethod
    def _post(cls, invoices):
        cls.check_journal(invoices)
        super()._post(invoices)

    @classmethod
    def check_journal(cls, invoices):
        """The journal is required once an invoice leaves draft, but stock
        Tryton makes the move before it checks that: a draft invoice whose
        journal was emptied crashed when validated or posted."""
        for invoice in invoices:
            if not invoice.journal:
                raise BillingError(gettext(
                        'subscription_core.msg_invoice_no_journal',
                        invoice=invoice.rec_name))

    @classmethod
    def _check_taxes(cls, invoices):
        # The check compares each line's taxes with its product's default
        # ones to raise a warning; nobody can be warned when warnings are
        # skipped or for the scheduler (res.user.warning.check returns
        # False for both), so its result would be dropped.
        transaction = Transaction()
        if not transaction.user or transaction.context.get('_skip_warnings'):
            return
        super()._check_taxes(invoices)


class InvoiceLine(InputMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    billing_start = fields.Date("Billing Start", readonly=True)
    billing_end = fields.Date("Billing End", readonly=True,
        help="Excluded.")
    adjusted_line = fields.Many2One(
        'account.invoice.line', "Adjusted Line", readonly=True,
        help="The invoice line this supplement or credit adjusts.")
    # The factors of the amount of a line of the engine: the line itself is
    # 1 × amount, the amount rounded once from the exact price.
    billing_quantity = fields.Numeric(
        "Rated Quantity", readonly=True,
        help="The quantity billed: reserved limit, consumption, the "
        "change of a limit, or the blocks of a usage line priced per "
        "package.")
    billing_unit = fields.Many2One(
        'product.uom', "Rated Unit", readonly=True)
    billing_period_share = fields.Numeric(
        "Period Share", digits=(16, 10), readonly=True,
        help="The share of the price's period billed: days billed over the "
        "days of the billing period, the months of a prepaid term, 1 for "
        "usage and one-time charges.")
    billing_unit_price = fields.Numeric(
        "Rated Unit Price", digits=price_digits, readonly=True,
        help="The unit price of the subscription line (the average price "
        "of the quantity for a usage line priced in tiers, the price of a "
        "block for a line priced per package). The amount is "
        "quantity × period share × unit price, rounded once.")

    _billing_rating_fields = [
        'billing_quantity', 'billing_unit', 'billing_period_share',
        'billing_unit_price']

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table = cls.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        # An origin is billed once per period: a re-run or a second worker
        # hits this key instead of billing twice. Partial unique indexes
        # exist on PostgreSQL and SQLite alike.
        cursor.execute(
            'CREATE UNIQUE INDEX IF NOT EXISTS '
            'account_invoice_line_billing_origin_uniq ON '
            '"%s" (origin, billing_start) '
            'WHERE billing_start IS NOT NULL' % table._name)

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billing_start')
        default.setdefault('billing_end')
        default.setdefault('adjusted_line')
        for name in cls._billing_rating_fields:
            default.setdefault(name)
        return super().copy(lines, default=default)

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + [
            'sale.subscription.line.limit_change',
            'sale.subscription.line.consumption',
            ]

    @classmethod
    def create_billing_lines(cls, charges, date):
        """Create invoice lines for (origin, Charge) pairs

        origin is a subscription line or one of its limit changes. Lines go
        to the draft invoice of the customer for the billing cycle of date
        (one per subscription when the party is invoiced per service).
        """
        pool = Pool()
        Invoice = pool.get('account.invoice')
        if not charges:
            return []
        cycle = first_of_month(date)
        invoices = Invoice.get_billing_invoices(
            [cls._billing_subscription_line(o).subscription
                for o, _ in charges], cycle)
        templates = {}
        lines = []
        for origin, charge in charges:
            sub_line = cls._billing_subscription_line(origin)
            subscription = sub_line.subscription
            invoice = invoices[Invoice._billing_invoice_key(
                    subscription, cycle)]
            lines.append(cls._billing_line(
                    invoice, sub_line, origin, charge, templates))
        cls.save(lines)
        # The draft invoices wait for the close: finance sees their taxes
        # (saving lines does not update them, as in sale_subscription).
        Invoice.update_taxes(
            Invoice.browse(list({l.invoice.id for l in lines})))
        return lines

    @classmethod
    def create_on_demand_lines(cls, charges, date):
        """Create invoice lines for on-demand (origin, Charge)

        Each window gets new invoices of its own, one per customer (or per
        subscription when the party is invoiced per service), outside the
        billing cycles; the caller closes them.
        """
        pool = Pool()
        Invoice = pool.get('account.invoice')
        if not charges:
            return []
        invoices = {}
        keys = []
        for origin, charge in charges:
            subscription = cls._billing_subscription_line(origin).subscription
            key = (charge.period_start, charge.period_end) + (
                Invoice._billing_invoice_key(subscription, None))
            if key not in invoices:
                invoice = subscription._get_billing_invoice(
                    None, per_service=key[-1] is not None)
                invoice.description = gettext(
                    'subscription_core.msg_on_demand_invoice',
                    window=describe_window(
                        charge.period_start, charge.period_end))
                invoices[key] = invoice
            keys.append(key)
        Invoice.save(list(invoices.values()))
        templates = {}
        lines = []
        for (origin, charge), key in zip(charges, keys):
            sub_line = cls._billing_subscription_line(origin)
            invoice = invoices[key]
            lines.append(cls._billing_line(
                    invoice, sub_line, origin, charge, templates))
        cls.save(lines)
        return lines

    @staticmethod
    def _billing_subscription_line(origin):
        pool = Pool()
        LimitChange = pool.get('sale.subscription.line.limit_change')
        Consumption = pool.get('sale.subscription.line.consumption')
        if isinstance(origin, (LimitChange, Consumption)):
            return origin.line
        return origin

    @classmethod
    def _billing_line(cls, invoice, sub_line, origin, charge, templates):
        """The (unsaved) invoice line of a charge on invoice

        templates caches the field values shared by the lines of a product
        on an invoice (see _billing_line_template).
        """
        key = (invoice.id, sub_line.service.product.id)
        if key not in templates:
            templates[key] = cls._billing_line_template(invoice, sub_line)
        line = cls(**templates[key])
        line.origin = origin
        line.quantity = 1
        line.unit_price = charge.amount
        line.billing_start = charge.start
        line.billing_end = charge.end
        line.adjusted_line = charge.adjusts
        line.description = cls._billing_description(origin, sub_line, charge)
        cls._set_billing_rating(line, sub_line, charge)
        return line

    @classmethod
    def _set_billing_rating(cls, line, sub_line, charge):
        "Fill the structured factors of the charge's amount on line"
        service = sub_line.service
        usage = sub_line.billing_type == 'usage'
        tiered = usage and service.usage_tiers
        # Blocks of units have no unit of measure of their own
        package = usage and service.package_mode
        value = rating.rating(
            charge, sub_line.subscription.billing_model,
            sub_line.billing_type, None if tiered else sub_line.unit_price,
            places=price_digits[1], period=sub_line.billing_period,
            term_start=sub_line.billing_start, package=package)
        line.billing_quantity = value.quantity
        line.billing_unit = None if package else sub_line.unit
        line.billing_period_share = rating.decimal_share(
            value.period_share, cls.billing_period_share.digits[1])
        line.billing_unit_price = value.unit_price

    @classmethod
    def _billing_line_template(cls, invoice, sub_line):
        "Field values shared by the lines of a product on an invoice"
        line = cls(invoice=invoice, type='line')
        line.on_change_invoice()
        line.product = sub_line.service.product
        line.unit = sub_line.unit
        line.on_change_product()
        if not line.account:
            raise BillingError(gettext(
                    'subscription_core.msg_billing_missing_account',
                    product=line.product.rec_name))
        return {
            'invoice': invoice,
            'type': 'line',
            'company': invoice.company,
            'currency': invoice.currency,
            'product': line.product,
            'unit': line.unit,
            'account': line.account,
            'taxes': [t.id for t in line.taxes],
            }

    @classmethod
    def _billing_description(cls, origin, sub_line, charge):
        pool = Pool()
        LimitChange = pool.get('sale.subscription.line.limit_change')
        if charge.description:
            return '%s @ %s' % (
                charge.description, sub_line.subscription.rec_name)
        name = sub_line.service.product.name
        if sub_line.billing_type == 'fixed' and charge.quantity == 1:
            unit = ''
        else:
            unit = ' ' + name
            name = None
        text = describe_piece(
            charge.quantity, unit.strip() or name, charge.start, charge.end,
            charge.period_start, charge.period_end)
        if sub_line.billing_type == 'one_time':
            text = '%s × %s' % (
                _format_quantity(charge.quantity), name or unit.strip())
        elif sub_line.subscription.billing_model == 'prepaid':
            # Prepaid terms and their adjustments are priced period by period
            text = describe_periods(
                charge.quantity, unit.strip() or name, charge.start,
                charge.end, sub_line.billing_period)
        if sub_line.billing_type in {'fixed', 'limit'}:
            # The unit price is per billing period of the line
            text = '%s at %s' % (text, describe_price(
                    sub_line.unit_price, sub_line.billing_period))
        if isinstance(origin, LimitChange):
            text = gettext('subscription_core.msg_billing_adjustment',
                old=_format_quantity(origin.old_quantity),
                new=_format_quantity(origin.quantity),
                description=text)
        return '%s @ %s' % (text, sub_line.subscription.rec_name)
