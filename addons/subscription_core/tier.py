# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tiered usage prices, as plain Python.

Conventions are those of ``money``: exact quantities, money rounded once.
"""
from dataclasses import dataclass
from decimal import Decimal, Inexact, InvalidOperation, getcontext
from fractions import Fraction
from math import ceil

from .money import (
    _decimal_quantity, _format_quantity, _fraction, _fraction_decimal,
    _quantity, exact_context, money_rounding, round_money)

__all__ = [
    'TIER_MODES', 'Tier', 'TierError', 'validate_tiers', 'tiers_from_starts',
    'tier_slices', 'indexed_slices', 'tiered_amount', 'price_usage',
    'price_in_order', 'TierTable', 'merged_slices', 'describe_usage',
    'PACKAGE', 'PRICE_MODES', 'PackageTable', 'package_blocks',
    'LinePricing', 'usage_table', 'usage_head',
    ]

# The modes priced with a table of tiers
TIER_MODES = ('graduated', 'volume')
# Blocks of a number of units at the line's unit price (no tiers)
PACKAGE = 'package'
PRICE_MODES = TIER_MODES + (PACKAGE,)


@dataclass(frozen=True)
class Tier:
    """A price tier: quantities up to up_to (inclusive) at unit_price.

    up_to is None for the last, open-ended tier.
    """
    up_to: object
    unit_price: Decimal


class TierError(ValueError):
    """Invalid tiers; code names the rule that is broken.

    Codes: 'empty', 'open_not_last', 'last_not_open', 'not_ascending',
    'first_not_zero', 'negative_price', 'package_size' (a block size that
    is not a positive quantity). The models turn the code into a
    translated message.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def validate_tiers(tiers):
    """Check tiers: non-empty, up_to strictly ascending, last one open,
    prices not negative.

    Return the tiers as a tuple of Tier; raise TierError otherwise.
    """
    tiers = tuple(t if isinstance(t, Tier) else Tier(*t) for t in tiers)
    if not tiers:
        raise TierError('empty', "at least one tier is required")
    previous = Fraction(0)
    for index, tier in enumerate(tiers):
        if _fraction(tier.unit_price, 'unit_price') < 0:
            raise TierError('negative_price',
                f"tier unit price must not be negative: {tier.unit_price}")
        last = index == len(tiers) - 1
        if tier.up_to is None:
            if not last:
                raise TierError('open_not_last',
                    "only the last tier can be open (up_to None)")
            continue
        if last:
            raise TierError('last_not_open',
                "the last tier must be open (up_to None)")
        up_to = _quantity(tier.up_to, 'up_to')
        if up_to <= previous:
            raise TierError('not_ascending',
                f"tier up_to must be positive and ascending: {tier.up_to}")
        previous = up_to
    return tiers


def tiers_from_starts(starts):
    """Tiers from (from_quantity, unit_price) pairs, as a price list shows
    them: "from 0: 0.05, from 1000: 0.04".

    The first tier starts at 0; each tier ends where the next one starts
    and the last one is open. Pairs may come in any order.
    """
    starts = sorted(
        ((_quantity(q, 'from_quantity'), p) for q, p in starts),
        key=lambda s: s[0])
    if not starts:
        raise TierError('empty', "at least one tier is required")
    if starts[0][0] != 0:
        raise TierError('first_not_zero', "the first tier must start at 0")
    for (low, _), (high, _) in zip(starts, starts[1:]):
        if high <= low:
            raise TierError('not_ascending',
                f"two tiers start at the same quantity: {high}")
    ups = [s[0] for s in starts[1:]] + [None]
    return validate_tiers(
        Tier(up_to, price) for up_to, (_, price) in zip(ups, starts))


def tier_slices(quantity, tiers, mode='graduated', already_used=0):
    """The (quantity, unit_price) slices that price quantity with tiers.

    'graduated': the usage slice [already_used, already_used + quantity) is
    cut at each tier it crosses.
    'volume': quantity as one slice at the price of the tier in which the
    cumulative total already_used + quantity falls (tier bounds inclusive).
    Quantities are Fraction; zero-quantity slices are left out except for
    a zero quantity, which gives one slice.
    """
    return [(q, p) for q, p, _ in indexed_slices(
            quantity, tiers, mode, already_used)]


def indexed_slices(quantity, tiers, mode='graduated', already_used=0):
    """The slices of tier_slices with the index of their tier in tiers:
    [(quantity, unit_price, index)]"""
    if mode == PACKAGE:
        raise ValueError("the package mode has no tiers: price it with "
            "price_in_order and a PackageTable")
    if mode not in TIER_MODES:
        raise ValueError(f"unknown mode {mode!r}, expected {TIER_MODES}")
    table = TierTable(tiers)
    quantity = _quantity(quantity)
    used = _quantity(already_used, 'already_used')
    if quantity < 0 or used < 0:
        raise ValueError("quantity and already_used must not be negative")
    return table.slices(quantity, mode, used)


class TierTable:
    """Tiers validated once, their bounds and prices as Fractions (and as
    Decimals when they are decimal numbers): what prices the many days of a
    line without checking its tiers again for each of them (price_in_order
    accepts it in place of the tiers)"""
    __slots__ = ('tiers', 'ceilings', 'prices', 'exact_prices', 'decimal')

    def __init__(self, tiers):
        if isinstance(tiers, TierTable):
            tiers = tiers.tiers
        self.tiers = validate_tiers(tiers)
        self.ceilings = tuple(None if t.up_to is None else _quantity(t.up_to)
            for t in self.tiers)
        self.prices = tuple(t.unit_price for t in self.tiers)
        self.exact_prices = tuple(_fraction(p, 'unit_price')
            for p in self.prices)
        # The same as Decimals for the arithmetic under EXACT, or None when
        # a bound or a price is not a decimal number (a Fraction)
        ceilings = tuple(None if t.up_to is None
            else _decimal_quantity(t.up_to) for t in self.tiers)
        prices = tuple(_decimal_quantity(p) for p in self.prices)
        self.decimal = None
        if (None not in prices and all(c is not None or t.up_to is None
                    for c, t in zip(ceilings, self.tiers))):
            self.decimal = (ceilings, prices)

    def __bool__(self):
        return True

    def slices(self, quantity, mode, used, high=None, ceilings=None):
        """indexed_slices of a quantity after used (not negative, mode
        checked by the caller): Fractions, or Decimals under EXACT with
        the Decimal ceilings (self.decimal[0]); high is used + quantity
        when the caller has it"""
        if ceilings is None:
            ceilings = self.ceilings
        prices = self.prices
        low = used
        if high is None:
            high = used + quantity
        if not quantity:
            index = next(i for i, c in enumerate(ceilings)
                if c is None or low < c)
            return [(quantity, prices[index], index)]
        if mode == 'volume':
            index = next(i for i, c in enumerate(ceilings)
                if c is None or high <= c)
            return [(quantity, prices[index], index)]
        slices = []
        floor = None
        for index, ceiling in enumerate(ceilings):
            last = ceiling is None or ceiling >= high
            top = high if last else ceiling
            # The first tier starts at 0, where low (not negative) is
            portion = top - (
                low if floor is None or low > floor else floor)
            if portion > 0:
                slices.append((portion, prices[index], index))
            if last:
                break
            floor = ceiling
        return slices


def package_blocks(quantity, used, size):
    """The blocks of size units that quantity starts after used in a phase

    Blocks are counted on the cumulative usage of the phase and a started
    block counts whole: ceil((used + quantity) / size) - ceil(used / size).
    The counts of the quantities of a phase add up to the blocks of their
    total whatever windows they are billed in (the sum telescopes), and a
    quantity that stays in a block already started costs no block.
    Fractions, not negative; size positive.
    """
    return _ceil(used + quantity, size) - _ceil(used, size)


def _ceil(quantity, size):
    "Exact: Fraction division or Decimal integer division (no float)"
    if type(quantity) is Decimal:
        # Not negative: the integer quotient, one more for a remainder
        whole, remainder = divmod(quantity, size)
        return int(whole) + (1 if remainder else 0)
    return ceil(quantity / size)


class PackageTable:
    """The block size of the package mode, validated once: each started
    block of size units of the phase's cumulative usage is priced at the
    unit price (the line's, the price of a block); price_in_order accepts
    it in place of the tiers with mode 'package'"""
    __slots__ = ('size', 'decimal')

    def __init__(self, size):
        if isinstance(size, PackageTable):
            size = size.size
        try:
            size = _quantity(size, 'package_size')
        except (TypeError, ValueError) as error:
            raise TierError('package_size', str(error)) from error
        if size <= 0:
            raise TierError('package_size',
                f"the package size must be positive: {size}")
        self.size = size
        # The size as a Decimal for the arithmetic under EXACT, or None
        self.decimal = _fraction_decimal(size)

    def __bool__(self):
        return True

    def __eq__(self, other):
        return isinstance(other, PackageTable) and other.size == self.size

    def __hash__(self):
        return hash(self.size)

    def __repr__(self):
        return f"PackageTable({_format_quantity(self.size)})"

    def slices(self, quantity, used, unit_price, high=None):
        """The part of a quantity after used (not negative): one slice, the
        blocks it starts at unit_price, no tier index; Fractions, or
        Decimals under EXACT"""
        if high is None:
            high = used + quantity
        if type(high) is Decimal:
            size = self.decimal
            blocks = Decimal(_ceil(high, size) - _ceil(used, size))
        else:
            blocks = Fraction(
                _ceil(high, self.size) - _ceil(used, self.size))
        return [(blocks, unit_price, None)]


def usage_table(billing_type, tier_mode, package_size, starts):
    """(table, mode) that price a service's usage lines: its PackageTable
    in the package mode, the TierTable of its tiers' (from quantity, unit
    price) starts otherwise, or (None, 'graduated') for the line's unit
    price alone (a service without tiers, or whose billing type is not
    usage); what the service's usage_package and usage_tiers give"""
    if billing_type == 'usage' and tier_mode == PACKAGE:
        return PackageTable(package_size), PACKAGE
    if billing_type == 'usage' and starts:
        return TierTable(tiers_from_starts(starts)), tier_mode
    return None, 'graduated'


def price_in_order(quantities, unit_price, rounding, tiers=None,
        mode='graduated', already_used=0):
    """Price quantities one after the other in a tier phase, rounded once.

    Each quantity (a day's or an hour's usage) is priced at the tiers that
    the usage before it in the phase (already_used, then the quantities
    before it) has reached: 'graduated' cuts it at the tiers it crosses,
    'volume' prices it at the tier its cumulative total falls in. Billing
    a phase in one window or in several gives the same amounts. Without
    tiers each quantity is at unit_price (tier index None). tiers may be
    a TierTable, validated once for many calls.

    'package' (tiers: a PackageTable or its block size): each quantity
    costs the blocks of the table's size it starts in the cumulative usage
    of the phase (package_blocks) at unit_price, the price of a block; its
    part is [(blocks, unit_price, None)], the blocks as the quantity.

    Return (amount, parts): the amount rounded once, and for each quantity
    its [(quantity, unit_price, tier index)].

    Quantities that are decimal numbers (Decimals, ints, floats as their
    shortest decimal, Fractions such as 3/2) are priced in Decimals under
    money.EXACT, with Decimal slices; others (1/3), tiers or prices that
    are not decimal numbers, or sums that need more digits than EXACT
    keeps are priced in Fractions: the same amounts, Fraction slices.
    """
    quantities = list(quantities)
    decimals = [_decimal_quantity(q) for q in quantities]
    used = _decimal_quantity(already_used, 'already_used')
    if used is not None and None not in decimals:
        try:
            with exact_context():
                priced = _priced(decimals, unit_price, rounding, tiers,
                    mode, used, decimal=True)
            if priced is not None:
                return priced
        except Inexact:
            pass
    return _priced([_quantity(q) for q in quantities], unit_price, rounding,
        tiers, mode, _quantity(already_used, 'already_used'))


def _priced(quantities, unit_price, rounding, tiers, mode, used,
        decimal=False, pricing=None, rounder=None):
    """price_in_order of exact quantities and used: Fractions, or Decimals
    (decimal, under EXACT); None when the prices or the tiers are not all
    decimal numbers. pricing: _pricing's answer when the caller has it;
    rounder: money_rounding(rounding)."""
    parts = []
    # The exact amount: None, then the sum of the slices' prices
    exact = None
    table = ceilings = prices = None
    for quantity in quantities:
        if table is None:
            table, price, ceilings, prices = pricing or _pricing(
                unit_price, tiers, mode, decimal)
            if table is None:
                # Some price or bound is not a decimal number
                return None
        if mode == PACKAGE:
            if quantity < 0 or used < 0:
                raise ValueError(
                    "quantity and already_used must not be negative")
            following = used + quantity
            part = table.slices(quantity, used, unit_price, following)
            term = part[0][0] * price
            exact = term if exact is None else exact + term
            used = following
        elif table is not _NO_TABLE:
            if quantity < 0 or used < 0:
                raise ValueError(
                    "quantity and already_used must not be negative")
            following = used + quantity
            part = table.slices(quantity, mode, used, following, ceilings)
            for q, _, index in part:
                term = q * prices[index]
                exact = term if exact is None else exact + term
            used = following
        else:
            if quantity < 0:
                raise ValueError("quantity must not be negative")
            part = [(quantity, unit_price, None)]
            term = quantity * price
            exact = term if exact is None else exact + term
        parts.append(part)
    if exact is None:
        exact = Fraction(0)
    if rounder is not None:
        return rounder(exact), parts
    return round_money(exact, rounding), parts


class LinePricing:
    """price_in_order of the windows of one line, its price, tiers, mode
    and rounding checked once: pricing(quantities, already_used) gives
    what price_in_order(quantities, unit_price, rounding, tiers, mode,
    already_used) gives (Decimal quantities priced under EXACT at once,
    anything else through price_in_order)"""
    __slots__ = ('unit_price', 'rounding', 'tiers', 'mode', 'rounder',
        'decimal')

    def __init__(self, unit_price, rounding, tiers=None, mode='graduated'):
        self.unit_price = unit_price
        self.rounding = rounding
        self.tiers = tiers
        self.mode = mode
        self.rounder = money_rounding(rounding)
        # _pricing(decimal=True), at the first window (its errors then)
        self.decimal = None

    def _decimal(self):
        "_pricing(decimal=True), or False when it has no Decimal table"
        decimal = self.decimal
        if decimal is None:
            decimal = _pricing(self.unit_price, self.tiers, self.mode, True)
            if decimal[0] is None:
                # Prices or tiers that are not decimal numbers
                decimal = False
            self.decimal = decimal
        return decimal

    def single(self):
        """A function of (quantity, used) that prices one Decimal quantity
        after used in one slice: (amount, unit price, tier index) where
        self([quantity], used) gives (amount, [[(quantity, unit price, tier
        index)]]) (index None without tiers); under EXACT (the caller's, see
        usage_charge.window_charges). It gives None for anything else (the
        package mode, a quantity across tiers, a negative, an inexact or
        not finite value, a Fraction): self() then prices it (or raises its
        error). Its checks of the prices and tiers are self()'s, made now.

        The day of an on-demand line: one consumption in one tier, priced
        without the lists and the loops of _priced and TierTable.slices."""
        decimal = self._decimal()
        if not decimal or self.mode == PACKAGE:
            return _not_single
        table, price, ceilings, prices = decimal
        rounder = self.rounder
        if table is _NO_TABLE:
            unit_price = self.unit_price

            def single(quantity, used):
                if type(quantity) is not Decimal:
                    return None
                try:
                    if quantity < 0:
                        return None
                    return rounder(quantity * price), unit_price, None
                except (Inexact, InvalidOperation):
                    return None
            return single
        volume = self.mode == 'volume'
        # The tiers' prices as the slices give them (prices: the same as
        # Decimals, for the amount)
        tier_prices = table.prices

        def single(quantity, used):
            if (type(quantity) is not Decimal
                    or type(used) not in _DECIMAL_USED):
                return None
            try:
                if quantity < 0 or used < 0:
                    return None
                high = used + quantity
                # TierTable.slices in one slice: in the volume mode the
                # tier of high; otherwise the tier of used, when high does
                # not go past its ceiling (and for no quantity)
                if volume and quantity:
                    for index, ceiling in enumerate(ceilings):
                        if ceiling is None or high <= ceiling:
                            break
                    else:
                        return None
                else:
                    for index, ceiling in enumerate(ceilings):
                        if ceiling is None or used < ceiling:
                            break
                    else:
                        return None
                    if quantity and ceiling is not None and high > ceiling:
                        return None
                return (rounder(quantity * prices[index]),
                    tier_prices[index], index)
            except (Inexact, InvalidOperation):
                return None
        return single

    def __call__(self, quantities, already_used=0):
        decimal = self.decimal
        if (decimal is not False and quantities
                and type(already_used) in _DECIMAL_USED
                and (type(quantities[0]) is Decimal
                    if len(quantities) == 1
                    else all(type(q) is Decimal for q in quantities))):
            if decimal is None:
                decimal = self._decimal()
            if decimal:
                try:
                    if getcontext().traps[Inexact]:
                        # Already exact (window_charges): exact_context's
                        # test, without entering a context per window
                        return _priced(quantities, self.unit_price,
                            self.rounding, self.tiers, self.mode,
                            already_used, True, decimal, self.rounder)
                    with exact_context():
                        return _priced(quantities, self.unit_price,
                            self.rounding, self.tiers, self.mode,
                            already_used, True, decimal, self.rounder)
                except (Inexact, InvalidOperation):
                    # Too many digits; or not finite: price_in_order's
                    # error
                    pass
        return price_in_order(quantities, self.unit_price, self.rounding,
            self.tiers, self.mode, already_used)


_DECIMAL_USED = frozenset([Decimal, int])


def _not_single(quantity, used):
    "LinePricing.single of a line priced by LinePricing() alone"
    return None


# Without tiers: a table that is not None (see _pricing)
_NO_TABLE = ()


def _pricing(unit_price, tiers, mode, decimal):
    """(table, unit price, ceilings, tier prices) of a price_in_order, its
    tiers and mode checked: Fractions, or Decimals (decimal); (None, ...)
    when they are not all decimal numbers"""
    missing = None, None, None, None
    if mode == PACKAGE:
        table = _package_table(tiers)
        price = _exact_price(unit_price, decimal)
        if price is None or (decimal and table.decimal is None):
            return missing
        return table, price, None, None
    if tiers:
        if mode not in TIER_MODES:
            raise ValueError(
                f"unknown mode {mode!r}, expected {PRICE_MODES}")
        if isinstance(tiers, PackageTable):
            raise ValueError(
                f"a PackageTable prices the package mode, not {mode!r}")
        table = tiers if isinstance(tiers, TierTable) else TierTable(tiers)
        if not decimal:
            return table, None, None, table.exact_prices
        if table.decimal is None:
            return missing
        ceilings, prices = table.decimal
        return table, None, ceilings, prices
    price = _exact_price(unit_price, decimal)
    if price is None:
        return missing
    return _NO_TABLE, price, None, None


def _exact_price(unit_price, decimal):
    """The unit price as a Fraction, or a Decimal (decimal; None when it
    is not a decimal number); money is never a float (TypeError)"""
    if decimal:
        if type(unit_price) is Decimal and unit_price.is_finite():
            return unit_price
        if type(unit_price) is int:
            return Decimal(unit_price)
        # The errors of _fraction, or a Fraction: priced in Fractions
        _fraction(unit_price, 'unit_price')
        return None
    return _fraction(unit_price, 'unit_price')


def _package_table(tiers):
    "The PackageTable of the tiers argument of price_in_order in package"
    if isinstance(tiers, PackageTable):
        return tiers
    if tiers is None or isinstance(tiers, (TierTable, list, tuple)):
        raise ValueError(
            "the package mode takes a PackageTable (its block size), "
            "not tiers")
    return PackageTable(tiers)


def merged_slices(parts):
    """The slices of parts (see price_in_order) merged per tier, in the
    order of the tiers: what a description shows"""
    if len(parts) == 1 and len(parts[0]) == 1:
        # A day's usage in one tier (the most frequent window)
        quantity, price, _ = parts[0][0]
        if type(quantity) in (Fraction, Decimal):
            return [(quantity, price)]
    try:
        with exact_context():
            merged = _merged(parts, 0)
    except Inexact:
        merged = _merged(parts, Fraction(0), _quantity)
    slices = [(q, p) for (_, p), q in sorted(merged.items(),
            key=lambda i: i[0][0]) if q]
    if not slices and merged:
        (_, price), quantity = next(iter(merged.items()))
        slices = [(quantity, price)]
    return slices


def _merged(parts, zero, number=None):
    "{(tier index or -1, price): quantity} of merged_slices"
    merged = {}
    for part in parts:
        for quantity, price, index in part:
            key = (-1 if index is None else index, price)
            if number is not None:
                quantity = number(quantity)
            merged[key] = merged.get(key, zero) + quantity
    return merged


def tiered_amount(quantity, tiers, mode='graduated', already_used=0,
        rounding=Decimal('0.01')):
    """Price quantity with tiers, after already_used in the same phase.

    'graduated': the usage slice [already_used, already_used + quantity) is
    billed at the price of each tier it crosses.
    'volume': quantity is billed at the price of the tier in which the
    cumulative total already_used + quantity falls (tier bounds inclusive).
    """
    slices = tier_slices(quantity, tiers, mode, already_used)
    return round_money(_slices_exact(slices), rounding)


def _slices_exact(slices):
    return sum(
        (q * _fraction(p, 'unit_price') for q, p in slices), Fraction(0))


def price_usage(quantity, unit_price, rounding, tiers=None,
        mode='graduated', already_used=0):
    """Amount and slices of a consumed quantity, rounded once.

    Without tiers: quantity × unit_price in one slice. With tiers (a list
    of Tier): see tier_slices; unit_price is then not used.
    Return (amount, [(quantity, unit_price)]).
    """
    if tiers:
        slices = tier_slices(quantity, tiers, mode, already_used)
    else:
        quantity = _quantity(quantity)
        if quantity < 0:
            raise ValueError("quantity must not be negative")
        _fraction(unit_price, 'unit_price')
        slices = [(quantity, unit_price)]
    return round_money(_slices_exact(slices), rounding), slices


def describe_usage(quantity, unit_label, slices, package_size=None):
    """Describe a usage price, e.g. "1250 GB × 0.05" or, across tiers,
    "1250 GB: 1000 × 0.05 + 250 × 0.04".

    With package_size, slices are blocks (one slice: merged_slices of a
    package part): "2500 calls: 3 blocks of 1000 × 5".
    """
    head = usage_head(quantity, unit_label)
    if package_size is not None:
        blocks = sum((_quantity(q) for q, _ in slices), Fraction(0))
        price = slices[0][1] if slices else 0
        noun = 'block' if blocks == 1 else 'blocks'
        return (f"{head}: {_format_quantity(blocks)} {noun} of "
            f"{_format_quantity(package_size)} × {_format_price(price)}")
    if len(slices) == 1 and _same_quantity(slices[0][0], quantity):
        return f"{head} × {_format_price(slices[0][1])}"
    return head + ': ' + ' + '.join(
        f"{_format_quantity(q)} × {_format_price(p)}" for q, p in slices)


def usage_head(quantity, unit_label):
    "The head of describe_usage: the quantity and its unit, e.g. '1250 GB'"
    head = _format_quantity(quantity)
    return f"{head} {unit_label}" if unit_label else head


def _same_quantity(a, b):
    "a == b as exact quantities (a float as its shortest decimal)"
    if type(a) in _EXACT_TYPES and type(b) in _EXACT_TYPES:
        # Decimal and Fraction compare exactly
        return a == b
    return _quantity(a) == _quantity(b)


_EXACT_TYPES = frozenset([Decimal, Fraction, int])


def _format_price(price):
    if type(price) is Decimal:
        # The few prices of a rating, each worded once
        text = _PRICE_TEXTS.get(price)
        if text is None:
            if len(_PRICE_TEXTS) > 1024:
                _PRICE_TEXTS.clear()
            text = _PRICE_TEXTS[price] = format(price.normalize(), 'f')
        return text
    if isinstance(price, Decimal):
        return format(price.normalize(), 'f')
    return _format_quantity(price)


# The text of a Decimal price (by value: equal prices read the same)
_PRICE_TEXTS = {}

