#!/usr/bin/env bash
# Load benchmark of `onelead serve` (issue 23). Usage: benches/serve.sh [ROWS] [SECONDS] [CLIENTS]
# (default 1000000 install-base rows, 30 s, 16 clients; verify at 100000 first).
#
# It generates a CSV sample of ROWS install-base rows, runs it once into a fresh database, adds
# a rep, and starts `onelead serve` on 127.0.0.1. Then, for SECONDS, CLIENTS clients of
# `examples/loadgen.rs` request at random: the queue page and `/api/leads` with filters
# (priority, type, the busiest and the rarest territory, min-score, status) and deep keyset
# pages (a cursor 90% down the queue), plus a few status changes — while `onelead run` rewrites
# the leads back to back (each run with another `--as-of`, so every lead's day counts, text and
# score change). It prints p50/p95/p99 per kind of request, the errors (any answer but 2xx),
# the server's peak RSS (VmHWM), and how long each concurrent run took. First it writes the
# static report of the same database and prints its size and peak RSS (targets at 100k rows:
# ≤ 10 MB written in ≤ 512 MiB). Targets: p95 < 100 ms, errors 0, RSS < 300 MiB.
# Everything is on loopback, bounded in time; the temp dir is removed on exit.
# SERVE_BENCH_CACHE=DIR keeps the sample and the first run's database in DIR and reuses them
# (a copy) when DIR holds those of the same ROWS: at 1M rows that saves a minute or two a run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${1:-1000000}
SECONDS_=${2:-30}
CLIENTS=${3:-16}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need sqlite3 || ! need curl || [ ! -x /usr/bin/time ]; then
  echo "installing sqlite3, curl and time" >&2
  apt-get install -y sqlite3 curl time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y sqlite3 curl time >/dev/null; }
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$ROOT" && cargo build --release --quiet && cargo build --release --quiet --example loadgen)
BIN=$CARGO_TARGET_DIR/release/onelead
LOADGEN=$CARGO_TARGET_DIR/release/examples/loadgen

WORK=$(mktemp -d)
SERVER=""
RUNS=""
cleanup() {
  touch "$WORK/stop" 2>/dev/null || true
  [ -f "$WORK/run.pid" ] && kill "$(cat "$WORK/run.pid")" 2>/dev/null || true
  [ -n "$RUNS" ] && kill "$RUNS" 2>/dev/null || true
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
COMMON=(--config "$ROOT/config/onelead.yaml")
DB=$WORK/bench.db

CACHE=${SERVE_BENCH_CACHE:-}
DATA=$WORK/data
if [ -n "$CACHE" ] && [ "$(cat "$CACHE/rows" 2>/dev/null)" = "$ROWS" ]; then
  echo "== $ROWS install-base rows: the sample and first run kept in $CACHE" >&2
  DATA=$CACHE/data
  cp "$CACHE/bench.db" "$DB"
else
  echo "== $ROWS install-base rows: sample and first run" >&2
  "$BIN" sample --out "$DATA" --rows "$ROWS" --format csv >/dev/null
  start=$(date +%s.%N)
  "$BIN" run "${COMMON[@]}" --data "$DATA" --db "$DB" --rules "$ROOT/rules" --as-of 2025-09-01 >/dev/null
  echo "first run: $(echo "$(date +%s.%N) - $start" | bc) s" >&2
  if [ -n "$CACHE" ]; then
    rm -rf "$CACHE" && mkdir -p "$CACHE"
    sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
    cp -r "$DATA" "$CACHE/data" && cp "$DB" "$CACHE/bench.db" && echo "$ROWS" >"$CACHE/rows"
  fi
fi
LEADS=$(sqlite3 "$DB" "SELECT count(*) FROM lead_rows WHERE active = 1")
echo "active leads: $LEADS" >&2
/usr/bin/time -v "$BIN" report "${COMMON[@]}" --db "$DB" --out "$WORK/report.html" \
  >/dev/null 2>"$WORK/report.time"
echo "report (queue capped at its default --limit): $(stat -c %s "$WORK/report.html" | \
  awk '{ printf "%.1f MB", $1 / 1e6 }') written in $(awk '/Maximum resident/ { printf "%.0f MiB", \
  $6 / 1024 }' "$WORK/report.time") peak RSS, $(awk -F': ' '/Elapsed/ { print $2 }' \
  "$WORK/report.time") wall"
TOKEN=$(echo "bench password" | "$BIN" user add bench --role rep --db "$DB" "${COMMON[@]}" | tail -1)

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --listen "127.0.0.1:$PORT" --db "$DB" "${COMMON[@]}" 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

# A browser session for the pages.
curl -s -c "$WORK/jar" "http://127.0.0.1:$PORT/login" -o "$WORK/login.html"
GUARD=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$WORK/login.html" | head -1 | cut -d'"' -f4)
curl -s -b "$WORK/jar" -c "$WORK/jar" -o /dev/null \
  --data "name=bench&password=bench+password&csrf=$GUARD" "http://127.0.0.1:$PORT/login"
SESSION=$(awk '$6 == "onelead_session" { print $7 }' "$WORK/jar")

# Filters from the data itself, and a cursor 90% down the queue (a deep page).
TERRITORY=$(sqlite3 "$DB" "SELECT territory_id FROM lead_rows WHERE active = 1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
# The territory with the fewest active leads: its page cannot stop early on the score order.
RARE=$(sqlite3 "$DB" "SELECT territory_id FROM lead_rows WHERE active = 1 AND territory_id IS NOT NULL GROUP BY 1 ORDER BY count(*), 1 LIMIT 1")
echo "territories: busiest $TERRITORY, rarest $RARE" >&2
DEEP=$(sqlite3 "$DB" "SELECT json_array(NULL, score, lead_id) FROM lead_rows WHERE active = 1
  ORDER BY score DESC, lead_id LIMIT 1 OFFSET $((LEADS * 9 / 10))")
DEEP=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$DEEP")
WRITE_ID=$(sqlite3 "$DB" "SELECT lead_id FROM lead_rows WHERE active = 1 AND status = 'new' LIMIT 1")
curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"status":"contacted","note":"bench"}' "http://127.0.0.1:$PORT/api/leads/$WRITE_ID/status" >/dev/null

cat >"$WORK/plan" <<EOF
header Cookie: onelead_session=$SESSION
page GET /leads
page GET /leads?priority=critical,high
page GET /leads?type=renewal&min-score=60
page GET /leads?territory=$TERRITORY
page-rare GET /leads?territory=$RARE
page GET /leads?status=new&limit=100
page-deep GET /leads?after=$DEEP
header Authorization: Bearer $TOKEN
api GET /api/leads?limit=50
api GET /api/leads?priority=high&limit=50
api GET /api/leads?territory=$TERRITORY&limit=50
api-rare GET /api/leads?territory=$RARE&limit=50
api GET /api/leads?type=refresh&min-score=50&limit=50
api-deep GET /api/leads?limit=50&after=$DEEP
write POST /api/leads/$WRITE_ID/status {"status":"contacted","note":"bench note"}
EOF

# Runs back to back, each with another as-of date, until the load ends (the one still running
# then is stopped; it rolls back).
(
  day=2
  while [ ! -e "$WORK/stop" ]; do
    s=$(date +%s.%N)
    "$BIN" run "${COMMON[@]}" --data "$DATA" --db "$DB" --rules "$ROOT/rules" \
      --as-of "2025-10-$(printf %02d $day)" >/dev/null 2>>"$WORK/runs.err" &
    echo $! >"$WORK/run.pid"
    if wait "$!"; then
      echo "$(echo "$(date +%s.%N) - $s" | bc)" >>"$WORK/runs.txt"
    elif [ ! -e "$WORK/stop" ]; then
      echo "a run failed" >>"$WORK/runs.err"
    fi
    day=$(( day % 27 + 1 ))
  done
) &
RUNS=$!
sleep 1
echo "== $CLIENTS clients for $SECONDS_ s on 127.0.0.1:$PORT while runs rewrite the leads" >&2
"$LOADGEN" "$PORT" "$WORK/plan" "$CLIENTS" "$SECONDS_" | tee "$WORK/load.txt"
touch "$WORK/stop"
kill "$(cat "$WORK/run.pid")" 2>/dev/null || true
wait "$RUNS" 2>/dev/null || true
RUNS=""
RSS=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER/status")
echo "server peak RSS: $RSS MiB"
touch "$WORK/runs.txt"
echo "concurrent runs that finished during the load (s): $(tr '\n' ' ' <"$WORK/runs.txt")(one was writing throughout)"
if [ -s "$WORK/runs.err" ]; then echo "run errors:"; cat "$WORK/runs.err"; fi
PENDING=$(sqlite3 "$WORK/bench.desk.db" "SELECT count(*) FROM journal")
echo "journal entries not yet applied at the end: $PENDING (applied as soon as no run holds the database)"
