#!/usr/bin/env bash
# Does the transform's memory grow with the input? Generates N attempts, lands them, transforms
# them (a first, full build), and prints wall time and peak RSS of each step. Run it at 1M and
# 10M and compare the transform's peak RSS.
#
# Usage: bench/transform_scale.sh [ATTEMPTS]   (default 1000000; data in ./bench-data, git-ignored;
#        the NDJSON input is deleted after landing, to save disk: 10M is about 25 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/examlake-target}"
cargo test --release --locked --workspace --no-run >/dev/null 2>&1
BIN="$CARGO_TARGET_DIR/release/examlake"
DATA="bench-data/scale-$N"; rm -rf "$DATA"; mkdir -p "$DATA"
# shellcheck source=bench/measure.sh
source bench/measure.sh
results=()
results+=("$(measure generate "$BIN" -q generate --tenant bench --attempts "$N" --seed 1 --out "$DATA/input.ndjson")")
MB=$(du -m "$DATA/input.ndjson" | cut -f1)
results+=("$(measure ingest "$BIN" -q ingest --from-file "$DATA/input.ndjson" --tenant bench --warehouse "$DATA/w")")
rm -f "$DATA/input.ndjson"
results+=("$(measure transform "$BIN" -q transform --warehouse "$DATA/w")")
echo "$N generated attempts ($MB MB of NDJSON), $(nproc) cores"
printf '| %-10s | %8s | %12s |\n' step "wall s" "peak RSS MB"
printf '|%s|%s|%s|\n' "------------" "----------" "--------------"
for row in "${results[@]}"; do
  read -r name secs rss <<< "$row"
  printf '| %-10s | %8.1f | %12d |\n' "$name" "$secs" "$rss"
done
