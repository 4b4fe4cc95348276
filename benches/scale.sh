#!/usr/bin/env bash
# Scale benchmark for OneLead (issue 7): 10k, 100k and 1M install-base rows.
#
# For each size it generates a CSV sample (`onelead sample --format csv`) into a temp dir and
# measures, on that same data:
#   import   sqlite3 `.import --csv` of every CSV file into an empty db: the practical floor
#   load     `onelead load` into an empty db (ingest + accounts + classify), as rows/s
#   run      `onelead run` into an empty db, end to end: wall seconds, peak RSS, db size
#   rules    `onelead whatif` with the same rules on the run's db: re-evaluation only, no ingest
#            (what watch mode does after a rule edit). items/s is items / the evaluate stage
#            (ONELEAD_TIMINGS=1); the whatif wall time, which adds the before/after snapshot
#            of every lead, is printed too.
#   store    sqlite3 alone writing the run's own tables and indexes into an empty db: what
#            storing that output costs SQLite, with no parsing, cleaning or rules (rows are
#            built one by one, as any writer must, not copied raw from the run's db)
#   views    every view subcommand this build has, on the run's db
# and prints a table at the end. Usage: benches/scale.sh [ROWS...]  (default: 10000 100000 1000000)
# Generated data lives in a temp dir that is removed on exit; nothing is written to the repo
# except that the last table is copied to benches/RESULTS.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(10000 100000 1000000)
AS_OF=2025-09-01

need() { command -v "$1" >/dev/null 2>&1; }
if ! need sqlite3 || [ ! -x /usr/bin/time ]; then
  echo "installing sqlite3 and time" >&2
  apt-get install -y sqlite3 time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y sqlite3 time >/dev/null; }
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$ROOT" && cargo build --release --quiet)
BIN=$CARGO_TARGET_DIR/release/onelead

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
COMMON=(--config "$ROOT/config/onelead.yaml")
RULES=(--rules "$ROOT/rules")

# `timed OUT CMD...`: runs CMD with /usr/bin/time -v and ONELEAD_TIMINGS=1; stdout to /dev/null,
# stderr (timings + time report) to OUT. Fails the script if CMD fails.
timed() {
  local out=$1; shift
  if ! ONELEAD_TIMINGS=1 /usr/bin/time -v "$@" >/dev/null 2>"$out"; then
    cat "$out" >&2; exit 1
  fi
}
wall() { # seconds from a /usr/bin/time -v report
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"
}
cpu() { # user + system CPU seconds from a /usr/bin/time report
  awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 } END { printf "%.2f", s }' "$1"
}
per_item() { # microseconds of CPU per item: per_item CPU_SECONDS ITEMS
  awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", c * 1e6 / n; else print "-" }'
}
rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
stage() { # stage seconds from ONELEAD_TIMINGS lines: `timing: NAME SECS COUNT`
  awk -v s="$2" '$1 == "timing:" && $2 == s { sub("s$", "", $3); print $3 }' "$1" | tail -1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print "-" }'; }
secs() { # wall seconds of a command (stdout discarded); "-" if it fails
  local t0 t1
  t0=$(date +%s.%N)
  if "$@" >/dev/null 2>&1; then t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
  else echo "-"; fi
}
has_cmd() { "$BIN" help 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

ROWS_OUT=()
VIEW_OUT=()
for n in "${SIZES[@]}"; do
  dir=$WORK/in$n
  echo "== $n rows" >&2
  t0=$(date +%s.%N)
  "$BIN" sample --rows "$n" --format csv --out "$dir" >/dev/null
  gen=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  csv_mib=$(du -cm "$dir"/*.csv | awk 'END { print $1 }')

  # Floor: sqlite3's own CSV import of the same files, one table each, into an empty db.
  imp_db=$WORK/import$n.db
  t0=$(date +%s.%N)
  for f in "$dir"/*.csv; do
    sqlite3 "$imp_db" ".import --csv $f $(basename "$f" .csv)"
  done
  import=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  rm -f "$imp_db"

  timed "$WORK/load$n.txt" "$BIN" load "${COMMON[@]}" "${RULES[@]}" --data "$dir" \
    --db "$WORK/load$n.db" --as-of "$AS_OF"
  load=$(wall "$WORK/load$n.txt")
  rm -f "$WORK/load$n.db"*

  db=$WORK/run$n.db
  timed "$WORK/run$n.txt" "$BIN" run "${COMMON[@]}" "${RULES[@]}" --data "$dir" --db "$db" \
    --as-of "$AS_OF"
  run=$(wall "$WORK/run$n.txt")
  rss=$(rss_mib "$WORK/run$n.txt")
  size=$(du -cm "$db"* | awk 'END { print $1 }')
  grep '^timing:' "$WORK/run$n.txt" | sed "s/^/  run $n /" >&2

  # Second floor: sqlite3 alone writing what the run stored (its tables, then their indexes)
  # into an empty db, with the pragmas onelead's first load uses. No parsing, cleaning or rules:
  # what storing this output costs SQLite, whatever computes it.
  store_db=$WORK/store$n.db
  {
    echo "PRAGMA journal_mode = DELETE; PRAGMA synchronous = NORMAL;"
    echo "PRAGMA cache_size = -131072; PRAGMA threads = $(nproc);"
    sqlite3 "$db" "SELECT sql || ';' FROM sqlite_master
                   WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    echo "ATTACH '$db' AS run; BEGIN;"
    # `WHERE 1` turns off SQLite's transfer optimisation, which copies an identical table's
    # records and index entries raw, without building a row: no writer holding new rows gets
    # that (it made lead_rows 3× and install_base 2× cheaper than building their rows).
    sqlite3 "$db" "SELECT printf('INSERT INTO main.\"%w\" SELECT * FROM run.\"%w\" WHERE 1;',
                     name, name)
                   FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    echo "PRAGMA cache_size = -2048;" # as onelead sorts its index builds: faster
    sqlite3 "$db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    echo "COMMIT;"
  } >"$WORK/store$n.sql"
  /usr/bin/time -v sqlite3 "$store_db" <"$WORK/store$n.sql" >/dev/null 2>"$WORK/store$n.txt"
  store=$(wall "$WORK/store$n.txt")
  rm -f "$store_db"*

  timed "$WORK/whatif$n.txt" "$BIN" whatif "${COMMON[@]}" "${RULES[@]}" --db "$db" --as-of "$AS_OF"
  whatif=$(wall "$WORK/whatif$n.txt")
  evaluate=$(stage "$WORK/whatif$n.txt" evaluate)
  items=$(awk '$1 == "timing:" && $2 == "evaluate" { c = $4 } END { print c }' "$WORK/whatif$n.txt")
  grep '^timing:' "$WORK/whatif$n.txt" | sed "s/^/  whatif $n /" >&2
  # A bound no schedule of this build's work beats on this machine: SQLite's CPU for storing
  # the output (the store floor) plus the CPU of evaluating the rules over every item (whatif,
  # which writes nothing), spread perfectly over every core.
  store_cpu=$(cpu "$WORK/store$n.txt")
  rules_cpu=$(cpu "$WORK/whatif$n.txt")
  bound=$(awk -v a="$store_cpu" -v b="$rules_cpu" -v c="$(nproc)" 'BEGIN { printf "%.2f", (a + b) / c }')
  # The same re-evaluation by Rhai alone: no result caches, no compiled fast path. About 3×
  # the CPU, so only up to 100k rows.
  rhai_us=-
  if [ "$n" -le 100000 ]; then
    ONELEAD_NO_FAST=1 ONELEAD_NO_MEMO=1 timed "$WORK/rhai$n.txt" "$BIN" whatif "${COMMON[@]}" \
      "${RULES[@]}" --db "$db" --as-of "$AS_OF"
    rhai_us=$(per_item "$(cpu "$WORK/rhai$n.txt")" "$items")
  fi

  ROWS_OUT+=("$(printf '| %9s | %6s | %5s | %7s | %9s | %7s | %8s | %6s | %9s | %8s | %6s | %5s | %7s | %7s | %11s | %9s | %9s | %13s | %8s | %8s |' \
    "$n" "$csv_mib" "$gen" "$import" "$(rate "$n" "$load")" "$run" "$(ratio "$run" "$import")" \
    "$rss" "$(rate "$items" "$evaluate")" "$evaluate" "$whatif" "$size" "$load" "$store" \
    "$(ratio "$store" "$import")" "$store_cpu" "$rules_cpu" "$(ratio "$bound" "$import")" \
    "$(per_item "$rules_cpu" "$items")" "$rhai_us")")

  views=()
  views+=("leads --limit 20:$(secs "$BIN" leads --limit 20 --db "$db" "${COMMON[@]}")")
  for v in dashboard territories analytics; do
    has_cmd "$v" && views+=("$v:$(secs "$BIN" "$v" --db "$db" "${COMMON[@]}")")
  done
  if has_cmd account; then
    acct=$(sqlite3 "$db" "SELECT account_id FROM leads GROUP BY account_id ORDER BY count(*) DESC LIMIT 1")
    views+=("account $acct:$(secs "$BIN" account "$acct" --db "$db" "${COMMON[@]}")")
  fi
  if has_cmd explain; then
    lead=$(sqlite3 "$db" "SELECT lead_id FROM leads ORDER BY score DESC LIMIT 1")
    views+=("explain $lead:$(secs "$BIN" explain "$lead" --db "$db" "${COMMON[@]}")")
  fi
  for v in "${views[@]}"; do VIEW_OUT+=("$(printf '| %9s | %-28s | %7s |' "$n" "${v%%:*}" "${v##*:}")"); done
  rm -f "$db"*
  rm -rf "$dir"
done

{
  echo "# OneLead scale benchmark"
  echo
  echo "\`benches/scale.sh\` on $(nproc) cores, $(date -u +%Y-%m-%d), commit $(cd "$ROOT" && git rev-parse --short HEAD)."
  echo "Times in seconds; import = sqlite3 \`.import --csv\` of the same CSV files (the floor);"
  echo "ratio = run / import; rules items/s = items / evaluate stage of \`whatif\` (re-evaluation only);"
  echo "store = sqlite3 alone writing the run's own tables and indexes into an empty db (no parsing,"
  echo "cleaning or rules: the cost of storing that output), store/import its ratio to the import."
  echo "store cpu / rules cpu = CPU seconds (user + system) of that store and of the \`whatif\`;"
  echo "bound/import = (store cpu + rules cpu) / $(nproc) cores / import: no schedule of this build's"
  echo "rules and that storing, however parallel, can make run/import smaller on this machine."
  echo "rules µs = rules cpu per item; rhai µs = the same \`whatif\` by Rhai alone (ONELEAD_NO_FAST=1"
  echo "ONELEAD_NO_MEMO=1: no result caches, no compiled fast path; up to 100k rows). 300k items/s on"
  echo "$(nproc) cores is $(awk -v c="$(nproc)" 'BEGIN { printf "%.1f", c * 1e6 / 300000 }') µs of CPU per item."
  echo
  echo "| IB rows   | CSV MiB | gen s | import s | load rows/s | run s | run/import | RSS MiB | rules items/s | eval s | whatif s | DB MiB | load s | store s | store/import | store cpu | rules cpu | bound/import | rules µs | rhai µs |"
  echo "|-----------|--------|-------|---------|-----------|---------|----------|--------|-----------|----------|--------|-------|---------|---------|-------------|-----------|-----------|--------------|----------|---------|"
  printf '%s\n' "${ROWS_OUT[@]}"
  echo
  echo "| IB rows   | view                         | seconds |"
  echo "|-----------|------------------------------|---------|"
  printf '%s\n' "${VIEW_OUT[@]}"
} | tee "$ROOT/benches/RESULTS.md"
