# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Money and quantity numbers for the billing arithmetic, as plain Python.

Conventions of every billing file (``period``, ``charge``, ``tier``,
``usage_window``):

* money is ``Decimal`` (never float), shares are ``fractions.Fraction``;
* computations stay exact and are rounded ONCE at the end with the currency
  rounding passed in (e.g. ``Decimal('0.01')``) using ROUND_HALF_EVEN, the
  default rounding mode of Tryton currencies.
"""
from decimal import Decimal, getcontext, localcontext
from fractions import Fraction

__all__ = ['round_money', 'split_amount']


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
    step = _STEPS.get(rounding)
    if step is None:
        step = _STEPS[rounding] = Fraction(rounding)
        if len(_STEPS) > 64:
            _STEPS.clear()
    units = round(_fraction(value) / step)  # half-even
    return _from_units(units, rounding)


# Fraction of the roundings met (a currency's rounding, for every amount)
_STEPS = {}



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
        # Not always a finite decimal (1/3)
        decimal = Decimal(value.numerator) / Decimal(value.denominator)
        if Fraction(decimal) != value:
            return str(quantity)
        quantity = decimal
    elif isinstance(quantity, float):
        quantity = Decimal(repr(quantity))
    return format(quantity.normalize(), 'f')

