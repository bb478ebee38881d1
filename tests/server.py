"""A trytond server on a free loopback port, for the tests that talk to it
over HTTP (the browser test, the JSON-RPC fuzz test).

``demo_server`` builds a database with both modules and the demo data (the
same script as `make demo`: an SQLite file in a temporary folder, or a
PostgreSQL database when TRYTOND_DATABASE__URI names one), starts
``trytond -d <database>`` on it and stops the server and drops the database
on exit. Everything started here is stopped here.
"""
import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]


class ServerError(Exception):
    "The server could not be built or started"


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def drop_postgresql_database(uri, name):
    import psycopg
    with psycopg.connect(
            uri.rstrip('/') + '/postgres', autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(data, port, **extra):
    "The environment of a trytond using data as its SQLite folder"
    env = dict(os.environ,
        TRYTOND_CONFIG=str(ROOT / 'config' / 'trytond.conf'),
        TRYTOND_DATABASE__PATH=str(data),
        TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}',
        TRYTOND_EMAIL__URI='smtp://127.0.0.1:1',
        **extra)
    for key in ['DB_NAME', 'DB_CACHE']:
        env.pop(key, None)
    return env


@contextlib.contextmanager
def demo_server(database, data, **extra_env):
    """Yield (url, env) of a trytond serving database, built with the demo
    data in the folder data"""
    port = free_port()
    env = server_env(data, port, **extra_env)
    pg_uri = env.get('TRYTOND_DATABASE__URI', '')
    bin_dir = pathlib.Path(sys.executable).parent
    log_path = pathlib.Path(data) / 'trytond.log'
    server = None
    try:
        subprocess.run(
            [sys.executable, str(ROOT / 'scripts' / 'demo_data.py'),
                '--database', database, '--reset'],
            env=env, check=True, cwd=ROOT, timeout=900)
        with open(log_path, 'w') as log:
            server = subprocess.Popen(
                [str(bin_dir / 'trytond'), '-d', database],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
            url = f'http://127.0.0.1:{port}/'
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except urllib.error.HTTPError:
                    # Up, without a web client to serve
                    break
                except OSError:
                    if (server.poll() is not None
                            or time.monotonic() > deadline):
                        log.flush()
                        raise ServerError("trytond did not start:\n"
                            + log_path.read_text()[-3000:])
                    time.sleep(0.3)
            yield url, env
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        if pg_uri.startswith('postgresql://'):
            drop_postgresql_database(pg_uri, database)
