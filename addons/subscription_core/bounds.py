# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""What a value sent by a client may be: its type, finiteness and bounds.

Plain Python, no ORM: ``rpc.py`` checks the arguments of every create, write,
button and wizard call of the two modules against these rules before trytond
sees them, and the models check their business bounds (``Bound``) in
``validate_fields`` with ``check_bound`` and ``check_order``.

JSON-RPC decodes ``NaN`` and ``Infinity`` into floats and trytond's decoder
turns ``{"__class__": "Decimal", "decimal": "NaN"}`` into ``Decimal('NaN')``:
they compare false with everything, so ``value < 0`` lets them through, and
they crash deep in trytond (digits, SQL). Dates near ``date.max`` overflow as
soon as a duration is added to them.
"""
import datetime
import math
from collections import namedtuple
from decimal import Decimal

# Any number a client sends (amounts, prices, quantities) stays below this
# magnitude: a float keeps its unit digit up to 2**53.
NUMBER_MAX = 10 ** 15
# Decimal places a number may carry: PostgreSQL's numeric stores at most
# 16383 (Decimal('1E-999999') overflows it), and no price needs more.
DECIMAL_PLACES_MAX = 1_000
# An Integer column is a 32-bit integer in PostgreSQL.
INTEGER_MIN, INTEGER_MAX = -2 ** 31, 2 ** 31 - 1
# Record ids are positive 32-bit integers.
ID_MAX = 2 ** 31 - 1
# Dates a business document may carry: far enough from date.min/date.max
# that adding the longest duration below cannot overflow.
DATE_MIN = datetime.date(1900, 1, 1)
DATE_MAX = datetime.date(2999, 12, 31)
DATETIME_MIN = datetime.datetime(1900, 1, 1)
DATETIME_MAX = datetime.datetime(2999, 12, 31, 23, 59, 59)
# Texts without a size of their own
CHAR_MAX = 1_000
TEXT_MAX = 100_000

# The business bounds of the modules' settings and values
Bound = namedtuple('Bound', ['minimum', 'maximum'])
QUANTITY = Bound(0, 10 ** 9)
PRICE = Bound(0, 10 ** 9)
AMOUNT = Bound(0, 10 ** 12)
RATIO = Bound(0, 1)
# Durations: at most ten years, in days, hours or seconds
DAYS = Bound(0, 3650)
HOURS = Bound(0, 3650 * 24)
SECONDS = Bound(0, 24 * 60 * 60)
DURATION = Bound(datetime.timedelta(0), datetime.timedelta(days=3650))
COUNT = Bound(0, 10 ** 6)


def is_number(value):
    return (isinstance(value, (int, float, Decimal))
        and not isinstance(value, bool))


def is_finite(value):
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, float):
        return math.isfinite(value)
    return True


def _text_error(value):
    "'text' for a text with a NUL character or that is not valid unicode"
    if '\x00' in value:
        return 'text'
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return 'text'
    return None


def check_value(kind, value, size=None):
    """The error code of value for a field of type kind, or None

    kind is the trytond field type (``fields_get``'s ``type``); size the
    field's size for texts. The codes: 'type' (not a value of the field's
    type), 'not_finite', 'range' (beyond the bounds of any such value),
    'too_long', 'text' (a NUL character or text that is not valid unicode).
    """
    if value is None:
        return None
    if kind in {'float', 'numeric'}:
        if not is_number(value):
            return 'type'
        if not is_finite(value):
            return 'not_finite'
        if abs(value) > NUMBER_MAX:
            return 'range'
        if (isinstance(value, Decimal)
                and value.as_tuple().exponent < -DECIMAL_PLACES_MAX):
            return 'range'
    elif kind == 'integer':
        if not isinstance(value, int) or isinstance(value, bool):
            return 'type'
        if not INTEGER_MIN <= value <= INTEGER_MAX:
            return 'range'
    elif kind in {'char', 'text'}:
        if not isinstance(value, str):
            return 'type'
        maximum = size if size else (CHAR_MAX if kind == 'char' else TEXT_MAX)
        if len(value) > maximum:
            return 'too_long'
        return _text_error(value)
    elif kind == 'date':
        if (not isinstance(value, datetime.date)
                or isinstance(value, datetime.datetime)):
            return 'type'
        if not DATE_MIN <= value <= DATE_MAX:
            return 'range'
    elif kind in {'datetime', 'timestamp'}:
        if not isinstance(value, datetime.datetime):
            return 'type'
        if not DATETIME_MIN <= value.replace(tzinfo=None) <= DATETIME_MAX:
            return 'range'
    elif kind == 'timedelta':
        if not isinstance(value, datetime.timedelta):
            return 'type'
        if abs(value) > DURATION.maximum:
            return 'range'
    elif kind == 'time':
        if not isinstance(value, datetime.time):
            return 'type'
    elif kind == 'boolean':
        if not isinstance(value, bool):
            return 'type'
    elif kind == 'many2one':
        # No record has id 0 (trytond's root user is not a target here);
        # sent as a value, trytond could not name the missing record and
        # the foreign key error escaped as a server fault (make fuzz)
        return check_id(value) or ('range' if value == 0 else None)
    elif kind in {'selection'}:
        if not isinstance(value, str):
            return 'type'
        if len(value) > CHAR_MAX:
            return 'too_long'
        # trytond checks the key after PostgreSQL refused the NUL (make
        # fuzz: a server fault on the state of invoices and moves)
        return _text_error(value)
    elif kind == 'multiselection':
        if (not isinstance(value, (list, tuple))
                or not all(isinstance(v, str) for v in value)):
            return 'type'
    elif kind == 'reference':
        if isinstance(value, (list, tuple)):
            if len(value) != 2 or not isinstance(value[0], str):
                return 'type'
            return check_id(value[1]) if value[1] != -1 else None
        # 'model,id' ('model,-1': a model without record); '' is refused:
        # trytond stores it and then fails to read it back
        if not isinstance(value, str) or value.count(',') != 1:
            return 'type'
        model, id_ = value.split(',')
        if not model or id_ != '-1' and (
                not id_.isdigit() or check_id(int(id_))):
            return 'type'
    elif kind == 'binary':
        if not isinstance(value, (bytes, bytearray)):
            return 'type'
    elif kind == 'dict':
        if not isinstance(value, dict):
            return 'type'
    return None


def check_id(value):
    "The error code of a record id, or None"
    if not isinstance(value, int) or isinstance(value, bool):
        return 'type'
    if not 0 <= value <= ID_MAX:
        return 'range'
    return None


def check_ids(value):
    "The error code of a list of record ids, or None"
    if not isinstance(value, (list, tuple)):
        return 'type'
    for id_ in value:
        code = check_id(id_)
        if code:
            return code
    return None


def check_bound(value, bound):
    """The error code of value for bound, or None

    'not_finite', 'below' or 'above'; None is left to ``required``.
    """
    if value is None:
        return None
    if not is_finite(value):
        return 'not_finite'
    if bound.minimum is not None and value < bound.minimum:
        return 'below'
    if bound.maximum is not None and value > bound.maximum:
        return 'above'
    return None


def check_order(start, end):
    "Whether start comes no later than end (either may be missing)"
    return start is None or end is None or start <= end
