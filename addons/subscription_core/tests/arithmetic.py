# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""What the tests of the plain-Python billing files share: short names,
dates from text and the hypothesis strategies.

No ORM: the pure tests import it as ``subscription_core.tests.arithmetic``
with or without trytond.
"""
import datetime as dt
from decimal import Decimal

from hypothesis import settings, strategies as st

D = Decimal
CENT = D('0.01')

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None)

DATES = st.dates(
    min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))
ROUNDINGS = st.sampled_from([D('0.01'), D('0.05'), D('1'), D('0.001')])
PRICES = st.decimals(
    min_value=0, max_value=10000, places=4, allow_nan=False,
    allow_infinity=False)
# Limits: whole or with decimals
QUANTITIES = st.one_of(
    st.integers(min_value=0, max_value=1000),
    st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False,
        allow_infinity=False))
# Consumed quantities
USAGE_QUANTITIES = st.decimals(
    min_value=0, max_value=10000, places=3, allow_nan=False,
    allow_infinity=False)


def d(text):
    "Date from ISO text."
    return dt.date.fromisoformat(text)


def json_values(text_size=300, key_size=70, dict_size=40, max_leaves=60):
    """Any JSON value a hostile client sends (floats with NaN and the
    infinities, huge integers, nested lists and objects): for the readers
    of request bodies"""
    return st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers()
        | st.text(max_size=text_size),
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=key_size), children,
            max_size=dict_size),
        max_leaves=max_leaves)
