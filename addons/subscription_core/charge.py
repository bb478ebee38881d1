# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""What is due on a subscription line, as plain Python: the charges of its
billing periods (prorated, cut at limit changes) or of its prepaid term.

Conventions are those of ``period`` and ``money``.
"""
import datetime as _dt
from decimal import Decimal
from typing import NamedTuple
from fractions import Fraction

from .money import _fraction, _quantity, round_money, split_amount
from .period import (
    _ONE_DAY, Piece, _date, _exact_prorated, iter_periods, period_bounds,
    prepaid_amount, split_at_changes)

__all__ = [
    'piece_amounts', 'Charge', 'due_charges', 'quantity_at', 'next_due_date',
    'adjusts_prepaid_term',
    ]


def piece_amounts(unit_price, pieces, p_start, p_end, rounding):
    """Amount of each piece of a period, rounded once for the period.

    The period total is rounded once and distributed over the pieces in
    proportion to their exact amounts (largest remainder), so the pieces
    always add up exactly to the rounded period amount.
    """
    exact = [
        _exact_prorated(unit_price, p.quantity, p.start, p.end, p_start, p_end)
        for p in pieces]
    total = round_money(sum(exact, Fraction(0)), rounding)
    if not pieces:
        return []
    if total == 0 or not any(exact):
        return [round_money(0, rounding) for _ in pieces]
    sign = -1 if total < 0 else 1
    return split_amount(total, [abs(e) for e in exact], rounding) if sign > 0 \
        else [-a for a in split_amount(-total, [abs(e) for e in exact],
                rounding)]


class Charge(NamedTuple):
    """One invoice line to create: a piece of a billing period.

    A named tuple (immutable, made fast: a usage rating makes one per line
    and day of on-demand usage)."""
    period_start: _dt.date
    period_end: _dt.date
    start: _dt.date
    end: _dt.date
    quantity: object
    amount: Decimal
    # Opaque references kept by the caller: the charge this one adjusts,
    # what it bills (e.g. consumptions), and a ready description.
    adjusts: object = None
    sources: tuple = ()
    description: str = None
    # How a usage amount was rated, per source in the order priced:
    # (source, quantity, unit price, tier index or None), the amount being
    # the sum of quantity × unit price rounded once (tier.price_in_order).
    trace: tuple = ()


def due_charges(
        billing_model, billing_type, billing_period, start, end,
        billed_until, quantity, changes, unit_price, date, rounding,
        lead=_dt.timedelta(0)):
    """Charges of a subscription line that are due on date.

    * monthly model, fixed/limit lines: each calendar period of
      billing_period that has ended on date (billed in arrears), from
      billed_until (or start) on, cut at the limit changes;
    * prepaid model: the whole term [start, end) once, ``lead`` before it
      starts, priced period by period of billing_period;
    * one_time: once, on start (the 'total' period);
    * usage lines are priced from consumptions by the caller (not here).

    Returns (charges, new_billed_until); new_billed_until is None when
    nothing is due.
    """
    start = _date(start, 'start')
    end = _date(end, 'end') if end else None
    date = _date(date)
    begin = max(start, billed_until) if billed_until else start
    if end is not None and begin >= end:
        return [], None
    if billing_type == 'one_time' or billing_period == 'total' \
            and billing_model != 'prepaid':
        if billed_until or date < start - lead:
            return [], None
        p_end = end or start + _ONE_DAY
        amount = round_money(
            _fraction(unit_price, 'unit_price') * _quantity(quantity),
            rounding)
        return [Charge(start, p_end, start, p_end, quantity, amount)], p_end
    if billing_model == 'prepaid':
        if end is None:
            raise ValueError("a prepaid line needs an end date")
        if billed_until or date < start - lead:
            return [], None
        amount = prepaid_amount(
            unit_price, quantity, start, end, rounding, billing_period)
        return [Charge(start, end, start, end, quantity, amount)], end
    if date <= begin:
        # Nothing of the line has ended yet (e.g. it starts later)
        return [], None
    charges = []
    new_billed_until = None
    for p_start, p_end in iter_periods(begin, end or date, billing_period):
        if p_end > date:
            break
        piece_start = max(p_start, begin)
        piece_end = min(p_end, end) if end else p_end
        pieces = split_at_changes(
            p_start, p_end, quantity_at(quantity, changes, p_start), changes)
        pieces = [
            Piece(max(p.start, piece_start), min(p.end, piece_end),
                p.quantity)
            for p in pieces if p.end > piece_start and p.start < piece_end]
        amounts = piece_amounts(unit_price, pieces, p_start, p_end, rounding)
        for piece, amount in zip(pieces, amounts):
            charges.append(Charge(p_start, p_end, piece.start, piece.end,
                    piece.quantity, amount))
        new_billed_until = piece_end
    return charges, new_billed_until


def quantity_at(initial_quantity, changes, date):
    """Quantity in force on date: the last change on or before date.

    initial_quantity applies before the first change; changes are
    (date, quantity) pairs in any order.
    """
    date = _date(date)
    quantity = initial_quantity
    for change_date, new_quantity in sorted(changes, key=lambda c: c[0]):
        if change_date <= date:
            quantity = new_quantity
        else:
            break
    return quantity


def next_due_date(billing_model, billing_type, billing_period, start, end,
        billed_until, lead=_dt.timedelta(0)):
    """First date on which due_charges returns a charge for the line.

    None when nothing more is due (usage lines are priced from
    consumptions, not here). Used to quote a subscription before it runs.
    """
    start = _date(start, 'start')
    end = _date(end, 'end') if end else None
    begin = max(start, billed_until) if billed_until else start
    if billing_type == 'usage' or (end is not None and begin >= end):
        return None
    if (billing_type == 'one_time' or billing_period == 'total'
            or billing_model == 'prepaid'):
        return None if billed_until else start - lead
    return period_bounds(begin, billing_period)[1]


def adjusts_prepaid_term(change_date, start, billed_until, after_invoice):
    """Whether a limit change of a prepaid line is billed as an adjustment
    (a supplement or a credit) of its invoiced term [start, billed_until).

    A change after the term's first day always is: the term was priced at
    the limit in force on its first day. A change on the first day is only
    when the term was already invoiced when the change was recorded
    (after_invoice); before, the term itself was priced with it.
    """
    change_date, start = _date(change_date, 'change_date'), _date(start)
    if billed_until is None or not change_date < _date(billed_until):
        return False
    if change_date == start:
        return bool(after_invoice)
    return start < change_date
