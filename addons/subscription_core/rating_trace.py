# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The rating trace of the usage invoice lines: why a line is 41.37.

Each usage invoice line of the engine keeps, as records, what it rated: one
trace per consumption and price tier, in the order priced, with the
quantity, the unit price and the exact amount (quantity × unit price). The
line's amount is the sum of its traces' amounts rounded once to the
currency. The tier is the service's price tier applied (its *From
Quantity* is kept too, as the tier may change later); without tiers the
line's unit price applies and the trace has no tier. For a service priced
per package the quantity is the blocks the consumption started and the
unit price the price of a block; the block size is kept (*Package Size*).
"""
from decimal import Decimal

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.product import price_digits
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .validation import InputMixin

# The places of a rated quantity (those of the usage rows)
QUANTITY_PLACES = 6


def _places(value, places):
    "value as a Decimal of places places (the same on every backend)"
    return Decimal(value).quantize(Decimal(1).scaleb(-places))


class RatingTrace(InputMixin, ModelSQL, ModelView):
    "Invoice Line Rating Trace"
    __name__ = 'account.invoice.line.rating_trace'
    __string__ = "Invoice Line Rating Trace"

    invoice_line = fields.Many2One(
        'account.invoice.line', "Invoice Line", required=True,
        readonly=True, ondelete='CASCADE')
    sequence = fields.Integer("Sequence", required=True, readonly=True,
        help="The order in which the quantities were priced.")
    consumption = fields.Many2One(
        'sale.subscription.line.consumption', "Consumption", required=True,
        readonly=True, ondelete='RESTRICT')
    tier = fields.Many2One(
        'sale.subscription.service.tier', "Price Tier", readonly=True,
        ondelete='SET NULL',
        help="The price tier of the service that priced the quantity; "
        "empty when the line's unit price applied.")
    tier_from = fields.Float(
        "Tier From", readonly=True,
        help="The From Quantity of the tier when it was applied.")
    package_size = fields.Float(
        "Package Size", readonly=True,
        help="For a service priced per package, the units of a block when "
        "it was applied: the quantity is then the blocks the consumption "
        "started.")
    quantity = fields.Numeric(
        "Quantity", digits=(16, QUANTITY_PLACES), required=True,
        readonly=True)
    unit_price = fields.Numeric(
        "Unit Price", digits=price_digits, required=True, readonly=True)
    amount = fields.Numeric(
        "Exact Amount", required=True, readonly=True,
        help="Quantity × unit price, not rounded: the line's amount is the "
        "sum of its traces rounded once.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Its own rights (read only), not those of the invoice line (which
        # finance writes while the invoice is a draft)
        cls._order = [('invoice_line', 'ASC'), ('sequence', 'ASC'),
            ('id', 'ASC')]

    def get_rec_name(self, name):
        return '%s × %s' % (self.quantity, self.unit_price)

    @classmethod
    def create_traces(cls, invoice_lines, charges):
        """Record the trace of each charge (see charge.Charge.trace) on its
        invoice line, matched by origin and billing start"""
        pool = Pool()
        Consumption = pool.get('sale.subscription.line.consumption')
        traces = {(str(o), c.start): c.trace for o, c in charges if c.trace}
        values = []
        for invoice_line in invoice_lines:
            trace = traces.get(
                (str(invoice_line.origin), invoice_line.billing_start))
            if not trace:
                continue
            line = Consumption(trace[0][0]).line
            service = line.service
            tiers = sorted(service.tiers,
                key=lambda t: t.from_quantity) if service else []
            package = service.package_size if (
                service and service.package_mode) else None
            for sequence, (key, quantity, price, index) in enumerate(trace):
                tier = tiers[index] if index is not None else None
                values.append({
                        'invoice_line': invoice_line.id,
                        'sequence': sequence,
                        'consumption': key,
                        'tier': tier.id if tier else None,
                        'tier_from': tier.from_quantity if tier else None,
                        'package_size': package,
                        'quantity': _places(quantity, QUANTITY_PLACES),
                        'unit_price': _places(price, price_digits[1]),
                        # Exact for quantities of up to QUANTITY_PLACES
                        'amount': _places(quantity * price,
                            QUANTITY_PLACES + price_digits[1]),
                        })
        if values:
            with without_check_access():
                cls.create(values)


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    rating_traces = fields.One2Many(
        'account.invoice.line.rating_trace', 'invoice_line',
        "Rating Trace", readonly=True,
        help="What a usage line rated: per consumption and price tier, the "
        "quantity, the unit price and the exact amount.")

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('rating_traces')
        return super().copy(lines, default=default)
