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
import json
import os
import pathlib
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
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


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
        subprocess.run(
            [sys.executable, str(ROOT / 'scripts' / 'demo_data.py'),
                '--database', database, '--reset'],
            env=env, check=True, cwd=ROOT, timeout=build_timeout)
        with trytond_server(database, env, pathlib.Path(data) / 'trytond.log'
                ) as url:
            yield url, env
    finally:
        if pg_uri.startswith('postgresql://'):
            drop_postgresql_database(pg_uri, database)
