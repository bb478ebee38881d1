# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The charges of a usage line's billing windows, as plain Python (no ORM).

Each window's consumptions are priced one after the other at the tiers
the usage of its phase reached (``tier.price_in_order``), with the line's
tiers validated once for all its windows; the charge keeps how it was
rated (its trace) and a description built once per charge.

In the package mode (tiers: a ``tier.PackageTable``) a consumption's part
is the blocks it starts at the line's unit price, the price of a block:
the trace keeps the blocks as its quantity and the description says how
many blocks of how many units the window's usage cost.
"""
from decimal import Context, Decimal, Inexact, localcontext
from fractions import Fraction

from .charge import Charge
from .money import _add, _fraction_decimal, exact_context
from .period import describe_window
from .tier import (
    LinePricing, PackageTable, TierTable, _format_price, describe_usage,
    merged_slices, usage_head)
from .usage_window import tier_phase

__all__ = ['window_charges', 'exact_decimal']

_new = tuple.__new__


def exact_decimal(number):
    """Decimal of a Fraction summed from decimal quantities (exact), or of
    an exact Decimal, in the same digits: a whole number without decimals
    (7), the others without trailing zeros (1.5)"""
    if type(number) is Fraction:
        decimal = _fraction_decimal(number)
        if decimal is None:
            # Not a finite decimal (not from decimal quantities): the 28
            # digits of the default context
            with localcontext(Context()):
                decimal = Decimal(number.numerator) / Decimal(
                    number.denominator)
        return decimal
    if number == number.to_integral_value():
        return number.quantize(1)
    return number.normalize()


def window_charges(windows, usage, period, unit_price, rounding, tiers=None,
        mode='graduated', used=None, adjusted=None, label=None,
        describe_late=None, described=None):
    """The charges of the usage windows of one line: [(origin, Charge)]

    windows: the line's usage_window.Window in order; usage: per
    consumption key its (moment, key, quantity), the quantity a Fraction
    or a number; period: the line's billing period; tiers: its tiers
    (a list of Tier or a TierTable) or None for unit_price alone, or a
    PackageTable with mode 'package' (unit_price is then a block's).
    used: per tier phase (its first day) the quantity invoiced before,
    updated with the windows priced; adjusted: per window start the
    invoice line that already bills the window (late usage).
    Quantities are Fractions or Decimals (usage_window.usage_windows); the
    sums of Decimals are exact (money.EXACT: decimal.Inexact when that
    needs more digits, for the caller to rate in Fractions).
    describe_late(description) words the description of such a charge;
    described is a dict reused across lines to word each window's days
    once.

    The origin is None for the line itself, or the key of the window's
    first consumption for a window already invoiced or an hour window (so
    that the origin and the window's start stay unique).
    """
    package_size = None
    if isinstance(tiers, PackageTable):
        package_size = tiers.size
    elif tiers and not isinstance(tiers, TierTable):
        tiers = TierTable(tiers)
    if used is None:
        used = {}
    if adjusted is None:
        adjusted = {}
    if described is None:
        described = {}
    with exact_context():
        return _window_charges(windows, usage, period, unit_price, rounding,
            tiers, mode, used, adjusted, label, describe_late, described,
            package_size)


def _head(total, label):
    """(quantity, head) of a window's total: its exact_decimal, and the
    head of its description (tier.usage_head)"""
    quantity = exact_decimal(total)
    return quantity, usage_head(quantity, label)


def _window_charges(windows, usage, period, unit_price, rounding, tiers,
        mode, used, adjusted, label, describe_late, described, package_size):
    hourly = period == 'hour'
    pricing = LinePricing(unit_price, rounding, tiers, mode)
    # Its errors at the first window, as pricing()'s
    single = pricing.single() if windows else None
    # Per window total (a Decimal) its exact_decimal and the head of its
    # description (_head); per price its text
    heads, price_texts = {}, {}
    charges = []
    for start, end, first, last, total, keys in windows:
        phase = tier_phase(start, period)
        already = used.get(phase, 0)
        priced = None
        if len(keys) == 1:
            _, key, q = usage[keys[0]]
            if q is total:
                priced = single(q, already)
        if priced is not None:
            # One consumption (a day of a daily line) in one tier, priced
            # by LinePricing.single and worded at once
            amount, price, index = priced
            head = heads.get(total) if total else None
            if head is None:
                # (Not for 0: -0 is equal, its digits are not)
                head = _head(total, label)
                if total:
                    heads[total] = head
            quantity, text = head
            price_text = price_texts.get(index)
            if price_text is None:
                price_text = price_texts[index] = _format_price(price)
            # describe_usage of one slice of the whole quantity
            words = f'{text} × {price_text}'
            trace = ((key, quantity, price, index),)
        else:
            if len(keys) == 1:
                ordered = [usage[keys[0]]]
            else:
                ordered = sorted(usage[k] for k in keys)
            amount, parts = pricing([q for _, _, q in ordered], already)
            quantity = exact_decimal(total)
            if len(parts) == 1 and len(parts[0]) == 1:
                # One consumption in one tier
                (q, price, index), = parts[0]
                slices = [(q, price)]
                # exact_decimal depends on the value alone
                trace = ((ordered[0][1],
                        quantity if q == total else exact_decimal(q),
                        price, index),)
            else:
                slices = merged_slices(parts)
                trace = tuple((key, exact_decimal(q), price, index)
                    for (_, key, _), part in zip(ordered, parts)
                    for q, price, index in part)
            words = describe_usage(quantity, label, slices, package_size)
        try:
            # money._add inlined (already under EXACT), once per window
            # (see usage_window._groups)
            used[phase] = already + total
        except (TypeError, Inexact):
            used[phase] = _add(already, total)
        adjusts = adjusted.get(start)
        bounds = (start, end) if hourly else (first, last)
        days = described.get(bounds)
        if days is None:
            days = described[bounds] = describe_window(*bounds)
        description = f'{words} {days}'
        if adjusts and describe_late:
            description = describe_late(description)
        origin = min(keys) if adjusts or hourly else None
        # Charge(...) by tuple.__new__: 0.4 µs less per window
        charges.append((origin, _new(Charge, (start, end, first, last,
                        quantity, amount, adjusts, keys, description,
                        trace))))
    return charges
