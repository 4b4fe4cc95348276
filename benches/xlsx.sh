#!/usr/bin/env bash
# xlsx benchmark (issue 26): `onelead run` on a large generated workbook against calamine's
# streaming floor, and against the same data as CSV.
#
# Generates, with `onelead sample` (never the real exports), a workbook shaped like the
# issue's: IB install-base rows, OPP opportunities and PRJ project rows (defaults 63,000,
# 98,000 and 1,048,575 — Excel's limit; about 48M cells), and the same data as CSV. Then, one
# after the other, with /usr/bin/time -v:
#   floor     examples/xlsx_floor: calamine's cell reader over every cell, nothing else
#   run xlsx  `onelead run` on the workbook folder into an empty db
#   run csv   `onelead run` on the CSV folder into an empty db
# and prints seconds, peak RSS and each run's ratio to the floor. CSV_IB=1000000 adds a run on
# that many install-base rows from CSV (the 1M-row memory target). Usage:
#   benches/xlsx.sh                       # the issue's scale (a few minutes)
#   IB=6300 OPP=9800 PRJ=105000 benches/xlsx.sh   # a tenth, to check the script
# Generated data lives in a temp dir removed on exit. At the issue's scale the table also
# replaces the measured part of benches/RESULTS-xlsx.md (scale.sh owns RESULTS.md), keeping its
# `## Notes` section; a smaller run only prints it, so checking the script changes no figures.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IB=${IB:-63000}
OPP=${OPP:-98000}
PRJ=${PRJ:-1048575}
CSV_IB=${CSV_IB:-}
AS_OF=2025-09-01

if [ ! -x /usr/bin/time ]; then
  apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$ROOT" && cargo build --release --quiet --bin onelead --example xlsx_floor)
BIN=$CARGO_TARGET_DIR/release/onelead
FLOOR=$CARGO_TARGET_DIR/release/examples/xlsx_floor

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
COMMON=(--config "$ROOT/config/onelead.yaml" --rules "$ROOT/rules" --as-of "$AS_OF")

wall() { # seconds from a /usr/bin/time -v report
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"
}
cpu() { awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 } END { printf "%.2f", s }' "$1"; }
rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
load_s() { # the load stage of a run (ONELEAD_TIMINGS), or - for the floor
  awk '/^timing: load / { sub(/s$/, "", $3); print $3; f = 1 } END { if (!f) print "-" }' "$1"
}
timed() { # timed NAME CMD...: runs CMD under /usr/bin/time -v, report in $WORK/NAME.time
  local name=$1; shift
  if ! ONELEAD_TIMINGS=1 /usr/bin/time -v "$@" >"$WORK/$name.out" 2>"$WORK/$name.time"; then
    cat "$WORK/$name.out" "$WORK/$name.time" >&2; exit 1
  fi
}

echo "generating $IB install-base, $OPP opportunity and $PRJ project rows (xlsx and csv)" >&2
SIZE=(--rows "$IB" --opportunities "$OPP" --projects "$PRJ" --seed 26)
"$BIN" sample --out "$WORK/xlsx" "${SIZE[@]}" --format xlsx >/dev/null
"$BIN" sample --out "$WORK/csv" "${SIZE[@]}" --format csv >/dev/null
BOOK=$WORK/xlsx/onelead_sample.xlsx
MB=$(du -m "$BOOK" | cut -f1)

echo "floor" >&2
timed floor "$FLOOR" "$BOOK" "$WORK/xlsx/onelead_sku.xlsx"
CELLS=$(awk '{ print $1 }' "$WORK/floor.out")
echo "run xlsx" >&2
timed xlsx "$BIN" run --data "$WORK/xlsx" --db "$WORK/x.db" "${COMMON[@]}"
echo "run csv" >&2
timed csv "$BIN" run --data "$WORK/csv" --db "$WORK/c.db" "${COMMON[@]}"
NAMES=(floor xlsx csv)
LABELS=("calamine floor (every cell)" "onelead run, xlsx" "onelead run, csv")
if [ -n "$CSV_IB" ]; then
  echo "generating $CSV_IB install-base rows as csv" >&2
  # The seed scale.sh uses: 8-character lead ids collide for some seeds near a million items.
  "$BIN" sample --out "$WORK/big" --rows "$CSV_IB" --seed 42 --format csv >/dev/null
  echo "run csv at $CSV_IB rows" >&2
  timed big "$BIN" run --data "$WORK/big" --db "$WORK/b.db" "${COMMON[@]}"
  NAMES+=(big)
  LABELS+=("onelead run, csv, $CSV_IB install-base rows")
fi

FLOOR_S=$(wall "$WORK/floor.time")
RESULTS=$ROOT/benches/RESULTS-xlsx.md
OUT=/dev/null
[ "$IB/$OPP/$PRJ" = 63000/98000/1048575 ] && OUT=$WORK/results.md
{
  echo "# OneLead xlsx benchmark"
  echo
  echo "\`benches/xlsx.sh\` on $(nproc) cores, $(date -u +%Y-%m-%d), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?');"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg) when it ended."
  echo "Workbook: $IB install base + $OPP opportunities + $PRJ projects; $CELLS cells, $MB MB."
  echo "floor = calamine's cell reader over every cell (examples/xlsx_floor.rs); / floor = wall / floor's wall;"
  echo "load s = the run's load stage (reading, cleaning, storing), before accounts, rules and leads."
  echo
  echo "| what | wall s | load s | CPU s | peak RSS MiB | / floor |"
  echo "|---|---|---|---|---|---|"
  for i in "${!NAMES[@]}"; do
    t=$WORK/${NAMES[$i]}.time
    ratio=$(awk -v a="$(wall "$t")" -v b="$FLOOR_S" 'BEGIN { printf "%.2f×", a / b }')
    [ "${NAMES[$i]}" = big ] && ratio="-"
    echo "| ${LABELS[$i]} | $(wall "$t") | $(load_s "$t") | $(cpu "$t") | $(rss_mib "$t") | $ratio |"
  done
} | tee "$OUT"
if [ "$OUT" = /dev/null ]; then
  echo "(not the issue's scale: $RESULTS left as it was)" >&2
else
  if [ -f "$RESULTS" ] && grep -q '^## Notes' "$RESULTS"; then
    { echo; sed -n '/^## Notes/,$p' "$RESULTS"; } >>"$OUT"
  fi
  cp "$OUT" "$RESULTS"
fi
