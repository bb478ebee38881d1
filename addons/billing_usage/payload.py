# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The usage events a producer sends, read and checked as plain Python.

Two shapes are read, in a JSON body or from Python:

* the native event ``{"transaction_id", "subscription", "metric",
  "timestamp", "properties"}``, in ``{"events": [...]}``, and ``"end"``
  for a record of usage over the range ``[timestamp, end)``;
* a CloudEvents 1.0 event in structured mode (``specversion`` "1.0"):
  ``id`` is the transaction id, ``subject`` the subscription number,
  ``type`` the metric code, ``time`` the timestamp and ``data`` the
  properties (the extension attribute ``endtime`` is the end). A body of
  content type ``application/cloudevents+json`` is one
  such event, ``application/cloudevents-batch+json`` a list of them; inside
  ``{"events": [...]}`` an item with ``specversion`` is one too.

``read_event`` returns the event as a dict of Python values or raises
``EventInputError`` whose ``code`` and ``params`` the models turn into a
translated message (``billing_usage.msg_event_<code>``). Nothing here
knows the database: whether the subscription or the metric exists is the
models' check.
"""
import datetime as _dt
import json
import math
from decimal import Decimal

from subscription_core.input_error import CodedInputError
from subscription_core.input_error import short as _short

__all__ = ['MAX_EVENTS', 'EventInputError', 'BodyError', 'parse_body',
    'check_count', 'read_event', 'read_timestamp', 'read_end',
    'property_number']

# Events per request or per call of ingest
MAX_EVENTS = 10_000
# Sizes of the texts of an event
ID_SIZE = 255
KEY_SIZE = 64
VALUE_SIZE = 255
MAX_PROPERTIES = 32
# Numbers a property may carry (a float keeps its unit digit below 2**53)
NUMBER_MAX = 10 ** 15
# Timestamps a usage event may carry
TIMESTAMP_MIN = _dt.datetime(1900, 1, 1)
TIMESTAMP_MAX = _dt.datetime(2999, 12, 31, 23, 59, 59)
# The longest range [timestamp, end) a usage record may cover
MAX_SPAN = _dt.timedelta(days=31)

JSON_TYPES = {'application/json'}
_NATIVE_KEYS = frozenset({'transaction_id', 'subscription', 'metric',
        'timestamp', 'properties', 'end'})
CLOUDEVENT_TYPE = 'application/cloudevents+json'
CLOUDEVENT_BATCH_TYPE = 'application/cloudevents-batch+json'


class EventInputError(CodedInputError):
    "An event that cannot be read; code names the rule, params its values"


class BodyError(EventInputError):
    "A request body that is not a list of events"


def parse_body(content_type, data):
    """The list of event items of a request body (bytes)

    content_type is the media type without its parameters. Raise BodyError
    ('body_type', 'body_json', 'body_shape', 'body_too_many').
    """
    content_type = (content_type or '').split(';')[0].strip().lower()
    if content_type not in JSON_TYPES | {
            CLOUDEVENT_TYPE, CLOUDEVENT_BATCH_TYPE}:
        raise BodyError('body_type', content_type=content_type)
    try:
        body = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BodyError('body_json')
    if content_type == CLOUDEVENT_TYPE:
        if not isinstance(body, dict):
            raise BodyError('body_shape')
        items = [body]
    elif content_type == CLOUDEVENT_BATCH_TYPE:
        items = body
    else:
        if not isinstance(body, dict) or set(body) != {'events'}:
            raise BodyError('body_shape')
        items = body['events']
    if not isinstance(items, list):
        raise BodyError('body_shape')
    check_count(items)
    return items


def check_count(items):
    if len(items) > MAX_EVENTS:
        raise BodyError('body_too_many', count=len(items), maximum=MAX_EVENTS)


def _refuse_constant(name):
    # NaN, Infinity, -Infinity are not JSON: refuse the body as a whole
    raise ValueError(name)


def read_event(item):
    """The event of item as {'transaction_id', 'subscription', 'metric',
    'timestamp' (naive UTC datetime), 'properties' (dict)}"""
    if not isinstance(item, dict):
        raise EventInputError('not_object')
    if 'specversion' in item:
        if item.get('specversion') != '1.0':
            raise EventInputError(
                'cloudevent_version', version=_short(item.get('specversion')))
        content_type = item.get('datacontenttype')
        if content_type is not None and content_type != 'application/json':
            raise EventInputError(
                'cloudevent_content_type', content_type=_short(content_type))
        item = {
            'transaction_id': item.get('id'),
            'subscription': item.get('subject'),
            'metric': item.get('type'),
            'timestamp': item.get('time'),
            'properties': item.get('data'),
            'end': item.get('endtime'),
            }
    elif not _NATIVE_KEYS.issuperset(item):
        unknown = set(item) - _NATIVE_KEYS
        raise EventInputError('unknown_key', key=_short(sorted(
                    map(str, unknown))[0]))
    event = {
        'transaction_id': _text(item.get('transaction_id'), 'transaction_id'),
        'subscription': _text(item.get('subscription'), 'subscription'),
        'metric': _text(item.get('metric'), 'metric'),
        'timestamp': read_timestamp(item.get('timestamp')),
        'properties': _properties(item.get('properties')),
        }
    if item.get('end') is not None:
        event['end'] = read_end(event['timestamp'], item['end'])
    return event


def read_end(timestamp, value):
    """The end of a usage record [timestamp, end) as a naive UTC datetime:
    after its start, at most MAX_SPAN later"""
    try:
        end = read_timestamp(value)
    except EventInputError as error:
        raise EventInputError('end', value=error.params['value'])
    if end <= timestamp:
        raise EventInputError('end_before', end=end, timestamp=timestamp)
    if end - timestamp > MAX_SPAN:
        raise EventInputError('end_span', end=end, timestamp=timestamp,
            days=MAX_SPAN.days)
    return end


def _clean_text(value, size):
    return (isinstance(value, str) and 0 < len(value) <= size
        and '\x00' not in value and value.strip() == value
        and _encodable(value))


def _encodable(value):
    if value.isascii():
        return True
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def _text(value, name):
    if not _clean_text(value, ID_SIZE):
        code = name if name == 'transaction_id' else name + '_text'
        raise EventInputError(code, value=_short(value))
    return value


def read_timestamp(value):
    "A datetime or an ISO 8601 text as a naive UTC datetime"
    if isinstance(value, str) and len(value) <= 64:
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            raise EventInputError('timestamp', value=_short(value))
    if (not isinstance(value, _dt.datetime)
            or isinstance(value, bool)):
        raise EventInputError('timestamp', value=_short(value))
    if value.tzinfo is not None:
        try:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        except OverflowError:
            raise EventInputError('timestamp', value=_short(value))
    if not TIMESTAMP_MIN <= value <= TIMESTAMP_MAX:
        raise EventInputError('timestamp', value=_short(value))
    return value


def _properties(value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventInputError('properties_type')
    if len(value) > MAX_PROPERTIES:
        raise EventInputError(
            'properties_many', count=len(value), maximum=MAX_PROPERTIES)
    properties = {}
    for key, item in value.items():
        if not _clean_text(key, KEY_SIZE):
            raise EventInputError('property_key', key=_short(key))
        properties[key] = _property_value(key, item)
    return properties


def _property_value(key, value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > VALUE_SIZE or '\x00' in value or not _encodable(
                value):
            raise EventInputError('property_text', key=key, size=VALUE_SIZE)
        return value
    if isinstance(value, (int, float, Decimal)):
        finite = (value.is_finite() if isinstance(value, Decimal)
            else not isinstance(value, float) or math.isfinite(value))
        if not finite or abs(value) > NUMBER_MAX:
            raise EventInputError('property_number', key=key,
                value=_short(value), maximum=NUMBER_MAX)
        if isinstance(value, Decimal):
            # Kept in JSON: as a float of the same digits
            return float(value) if value != value.to_integral_value() else (
                int(value))
        return value
    raise EventInputError('property_type', key=key)


def property_number(properties, name):
    """The number of properties[name] as a Decimal; EventInputError
    ('property_missing', 'property_not_number', 'property_negative')
    otherwise: a usage quantity is never negative"""
    if name not in properties or properties[name] is None:
        raise EventInputError('property_missing', key=name)
    value = properties[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventInputError('property_not_number', key=name)
    number = Decimal(str(value)) if isinstance(value, float) else (
        Decimal(value))
    if number < 0:
        raise EventInputError('property_negative', key=name)
    return number
