"""A trytond server on a free loopback port, for the tests that talk to it
over HTTP (the browser test, the access matrix).

``trytond_server(database, env, log_path)`` is a context manager: it starts
``trytond -d database`` with env (the caller's TRYTOND_* variables: config,
database path or URI), waits until it answers and yields its URL; on exit
it stops the server and its children. ``drop_postgresql_database`` removes
a database a test built on PostgreSQL. ``built_database_server(data, name,
command)`` builds a database with a script (the access matrix, the usage
route) and serves it; ``post_json`` POSTs to a route with a user
application key. pytest.ini puts this folder on the path
(``pythonpath = tests``).
"""
import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def drop_postgresql_database(uri, name):
    import psycopg
    with psycopg.connect(
            uri.rstrip('/') + '/postgres', autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def built_database_server(data, name, command):
    """(url, database, records) of a trytond serving a database that command
    builds in the folder data: command is run with the path of a JSON file
    to write the records it made to, in the test's environment (SQLite in
    data, or the PostgreSQL database DB_NAME_name, dropped after)"""
    pg_uri = os.environ.get('TRYTOND_DATABASE__URI', '')
    if pg_uri.startswith('postgresql://'):
        database = os.environ.get('DB_NAME', 'cloudbill_test') + '_' + name
    else:
        database = name
    env = dict(os.environ,
        TRYTOND_DATABASE__PATH=str(data),
        TRYTOND_EMAIL__URI='smtp://127.0.0.1:1',
        DB_NAME=database)
    env.pop('TRYTOND_WEB__ROOT', None)
    output = data / 'records.json'
    try:
        subprocess.run(command + [str(output)],
            env=env, check=True, cwd=ROOT, timeout=900)
        records = json.loads(output.read_text())
        with trytond_server(database, env, data / 'trytond.log') as url:
            yield url, database, records
    finally:
        if pg_uri.startswith('postgresql://'):
            drop_postgresql_database(pg_uri, database)


def served_database_fixture(name, builder):
    """A module-scoped pytest fixture: (url, records) of a trytond serving
    the database named name that the module builder (``python -m builder
    <output.json>``) builds"""
    @pytest.fixture(scope='module')
    def server(tmp_path_factory):
        with built_database_server(tmp_path_factory.mktemp(name), name,
                [sys.executable, '-m', builder]) as (url, _, records):
            yield url, records
    return server


def post_json(url, body, key=None, content_type='application/json',
        timeout=120):
    """(status, JSON answer or None) of a POST of body (bytes as they are,
    anything else as JSON) to url, with ``Authorization: Bearer key``"""
    request = urllib.request.Request(url,
        data=body if isinstance(body, bytes) else json.dumps(body).encode(),
        method='POST', headers={'Content-Type': content_type})
    if key:
        request.add_header('Authorization', f'Bearer {key}')
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, None


@contextlib.contextmanager
def trytond_server(database, env, log_path, timeout=60):
    "Yield the URL of trytond serving database on a free loopback port"
    port = free_port()
    env = dict(env, TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}')
    bin_dir = pathlib.Path(sys.executable).parent
    log_path = pathlib.Path(log_path)
    with open(log_path, 'w') as log:
        server = subprocess.Popen(
            [str(bin_dir / 'trytond'), '-d', database],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        url = f'http://127.0.0.1:{port}/'
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except urllib.error.HTTPError:
                    # Answering, even with an error (no web client root)
                    break
                except OSError:
                    if (server.poll() is not None
                            or time.monotonic() > deadline):
                        log.flush()
                        pytest.fail("trytond did not start:\n"
                            + log_path.read_text()[-3000:])
                    time.sleep(0.3)
            _wait_for_pool(url, database, server, log, log_path)
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _wait_for_pool(url, database, server, log, log_path, timeout=900):
    """Wait until trytond has loaded the pool of database: it answers HTTP
    at once but loads the modules of ``-d database`` in a thread, and a
    first call that needs them waits for it (a minute and more on a loaded
    machine, longer than a browser's wait for the login dialog). The call
    is a login without a password: the server asks for one, which records
    no failed attempt."""
    body = json.dumps({'id': 0, 'method': 'common.db.login',
            'params': ['admin', {}, 'en']}).encode()
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(f'{url}{database}/rpc/', data=body,
            method='POST', headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                json.loads(answer.read())
                return
        except urllib.error.HTTPError as error:
            pytest.fail(f"trytond answered {error.code} to a login on "
                f"{database}")
        except (OSError, ValueError):
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"trytond did not load database {database}:\n"
                    + log_path.read_text()[-3000:])
            time.sleep(1)


def server_env(data, **extra):
    "The environment of a trytond using data as its SQLite folder"
    env = dict(os.environ,
        TRYTOND_CONFIG=str(ROOT / 'config' / 'trytond.conf'),
        TRYTOND_DATABASE__PATH=str(data),
        TRYTOND_EMAIL__URI='smtp://127.0.0.1:1',
        **extra)
    for key in ['DB_NAME', 'DB_CACHE']:
        env.pop(key, None)
    return env


@contextlib.contextmanager
def demo_server(database, data, build_timeout=900, **extra_env):
    """Yield (url, env) of a trytond serving database built with the demo
    data (the script of `make demo`) in the folder data, or on PostgreSQL
    when TRYTOND_DATABASE__URI names it; the database is dropped on exit.
    The build fails after build_timeout seconds."""
    env = server_env(data, **extra_env)
    pg_uri = env.get('TRYTOND_DATABASE__URI', '')
    try:
        build_demo(database, data, env, build_timeout)
        with trytond_server(database, env, pathlib.Path(data) / 'trytond.log'
                ) as url:
            yield url, env
    finally:
        if pg_uri.startswith('postgresql://'):
            drop_postgresql_database(pg_uri, database)


def build_demo(database, data, env, timeout):
    """Build database with the demo data (scripts/demo_data.py --reset).

    When DEMO_CACHE names a folder (``make test`` sets one per hash of the
    modules' source), the first build of the day is kept, as a template
    database on PostgreSQL or a copy of the SQLite file, and later builds
    (the fuzz test's, the browser test's) copy it: the demo build takes
    minutes, a copy seconds. The key also holds the script and the date
    (the demo data is billed up to today). A lock makes the other lane wait
    for a build under way."""
    script = ROOT / 'scripts' / 'demo_data.py'
    cache = os.environ.get('DEMO_CACHE')
    if not cache:
        subprocess.run([sys.executable, str(script), '--database', database,
                '--reset'], env=env, check=True, cwd=ROOT, timeout=timeout)
        return
    key = hashlib.sha1(script.read_bytes() + cache.encode()
        + datetime.date.today().isoformat().encode()).hexdigest()[:12]
    pg_uri = env.get('TRYTOND_DATABASE__URI', '')
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if pg_uri.startswith('postgresql://'):
            _pg_demo(pg_uri, database, f'cloudbill_demo_{key}',
                lambda: subprocess.run([sys.executable, str(script),
                        '--database', database, '--reset'],
                    env=env, check=True, cwd=ROOT, timeout=timeout))
        else:
            copy = pathlib.Path(cache) / f'{key}.sqlite'
            target = pathlib.Path(data) / f'{database}.sqlite'
            if copy.exists():
                shutil.copyfile(copy, target)
                return
            subprocess.run([sys.executable, str(script), '--database',
                    database, '--reset'],
                env=env, check=True, cwd=ROOT, timeout=timeout)
            shutil.copyfile(target, str(copy) + '.part')
            os.replace(str(copy) + '.part', copy)


def _pg_demo(uri, database, template, build):
    "Create database from template, or build it and keep it as template"
    import psycopg
    with psycopg.connect(
            uri.rstrip('/') + '/postgres', autocommit=True) as conn:
        names = {n for n, in conn.execute(
                "SELECT datname FROM pg_database").fetchall()}
        if template in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
            return
    build()
    with psycopg.connect(
            uri.rstrip('/') + '/postgres', autocommit=True) as conn:
        for name in names:
            if re.fullmatch(r'cloudbill_demo_[0-9a-f]{12}', name):
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{template}" TEMPLATE "{database}"')
