# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Reading the events a producer sends (payload.py), in milliseconds"""
import datetime as dt
import json
import unittest
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from subscription_core.tests.arithmetic import json_values
from billing_usage.payload import (
    MAX_EVENTS, BodyError, EventInputError, parse_body, property_number,
    read_event, read_timestamp)

NATIVE = {
    'transaction_id': 'tx-1',
    'subscription': 'SUB1',
    'metric': 'api_calls',
    'timestamp': '2026-12-01T13:30:00Z',
    'properties': {'flavor': 'm1.small', 'gib': 2.5},
    }
CLOUDEVENT = {
    'specversion': '1.0',
    'id': 'tx-1',
    'source': '/openmeter',
    'subject': 'SUB1',
    'type': 'api_calls',
    'time': '2026-12-01T14:30:00+01:00',
    'data': {'flavor': 'm1.small', 'gib': 2.5},
    }
EXPECTED = {
    'transaction_id': 'tx-1',
    'subscription': 'SUB1',
    'metric': 'api_calls',
    'timestamp': dt.datetime(2026, 12, 1, 13, 30),
    'properties': {'flavor': 'm1.small', 'gib': 2.5},
    }


def code(item):
    try:
        read_event(item)
    except EventInputError as error:
        return error.code
    return None


class ReadEventTestCase(unittest.TestCase):

    def test_native_and_cloudevent(self):
        "A CloudEvent reads as the native event: id, subject, type, time"
        self.assertEqual(read_event(NATIVE), EXPECTED)
        self.assertEqual(read_event(CLOUDEVENT), EXPECTED)

    def test_refused(self):
        "Each malformed event names what is wrong"
        cases = [
            ('not an object', ['x'], 'not_object'),
            ('unknown key', dict(NATIVE, quantity=1), 'unknown_key'),
            ('no id', dict(NATIVE, transaction_id=None), 'transaction_id'),
            ('empty id', dict(NATIVE, transaction_id=''), 'transaction_id'),
            ('long id', dict(NATIVE, transaction_id='x' * 256),
                'transaction_id'),
            ('id with NUL', dict(NATIVE, transaction_id='a\x00'),
                'transaction_id'),
            ('number as id', dict(NATIVE, transaction_id=5), 'transaction_id'),
            ('no subscription', dict(NATIVE, subscription=None),
                'subscription_text'),
            ('metric a list', dict(NATIVE, metric=['a']), 'metric_text'),
            ('no time', dict(NATIVE, timestamp=None), 'timestamp'),
            ('bad time', dict(NATIVE, timestamp='yesterday'), 'timestamp'),
            ('time a number', dict(NATIVE, timestamp=1700000000),
                'timestamp'),
            ('year 9999', dict(NATIVE, timestamp='9999-12-31T23:59:59Z'),
                'timestamp'),
            ('properties a list', dict(NATIVE, properties=[1]),
                'properties_type'),
            ('NaN', dict(NATIVE, properties={'gib': float('nan')}),
                'property_number'),
            ('inf', dict(NATIVE, properties={'gib': float('inf')}),
                'property_number'),
            ('Decimal NaN', dict(NATIVE, properties={'gib': Decimal('NaN')}),
                'property_number'),
            ('huge', dict(NATIVE, properties={'gib': 10 ** 16}),
                'property_number'),
            ('nested', dict(NATIVE, properties={'gib': {'a': 1}}),
                'property_type'),
            ('long text', dict(NATIVE, properties={'a': 'x' * 256}),
                'property_text'),
            ('long key', dict(NATIVE, properties={'k' * 65: 1}),
                'property_key'),
            ('too many', dict(NATIVE, properties={
                        str(i): i for i in range(33)}), 'properties_many'),
            ('CloudEvents 0.3', dict(CLOUDEVENT, specversion='0.3'),
                'cloudevent_version'),
            ('CloudEvent XML data', dict(
                    CLOUDEVENT, datacontenttype='application/xml'),
                'cloudevent_content_type'),
            ]
        for name, item, expected in cases:
            with self.subTest(name):
                self.assertEqual(code(item), expected)

    def test_no_properties(self):
        self.assertEqual(read_event(dict(NATIVE, properties=None))[
                'properties'], {})

    def test_timestamp(self):
        "Offsets are turned to UTC; a naive time is taken as UTC"
        for value, expected in [
                ('2026-12-01T13:30:00Z', dt.datetime(2026, 12, 1, 13, 30)),
                ('2026-12-01T23:30:00-02:00', dt.datetime(2026, 12, 2, 1, 30)),
                ('2026-12-01T13:30:00', dt.datetime(2026, 12, 1, 13, 30)),
                (dt.datetime(2026, 12, 1, 13, 30, tzinfo=dt.timezone.utc),
                    dt.datetime(2026, 12, 1, 13, 30)),
                ]:
            with self.subTest(value=value):
                self.assertEqual(read_timestamp(value), expected)

    def test_property_number(self):
        self.assertEqual(property_number({'gib': 2.5}, 'gib'), Decimal('2.5'))
        self.assertEqual(property_number({'gib': 3}, 'gib'), Decimal(3))
        for properties, expected in [
                ({}, 'property_missing'),
                ({'gib': None}, 'property_missing'),
                ({'gib': '2'}, 'property_not_number'),
                ({'gib': True}, 'property_not_number'),
                ({'gib': -1}, 'property_negative'),
                ]:
            with self.subTest(properties=properties):
                with self.assertRaises(EventInputError) as context:
                    property_number(properties, 'gib')
                self.assertEqual(context.exception.code, expected)


class ParseBodyTestCase(unittest.TestCase):

    def test_shapes(self):
        body = json.dumps({'events': [NATIVE, CLOUDEVENT]})
        self.assertEqual(
            parse_body('application/json', body), [NATIVE, CLOUDEVENT])
        self.assertEqual(parse_body(
                'application/cloudevents+json; charset=utf-8',
                json.dumps(CLOUDEVENT)), [CLOUDEVENT])
        self.assertEqual(parse_body('application/cloudevents-batch+json',
                json.dumps([CLOUDEVENT])), [CLOUDEVENT])

    def test_refused(self):
        for content_type, body, expected in [
                ('text/plain', '{}', 'body_type'),
                ('application/json', '{"events": [', 'body_json'),
                ('application/json', '{"events": [{"a": NaN}]}', 'body_json'),
                ('application/json', '[]', 'body_shape'),
                ('application/json', '{"events": {}}', 'body_shape'),
                ('application/json', '{"events": [], "x": 1}', 'body_shape'),
                ('application/cloudevents+json', '[]', 'body_shape'),
                ('application/cloudevents-batch+json', '{}', 'body_shape'),
                ('application/json', json.dumps(
                        {'events': [{}] * (MAX_EVENTS + 1)}),
                    'body_too_many'),
                ('application/json', '[' * 100_000, 'body_json'),
                ]:
            with self.subTest(content_type=content_type, body=body[:30]):
                with self.assertRaises(BodyError) as context:
                    parse_body(content_type, body)
                self.assertEqual(context.exception.code, expected)

    @settings(max_examples=300, deadline=None)
    @given(json_values())
    def test_anything_is_read_or_refused(self, value):
        "Whatever is sent, an event is read or refused with a code"
        for item in [value, dict(NATIVE, properties=value),
                dict(NATIVE, timestamp=value), dict(CLOUDEVENT, data=value)]:
            try:
                event = read_event(item)
            except EventInputError as error:
                self.assertTrue(error.code)
            else:
                json.dumps(event['properties'], allow_nan=False)
