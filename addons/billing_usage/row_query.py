# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The parameters of the routes of the daily rows, read as plain Python.

``GET /<database>/billing_usage/rows?start=YYYY-MM-DD&end=YYYY-MM-DD``,
``GET /<database>/billing_usage/rows/<YYYY-MM>`` and ``POST
/<database>/billing_usage/generate?start=&end=`` take half-open ranges of
UTC days ``[start, end)``. The readers return Python values or raise
``QueryError`` whose ``code`` and ``params`` the route turns into a
translated message (``billing_usage.msg_rows_<code>``) and a 4xx answer.
"""
import datetime as _dt
import re

from subscription_core.input_error import CodedInputError
from subscription_core.input_error import short as _short

__all__ = ['QueryError', 'MAX_DAYS', 'MAX_GENERATE_DAYS', 'FILTERS',
    'read_day', 'read_range', 'read_month', 'read_filters']

# Days a read may cover (a year), and a generation (a quarter)
MAX_DAYS = 366
MAX_GENERATE_DAYS = 93
# The filters of the read and the longest value they take
FILTERS = ('subscription', 'customer', 'metric')
FILTER_SIZE = 255

_DAY = re.compile(r'\d{4}-\d{2}-\d{2}')
_MONTH = re.compile(r'(\d{4})-(\d{2})')


class QueryError(CodedInputError):
    "A parameter that cannot be read; code names the rule, params its values"


def read_day(value, name):
    "The date of a parameter YYYY-MM-DD (exactly that form)"
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise QueryError('day', name=name, value=_short(value))
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise QueryError('day', name=name, value=_short(value))


def read_range(start, end, max_days=MAX_DAYS):
    """(start, end) dates of the half-open range of two parameters; an
    empty range (end = start) is allowed, end before start is not"""
    if start is None:
        raise QueryError('missing', name='start')
    if end is None:
        raise QueryError('missing', name='end')
    start, end = read_day(start, 'start'), read_day(end, 'end')
    if end < start:
        raise QueryError('end_before_start', start=start, end=end)
    if (end - start).days > max_days:
        raise QueryError('too_long', start=start, end=end,
            days=(end - start).days, max_days=max_days)
    return start, end


def read_month(value):
    "(first day, first day of the next month) of a parameter YYYY-MM"
    match = _MONTH.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise QueryError('month', value=_short(value))
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= year <= 9998 and 1 <= month <= 12):
        raise QueryError('month', value=_short(value))
    start = _dt.date(year, month, 1)
    following = (start + _dt.timedelta(days=31)).replace(day=1)
    return start, following


def read_filters(args):
    """{name: value} of the filters among args (a mapping of query
    parameters): a filter given twice, empty, too long or with a control
    character is refused"""
    filters = {}
    for name in FILTERS:
        values = args.getlist(name) if hasattr(args, 'getlist') else (
            [args[name]] if name in args else [])
        if not values:
            continue
        if len(values) > 1:
            raise QueryError('filter_twice', name=name)
        value, = values
        if (not value or len(value) > FILTER_SIZE
                or any(ord(c) < 32 or 0xd800 <= ord(c) <= 0xdfff
                    for c in value)):
            raise QueryError('filter', name=name, value=_short(value))
        filters[name] = value
    return filters
