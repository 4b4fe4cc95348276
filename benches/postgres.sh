#!/usr/bin/env bash
# PostgreSQL benchmark for OneLead (issue 24). Usage: benches/postgres.sh [ROWS]  (default 1000000)
#
# Generates a CSV sample of ROWS install-base rows (`onelead sample --format csv`) into a temp
# dir, starts a throwaway PostgreSQL server of its own (the machine's initdb and pg_ctl, as the
# postgres user when run as root; durable: fsync and synchronous commit on), and measures, on
# that same data, each into an empty database:
#   sqlite     `onelead run` on an SQLite file: the reference
#   postgres   `onelead run --db postgres://…`; target: at most 1.5 × sqlite
#   copy       psql `\copy` of the same CSV files into tables of text columns, one per file:
#              the floor of getting those bytes into PostgreSQL at all (no parsing, cleaning,
#              accounts, rules or indexes)
#   1 worker   `onelead run --db postgres://… --workers 1`: one worker process evaluates
#   2 workers  the same with two (the run's own process waits, then merges)
# checks that every run made the same number of leads, and prints one table with wall seconds,
# peak RSS of the onelead process and the ratios. The server and the data are removed on exit.
# Timings on a shared machine are noisy: the load average at the start is printed with them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${1:-1000000}
AS_OF=2025-09-01

need() { command -v "$1" >/dev/null 2>&1; }
if [ ! -x /usr/bin/time ]; then
  apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
BINDIR=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if [ ! -x "$BINDIR/initdb" ] || ! need psql; then
  echo "error: PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$ROOT" && cargo build --release --quiet)
BIN=$CARGO_TARGET_DIR/release/onelead

WORK=$(mktemp -d)
chmod 755 "$WORK" # the postgres user makes its cluster inside
PGDIR=$WORK/pg
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop() {
  as_pg "$BINDIR/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap stop EXIT

# The server: a small team's settings (a buffer cache of 1 GiB, checkpoints far enough apart
# that a run's writes are not checkpointed twice), durable as any.
mkdir -p "$PGDIR"
SUPER=$( [ "$(id -u)" = 0 ] && echo postgres || echo "$USER" )
[ "$(id -u)" = 0 ] && chown -R postgres: "$PGDIR"
as_pg "$BINDIR/initdb" -D "$PGDIR/data" -U "$SUPER" --auth=trust -E UTF8 --locale=C >/dev/null
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$BINDIR/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-p $PORT -k $PGDIR \
  -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_wal_size=8GB \
  -c checkpoint_timeout=30min" start >/dev/null
PSQL=(psql -X -q -h 127.0.0.1 -p "$PORT" -U "$SUPER" -v ON_ERROR_STOP=1)
url() { echo "postgres://$SUPER@127.0.0.1:$PORT/$1"; }
newdb() { "${PSQL[@]}" -d postgres -c "CREATE DATABASE $1" >/dev/null; }

wall() { # seconds from a /usr/bin/time -v report
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"
}
rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# `timed NAME CMD...`: runs CMD with /usr/bin/time -v and ONELEAD_TIMINGS=1, stderr to NAME.txt.
timed() {
  local out=$WORK/$1.txt; shift
  if ! ONELEAD_TIMINGS=1 /usr/bin/time -v "$@" >/dev/null 2>"$out"; then
    cat "$out" >&2; exit 1
  fi
}
leads() { "$BIN" dashboard --db "$1" --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["total_leads"])'; }

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
DATA=$WORK/data
"$BIN" sample --rows "$ROWS" --format csv --out "$DATA" >/dev/null
RUN=(run --config "$ROOT/config/onelead.yaml" --rules "$ROOT/rules" --data "$DATA" --as-of "$AS_OF")

# The floor: psql's \copy of every CSV file into a table of text columns named after its
# header, all in one session.
{
  echo "\\timing off"
  for f in "$DATA"/*.csv; do
    t=$(basename "$f" .csv)
    python3 - "$f" "$t" <<'PY'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as fh:
    n = len(next(csv.reader(fh)))
print(f'CREATE TABLE "{sys.argv[2]}" ({", ".join(f"c{i} text" for i in range(n))});')
PY
    echo "\\copy \"$t\" FROM '$f' WITH (FORMAT csv, HEADER true)"
  done
} >"$WORK/copy.sql"
newdb floor
/usr/bin/time -v "${PSQL[@]}" -d floor -f "$WORK/copy.sql" >/dev/null 2>"$WORK/copy.txt"

timed sqlite "$BIN" "${RUN[@]}" --db "$WORK/s.db"
newdb pg1; timed postgres "$BIN" "${RUN[@]}" --db "$(url pg1)"
newdb pgw1; timed workers1 "$BIN" "${RUN[@]}" --db "$(url pgw1)" --workers 1
newdb pgw2; timed workers2 "$BIN" "${RUN[@]}" --db "$(url pgw2)" --workers 2

counts=$(for db in "$WORK/s.db" "$(url pg1)" "$(url pgw1)" "$(url pgw2)"; do leads "$db"; done | sort -u)
if [ "$(echo "$counts" | wc -l)" != 1 ]; then
  echo "error: the runs made different numbers of leads: $counts" >&2
  exit 1
fi

for t in sqlite postgres workers2; do
  grep '^timing:' "$WORK/$t.txt" | sed "s/^/  $t /" >&2 || true
done
s=$(wall "$WORK/sqlite.txt"); p=$(wall "$WORK/postgres.txt"); c=$(wall "$WORK/copy.txt")
w1=$(wall "$WORK/workers1.txt"); w2=$(wall "$WORK/workers2.txt")
echo
echo "$(nproc) cores; load average at the start: $LOAD; PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}')"
echo "Wall seconds; RSS is the onelead process's peak; copy = psql \\copy of the same CSV files."
echo
echo "| IB rows | leads | SQLite run | PostgreSQL run | PG / SQLite | psql \\copy | PG run / copy | 1 worker | 2 workers | PG RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" \
  "$ROWS" "$counts" "$s" "$p" "$(ratio "$p" "$s")" "$c" "$(ratio "$p" "$c")" "$w1" "$w2" \
  "$(rss_mib "$WORK/postgres.txt")"
