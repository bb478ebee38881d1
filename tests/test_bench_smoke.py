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
