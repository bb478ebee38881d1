# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Credit and compensation arithmetic, as plain Python (no ORM).

Conventions are those of ``money``: money is ``Decimal`` (never float),
exact intermediate values are ``fractions.Fraction``, a result is rounded
once with the currency rounding (ROUND_HALF_EVEN) and day ranges are
half-open ``[start, end)``.

* ``allocate_credits``: how credit balances offset invoices, capped by what
  is left of each invoice (and of the part billing a subscription for a
  restricted credit), never below zero;
* ``period_share``: the part of an invoice line that falls in a period;
* ``distribute``: round a list of exact amounts so that the parts add up to
  the rounded total (largest remainder);
* ``percentage_parts`` and ``proportional_parts``: a compensation as a
  percentage of, or an amount spread over, the compensated amounts.
"""
import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from .money import _fraction, _from_units, _rounding, round_money

__all__ = [
    'CreditBalance', 'InvoiceCapacity', 'Allocation', 'allocate_credits',
    'period_share', 'distribute', 'percentage_parts', 'proportional_parts',
    ]


def _money(value, name):
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{name} must be Decimal: {value!r}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{name} must be finite: {value!r}")
    return value


# ---------------------------------------------------------------------------
# Credits
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CreditBalance:
    """What is left of a credit.

    scope is None for a credit on the whole invoice, otherwise the key of
    the invoice part it is restricted to (a subscription).
    """
    credit: object
    amount: Decimal
    scope: object = None


@dataclass(frozen=True)
class InvoiceCapacity:
    """What a credit may offset on an invoice.

    total is the invoice total (taxes included); parts maps a scope to the
    amount of the invoice billing it (taxes included).
    """
    invoice: object
    total: Decimal
    parts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Allocation:
    "amount (> 0) of credit offsetting invoice."
    credit: object
    invoice: object
    amount: Decimal


def allocate_credits(balances, capacities):
    """Offset invoices with credit balances.

    balances are CreditBalance in the order they are used, capacities
    InvoiceCapacity in the order they are offset. Each credit goes over the
    invoices in order and takes what is left of the invoice total (a
    negative total counts as zero: an invoice never goes below zero) and,
    for a restricted credit, of the invoice part of its scope (an invoice
    without that part is skipped).

    Return (allocations, left) where left maps each credit to what remains
    of its balance; for every credit, applied + left = balance.
    """
    balances = list(balances)
    capacities = list(capacities)
    total_left = {}
    part_left = {}
    for capacity in capacities:
        total = _money(capacity.total, 'total')
        total_left[capacity.invoice] = max(total, Decimal(0))
        for scope, amount in capacity.parts.items():
            amount = _money(amount, 'part')
            part_left[capacity.invoice, scope] = max(amount, Decimal(0))
    allocations = []
    left = {}
    for balance in balances:
        remaining = _money(balance.amount, 'balance')
        if remaining < 0:
            raise ValueError(f"balance must not be negative: {remaining}")
        for capacity in capacities:
            if not remaining:
                break
            invoice = capacity.invoice
            room = total_left[invoice]
            if balance.scope is not None:
                room = min(room, part_left.get((invoice, balance.scope),
                        Decimal(0)))
            amount = min(remaining, room)
            if amount <= 0:
                continue
            allocations.append(Allocation(balance.credit, invoice, amount))
            remaining -= amount
            total_left[invoice] -= amount
            if balance.scope is not None:
                part_left[invoice, balance.scope] -= amount
        left[balance.credit] = left.get(balance.credit, Decimal(0)) + remaining
    return allocations, left


# ---------------------------------------------------------------------------
# Compensations
# ---------------------------------------------------------------------------

def _date(value, name):
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    raise TypeError(f"{name} must be a date: {value!r}")


def period_share(amount, start, end, p_start, p_end):
    """Exact part of amount, billed for [start, end), inside [p_start, p_end).

    The amount is spread evenly over the days it bills. An empty range
    [start, start) counts whole when start is in the period.
    """
    amount = _fraction(_money(amount, 'amount'))
    start, end = _date(start, 'start'), _date(end, 'end')
    p_start, p_end = _date(p_start, 'p_start'), _date(p_end, 'p_end')
    if end < start or p_end < p_start:
        raise ValueError("a range ends before it starts")
    if start == end:
        return amount if p_start <= start < p_end else Fraction(0)
    covered = (min(end, p_end) - max(start, p_start)).days
    if covered <= 0:
        return Fraction(0)
    return amount * Fraction(covered, (end - start).days)


def distribute(exacts, rounding):
    """Round each exact amount so that the parts add up to the rounded sum.

    The sum is rounded once (half even); each part is its exact amount
    rounded down or up to a multiple of rounding, the units left going to
    the largest remainders (ties to the first). Signs may be mixed.
    """
    rounding = _rounding(rounding)
    unit = Fraction(rounding)
    exacts = [_fraction(e, 'exact') / unit for e in exacts]
    if not exacts:
        return []
    total = round(sum(exacts, Fraction(0)))
    floors = [e.numerator // e.denominator for e in exacts]
    extra = total - sum(floors)
    order = sorted(range(len(exacts)),
        key=lambda i: (-(exacts[i] - floors[i]), i))
    for i in order[:extra]:
        floors[i] += 1
    return [_from_units(u, rounding) for u in floors]


def percentage_parts(bases, rate, rounding):
    """rate (e.g. Decimal('0.2') for 20 %) of each base, rounded once.

    bases are the exact compensated amounts (e.g. per tax group). The
    total rate × Σ bases is rounded once and the parts add up to it.
    """
    rate = _fraction(_money(rate, 'rate'))
    if not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1]: {rate}")
    return distribute([_fraction(b, 'base') * rate for b in bases], rounding)


def proportional_parts(amount, bases, rounding):
    """Spread amount over bases in proportion; the parts add up to amount.

    amount must be a multiple of rounding and the bases add up to more
    than zero (a base may be negative, e.g. a limit decrease).
    """
    amount = _money(amount, 'amount')
    rounding = _rounding(rounding)
    if round_money(amount, rounding) != amount:
        raise ValueError(f"amount {amount} is not a multiple of {rounding}")
    bases = [_fraction(b, 'base') for b in bases]
    base_sum = sum(bases, Fraction(0))
    if base_sum <= 0:
        raise ValueError("the bases must add up to more than zero")
    exact = _fraction(amount)
    return distribute([exact * b / base_sum for b in bases], rounding)
