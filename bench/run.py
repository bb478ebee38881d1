# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""Benchmarks of the billing engine against stock Tryton

    python bench/run.py [--workload monthly_run] [--size N]... [--profile]

Writes bench/results.json (merged with the entries already there, keyed by
workload, size and database) and prints it. The database backend is the one
of TRYTOND_DATABASE__URI: SQLite (files in a temporary folder) by default,
PostgreSQL when it is postgresql://. See bench/README.md.
"""
import argparse
import cProfile
import datetime
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / 'results.json'
OUTPUT = BENCH / 'results'
WORKLOADS = ['monthly_run', 'usage_ingest', 'usage_rating']
# make bench without WORKLOAD runs these
DEFAULT_WORKLOADS = ['monthly_run']
SIZES = [1000, 10000]
# Events per run of the usage workloads (bench/usage_ingest.py,
# bench/usage_rating.py)
USAGE_SIZES = {
    'usage_ingest': [100_000, 1_000_000],
    'usage_rating': [10_000, 1_000_000],
    }
PG_TEMPLATES = set()


def _child_env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in [str(ROOT / 'addons'), str(BENCH),
            env.get('PYTHONPATH')] if p)
    env.setdefault('TRYTOND_CONFIG', str(ROOT / 'config' / 'trytond.conf'))
    return env


def child(action, **kwargs):
    "Run one step in a fresh process; return what it printed last (JSON)"
    args = [sys.executable, str(Path(__file__).resolve()), '--child', action]
    for key, value in kwargs.items():
        if value is True:
            args.append('--' + key)
        elif value is not False:
            args += ['--' + key.replace('_', '-'), str(value)]
    process = subprocess.run(
        args, env=_child_env(), stdout=subprocess.PIPE, text=True)
    if process.returncode:
        raise SystemExit(f"bench step {action} {kwargs} failed")
    return json.loads(process.stdout.strip().splitlines()[-1])


def source_hash():
    "Key of the templates: the modules' source and the generator"
    digest = hashlib.sha1()
    files = sorted(p for p in (ROOT / 'addons').rglob('*')
        if p.suffix in {'.py', '.xml', '.cfg'} and '/tests/' not in str(p))
    files += [ROOT / 'addons' / 'subscription_core' / 'tests' / 'tools.py',
        BENCH / 'template.py']
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def template(flavour):
    """The name of an activated, set-up database of the flavour

    Built once and kept: SQLite files in .cache/bench/<source hash>/,
    PostgreSQL databases named after the hash (dropped at the end of the
    run unless BENCH_KEEP_TEMPLATES=1).
    """
    import database
    import shutil
    key = source_hash()
    name = f'{database.BENCH_DB}_tpl_{flavour}_{key}'
    if database.backend_name() == 'sqlite':
        cache = ROOT / '.cache' / 'bench' / key
        cached = cache / (name + '.sqlite')
        if not cached.exists():
            database.create(name)
            child('template', database=name, flavour=flavour)
            cache.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(database._sqlite_file(name), cached)
            for old in cache.parent.iterdir():
                if old.name != key:
                    shutil.rmtree(old, ignore_errors=True)
        else:
            shutil.copyfile(cached, database._sqlite_file(name))
        return name
    if not database.exists(name):
        database.create(name)
        child('template', database=name, flavour=flavour)
    PG_TEMPLATES.add(name)
    return name


def measure(workload, size, profile=False, baseline=True, floor=True):
    import database
    import generate
    names = {
        'ours': database.BENCH_DB,
        'stock': database.BENCH_DB + '_stock',
        'floor': database.BENCH_DB + '_floor',
        }
    if not baseline:
        del names['stock']
    if not floor:
        del names['floor']
    entry = {
        'workload': workload,
        'size': size,
        'database': database.backend_name(),
        }
    try:
        for path, name in names.items():
            # The floor writes on the engine's data
            flavour = 'ours' if path == 'floor' else path
            database.clone(template(flavour), name)
            started = time.perf_counter()
            child('generate', database=name, flavour=flavour, size=size)
            entry[f'{path}_generate_seconds'] = round(
                time.perf_counter() - started, 1)
            database.vacuum_analyze(name)
        entry['load_average_before'] = os.getloadavg()[0]
        ours = child('measure', database=names['ours'], path='ours',
            workload=workload, profile=profile, size=size)
        if baseline:
            baseline = child('measure', database=names['stock'],
                path='baseline', workload=workload, size=size)
        if floor:
            floor = child('measure', database=names['floor'], path='floor',
                workload=workload, profile=profile, size=size)
        entry['load_average_after'] = os.getloadavg()[0]
    finally:
        for name in names.values():
            database.drop(name)

    expected = str(generate.expected_total(size))
    for result in [r for r in [ours, baseline, floor] if r]:
        if (result['check']['invoices'] != size
                or result['check']['untaxed_amount'] != expected):
            raise SystemExit(
                f"{workload} {result['path']}: expected {size} posted "
                f"invoices of {expected}, got {result['check']}")
    for other in [r for r in [baseline, floor] if r]:
        if (ours['check']['total_amount'] != other['check']['total_amount']
                or other['check']['posted_moves'] != size):
            raise SystemExit(f"{workload} {other['path']}: totals differ "
                f"or moves missing: {ours['check']} != {other['check']}")
    invoices = size
    if not baseline:
        # Not measured (too long for the run's budget): no ratio
        baseline = {'seconds': None, 'peak_rss_mb': None,
            'check': {'queued_tasks': None}}
        entry['baseline_skipped'] = (
            f"stock not run above --baseline-max")

    def per_s(seconds):
        return round(invoices / seconds, 2) if seconds else None

    def ms(seconds):
        return round(1000 * seconds / invoices, 3) if seconds else None
    entry.update({
            'ours_per_s': per_s(ours['seconds']),
            'baseline_per_s': per_s(baseline['seconds']),
            'ratio': (round(baseline['seconds'] / ours['seconds'], 2)
                if baseline['seconds'] else None),
            'invoices': invoices,
            'invoice_lines': ours['check']['invoice_lines'],
            'ours_seconds': round(ours['seconds'], 2),
            'baseline_seconds': (round(baseline['seconds'], 2)
                if baseline['seconds'] else None),
            'ours_ms_per_invoice': ms(ours['seconds']),
            'baseline_ms_per_invoice': ms(baseline['seconds']),
            'ours_peak_rss_mb': ours['peak_rss_mb'],
            'baseline_peak_rss_mb': baseline['peak_rss_mb'],
            'total_amount': ours['check']['total_amount'],
            'ours_queued_tasks': ours['check']['queued_tasks'],
            'baseline_queued_tasks': baseline['check']['queued_tasks'],
            'ours_job_retries': ours['retries'],
            })
    if floor:
        entry.update({
            'floor_per_s': per_s(floor['seconds']),
            'floor_seconds': round(floor['seconds'], 2),
            'floor_ms_per_invoice': ms(floor['seconds']),
            'floor_peak_rss_mb': floor['peak_rss_mb'],
            # The highest ratio an engine writing through the ORM can reach
            'max_ratio': (round(baseline['seconds'] / floor['seconds'], 2)
                if baseline['seconds'] else None),
            })
    entry.update({
            'cpus': os.cpu_count(),
            'python': sys.version.split()[0],
            'measured_at': datetime.datetime.now().isoformat(
                timespec='seconds'),
            })
    return entry


def measure_usage(workload, size, profile=False):
    """An entry of usage_ingest (ours, stock and, on PostgreSQL, copy) or
    usage_rating (ours), each path on its own copy of the same data"""
    import database
    backend = database.backend_name()
    paths = ['ours']
    if workload == 'usage_ingest':
        paths += ['stock'] + (['copy'] if backend == 'postgresql' else [])
    names = {p: f'{database.BENCH_DB}_{workload}_{p}' for p in paths}
    entry = {'workload': workload, 'size': size, 'database': backend}
    results = {}
    try:
        for path, name in names.items():
            database.clone(template('usage'), name)
            started = time.perf_counter()
            filled = child('usage_generate', database=name,
                workload=workload, size=size)
            entry[f'{path}_generate_seconds'] = round(
                time.perf_counter() - started, 1)
            entry.update(filled)
            database.vacuum_analyze(name)
        entry['load_average_before'] = os.getloadavg()[0]
        for path, name in names.items():
            results[path] = child('usage_measure', database=name,
                path=path, workload=workload, size=size, profile=profile)
        if workload == 'usage_rating':
            # The floor reads the same rows, after ours (bench/usage_rating)
            results['floor'] = child('usage_measure', database=names['ours'],
                path='floor', workload=workload, size=size)
        entry['load_average_after'] = os.getloadavg()[0]
    finally:
        for name in names.values():
            database.drop(name)
    ours = results['ours']
    if workload == 'usage_ingest':
        import usage_data
        for path, result in results.items():
            entry.update({
                    f'{path}_per_s': round(size / result['seconds'], 1),
                    f'{path}_seconds': round(result['seconds'], 3),
                    f'{path}_peak_rss_mb': result['peak_rss_mb'],
                    f'{path}_check': result['check'],
                    })
        entry['batches'] = -(-size // min(usage_data.BATCH, size))
        entry['stored'] = ours['check']['stored']
        entry['ratio'] = round(
            results['stock']['seconds'] / ours['seconds'], 2)
        if 'copy' in results:
            # Our time per event over COPY's per row it wrote
            copy = results['copy']
            entry['copy_ratio'] = round(
                (ours['seconds'] / size)
                / (copy['seconds'] / copy['check']['stored']), 2)
    else:
        rows = ours['check']['rows_rated']
        # The median of the ratings after the first, and on monthly lines
        # (bench/usage_rating.py)
        warm = statistics.median(ours['check'].pop('warm_seconds'))
        month = statistics.median(ours['check'].pop('month_seconds'))
        entry.update({
                'ours_seconds': round(ours['seconds'], 4),
                'ours_ms_per_month': round(1000 * ours['seconds'], 1),
                'ours_rows_per_s': round(rows / ours['seconds'], 1),
                'ours_warm_ms_per_month': round(1000 * warm, 1),
                'ours_warm_rows_per_s': round(rows / warm, 1),
                'ours_month_ms_per_month': round(1000 * month, 1),
                'ours_month_rows_per_s': round(
                    ours['check']['month_rows_rated'] / month, 1),
                'ours_peak_rss_mb': ours['peak_rss_mb'],
                'ours_check': ours['check'],
                })
        floor = results['floor']
        for name in ['charges', 'rows_rated', 'amount']:
            assert floor['check'][name] == ours['check'][name], (
                name, floor['check'], ours['check'])
        entry.update({
                'floor_ms_per_month': round(1000 * floor['seconds'], 1),
                'floor_rows_per_s': round(rows / floor['seconds'], 1),
                # Ours (running) over the floor: how far from the bound
                'floor_ratio': round(warm / floor['seconds'], 2),
                })
    entry.update({
            'cpus': os.cpu_count(),
            'python': sys.version.split()[0],
            'measured_at': datetime.datetime.now().isoformat(
                timespec='seconds'),
            'measured_under_load': os.getloadavg()[0] > 1.5,
            })
    return entry


def merge(entries, path=RESULTS):
    results = json.loads(path.read_text()) if path.exists() else []
    keys = {(e['workload'], e['size'], e['database']) for e in entries}
    results = [r for r in results
        if (r['workload'], r['size'], r['database']) not in keys]
    results = sorted(results + entries,
        key=lambda r: (r['workload'], r['database'], r['size']))
    path.write_text(json.dumps(results, indent=2) + '\n')
    return results


def table(results):
    "The entries as a Markdown table (for bench/README.md)"
    rows = ["| workload | N | database | ours/s | baseline/s | ratio "
        "| ours ms/invoice | baseline ms/invoice | floor ms/invoice "
        "| max ratio | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in [r for r in results if r['workload'] == 'monthly_run']:
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (r['workload'], f"{r['size']:,}", r['database'],
                r['ours_per_s'], r['baseline_per_s'] or 'not run',
                r['ratio'] or '-', r['ours_ms_per_invoice'],
                r['baseline_ms_per_invoice'] or '-',
                r.get('floor_ms_per_invoice') or '-',
                r.get('max_ratio') or '-',
                '%.1f-%.1f' % (r['load_average_before'],
                    r['load_average_after'])))
    return '\n'.join(rows + [''] + usage_tables(results))


def usage_tables(results):
    "The usage workloads' entries as Markdown tables"
    rows = ["| workload | events | database | ours events/s | stock events/s "
        "| ratio | COPY events/s | ours / COPY time | ours peak RSS MB "
        "| load avg |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r['workload'] == 'usage_ingest':
            rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                % (r['workload'], f"{r['size']:,}", r['database'],
                    r['ours_per_s'], r['stock_per_s'], r['ratio'],
                    r.get('copy_per_s') or 'not run',
                    r.get('copy_ratio') or '-', r['ours_peak_rss_mb'],
                    '%.1f-%.1f' % (r['load_average_before'],
                        r['load_average_after'])))
    rows += ['', "| workload | events | database | rows "
        "| daily lines, first rating: rows/s (ms) "
        "| daily lines, running: rows/s (ms) "
        "| monthly lines, running: rows/s (ms) "
        "| floor: rows/s (ms) | running / floor "
        "| aggregation s | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r['workload'] == 'usage_rating':
            rows.append("| %s | %s | %s | %s | %s (%s) | %s (%s) | %s (%s) "
                "| %s (%s) | %s | %s | %s |"
                % (r['workload'], f"{r['size']:,}", r['database'],
                    r['ours_check']['rows_rated'], r['ours_rows_per_s'],
                    r['ours_ms_per_month'],
                    r.get('ours_warm_rows_per_s', 'not run'),
                    r.get('ours_warm_ms_per_month', '-'),
                    r.get('ours_month_rows_per_s', 'not run'),
                    r.get('ours_month_ms_per_month', '-'),
                    r.get('floor_rows_per_s', 'not run'),
                    r.get('floor_ms_per_month', '-'),
                    r.get('floor_ratio', '-'),
                    r['aggregate_seconds'],
                    '%.1f-%.1f' % (r['load_average_before'],
                        r['load_average_after'])))
    return rows


def run_child(options):
    "The steps that need a trytond pool, each in its own process"
    import generate
    from trytond.config import update_etc
    update_etc(os.environ.get('TRYTOND_CONFIG'))
    if options.child.startswith('usage_'):
        import usage_run
        result = usage_run.run_child(options)
    elif options.child == 'template':
        import template
        template.build(options.database, options.flavour)
        result = {}
    elif options.child == 'generate':
        generate.generate(options.database, options.size, options.flavour)
        result = {}
    elif options.child == 'measure':
        import floor
        import monthly_run
        from trytond.pool import Pool
        # The pool is loaded before the clock starts, as in a running server
        Pool(options.database).init()
        function = {
            'ours': monthly_run.run_ours,
            'baseline': monthly_run.run_baseline,
            'floor': floor.run_floor,
            }[options.path]
        if options.profile:
            profiler = cProfile.Profile()
            seconds = profiler.runcall(function, options.database)
            OUTPUT.mkdir(exist_ok=True)
            profiler.dump_stats(OUTPUT / (f'{options.workload}_'
                    f'{options.path}_{options.size}.prof'))
        else:
            seconds = function(options.database)
        result = {
            'path': options.path,
            'seconds': seconds,
            'peak_rss_mb': round(resource.getrusage(
                    resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            'check': monthly_run.check(options.database),
            'retries': monthly_run.RETRIES[0],
            }
    print(json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workload', choices=WORKLOADS, action='append')
    parser.add_argument('--size', type=int, action='append')
    parser.add_argument('--baseline-max', type=int,
        help="run stock only up to this size (it is slow)")
    parser.add_argument('--profile', action='store_true',
        help="profile our path and the floor (cProfile) into bench/results/")
    parser.add_argument('--no-floor', action='store_true',
        help="do not measure the floor (ORM writes alone, bench/floor.py)")
    parser.add_argument('--no-save', action='store_true',
        help="print without merging into the results file")
    parser.add_argument('--results', type=Path, default=RESULTS,
        help="the results file (default bench/results.json)")
    parser.add_argument('--table', action='store_true',
        help="print the results file as a Markdown table and exit")
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--database', help=argparse.SUPPRESS)
    parser.add_argument('--flavour', help=argparse.SUPPRESS)
    parser.add_argument('--path', help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        options.size = options.size[0] if options.size else None
        options.workload = options.workload[0] if options.workload else None
        return run_child(options)
    if options.table:
        print(table(json.loads(options.results.read_text())))
        return

    import database
    os.environ.setdefault(
        'TRYTOND_CONFIG', str(ROOT / 'config' / 'trytond.conf'))
    tmp = None
    if database.backend_name() == 'sqlite':
        tmp = tempfile.TemporaryDirectory(prefix='cloudbill-bench-')
        os.environ['TRYTOND_DATABASE__PATH'] = tmp.name
    entries = []
    try:
        for workload in options.workload or DEFAULT_WORKLOADS:
            for size in options.size or USAGE_SIZES.get(workload, SIZES):
                print(f"bench {workload} N={size} on "
                    f"{database.backend_name()}...", file=sys.stderr)
                if workload != 'monthly_run':
                    entries.append(
                        measure_usage(workload, size, options.profile))
                    continue
                entries.append(measure(workload, size, options.profile,
                        baseline=options.baseline_max is None
                        or size <= options.baseline_max,
                        floor=not options.no_floor))
    finally:
        if (database.backend_name() == 'postgresql'
                and not os.environ.get('BENCH_KEEP_TEMPLATES')):
            for name in PG_TEMPLATES:
                database.drop(name)
        if tmp:
            tmp.cleanup()
    if not options.no_save:
        merge(entries, options.results)
    print(json.dumps(entries, indent=2))


if __name__ == '__main__':
    sys.exit(main())
