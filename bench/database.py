# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Databases of the benchmarks: create, clone from a template, drop

The backend comes from ``TRYTOND_DATABASE__URI`` like everywhere else:
SQLite files in ``TRYTOND_DATABASE__PATH`` by default, PostgreSQL when the
URI is ``postgresql://``. A template (modules activated, company, chart,
fiscal year, services) is built once and cloned for each size: a file copy
on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL.
"""
import os
import shutil

# The prefix of the databases of a run (BENCH_DB: two checkouts that
# benchmark on one PostgreSQL server at once need different ones)
BENCH_DB = os.environ.get('BENCH_DB', 'cloudbill_bench')


def uri():
    return os.environ.get('TRYTOND_DATABASE__URI') or 'sqlite://'


def backend_name():
    return 'postgresql' if uri().startswith('postgresql') else 'sqlite'


def _sqlite_file(name):
    return os.path.join(os.environ['TRYTOND_DATABASE__PATH'], name + '.sqlite')


def _pg_connect():
    import psycopg
    return psycopg.connect(
        uri().rstrip('/') + '/postgres', autocommit=True, connect_timeout=10)


def exists(name):
    if backend_name() == 'sqlite':
        return os.path.exists(_sqlite_file(name))
    with _pg_connect() as conn:
        return bool(conn.execute(
                'SELECT 1 FROM pg_database WHERE datname = %s',
                (name,)).fetchone())


def create(name):
    "An empty database, initialised by trytond-admin afterwards"
    drop(name)
    if backend_name() == 'sqlite':
        # trytond creates the file on first connection
        open(_sqlite_file(name), 'wb').close()
        return
    with _pg_connect() as conn:
        conn.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')


def clone(template, name):
    drop(name)
    if backend_name() == 'sqlite':
        shutil.copyfile(_sqlite_file(template), _sqlite_file(name))
        return
    with _pg_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop(name):
    if backend_name() == 'sqlite':
        path = _sqlite_file(name)
        if os.path.exists(path):
            os.remove(path)
        return
    with _pg_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vacuum_analyze(name):
    "Fresh planner statistics after the bulk load (both paths alike)"
    if backend_name() == 'sqlite':
        import sqlite3
        conn = sqlite3.connect(_sqlite_file(name))
        conn.execute('ANALYZE')
        conn.close()
        return
    import psycopg
    with psycopg.connect(uri().rstrip('/') + '/' + name,
            autocommit=True) as conn:
        conn.execute('VACUUM ANALYZE')
