# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""What an invoice line of the engine rates, as plain Python (no ORM).

An invoice line of the engine is quantity 1 × its amount (Tryton computes
amount = quantity × unit_price, and the amount is rounded once from the
exact price of the charge). ``rating`` gives the factors of that amount as
data, for the structured fields of the line (exports, the rating trace):
the rated quantity, the share of the price's period it covers and the unit
price, such that amount = round(quantity × period_share × unit_price) for
a line priced at one unit price.
"""
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .money import _fraction, _quantity
from .period import day_share, period_count

__all__ = ['Rating', 'rating', 'decimal_share']


@dataclass(frozen=True)
class Rating:
    quantity: Decimal
    period_share: Fraction
    unit_price: Decimal


def rating(charge, billing_model, billing_type, unit_price, places=4,
        period='month', term_start=None, package=False):
    """The Rating of a charge.Charge of a subscription line

    * usage and one-time lines: the quantity at the unit price, no share
      (share 1);
    * usage lines priced in blocks (package): the blocks billed (the sum
      of the quantities of the charge's trace, see tier.price_in_order) at
      the unit price, the price of a block (share 1);
    * prepaid terms and their adjustments: priced period by period of the
      line's billing period, the share is the number of those periods in
      [start, end) (a 'total' term is 1; an adjustment of it, the days left
      over the days of the term from term_start);
    * monthly fixed and limit lines: the days of the piece over the days
      of its billing period.

    unit_price is the line's (None for a usage line priced in tiers: the
    average price of the charge, amount / quantity, rounded to places, is
    given instead).
    """
    if package:
        blocks = sum((_quantity(q) for _, q, _, _ in charge.trace),
            Fraction(0))
        return Rating(_decimal(blocks, 0), Fraction(1), unit_price)
    quantity = Decimal(str(charge.quantity)) if isinstance(
        charge.quantity, float) else Decimal(charge.quantity)
    if billing_type in {'usage', 'one_time'}:
        share = Fraction(1)
    elif billing_model == 'prepaid':
        if period == 'total' and term_start and term_start < charge.start:
            share = day_share(
                charge.start, charge.end, term_start, charge.end)
        else:
            share = period_count(charge.start, charge.end, period)
    else:
        share = day_share(charge.start, charge.end,
            charge.period_start, charge.period_end)
    if unit_price is None:
        if quantity:
            unit_price = _decimal(
                _fraction(charge.amount, 'amount') / _quantity(quantity)
                / share, places)
        else:
            unit_price = Decimal(0)
    return Rating(quantity, share, unit_price)


def _decimal(value, places=10):
    "A Fraction as a Decimal rounded to places (half even)"
    exponent = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        exponent)


def decimal_share(share, places=10):
    "The share as the Decimal a Numeric field stores"
    return _decimal(Fraction(share), places).normalize()
