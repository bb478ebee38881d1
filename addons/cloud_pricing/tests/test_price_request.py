# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The request of the price route read as plain Python: table and property
tests (no database)."""
import json
import unittest
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from subscription_core.tests.arithmetic import json_values
from cloud_pricing.price_request import (
    MAX_BODY, RequestError, price_answer, read_request)
from cloud_pricing.pricing import LineItem

BODY = {'service': 'nextcloud', 'provider': 'exoscale', 'sla': 'guaranteed',
    'plan': 'standard-8', 'spec': {'spec': {'parameters': {'instances': 2}}}}


def body(**values):
    data = dict(BODY, **values)
    return json.dumps({k: v for k, v in data.items() if v is not ...})


class PriceRequestTestCase(unittest.TestCase):

    def test_read(self):
        request = read_request('application/json; charset=utf-8',
            body(instance='acme', spec={'a': 1.5}).encode())
        self.assertEqual(request['instance'], 'acme')
        self.assertEqual(request['spec'], {'a': Decimal('1.5')})
        self.assertEqual(read_request('application/json',
                body().encode())['instance'], '')
        self.assertIsNone(read_request('application/json',
                body().encode())['organization'])
        self.assertEqual(read_request('application/json',
                body(organization='ORG-1').encode())['organization'],
            'ORG-1')

    def test_refused(self):
        for content_type, data, code in [
                ('text/plain', body(), 'body_type'),
                (None, body(), 'body_type'),
                ('application/json', body(spec='x' * MAX_BODY), 'body_size'),
                ('application/json', '{"service": NaN}', 'body_json'),
                ('application/json', '{"service": Infinity}', 'body_json'),
                ('application/json', '{', 'body_json'),
                ('application/json', b'\xff\xfe', 'body_json'),
                ('application/json', '[' * 100_000, 'body_json'),
                ('application/json', '1' * 5000, 'body_json'),
                ('application/json', '[]', 'body_shape'),
                ('application/json', body(x=1), 'body_key'),
                ('application/json', body(plan=...), 'body_missing'),
                ('application/json', body(spec=...), 'body_missing'),
                ('application/json', body(plan=''), 'body_name'),
                ('application/json', body(plan=' a'), 'body_name'),
                ('application/json', body(plan='a\x00'), 'body_name'),
                ('application/json', body(plan='\ud800'), 'body_name'),
                ('application/json', body(plan='x' * 101), 'body_name'),
                ('application/json', body(plan=8), 'body_name'),
                ('application/json', body(instance=[]), 'body_name'),
                ('application/json', body(organization=1), 'body_name'),
                ('application/json', body(organization=''), 'body_name'),
                ('application/json', body(spec=[]), 'body_spec'),
                ('application/json', body(spec='{}'), 'body_spec'),
                ]:
            with self.subTest(content_type=content_type, data=str(data)[:40]):
                with self.assertRaises(RequestError) as cm:
                    read_request(content_type, data if isinstance(data, bytes)
                        else data.encode('utf-8', 'surrogatepass'))
                self.assertEqual(cm.exception.code, code)

    def test_answer(self):
        lines = [LineItem('compute', 'p', Decimal(2), Decimal('80.00'),
                Decimal('160.00'), "Compute", 'g', key='compute:x'),
            LineItem('csp', 'q', Decimal('0.5'), Decimal('3.5'),
                Decimal('1.75'), "IP", 'g', key='csp:ip')]
        answer = price_answer(read_request('application/json',
                body().encode()), lines, 'USD', False)
        self.assertEqual(answer['items'], [
                {'productID': 'p', 'value': 2, 'itemDescription': 'Compute',
                    'itemGroupDescription': 'g', 'kind': 'compute',
                    'unitPrice': '80.00', 'amount': '160.00'},
                {'productID': 'q', 'value': '0.5', 'itemDescription': 'IP',
                    'itemGroupDescription': 'g', 'kind': 'csp',
                    'unitPrice': '3.5', 'amount': '1.75'}])
        self.assertEqual((answer['total'], answer['currency']),
            ('161.75', 'USD'))
        json.dumps(answer, allow_nan=False)
        self.assertNotIn('annotations', answer)

    def test_answer_annotations(self):
        "Naming an organization, its annotations go with its code"
        request = read_request('application/json',
            body(organization='ORG-1').encode())
        annotations = {'billing.servala.com/items': '[]',
            'billing.servala.com/salesOrderID': 'SO-1'}
        answer = price_answer(request, [], 'USD', False, annotations)
        self.assertEqual(answer['organization'], 'ORG-1')
        self.assertEqual(answer['annotations'], annotations)

    @settings(max_examples=300, deadline=None)
    @given(json_values(text_size=120, key_size=20, dict_size=8,
            max_leaves=40),
        st.sampled_from(sorted(BODY) + ['instance', 'organization']))
    def test_anything_is_read_or_refused(self, value, key):
        "Whatever is sent, the request is read or refused with a code"
        for data in [json.dumps(value), body(**{key: value})]:
            try:
                request = read_request('application/json',
                    data.encode('utf-8', 'surrogatepass'))
            except RequestError as error:
                self.assertTrue(error.code)
            else:
                self.assertEqual(set(request), {'service', 'provider',
                        'sla', 'plan', 'instance', 'organization', 'spec'})
                self.assertIsInstance(request['spec'], dict)
