# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The request and the answer of the price route, as plain Python (no ORM).

``read_request`` reads the JSON body of ``POST
/<database>/cloud_pricing/price`` (doc/route.rst)::

    {"service": "nextcloud", "provider": "exoscale", "sla": "guaranteed",
     "plan": "standard-8", "instance": "acme-cloud",
     "organization": "ORG-1", "spec": {...}}

and returns it as a dict, or raises ``RequestError`` whose ``code`` and
``params`` the route turns into a translated message
(``cloud_pricing.msg_price_<code>``). Numbers are read as Decimal or int,
never float; NaN and Infinity are refused, as are a body over
``MAX_BODY`` bytes, unknown or missing keys and texts that are not names.
Whether the names exist in the catalog is the route's check.

``price_answer`` is the answer: the line items as the annotations carry them
(``productID``, ``value``, ``itemDescription``, ``itemGroupDescription``)
with their kind, unit price and amount, the monthly total and the currency;
amounts are decimal texts (never floats). When the request names an
organization (its party code), the answer also carries the resource
annotations with its sale order reference (``pricing.annotations``).
"""
import json
from decimal import Decimal

from subscription_core.input_error import CodedInputError
from subscription_core.input_error import short as _short

from .pricing import MAX_SPEC_SIZE, annotation_item, monthly_total

__all__ = ['MAX_BODY', 'NAME_SIZE', 'RequestError', 'read_request',
    'price_answer']

# The spec's own bound plus the names around it
MAX_BODY = MAX_SPEC_SIZE + 4096
NAME_SIZE = 100
JSON_TYPES = {'application/json'}
NAMES = ('service', 'provider', 'sla', 'plan')
KEYS = NAMES + ('spec', 'instance', 'organization')


class RequestError(CodedInputError):
    "A request that cannot be read; code names the rule, params its values"


def _refuse_constant(name):
    # NaN, Infinity, -Infinity are not JSON
    raise ValueError(name)


def _name(value):
    "A catalog name or an instance name: a text without controls"
    if not isinstance(value, str) or not 0 < len(value) <= NAME_SIZE:
        return False
    if value.strip() != value or not value.isprintable():
        return False
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def read_request(content_type, data):
    """{'service', 'provider', 'sla', 'plan', 'instance', 'organization',
    'spec'} of a request body (bytes); instance is '' and organization
    None when not given"""
    content_type = (content_type or '').split(';')[0].strip().lower()
    if content_type not in JSON_TYPES:
        raise RequestError('body_type', content_type=_short(content_type))
    if len(data) > MAX_BODY:
        raise RequestError('body_size', size=len(data), maximum=MAX_BODY)
    try:
        body = json.loads(data, parse_float=Decimal,
            parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise RequestError('body_json')
    if not isinstance(body, dict):
        raise RequestError('body_shape')
    unknown = sorted(k for k in body if k not in KEYS)
    if unknown:
        raise RequestError('body_key', key=_short(unknown[0]))
    for key in NAMES + ('spec',):
        if key not in body:
            raise RequestError('body_missing', key=key)
    for key in NAMES:
        if not _name(body[key]):
            raise RequestError('body_name', key=key)
    instance = body.get('instance')
    if instance is None:
        instance = ''
    elif not _name(instance):
        raise RequestError('body_name', key='instance')
    organization = body.get('organization')
    if organization is not None and not _name(organization):
        raise RequestError('body_name', key='organization')
    if not isinstance(body['spec'], dict):
        raise RequestError('body_spec')
    return {
        'service': body['service'],
        'provider': body['provider'],
        'sla': body['sla'],
        'plan': body['plan'],
        'instance': instance,
        'organization': organization,
        'spec': body['spec'],
        }


def price_answer(request, lines, currency, stale, annotations=None):
    """The route's answer for the request (read_request) priced as lines in
    currency (its ISO code); stale says the catalog was not synced
    recently; annotations (pricing.annotations), when the request names an
    organization, go with the organization's code"""
    answer = {
        'service': request['service'],
        'provider': request['provider'],
        'sla': request['sla'],
        'plan': request['plan'],
        'currency': currency,
        'items': [dict(annotation_item(line),
                kind=line.kind,
                unitPrice=str(line.unit_price),
                amount=str(line.amount))
            for line in lines],
        'total': str(monthly_total(lines)),
        'stale': bool(stale),
        }
    if annotations is not None:
        answer['organization'] = request['organization']
        answer['annotations'] = annotations
    return answer
