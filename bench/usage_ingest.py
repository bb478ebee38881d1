# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Workload ``usage_ingest``: N usage events stored, batch by batch

ours
    ``POST /<database>/billing_usage/events`` to a trytond server on a
    loopback port (started for the run, stopped after), authenticated with
    the producer's user application key, batches of 10,000 events (1 % of
    each batch after the first repeats the batch before: duplicates). The
    clock runs from each request sent to its answer read; the client builds
    the next body outside it. Each answer is checked: every event accepted
    or duplicate, as many accepted as distinct transaction ids.
stock
    Stock Tryton's way of recording usage: ``sale.subscription.line.
    consumption`` records created with the ORM (``create`` of the batch:
    line, date, quantity), one committed transaction per batch. No
    transaction id, so no duplicate detection: it stores every event of
    the batch.
copy
    The limit (PostgreSQL only): ``COPY … FROM STDIN`` of the rows that our
    path stores (the distinct events, subscription, line and metric ids
    resolved before the clock, properties as stored) into the same table
    ``billing_usage_event``, one committed transaction per batch. No check,
    no duplicate detection (COPY would fail on one).

Peak memory: ours is the server process's peak resident memory (VmHWM),
the others the measuring process's; run two sizes to see whether it grows
with the number of batches.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import usage_data

ROOT = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _vm_hwm(pid):
    "The peak resident memory of process pid, in MB"
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmHWM:'):
            return round(int(line.split()[1]) / 1024, 1)


def _server(database):
    "A trytond serving database on a free loopback port: (process, url)"
    port = _free_port()
    env = dict(os.environ, TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}')
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / 'trytond'), '-d', database],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                raise SystemExit("bench: trytond did not start")
            time.sleep(0.5)
    return process, url


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_ours(database, size, data):
    process, url = _server(database)
    seconds, accepted, duplicates, expected = 0.0, 0, 0, 0
    try:
        # A first request loads the pool of the database (as in a running
        # server), outside the clock
        _post(url, database, data['key'], [])
        for batch, repeated in usage_data.events(data['numbers'], size):
            body = json.dumps({'events': batch}).encode()
            start = time.perf_counter()
            results = _post(url, database, data['key'], body)
            seconds += time.perf_counter() - start
            statuses = [r['status'] for r in results]
            accepted += statuses.count('accepted')
            duplicates += statuses.count('duplicate')
            expected += len(batch) - repeated
        if accepted + duplicates != size or accepted != expected:
            raise SystemExit(f"bench usage_ingest ours: {accepted} accepted, "
                f"{duplicates} duplicates of {size} ({expected} distinct)")
        peak = _vm_hwm(process.pid)
    finally:
        _stop(process)
    return {'seconds': seconds, 'peak_rss_mb': peak,
        'check': {'accepted': accepted, 'duplicates': duplicates}}


def _post(url, database, key, body):
    if not isinstance(body, bytes):
        body = json.dumps({'events': body}).encode()
    request = urllib.request.Request(
        f'{url}{database}/billing_usage/events', data=body, method='POST',
        headers={'Content-Type': 'application/json',
            'Authorization': f'Bearer {key}'})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())['results']
    except urllib.error.HTTPError as error:
        raise SystemExit(f"bench usage_ingest: HTTP {error.code} "
            f"{error.read()[:500]!r}")


def _targets(database):
    "(company id, user id, {number: (subscription id, line id)}, metric id)"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        pool = Pool()
        Company = pool.get('company.company')
        Line = pool.get('sale.subscription.line')
        Metric = pool.get('billing_usage.metric')
        company, = Company.search([])
        metric, = Metric.search([('code', '=', usage_data.METRIC)])
        lines = {l.subscription.number: (l.subscription.id, l.id)
            for l in Line.search([('billing_type', '=', 'usage')])}
        return company.id, lines, metric.id


def run_stock(database, size, data):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    company_id, lines, _ = _targets(database)
    seconds, stored = 0.0, 0
    for batch, _ in usage_data.events(data['numbers'], size):
        values = [{
                'line': lines[e['subscription']][1],
                'date': _moment(e['timestamp']).date(),
                'quantity': float(e['properties']['calls']),
                } for e in batch]
        start = time.perf_counter()
        with Transaction().start(database, 0,
                context={'company': company_id}) as transaction:
            Consumption = Pool().get('sale.subscription.line.consumption')
            stored += len(Consumption.create(values))
            transaction.commit()
        seconds += time.perf_counter() - start
    return {'seconds': seconds, 'check': {'stored': stored}}


def run_copy(database, size, data):
    import datetime
    import psycopg
    company_id, lines, metric_id = _targets(database)
    uri = os.environ['TRYTOND_DATABASE__URI'].rstrip('/') + '/' + database
    seconds, stored = 0.0, 0
    columns = ('company, transaction_id, subscription, line, metric, '
        '"timestamp", properties, aggregated, create_uid, create_date')
    with psycopg.connect(uri) as conn:
        for batch, repeated in usage_data.events(data['numbers'], size):
            now = datetime.datetime.now()
            rows = [(company_id, e['transaction_id'],
                    *lines[e['subscription']], metric_id,
                    _moment(e['timestamp']),
                    json.dumps(e['properties'], sort_keys=True,
                        separators=(',', ':')), False, 0, now)
                for e in batch[repeated:]]
            start = time.perf_counter()
            with conn.cursor() as cursor:
                with cursor.copy(f'COPY billing_usage_event ({columns}) '
                        'FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            conn.commit()
            seconds += time.perf_counter() - start
            stored += len(rows)
    return {'seconds': seconds, 'check': {'stored': stored}}


def _moment(text):
    import datetime
    return datetime.datetime.fromisoformat(text).replace(tzinfo=None)


def count_events(database):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        Event = Pool().get('billing_usage.event')
        return Event.search_count([])
