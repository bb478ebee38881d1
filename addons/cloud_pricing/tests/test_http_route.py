# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The price route through a real trytond HTTP server on loopback.

The database is built in a subprocess (http_db.py; DB_CACHE restores the
shared billing set-up) and served by ``trytond`` on a free loopback port
(tests/trytond_server.py), stopped at the end. Hostile bodies are sent by
hypothesis too: each is answered 200 or a 4xx with a JSON error, never 500.
"""
import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from trytond_server import post_json, served_database_fixture

from subscription_core.tests.arithmetic import json_values

WORKED_EXAMPLE = {
    'service': 'nextcloud', 'provider': 'exoscale', 'sla': 'guaranteed',
    'plan': 'standard-8', 'instance': 'acme-cloud',
    'spec': {'spec': {'parameters': {
                'instances': 2, 'size': {'disk': '50Gi'},
                'postgres': {'instances': 1, 'disk': 20}}}},
    }


# (url, records) of a trytond serving the database of http_db.py
price_server = served_database_fixture(
    'price_http', 'cloud_pricing.tests.http_db')


def post(server, body, key='finance_key', content_type='application/json'):
    url, records = server
    return post_json(f"{url}{records['database']}/cloud_pricing/price",
        body, records[key] if key else None, content_type)


def test_price(price_server):
    "The worked example of doc/pricing.rst, priced before ordering"
    status, answer = post(price_server, WORKED_EXAMPLE)
    assert status == 200
    assert answer['currency'] == 'USD'
    assert answer['total'] == '433.00'
    assert answer['stale'] is False
    assert [(i['kind'], i['productID'], i['value'], i['unitPrice'],
            i['amount']) for i in answer['items']] == [
        ('compute', 'exo-compute-standard-8', 2, '80.00', '160.00'),
        ('compute', 'exo-compute-standard-8', 1, '80.00', '80.00'),
        ('storage', 'exo-storage-ssd', 100, '0.10', '10.00'),
        ('storage', 'exo-storage-ssd', 20, '0.10', '2.00'),
        ('csp', 'exo-ipv4', 1, '3.50', '3.50'),
        ('managed', 'servala-nextcloud-guaranteed-managed', 1, '80.00',
            '80.00'),
        ('sizing', 'servala-nextcloud-guaranteed-managed-b1', 6, '6.50',
            '39.00'),
        ('sizing', 'servala-nextcloud-guaranteed-managed-b2', 10, '5.85',
            '58.50'),
        ]
    assert answer['items'][-1]['itemDescription'] == (
        'Managed sizing nextcloud (guaranteed) b2')
    assert {i['itemGroupDescription'] for i in answer['items']} == {
        'acme-cloud'}
    assert sum(Decimal(i['amount']) for i in answer['items']) == Decimal(
        answer['total'])


def test_organization(price_server):
    """Naming an organization: the resource annotations with its sale
    order reference, the items as the answer's"""
    url, records = price_server
    status, answer = post(price_server,
        dict(WORKED_EXAMPLE, organization=records['organization']))
    assert status == 200
    assert answer['organization'] == records['organization']
    assert records['sale_order']
    annotations = answer['annotations']
    assert annotations['billing.servala.com/salesOrderID'] == (
        records['sale_order'])
    items = json.loads(annotations['billing.servala.com/items'])
    assert items == [{k: i[k] for k in ('productID', 'value',
                'itemDescription', 'itemGroupDescription')}
        for i in answer['items']]
    assert len(items) == 8
    assert answer['total'] == '433.00'
    # without an organization, no annotations
    status, answer = post(price_server, WORKED_EXAMPLE)
    assert 'annotations' not in answer and 'organization' not in answer


def test_unknown_organization(price_server):
    "An unknown organization: 422 with the translated message"
    url, records = price_server
    # no such party; a party that is not an organization (a billing entity)
    for code in ['NO-SUCH-ORG', records['entity']]:
        status, answer = post(price_server,
            dict(WORKED_EXAMPLE, organization=code))
        assert (status, answer) == (422, {'error': f'No organization has '
                f'the code "{code}": give the code of a party with an '
                'organization origin and a sale order.'})
    status, answer = post(price_server, dict(WORKED_EXAMPLE, organization=7))
    assert (status, answer) == (400, {'error': 'The "organization" must be '
            'a text of 1 to 100 printable characters without surrounding '
            'spaces.'})


def test_refused_keys(price_server):
    """No key or a wrong one: 401; a key of a user who may not price
    (support, an employee without group): 403; finance and Sales: 200"""
    assert post(price_server, WORKED_EXAMPLE, key=None)[0] == 401
    url, records = price_server
    assert post((url, dict(records, bad='0' * 128)), WORKED_EXAMPLE,
        key='bad')[0] == 401
    assert post(price_server, WORKED_EXAMPLE, key='support_key')[0] == 403
    assert post(price_server, WORKED_EXAMPLE, key='employee_key')[0] == 403
    assert post(price_server, dict(WORKED_EXAMPLE,
            organization=records['organization']),
        key='support_key')[0] == 403
    status, answer = post(price_server, dict(WORKED_EXAMPLE,
            organization=records['organization']), key='sales_key')
    assert status == 200
    assert answer['annotations']['billing.servala.com/salesOrderID'] == (
        records['sale_order'])


def test_minimum_units(price_server):
    "A plan with less RAM than the SLA's minimum units: 422, never priced"
    status, answer = post(price_server, dict(WORKED_EXAMPLE,
            plan='standard-2'))
    assert (status, answer) == (422, {'error': 'SLA tier "guaranteed" '
            'needs a plan with at least 4 GiB of RAM; plan "standard-2" has '
            '2 GiB.'})


def test_refused_bodies(price_server):
    "Each hostile body gets its status and its translated message"
    one = dict(WORKED_EXAMPLE['spec']['spec']['parameters'], instances=1)
    for body, content_type, expected in [
            (b'{"service": NaN}', 'application/json', (400,
                    'The body is not valid JSON (NaN and Infinity are not '
                    'JSON numbers).')),
            (b'{"service": "nextcloud"', 'application/json', (400,
                    'The body is not valid JSON (NaN and Infinity are not '
                    'JSON numbers).')),
            (b'[' * 50_000, 'application/json', (400,
                    'The body is not valid JSON (NaN and Infinity are not '
                    'JSON numbers).')),
            (b'{}', 'text/plain', (415,
                    'The body must be JSON (Content-Type: application/json),'
                    ' not "text/plain".')),
            ([], 'application/json', (400,
                    'The body must be a JSON object with service, provider, '
                    'sla, plan, spec and optionally instance and '
                    'organization.')),
            (dict(WORKED_EXAMPLE, price='0'), 'application/json', (400,
                    'The key "price" is unknown: the body has service, '
                    'provider, sla, plan, spec and optionally instance '
                    'and organization.')),
            ({k: v for k, v in WORKED_EXAMPLE.items() if k != 'plan'},
                'application/json', (400, 'The body has no "plan".')),
            (dict(WORKED_EXAMPLE, sla=1e308), 'application/json', (400,
                    'The "sla" must be a text of 1 to 100 printable '
                    'characters without surrounding spaces.')),
            (dict(WORKED_EXAMPLE, spec='{}'), 'application/json', (400,
                    'The "spec" must be a JSON object: the instance\'s '
                    'spec.')),
            (dict(WORKED_EXAMPLE, plan='standard-99'), 'application/json',
                (422, 'The catalog has no plan "standard-99" of service '
                    '"nextcloud" on provider "exoscale" or no SLA tier '
                    '"guaranteed".')),
            (dict(WORKED_EXAMPLE, spec={'spec': {'parameters': one}}),
                'application/json', (422, 'SLA tier "guaranteed" needs at '
                    'least 2 replicas of the main component; the spec has '
                    '1.')),
            (b'{"service": "nextcloud", "provider": "exoscale", "sla": '
                b'"guaranteed", "plan": "standard-8", "spec": {"spec": '
                b'{"parameters": {"instances": 1e400}}}}',
                'application/json', (422, 'The replicas of component '
                    '"nextcloud" at "spec.parameters.instances" must be a '
                    'whole number from 1 to 1000, not Decimal(\'1E+400\').')),
            (b'{"spec": "' + b'x' * 200_000 + b'"}', 'application/json',
                (413, 'The body has 200012 bytes: at most 104096 are '
                    'accepted.')),
            ]:
        status, answer = post(price_server, body, content_type=content_type)
        assert (status, answer) == (expected[0], {'error': expected[1]}), (
            body if isinstance(body, bytes) else json.dumps(body))[:80]


@settings(max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(WORKED_EXAMPLE)),
    json_values(text_size=50, key_size=20, dict_size=6, max_leaves=20),
    st.sampled_from(['spec.parameters.instances', 'spec.parameters.size.disk',
            'spec.parameters.postgres', 'spec']))
def test_fuzz(price_server, key, value, path):
    """Any value at a key of the body or inside the spec: 200 or a 4xx with
    a message, never a server fault"""
    body = json.loads(json.dumps(WORKED_EXAMPLE))
    body[key] = value
    spec = json.loads(json.dumps(WORKED_EXAMPLE['spec']))
    *parents, last = path.split('.')
    node = spec
    for name in parents:
        node = node[name]
    node[last] = value
    for sent in [body, dict(WORKED_EXAMPLE, spec=spec)]:
        data = json.dumps(sent).encode()  # NaN and Infinity too
        status, answer = post(price_server, data)
        assert status == 200 or (400 <= status < 500 and isinstance(
                answer.get('error'), str) and answer['error']), (
            status, answer, data[:200])
