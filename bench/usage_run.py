# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The steps of the usage workloads that bench/run.py runs in a process of
their own (``--child usage_generate`` and ``--child usage_measure``)"""
import cProfile
import resource

import usage_data
import usage_ingest
import usage_rating


def run_child(options):
    from trytond.pool import Pool
    database = options.database
    if options.child == 'usage_generate':
        Pool(database).init()
        data = usage_data.generate(database)
        if options.workload == 'usage_rating':
            return usage_rating.fill(database, options.size, data)
        return {}
    # The pool is loaded before the clock starts, as in a running server
    Pool(database).init()
    data = usage_data.read(database)
    if options.workload == 'usage_rating' and options.path == 'floor':
        seconds, check = usage_rating.run_floor(database)
        result = {'seconds': seconds, 'check': check}
    elif options.workload == 'usage_rating':
        if options.profile:
            from run import OUTPUT
            profiler = cProfile.Profile()
            seconds, check = profiler.runcall(usage_rating.run_ours, database)
            OUTPUT.mkdir(exist_ok=True)
            profiler.dump_stats(
                OUTPUT / f'usage_rating_ours_{options.size}.prof')
        else:
            seconds, check = usage_rating.run_ours(database)
        result = {'seconds': seconds, 'check': check}
    else:
        function = {
            'ours': usage_ingest.run_ours,
            'stock': usage_ingest.run_stock,
            'copy': usage_ingest.run_copy,
            }[options.path]
        result = function(database, options.size, data)
        result['check']['stored'] = (usage_ingest.count_events(database)
            if options.path != 'stock' else result['check']['stored'])
    result.setdefault('peak_rss_mb', round(resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    result['path'] = options.path
    return result
