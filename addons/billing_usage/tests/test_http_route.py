# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The events route through a real trytond HTTP server on loopback.

The database is built in a subprocess (http_db.py; DB_CACHE restores the
shared billing set-up) and served by ``trytond`` on a free loopback port
(tests/trytond_server.py), stopped at the end.
"""
import pathlib
import threading

from trytond_server import post_json, served_database_fixture

HERE = pathlib.Path(__file__).resolve().parent


# (url, records) of a trytond serving the database of http_db.py
usage_server = served_database_fixture(
    'usage_http', 'billing_usage.tests.http_db')


def post(url, records, body, key='producer_key',
        content_type='application/json'):
    "(status, JSON answer) of a POST to the events route"
    return post_json(f"{url}{records['database']}/billing_usage/events",
        body, records[key] if key else None, content_type)


def event(records, tx, calls=1, timestamp='2026-01-05T10:00:00Z', **extra):
    values = {
        'transaction_id': tx,
        'subscription': records['subscription'],
        'metric': 'api_calls',
        'timestamp': timestamp,
        'properties': {'calls': calls},
        }
    values.update(extra)
    return values


def test_events_per_index(usage_server):
    "Accepted, duplicate and refused, per index; sent again: duplicates"
    url, records = usage_server
    body = {'events': [
            event(records, 'a-1'),
            event(records, 'a-2', calls=2.5),
            event(records, 'a-1'),
            event(records, 'a-3', calls=-1),
            event(records, 'a-4', metric='nope'),
            event(records, 'a-5', timestamp='2025-12-31T23:59:59Z'),
            ]}
    status, answer = post(url, records, body)
    assert status == 200
    assert answer['results'] == [
        {'status': 'accepted'},
        {'status': 'accepted'},
        {'status': 'duplicate'},
        {'status': 'error', 'message':
            'The property "calls" that the metric reads must be zero or more.'},
        {'status': 'error', 'message': 'The metric "nope" is unknown.'},
        {'status': 'error', 'message':
            'The timestamp 2025-12-31 23:59:59 UTC is outside the dates of '
            f'the subscription "{records["subscription"]}".'},
        ]
    status, answer = post(url, records, body)
    assert [r['status'] for r in answer['results'][:3]] == ['duplicate'] * 3
    # The refused ones wrote nothing: fixed, they are accepted
    status, answer = post(url, records, {'events': [
                event(records, 'a-3', calls=1)]})
    assert answer['results'] == [{'status': 'accepted'}]


def test_cloudevent_structured_and_batch(usage_server):
    url, records = usage_server
    cloudevent = {
        'specversion': '1.0', 'id': 'ce-1', 'source': '/gateway',
        'subject': records['subscription'], 'type': 'api_calls',
        'time': '2026-01-05T11:00:00+01:00', 'data': {'calls': 3},
        }
    status, answer = post(url, records, cloudevent,
        content_type='application/cloudevents+json')
    assert (status, answer) == (200, {'results': [{'status': 'accepted'}]})
    status, answer = post(url, records, [cloudevent, dict(cloudevent,
                id='ce-2', specversion='0.3')],
        content_type='application/cloudevents-batch+json')
    assert status == 200
    assert answer['results'] == [
        {'status': 'duplicate'},
        {'status': 'error', 'message':
            'The CloudEvents version "0.3" is not supported: only 1.0.'}]


def test_concurrent_duplicates(usage_server):
    "The same batch sent at once by four clients is stored once"
    url, records = usage_server
    body = {'events': [event(records, f'c-{i}') for i in range(300)]}
    answers = []

    def send():
        answers.append(post(url, records, body))
    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200] * 4
    accepted = [sum(r['status'] == 'accepted' for r in answer['results'])
        for _, answer in answers]
    duplicates = [sum(r['status'] == 'duplicate' for r in answer['results'])
        for _, answer in answers]
    assert sum(accepted) == 300
    assert [a + d for a, d in zip(accepted, duplicates)] == [300] * 4


def test_refused_requests(usage_server):
    "No key, a wrong key, a key without the right, a bad body"
    url, records = usage_server
    body = {'events': [event(records, 'r-1')]}
    assert post(url, records, body, key=None)[0] == 401
    assert post(url, dict(records, bad='0' * 128), body, key='bad')[0] == 401
    assert post(url, records, body, key='support_key')[0] == 403
    status, answer = post(url, records, b'{"events": [NaN]}')
    assert (status, answer) == (400, {'error':
            'The body is not valid JSON (NaN and Infinity are not JSON '
            'numbers).'})
    status, answer = post(url, records, body, content_type='text/plain')
    assert status == 400
    status, answer = post(url, records, {'events': [{}] * 10_001})
    assert (status, answer) == (413, {'error':
            '10001 events were sent at once: at most 10000 are accepted.'})
    # Nothing of these was stored
    assert post(url, records, body)[1] == {
        'results': [{'status': 'accepted'}]}
