#!/usr/bin/env bash
# Monthly-cycle benchmark for OneLead (issue 20): the first month's `run` into an empty
# database beside the second month's, which replaces every snapshot with next month's export.
#
# For each size it generates a CSV sample (`onelead sample --format csv`) as month 1, then
# derives month 2 from it: every file renamed (as vendors name exports by date), 2% of the
# install base gone, 1% new assets, 1% of the rest with another support status. Between the
# two runs the reps work 1% of the leads (`onelead status … contacted`). It measures:
#   month 1   `run` into an empty database: wall seconds, peak RSS, the stage timings (the
#             `snapshots` stage records the snapshots and settles the install base: its
#             asset keys, repeats, and the register it is compared through)
#   month 2   `run` on month 2 into that database: the same, and what it changed (assets
#             arrived / left / changed support status, leads new / closed / reopened)
# and checks that the worked leads kept their status. Prints a table at the end.
# Usage: benches/monthly.sh [ROWS...]  (default: 100000 1000000). Generated data lives in a
# temp dir removed on exit; nothing is written to the repo.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(100000 1000000)
AS_OF=2025-09-01

need() { command -v "$1" >/dev/null 2>&1; }
if ! need sqlite3 || [ ! -x /usr/bin/time ] || ! need python3; then
  echo "installing sqlite3, time and python3" >&2
  apt-get install -y sqlite3 time python3 >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y sqlite3 time python3 >/dev/null; }
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${ONELEAD_BIN:-}
if [ -z "$BIN" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  BIN=$CARGO_TARGET_DIR/release/onelead
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
COMMON=(--config "$ROOT/config/onelead.yaml" --rules "$ROOT/rules")

# `timed OUT CMD...`: runs CMD with /usr/bin/time -v and ONELEAD_TIMINGS=1; stdout (the run's
# JSON) to OUT.json, stderr (timings + time report) to OUT. Fails the script if CMD fails.
timed() {
  local out=$1; shift
  if ! ONELEAD_TIMINGS=1 /usr/bin/time -v "$@" >"$out.json" 2>"$out"; then
    cat "$out" >&2; exit 1
  fi
}
wall() {
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"
}
rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
stage() {
  awk -v s="$2" '$1 == "timing:" && $2 == s { sub("s$", "", $3); print $3 }' "$1" | tail -1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
# `field FILE EXPR`: a value of the run's JSON, by a Python expression on `r` (its `run`).
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['run']; print($2)" "$1.json"; }

# Month 2 from month 1: files renamed, install base rows dropped, added and changed.
derive_month2() {
  python3 - "$1" "$2" <<'PY'
import csv, os, random, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
rng = random.Random(20)
for name in os.listdir(src):
    to = os.path.join(dst, name.replace(".", "_sep30.", 1))
    if name != "install_base.csv":
        os.link(os.path.join(src, name), to)
        continue
    with open(os.path.join(src, name), newline="") as f, open(to, "w", newline="") as g:
        rows = csv.reader(f)
        out = csv.writer(g)
        header = next(rows)
        out.writerow(header)
        serial, status = header.index("Serial_Number_Id"), header.index("Support_Status")
        for row in rows:
            r = rng.random()
            if r < 0.02:
                continue  # gone
            if r < 0.03:
                row[status] = "Warranty Expired - Uncovered Box" if "Active" in row[status] \
                    else "Active Warranty"
            out.writerow(row)
            if rng.random() < 0.01:
                new = list(row)
                new[serial] = "NEW" + row[serial]
                out.writerow(new)
PY
}

OUT=()
for n in "${SIZES[@]}"; do
  echo "== $n rows" >&2
  m1=$WORK/m1_$n m2=$WORK/m2_$n db=$WORK/m$n.db
  "$BIN" sample --rows "$n" --format csv --out "$m1" >/dev/null
  derive_month2 "$m1" "$m2"

  timed "$WORK/first$n" "$BIN" run "${COMMON[@]}" --data "$m1" --db "$db" --as-of "$AS_OF" \
    --format json
  grep '^timing:' "$WORK/first$n" | sed "s/^/  month 1 $n /" >&2

  # The reps work 1% of the open leads between the runs.
  sqlite3 "$db" "SELECT lead_id FROM leads WHERE active = 1 ORDER BY lead_id" |
    awk 'NR % 100 == 0' >"$WORK/worked$n"
  worked=$(wc -l <"$WORK/worked$n")
  t0=$(date +%s.%N)
  xargs -n 500 sh -c '"$0" status "$@" contacted --db "'"$db"'" --by bench >/dev/null' "$BIN" \
    <"$WORK/worked$n"
  status_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

  timed "$WORK/second$n" "$BIN" run "${COMMON[@]}" --data "$m2" --db "$db" --as-of "$AS_OF" \
    --format json
  grep '^timing:' "$WORK/second$n" | sed "s/^/  month 2 $n /" >&2
  kept=$(sqlite3 "$db" "SELECT count(*) FROM leads WHERE status = 'contacted'")
  [ "$kept" -eq "$worked" ] || { echo "status kept on $kept of $worked leads" >&2; exit 1; }

  w1=$(wall "$WORK/first$n") w2=$(wall "$WORK/second$n")
  changes=$(field "$WORK/second$n" "'{arrived}/{left}/{support_status}'.format(**r['changes'])")
  leads=$(field "$WORK/second$n" "'{new_leads}/{closed}/{reopened}'.format(**r['evaluation'])")
  m1s=$(stage "$WORK/first$n" snapshots) m2s=$(stage "$WORK/second$n" snapshots)
  OUT+=("$(printf '| %9s | %7s | %7s | %7s | %7s | %5s | %7s | %7s | %7s | %8s | %18s | %14s | %14s |' \
    "$n" "$w1" "$(rss_mib "$WORK/first$n")" "$w2" "$(rss_mib "$WORK/second$n")" \
    "$(ratio "$w2" "$w1")" "$(stage "$WORK/second$n" load)" "$m1s" "$m2s" \
    "$(stage "$WORK/second$n" evaluate)" "$changes" "$leads" "$worked in ${status_s}s")")
  rm -rf "$db"* "$m1" "$m2"
done

echo
echo "| IB rows   | month 1 s | RSS MiB | month 2 s | RSS MiB | 2 / 1 | m2 load s | m1 snapshots s | m2 snapshots s | m2 evaluate s | assets arrived/left/status | leads new/closed/reopened | statuses set (kept) |"
echo "|-----------|---------|---------|---------|---------|-------|---------|---------|---------|----------|--------------------|----------------|----------------|"
printf '%s\n' "${OUT[@]}"
