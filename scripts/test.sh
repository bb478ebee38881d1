#!/usr/bin/env bash
# The whole suite, as `make test` runs it:
#   1. module unit and scenario tests and the cross-module tests (security,
#      fuzz, faults, bench smoke) on SQLite and, when TRYTOND_DATABASE__URI
#      names one, on PostgreSQL, in two lanes (the machine's two cores; see
#      lane_sqlite below; each run's output is printed as it ends);
#   2. the browser and end-to-end tests of each backend as soon as its
#      module tests end, one backend at a time (they share the OpenStack
#      test cloud);
#   3. one closing summary line over every run.
# SUITE=unit runs only the module tests, SUITE=e2e only the end-to-end tests;
# PYTEST_ARGS passes options to pytest (e.g. PYTEST_ARGS='-x -k smoke');
# PG_DB_NAME names the PostgreSQL test database (default cloudbill_test).
# The OpenStack test cloud is brought up once for all runs and always taken
# down. Nothing is skipped silently: a missing prerequisite is an error.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
SUITE=${SUITE:-all}
ART=artifacts/junit
rm -rf "$ART" && mkdir -p "$ART"

# Snapshots of activated databases (DB_CACHE) are keyed by the modules'
# source, so a change to a model or an XML file never reuses a stale one.
# tests/tools.py builds the snapshots' data (setup_billing), so it counts.
src_hash=$( (find addons -name '*.py' -o -name '*.xml' -o -name '*.cfg' -o -name '*.rst' \
    | grep -v '/tests/'; ls addons/*/tests/tools.py) | sort | xargs cat | sha1sum | cut -c1-12)
export DB_CACHE="$PWD/.cache/db/$src_hash"
find .cache/db -mindepth 1 -maxdepth 1 ! -name "$src_hash" -exec rm -rf {} + 2>/dev/null
mkdir -p "$DB_CACHE"
# The demo database of the fuzz and browser tests, built once a day per
# source (tests/trytond_server.py build_demo).
export DEMO_CACHE="$DB_CACHE/demo"

# What runs side by side on both backends, and what runs one after the other
# (modules: the module tests of addons/; cross: the cross-module tests of
# tests/, which PostgreSQL runs as a run of its own, see below).
case "$SUITE" in
    all) modules=(addons); cross=(tests --ignore=tests/e2e --ignore=tests/browser)
        serial=(tests/browser tests/e2e) ;;
    unit) modules=(addons); cross=(); serial=() ;;
    e2e) modules=(); cross=(); serial=(tests/e2e) ;;
    *) echo "unknown SUITE=$SUITE"; exit 2 ;;
esac

backends=(sqlite)
PG_URI=${TRYTOND_DATABASE__URI:-}
if [[ "$PG_URI" == postgresql://* ]]; then
    if ! "$PYTHON" - "$PG_URI" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].rstrip('/') + '/postgres', connect_timeout=5).close()
except Exception as e:
    sys.exit(f"ERROR: PostgreSQL at {sys.argv[1]} is not reachable: {e}")
PY
    then exit 1; fi
    backends+=(postgresql)
    # On PostgreSQL the snapshots are template databases (Tryton's
    # DB_CACHE=postgresql://, named test-<hash of the set-up's name>): a
    # database is created from one in a fraction of a second, where
    # pg_restore of a dump takes seconds. Their names do not hold the
    # sources' hash: they are dropped when the folder of this hash is new.
    if [ ! -e "$DB_CACHE/pg-templates" ]; then
        "$PYTHON" - "$PG_URI" <<'PY' || exit 1
import re, sys, psycopg
with psycopg.connect(sys.argv[1].rstrip('/') + '/postgres',
        autocommit=True) as conn:
    for name, in conn.execute("SELECT datname FROM pg_database").fetchall():
        if re.fullmatch(r'test-[0-9a-f]{40}|cloudbill_demo_[0-9a-f]{12}',
                name):
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
PY
        touch "$DB_CACHE/pg-templates"
    fi
elif [ -n "$PG_URI" ] && [[ "$PG_URI" != sqlite* ]]; then
    echo "ERROR: TRYTOND_DATABASE__URI=$PG_URI is neither sqlite:// nor postgresql://"; exit 2
fi
unset TRYTOND_DATABASE__URI

# One OpenStack test cloud for every backend run.
if [ "$SUITE" != unit ]; then
    if [ -z "${OPENSTACK_CLOUD_JSON:-}" ]; then
        trap '"$PYTHON" tests/openstack/cloud.py down' EXIT
        "$PYTHON" tests/openstack/cloud.py up || {
            echo "ERROR: the OpenStack test cloud did not start (logs above)"; exit 1; }
        export OPENSTACK_CLOUD_JSON="$PWD/.openstack-cloud/cloud.json"
    fi
fi

# run BACKEND NAME PATHS...: pytest on one backend, its JUnit report NAME
run() {
    local backend=$1 name=$2 suffix=${2#postgresql}
    shift 2
    if [ "$backend" = sqlite ]; then
        env DB_NAME=':memory:' "$PYTHON" -m pytest "$@" ${PYTEST_ARGS:-} \
            --junitxml="$ART/$name.xml" -o junit_suite_name="$name"
    else
        env TRYTOND_DATABASE__URI="$PG_URI" \
            DB_NAME="${PG_DB_NAME:-cloudbill_test}${suffix//-/_}" \
            DB_CACHE=postgresql:// \
            "$PYTHON" -m pytest "$@" ${PYTEST_ARGS:-} \
            --junitxml="$ART/$name.xml" -o junit_suite_name="$name"
    fi
}

# job BACKEND NAME PATHS...: one pytest run, its output printed as it ends
job() {
    local backend=$1 name=$2 code
    shift 2
    [ $# -gt 0 ] || return 0
    echo "=== $name: started $(date -u +%T)"
    run "$backend" "$name" "$@" > "$ART/$name.log" 2>&1
    code=$?
    echo "=== $name: $* (ended $(date -u +%T))"
    cat "$ART/$name.log"
    return $code
}
# serial_job: a job that waits for the other serial ones (the test cloud)
serial_job() {
    ( flock 9; job "$@" ) 9> "$ART/.serial.lock"
}

# Two lanes, one per core. PostgreSQL's module tests take longer than
# SQLite's, so the SQLite lane also runs PostgreSQL's cross-module tests
# after its own browser and end-to-end tests:
#   lane 1: SQLite modules + cross, SQLite e2e, PostgreSQL cross
#   lane 2: PostgreSQL modules, PostgreSQL e2e (when lane 1's is done)
# The two PostgreSQL runs use databases of their own (cloudbill_test and
# cloudbill_test_cross) and share the template databases.
lane_sqlite() {
    local status=0
    job sqlite sqlite "${modules[@]}" "${cross[@]}" || status=1
    [ ${#serial[@]} -eq 0 ] || serial_job sqlite sqlite-e2e "${serial[@]}" || status=1
    if [ "$has_pg" ]; then
        job postgresql postgresql-cross "${cross[@]}" || status=1
    fi
    return $status
}
lane_postgresql() {
    local status=0
    job postgresql postgresql "${modules[@]}" || status=1
    [ ${#serial[@]} -eq 0 ] || serial_job postgresql postgresql-e2e "${serial[@]}" || status=1
    return $status
}

has_pg=
[[ " ${backends[*]} " == *" postgresql "* ]] && has_pg=1
status=0 pids=()
lane_sqlite & pids+=($!)
if [ "$has_pg" ]; then
    lane_postgresql & pids+=($!)
fi
trap 'kill "${pids[@]}" 2>/dev/null' INT TERM
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done

"$PYTHON" scripts/junit_summary.py "$ART"/*.xml || status=1
exit $status
