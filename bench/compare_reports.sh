#!/usr/bin/env bash
# Side by side, in one run: every canned report for one tenant vs one plain scan of the same
# tables (`examlake query` of a count over questions; it loads the tenant's four tables, as the
# reports do, and computes almost nothing).
# Prints wall time, peak RSS and the ratio.
#
# Usage: bench/compare_reports.sh [ATTEMPTS]   (default 100000; uses ./bench-data, git-ignored)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/examlake-target}"
# Build exactly what the test command builds (the whole workspace, tests and examples): a
# build of one package alone resolves other features and recompiles Polars.
cargo test --release --locked --workspace --no-run >/dev/null 2>&1
BIN="$CARGO_TARGET_DIR/release/examlake"
DATA="bench-data/reports-$N"; mkdir -p "$DATA"
if [ ! -f "$DATA/w/tenant=bench/tables/_manifest.json" ]; then
  "$BIN" -q generate --tenant bench --attempts "$N" --seed 1 --out "$DATA/input.ndjson" >/dev/null
  "$BIN" -q ingest --from-file "$DATA/input.ndjson" --tenant bench --warehouse "$DATA/w" >/dev/null
  "$BIN" -q transform --warehouse "$DATA/w" >/dev/null
fi
echo "SELECT COUNT(*) AS n_questions, SUM(CASE WHEN is_correct THEN 1 ELSE 0 END) AS n_correct FROM questions" > "$DATA/scan.sql"

# shellcheck source=bench/measure.sh
source bench/measure.sh
results=()
results+=("$(measure report-all "$BIN" -q report all --tenant bench --warehouse "$DATA/w" --out "$DATA/r")")
results+=("$(measure plain-scan "$BIN" -q query "$DATA/scan.sql" --tenant bench --warehouse "$DATA/w")")
base=$(echo "${results[0]}" | cut -d' ' -f2)
echo "tables of $N generated attempts, $(nproc) cores"
printf '| %-12s | %8s | %12s | %18s |\n' what "wall s" "peak RSS MB" "time vs reports"
printf '|%s|%s|%s|%s|\n' "--------------" "----------" "--------------" "--------------------"
for row in "${results[@]}"; do
  read -r name secs rss <<< "$row"
  awk -v n="$name" -v s="$secs" -v r="$rss" -v b="$base" 'BEGIN { printf "| %-12s | %8.2f | %12d | %17.2fx |\n", n, s, r, s / b }'
done
