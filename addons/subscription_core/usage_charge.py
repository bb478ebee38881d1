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
from decimal import Decimal

from .charge import Charge
from .period import describe_window
from .tier import (
    PackageTable, TierTable, describe_usage, merged_slices, price_in_order)
from .usage_window import tier_phase

__all__ = ['window_charges', 'exact_decimal']


def exact_decimal(fraction):
    "Decimal of a Fraction summed from decimal quantities (exact)"
    return Decimal(fraction.numerator) / Decimal(fraction.denominator)


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
    hourly = period == 'hour'
    charges = []
    for window in windows:
        phase = tier_phase(window.period_start, period)
        keys = window.keys
        if len(keys) == 1:
            ordered = [usage[keys[0]]]
        else:
            ordered = sorted(usage[k] for k in keys)
        already = used.get(phase, 0)
        amount, parts = price_in_order(
            [q for _, _, q in ordered], unit_price, rounding,
            tiers, mode, already)
        slices = merged_slices(parts)
        trace = tuple((key, exact_decimal(q), price, index)
            for (_, key, _), part in zip(ordered, parts)
            for q, price, index in part)
        used[phase] = already + window.quantity
        adjusts = adjusted.get(window.period_start)
        if hourly:
            bounds = window.period_start, window.period_end
        else:
            bounds = window.start, window.end
        days = described.get(bounds)
        if days is None:
            days = described[bounds] = describe_window(*bounds)
        quantity = exact_decimal(window.quantity)
        description = '%s %s' % (
            describe_usage(quantity, label, slices, package_size), days)
        if adjusts and describe_late:
            description = describe_late(description)
        origin = min(keys) if adjusts or hourly else None
        charges.append((origin, Charge(
                    window.period_start, window.period_end,
                    window.start, window.end,
                    quantity, amount,
                    adjusts=adjusts, sources=keys,
                    description=description, trace=trace)))
    return charges
