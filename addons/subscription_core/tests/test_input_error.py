# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Tests of the coded input error and the shortening of quoted values
(subscription_core.input_error), the one home of what the parsers of the
routes and imports share.

Pure Python: runs with pytest or plain unittest, no database needed.
"""
import pathlib
import sys
import unittest

from hypothesis import given, strategies as st

try:
    import subscription_core  # noqa: F401
except ImportError:
    # Not installed: import the plain-Python files from their folder
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))
from subscription_core.input_error import CodedInputError, short


class InputErrorTestCase(unittest.TestCase):

    def test_code_and_params(self):
        error = CodedInputError('day', name='start', value='2026-13-01')
        self.assertIsInstance(error, ValueError)
        self.assertEqual(error.code, 'day')
        self.assertEqual(error.params, {'name': 'start', 'value': '2026-13-01'})

    def test_parsers_share_it(self):
        "The parsers' errors are coded input errors"
        from billing_usage.payload import EventInputError
        from billing_usage.row_query import QueryError
        from cloud_pricing.price_request import RequestError
        for error_class in [EventInputError, QueryError, RequestError]:
            self.assertTrue(issubclass(error_class, CodedInputError))

    def test_short(self):
        for value, quote, expected in [
                ('abc', False, 'abc'),
                ('abc', True, "'abc'"),
                ('x' * 40, False, 'x' * 40),
                ('x' * 41, False, 'x' * 40 + '…'),
                (None, False, 'None'),
                (12, True, '12'),
                ]:
            with self.subTest(value=value, quote=quote):
                self.assertEqual(short(value, quote=quote), expected)

    @given(st.one_of(st.text(), st.integers(), st.floats()),
        st.integers(min_value=1, max_value=100), st.booleans())
    def test_short_bounded(self, value, size, quote):
        text = short(value, size, quote)
        self.assertLessEqual(len(text), size + 1)
        full = repr(value) if quote else str(value)
        if len(full) <= size:
            self.assertEqual(text, full)
        else:
            self.assertEqual(text, full[:size] + '…')
