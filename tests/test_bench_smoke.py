# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The benchmarks work: bench/run.py at N=20 on SQLite

The generator, both paths of the monthly run (the engine and stock Tryton),
its floor (bench/floor.py) and the results file; bench/run.py itself fails when a path did not post N
invoices of the expected amount or when the two totals differ. Not a timing
test. The first run builds the template databases (about a minute), later
runs reuse them from .cache/bench/.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = 20
KEYS = {'workload', 'size', 'database', 'ours_per_s', 'baseline_per_s',
    'ratio', 'ours_seconds', 'baseline_seconds', 'invoices',
    'ours_ms_per_invoice', 'baseline_ms_per_invoice', 'ours_peak_rss_mb',
    'baseline_peak_rss_mb', 'total_amount', 'floor_per_s',
    'floor_ms_per_invoice', 'max_ratio'}


def test_monthly_run_smoke(tmp_path):
    results = tmp_path / 'results.json'
    env = dict(os.environ, TRYTOND_DATABASE__URI='sqlite://')
    env.pop('DB_NAME', None)
    subprocess.run([sys.executable, str(ROOT / 'bench' / 'run.py'),
            '--workload', 'monthly_run', '--size', str(SIZE),
            '--results', str(results)],
        env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    entry, = json.loads(results.read_text())
    assert KEYS <= set(entry)
    assert (entry['workload'], entry['size'], entry['database']) == (
        'monthly_run', SIZE, 'sqlite')
    assert entry['invoices'] == SIZE
    assert entry['invoice_lines'] == 3 * SIZE
    assert entry['ours_per_s'] > 0 and entry['baseline_per_s'] > 0
    assert abs(entry['ratio'] - entry['ours_per_s'] / entry['baseline_per_s']
        ) < 0.05
    # The floor posted the same invoices (run.py checks its totals too)
    assert entry['floor_per_s'] > 0
    assert abs(entry['max_ratio']
        - entry['floor_per_s'] / entry['baseline_per_s']) < 0.05


def _run_usage(tmp_path, workload, size):
    results = tmp_path / 'results.json'
    env = dict(os.environ, TRYTOND_DATABASE__URI='sqlite://',
        BENCH_USAGE_SUBSCRIPTIONS='2', BENCH_USAGE_BATCH='20')
    env.pop('DB_NAME', None)
    subprocess.run([sys.executable, str(ROOT / 'bench' / 'run.py'),
            '--workload', workload, '--size', str(size),
            '--results', str(results)],
        env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    entry, = json.loads(results.read_text())
    assert (entry['workload'], entry['size'], entry['database']) == (
        workload, size, 'sqlite')
    return entry


def test_usage_ingest_smoke(tmp_path):
    """The route (through a trytond on loopback) and stock's ORM create, 3
    batches of 20 with duplicates; COPY is PostgreSQL's only"""
    entry = _run_usage(tmp_path, 'usage_ingest', 60)
    assert entry['batches'] == 3
    # 1 event of each batch after the first is sent again
    assert entry['ours_check'] == {
        'accepted': 58, 'duplicates': 2, 'stored': 58}
    assert entry['stored'] == 58
    assert entry['stock_check'] == {'stored': 60}
    assert 'copy_per_s' not in entry
    assert entry['ours_per_s'] > 0 and entry['stock_per_s'] > 0
    assert abs(entry['ratio'] - entry['ours_per_s'] / entry['stock_per_s']
        ) < 0.05
    assert entry['ours_peak_rss_mb'] > 0


def test_usage_rating_smoke(tmp_path):
    "Events ingested, aggregated into daily rows, the month rated"
    entry = _run_usage(tmp_path, 'usage_rating', 100)
    assert entry['events'] == 96
    # Each row of a day is rated once, in one charge per line and day
    check = entry['ours_check']
    assert check['rows_rated'] == entry['rows'] == check['charges']
    assert 0 < entry['rows'] <= 2 * 31
    assert entry['ours_rows_per_s'] > 0
    # On monthly lines: the same rows and amount, one charge per line
    assert check['month_rows_rated'] == entry['rows']
    assert check['month_charges'] == 2
    assert check['month_quantity'] == check['quantity']
    assert entry['ours_month_rows_per_s'] > 0
    assert entry['ours_warm_rows_per_s'] > 0
    # The floor rated the same rows to the same amount (run.py asserts it)
    assert entry['floor_rows_per_s'] > 0
    assert entry['floor_ratio'] > 0
