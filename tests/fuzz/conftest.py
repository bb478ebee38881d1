"""Fixtures of the JSON-RPC fuzz test: one trytond on a free loopback port
over one database built once with the demo data (tests/trytond_server.py), the admin
and finance logins, and the entry points discovered from the modules.

FUZZ_EXAMPLES sets the examples per entry point (default 10 in `make test`,
10,000 in `make fuzz`); FUZZ_SECONDS, when set, bounds the time spent on one
entry point; FUZZ_SHARD=i/N (set by scripts/fuzz.sh) fuzzes every N-th entry
point only; FUZZ_ONLY=pattern,pattern fuzzes the entry points whose key
matches one of the patterns (shell-style, ``*.create``) and FUZZ_SKIP the
same way leaves them out; both select before the shards share the rest.
The report (tried and crashed per entry point, and the final ``fuzz: N
tried, M crashed`` line) is printed at the end of the session.
"""
import datetime
import fnmatch
import os

import pytest

from trytond_server import demo_server

from tests.fuzz import fuzzing
from tests.fuzz.jsonrpc import Client

# scripts/fuzz.sh names one per shard (PostgreSQL holds them side by side)
DATABASE = os.environ.get('FUZZ_DATABASE', 'cloudbill_fuzz')
ADMIN_PASSWORD = 'admin-demo'  # scripts/demo_data.py
FINANCE_PASSWORD = 'billing-demo'  # subscription_core/tests/tools.py
STATS = fuzzing.Stats()


def pytest_terminal_summary(terminalreporter):
    if STATS.points:
        terminalreporter.section('JSON-RPC fuzz')
        for line in STATS.lines():
            terminalreporter.write_line(line)


@pytest.fixture(scope='session')
def fuzz_server(tmp_path_factory):
    data = tmp_path_factory.mktemp('fuzz-db')
    with demo_server(DATABASE, data) as (url, env):
        yield url, env


@pytest.fixture(scope='session')
def fuzzer(fuzz_server):
    url, env = fuzz_server
    admin = Client(url, DATABASE)
    admin.login('admin', ADMIN_PASSWORD)
    finance = Client(url, DATABASE)
    finance.login('finance', FINANCE_PASSWORD)
    checksum = fuzzing.Checksum(env, DATABASE)
    # The bounds of subscription_core/bounds.py (written out so that the
    # test runs, and fails, on code without them)
    limits = {
        'number': 10 ** 15,
        'text': 100_000,
        'date_min': datetime.date(1900, 1, 1),
        'date_max': datetime.date(2999, 12, 31),
        }
    try:
        yield fuzzing.Fuzzer(finance, admin, checksum, limits, STATS)
    finally:
        checksum.close()
        admin.close()
        finance.close()


@pytest.fixture(scope='session')
def entry_points(fuzzer):
    return fuzzing.discover(fuzzer.admin, fuzzer.finance)


@pytest.fixture(scope='session')
def shard():
    """The share of the entry points this process fuzzes: those FUZZ_ONLY
    and FUZZ_SKIP select, then every N-th of them in the order of their
    keys for FUZZ_SHARD=i/N (scripts/fuzz.sh)"""
    index, count = map(int, os.environ.get('FUZZ_SHARD', '0/1').split('/'))

    def patterns(name):
        return list(filter(None, os.environ.get(name, '').split(',')))
    only, skip = patterns('FUZZ_ONLY'), patterns('FUZZ_SKIP')

    def matches(key, patterns):
        return any(fnmatch.fnmatchcase(key, p) for p in patterns)

    def select(points):
        points = sorted((p for p in points
                if (not only or matches(p.key, only))
                and not matches(p.key, skip)),
            key=lambda p: p.key)
        return [p for n, p in enumerate(points) if n % count == index]
    return select


@pytest.fixture(scope='session')
def budget():
    "(examples per entry point, seconds per entry point or None)"
    examples = int(os.environ.get('FUZZ_EXAMPLES', '10'))
    seconds = os.environ.get('FUZZ_SECONDS')
    return examples, (datetime.timedelta(seconds=float(seconds))
        if seconds else None)
