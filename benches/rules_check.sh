#!/usr/bin/env bash
# How long the pre-flight takes: `onelead rules check` (compile, field check, and the dry run of
# every rule over the install base and the generated edge rows) on the bundled sample, and on a
# database of ROWS generated install-base rows (`onelead sample --rows ROWS`, then `run`).
# Each is timed RUNS times; the figures are wall and CPU seconds and peak RSS.
#
#   benches/rules_check.sh [ROWS] [RUNS]        # defaults: 100000 rows, 3 runs
#   ONELEAD_BIN=path benches/rules_check.sh     # another build
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
RUNS=${2:-3}
BIN=$(realpath "${ONELEAD_BIN:-target/release/onelead}")
[ -x "$BIN" ] || { echo "error: no binary at $BIN (cargo build --release)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
cp -r rules config "$work/"
cp -r data/sample "$work/data/"
cd "$work"

timed() {
  local label=$1; shift
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f "$label run $i: %e s wall, %U s user + %S s sys, %M KiB peak RSS" \
      "$@" > /dev/null 2> time.txt || { cat time.txt >&2; exit 1; }
    tail -1 time.txt
  done
}

echo "== rules check on the bundled sample (200 rows, no database)"
timed "sample" "$BIN" rules check --db none.db
"$BIN" rules check --db none.db | grep '^dry run'

echo "== $ROWS-row database"
"$BIN" sample --out gen --rows "$ROWS" --format csv > /dev/null
/usr/bin/time -f "run: %e s wall" "$BIN" run --data gen --db big.db --as-of 2025-10-29 > /dev/null
timed "$ROWS rows" "$BIN" rules check --db big.db
"$BIN" rules check --db big.db | grep '^dry run'
