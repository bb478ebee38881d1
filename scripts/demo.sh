#!/usr/bin/env bash
# `make demo`: build (or reuse) the SQLite demo database, start the mail
# catcher, the trytond server with the web client and the cron process, and
# stop all of them on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
BIN=$(dirname "$PYTHON")
DB=${DEMO_DB:-demo}
PORT=${PORT:-8000}
SMTP_PORT=${SMTP_PORT:-8025}
mkdir -p "$TRYTOND_DATABASE__PATH" data/mail data/log

"$PYTHON" scripts/demo_data.py --database "$DB" ${RESET:+--reset}

export TRYTOND_WEB__LISTEN="127.0.0.1:$PORT"
export TRYTOND_EMAIL__URI="smtp://127.0.0.1:$SMTP_PORT"
pids=()
stop() {
    trap - INT TERM EXIT
    echo; echo "stopping demo (${pids[*]})"
    # Each process leads its own group: trytond-cron forks workers.
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

setsid "$PYTHON" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
    -c aiosmtpd.handlers.Mailbox data/mail >data/log/smtp.log 2>&1 &
pids+=($!)
setsid "$BIN/trytond" -d "$DB" >data/log/trytond.log 2>&1 &
pids+=($!)
setsid "$BIN/trytond-cron" -d "$DB" >data/log/cron.log 2>&1 &
pids+=($!)

for _ in $(seq 60); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.5
done
cat <<EOT

  Cloud billing demo is running
    web client : http://127.0.0.1:$PORT/
    database   : $DB  (SQLite file $TRYTOND_DATABASE__PATH/$DB.sqlite)
    logins     : finance / billing-demo          (Billing Finance)
                 finance_manager / billing-demo  (Billing Finance Manager)
                 support / billing-demo          (Billing Support, read-only)
                 admin / admin-demo
    emails     : caught by a local SMTP server into data/mail/ (Maildir)
    logs       : data/log/
  Ctrl-C stops everything.
EOT
wait -n "${pids[@]}"
echo "a demo process exited; see data/log/"
