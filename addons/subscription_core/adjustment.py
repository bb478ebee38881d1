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
  percentage of, or an amount spread over, the compensated amounts;
* ``serve_refunds``: what each of several compensations is given, in
  order, so that together they never refund more than was billed.
"""
import datetime as _dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from .money import _fraction, _from_units, _rounding, round_money

__all__ = [
    'CreditBalance', 'InvoiceCapacity', 'Allocation', 'allocate_credits',
    'period_share', 'distribute', 'percentage_parts', 'proportional_parts',
    'BilledPiece', 'Refund', 'serve_refunds',
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


@dataclass(frozen=True)
class BilledPiece:
    """amount billed for the days [start, end), spread evenly over them.

    An empty range [start, start) is billed whole on start (as in
    ``period_share``).
    """
    amount: Decimal
    start: _dt.date
    end: _dt.date


@dataclass(frozen=True)
class Refund:
    """A compensation of the days [start, end).

    Either amount (a refund of an amount) or rate (a share of what is
    billed over the days). served, when known, is what the compensation
    was already given (it was applied before): it is taken as is.
    """
    start: _dt.date
    end: _dt.date
    amount: Decimal = None
    rate: Decimal = None
    served: Decimal = None


def _segments(pieces, refunds):
    "The day ranges between every start and end, and the exact gross of each"
    _one_day = _dt.timedelta(days=1)
    ranges = []
    for piece in pieces:
        start, end = _date(piece.start, 'start'), _date(piece.end, 'end')
        if end < start:
            raise ValueError("a range ends before it starts")
        ranges.append((start, end if end > start else start + _one_day,
                _fraction(_money(piece.amount, 'amount'))))
    cuts = sorted({d for r in ranges for d in r[:2]}
        | {_date(d, 'date') for r in refunds for d in (r.start, r.end)})
    segments = list(zip(cuts, cuts[1:]))
    gross = defaultdict(Fraction)
    for start, end, amount in ranges:
        days = (end - start).days
        for segment in segments:
            covered = (min(end, segment[1]) - max(start, segment[0])).days
            if covered > 0:
                gross[segment] += amount * Fraction(covered, days)
    return segments, gross


def serve_refunds(pieces, refunds, rounding):
    """What each refund is given, in order (the first asked, first served)

    pieces are the BilledPiece of what is compensated, refunds the Refund
    in the order they are served. Over the days of its range a refund may
    take what is left of the gross billed once the refunds before it took
    their part: a percentage of the gross or an amount, rounded once (half
    even), and capped by what is left (rounded). What a refund takes is
    taken from its days in proportion to what is left on each, so a
    refund of a few days leaves the others for a refund of the whole
    period.

    Return the amounts served (Decimal, never negative). Refunds over the
    same days never add up to more than the gross billed over them,
    rounded; over different days, never more than the gross billed over
    all their days, give or take half a rounding unit per refund.
    """
    rounding = _rounding(rounding)
    refunds = list(refunds)
    for refund in refunds:
        if _date(refund.end, 'end') < _date(refund.start, 'start'):
            raise ValueError("a range ends before it starts")
    segments, gross = _segments(list(pieces), refunds)
    taken = defaultdict(Fraction)
    served = []
    for refund in refunds:
        days = [s for s in segments
            if refund.start <= s[0] and s[1] <= refund.end]
        rooms = {s: max(gross[s] - taken[s], Fraction(0)) for s in days}
        room = sum(rooms.values(), Fraction(0))
        if refund.served is not None:
            take = _money(refund.served, 'served')
        else:
            if refund.rate is not None:
                asked = (_fraction(_money(refund.rate, 'rate'))
                    * max(sum((gross[s] for s in days), Fraction(0)), 0))
            else:
                asked = _money(refund.amount, 'amount')
            # Capped by what is left, rounded, and by the gross of the days
            # rounded less what the refunds before took of them: over the
            # same days each took a rounded amount, and rounding what is
            # left again could give one unit more than the gross (0.105
            # billed: 0.01, then 0.095 left rounds to 0.10)
            left = (round_money(
                    sum((gross[s] for s in days), Fraction(0)), rounding)
                - round_money(
                    sum((taken[s] for s in days), Fraction(0)), rounding))
            take = max(min(round_money(asked, rounding),
                    round_money(room, rounding), left), Decimal(0))
        served.append(take)
        if room > 0:
            exact = _fraction(take)
            for segment in days:
                taken[segment] += exact * rooms[segment] / room
    return served
