# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Money and quantity numbers for the billing arithmetic, as plain Python.

Conventions of every billing file (``period``, ``charge``, ``tier``,
``usage_window``):

* money is ``Decimal`` (never float), shares are ``fractions.Fraction``;
* computations stay exact and are rounded ONCE at the end with the currency
  rounding passed in (e.g. ``Decimal('0.01')``) using ROUND_HALF_EVEN, the
  default rounding mode of Tryton currencies.
* the usage rating sums and multiplies decimal quantities as ``Decimal``
  under ``EXACT`` (a context that raises ``decimal.Inexact`` instead of
  rounding), which is exact like ``Fraction`` and many times faster; a
  computation that would need more digits raises, and its caller does it
  again with Fractions.
"""
from contextlib import nullcontext
from decimal import (
    ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, Inexact,
    InvalidOperation, Overflow, getcontext, localcontext)
from fractions import Fraction

__all__ = ['round_money', 'money_rounding', 'split_amount', 'EXACT',
    'exact_context']

# Decimal arithmetic that is exact or raises Inexact: enough digits for the
# quantities and prices of the bounds (10**9 with the decimals a float
# keeps) times each other, summed over a month
EXACT = Context(prec=80, rounding=ROUND_HALF_EVEN,
    traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
# Rounding a Decimal amount once (quantize): the digits of any amount
_QUANTIZE = Context(prec=200, rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow])


def exact_context():
    """A context manager for exact Decimal arithmetic: EXACT, unless the
    current context already raises on Inexact"""
    if getcontext().traps[Inexact]:
        return nullcontext()
    return localcontext(EXACT)


def _fraction(value, name='value', allow_float=False):
    "Exact Fraction of an int, Decimal or Fraction (float only if allowed)."
    if type(value) is Fraction:
        # Immutable: the value itself (the hot path of the rating)
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not bool")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be finite: {value!r}")
        return Fraction(value)
    if isinstance(value, float):
        if not allow_float:
            raise TypeError(f"{name} must be Decimal, not float: {value!r}")
        # Tryton quantities are Float fields: take the shortest decimal
        # representation (0.1 -> 1/10), not the binary approximation.
        return Fraction(Decimal(repr(value)))
    raise TypeError(f"{name} must be a number: {value!r}")


def _quantity(value, name='quantity'):
    return _fraction(value, name, allow_float=True)


def _decimal_quantity(value, name='quantity'):
    """Exact Decimal of a quantity (a float as its shortest representation,
    as _quantity), or None for a Fraction that has none (1/3)"""
    kind = type(value)
    if kind is float:
        value = Decimal(repr(value))
    elif kind is Decimal:
        pass
    elif kind is int:
        return Decimal(value)
    elif kind is Fraction:
        return _fraction_decimal(value)
    else:
        # bool, str...: the errors of _quantity
        return _decimal_quantity(_fraction(value, name, allow_float=True))
    if not value.is_finite():
        raise ValueError(f"{name} must be finite: {value!r}")
    return value


def _fraction_decimal(value):
    """The Decimal equal to a Fraction (3/2: 1.5, 6: 6), or None when it
    has no finite decimal representation or more digits than EXACT"""
    try:
        with localcontext(EXACT):
            return Decimal(value.numerator) / Decimal(value.denominator)
    except Inexact:
        return None


def _number(value, name='quantity'):
    """The exact number of a quantity for the sums of the rating: a
    Fraction as is, anything else a Decimal (to be summed under EXACT)"""
    if type(value) is Fraction:
        return value
    return _decimal_quantity(value, name)


def _add(a, b):
    """a + b exactly: in Decimals under EXACT, in Fractions when one is a
    Fraction and the other a Decimal or the sum needs more digits"""
    try:
        with exact_context():
            return a + b
    except (TypeError, Inexact):
        return _quantity(a) + _quantity(b)


def _rounding(rounding):
    if not isinstance(rounding, Decimal):
        if isinstance(rounding, (int, str)) and not isinstance(
                rounding, bool):
            rounding = Decimal(rounding)
        else:
            raise TypeError(f"rounding must be Decimal: {rounding!r}")
    if not rounding.is_finite() or rounding <= 0:
        raise ValueError(f"rounding must be positive: {rounding!r}")
    return rounding


def _from_units(units, rounding):
    "Decimal of units × rounding, with the rounding's number of decimals."
    _, digits, exponent = rounding.as_tuple()
    if (digits == (1,) and exponent <= 0 and -10**27 < units < 10**27
            and getcontext().prec >= 28):
        # A power of ten (0.01): units at its exponent, as below
        return Decimal(units).scaleb(exponent)
    exponent = min(exponent, 0)
    with localcontext() as ctx:
        ctx.prec = max(28, len(str(abs(units))) + len(rounding.as_tuple()[1])
            + 2)
        return (Decimal(units) * rounding).quantize(
            Decimal(1).scaleb(exponent))


def round_money(value, rounding):
    """Round value (Fraction, Decimal or int) to a multiple of rounding.

    Uses ROUND_HALF_EVEN on the exact value (a single rounding step).
    """
    rounding = _rounding(rounding)
    if type(value) is Decimal and _power_of_ten(rounding):
        result = _quantized(value, rounding)
        if result is not None:
            return result
    step = _STEPS.get(rounding)
    if step is None:
        step = _STEPS[rounding] = Fraction(rounding)
        if len(_STEPS) > 64:
            _STEPS.clear()
    units = round(_fraction(value) / step)  # half-even
    return _from_units(units, rounding)


# Fraction of the roundings met (a currency's rounding, for every amount)
_STEPS = {}


def _power_of_ten(rounding):
    """A rounding written as a power of ten (0.01, 1, 1E-6; not 0.010 or
    10): quantizing to it gives the Decimal _from_units gives"""
    _, digits, exponent = rounding.as_tuple()
    return digits == (1,) and exponent <= 0


def _quantized(value, rounding):
    """round_money of an exact Decimal (EXACT's sum) to a _power_of_ten
    rounding: quantized once (half-even); None for a value too large"""
    if value.is_finite() and value.adjusted() < 100:
        result = value.quantize(rounding, ROUND_HALF_EVEN, _QUANTIZE)
        # round() gives 0 for a tiny negative amount, not -0
        return result.copy_abs() if result.is_zero() else result


def money_rounding(rounding):
    """round_money with rounding checked once: a function of the exact
    amount (the rating rounds each window of a line)"""
    rounding = _rounding(rounding)
    if not _power_of_ten(rounding):
        return lambda value: round_money(value, rounding)

    def round_(value):
        if type(value) is Decimal:
            result = _quantized(value, rounding)
            if result is not None:
                return result
        return round_money(value, rounding)
    return round_



# ---------------------------------------------------------------------------
# Distribution of an amount
# ---------------------------------------------------------------------------

def split_amount(total, weights, rounding):
    """Split total across weights so that the parts sum exactly to total.

    Largest-remainder method on rounding units (ties go to the first
    weight); each part is within one unit of its exact share.  A negative
    total is split like its opposite and negated.  total must be a multiple
    of rounding and the weights non-negative with a positive sum.
    """
    rounding = _rounding(rounding)
    weights = [_quantity(w, 'weight') for w in weights]
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights, Fraction(0))
    if not weights or weight_sum <= 0:
        raise ValueError("the sum of weights must be positive")
    units = _fraction(total, 'total') / Fraction(rounding)
    if units.denominator != 1:
        raise ValueError(f"total {total} is not a multiple of {rounding}")
    units = int(units)
    sign, units = (-1 if units < 0 else 1), abs(units)
    exact = [units * w / weight_sum for w in weights]
    parts = [e.numerator // e.denominator for e in exact]
    left = units - sum(parts)
    order = sorted(
        range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return [_from_units(sign * p, rounding) for p in parts]



# ---------------------------------------------------------------------------
# Human description
# ---------------------------------------------------------------------------

def _format_quantity(quantity):
    if isinstance(quantity, int) and not isinstance(quantity, bool):
        return str(quantity)
    if type(quantity) is Decimal and quantity.is_finite():
        # As below without a Fraction: whole numbers without exponent
        if quantity == quantity.to_integral_value():
            return str(int(quantity))
        return format(quantity.normalize(), 'f')
    value = _quantity(quantity)
    if value.denominator == 1:
        return str(value.numerator)
    if isinstance(quantity, Fraction):
        # Not always a finite decimal (1/3): its 28 digits (a default
        # context, whatever the caller's, EXACT included)
        with localcontext(Context()):
            decimal = Decimal(value.numerator) / Decimal(value.denominator)
        if Fraction(decimal) != value:
            return str(quantity)
        quantity = decimal
    elif isinstance(quantity, float):
        quantity = Decimal(repr(quantity))
    return format(quantity.normalize(), 'f')

