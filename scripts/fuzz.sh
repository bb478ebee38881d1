#!/usr/bin/env bash
# make fuzz: the JSON-RPC fuzz test (tests/fuzz) in FUZZ_JOBS processes at
# once, each with its own trytond and database over a share of the entry
# points (FUZZ_SHARD=i/N), FUZZ_EXAMPLES examples per entry point. Each
# shard's log is in artifacts/fuzz/; the report of every shard is printed,
# then one line over all: "fuzz: N tried, M crashed" (non-zero exit when M
# > 0 or a shard failed).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
JOBS=${FUZZ_JOBS:-1}
OUT=artifacts/fuzz
rm -rf "$OUT" && mkdir -p "$OUT"
pids=()
for ((i = 0; i < JOBS; i++)); do
    FUZZ_SHARD="$i/$JOBS" FUZZ_DATABASE="cloudbill_fuzz_$i" DB_NAME="cloudbill_fuzz_$i" FUZZ_RANDOM=1 \
        "$PYTHON" -m pytest -s -p no:cacheprovider tests/fuzz \
        -k "test_fuzz$([ "$i" = 0 ] && echo ' or test_discovery')" \
        > "$OUT/shard-$i.log" 2>&1 &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' INT TERM
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
tried=0 crashed=0
for ((i = 0; i < JOBS; i++)); do
    sed -n '/JSON-RPC fuzz/,/^fuzz: /p' "$OUT/shard-$i.log" | grep -v '^fuzz: \|JSON-RPC fuzz'
    line=$(grep -E '^fuzz: [0-9]+ tried, [0-9]+ crashed' "$OUT/shard-$i.log" | tail -1)
    if [ -z "$line" ]; then
        echo "shard $i/$JOBS gave no report:"; tail -30 "$OUT/shard-$i.log"; status=1; continue
    fi
    read -r t c <<<"$(sed -E 's/^fuzz: ([0-9]+) tried, ([0-9]+) crashed.*/\1 \2/' <<<"$line")"
    tried=$((tried + t)); crashed=$((crashed + c))
done
echo "fuzz: $tried tried, $crashed crashed"
[ "$crashed" = 0 ] || status=1
exit $status
