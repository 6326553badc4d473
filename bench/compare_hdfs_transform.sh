#!/usr/bin/env bash
# What HDFS costs: the transform of the same raw data from a local warehouse and from an HDFS
# warehouse, side by side in one run. Prints wall time, peak RSS and the ratio.
# HDFS must be up (scripts/services.sh up hdfs).
#
# Usage: bench/compare_hdfs_transform.sh [ATTEMPTS]   (default 1000000; data in ./bench-data)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/examlake-target}"
eval "$(scripts/services.sh env)"
export HADOOP_USER_NAME="${HADOOP_USER_NAME:-$HDFS_SUPERUSER}"
# Build exactly what the test command builds (the whole workspace, tests and examples): a
# build of one package alone resolves other features and recompiles Polars.
cargo test --release --locked --workspace --no-run >/dev/null 2>&1
BIN="$CARGO_TARGET_DIR/release"
DATA="bench-data"; mkdir -p "$DATA"
INPUT="$DATA/attempts-$N.ndjson"
[ -f "$INPUT" ] || "$BIN/examlake" -q generate --tenant bench --attempts "$N" --seed 1 --out "$INPUT" >/dev/null
LOCAL="$DATA/hdfs-bench-local"
REMOTE="$HDFS_URL/bench-$N-$(date +%s)"
rm -rf "$LOCAL"
"$BIN/examlake" -q ingest --from-file "$INPUT" --tenant bench --warehouse "$LOCAL" >/dev/null
"$BIN/examlake" -q ingest --from-file "$INPUT" --tenant bench --warehouse "$REMOTE" >/dev/null
RAW_MB=$(du -sm "$LOCAL/tenant=bench/raw" | cut -f1)
# shellcheck source=bench/measure.sh
source bench/measure.sh
results=()
results+=("$(measure transform_local_disk "$BIN/examlake" -q transform --warehouse "$LOCAL")")
results+=("$(measure transform_hdfs "$BIN/examlake" -q transform --warehouse "$REMOTE")")
base=$(echo "${results[0]}" | cut -d' ' -f2)
echo "raw data: $N attempts, $RAW_MB MB of raw Parquet, $(nproc) cores"
printf '| %-22s | %8s | %12s | %16s |\n' warehouse "wall s" "peak RSS MB" "time vs local"
printf '|%s|%s|%s|%s|\n' "------------------------" "----------" "--------------" "------------------"
for row in "${results[@]}"; do
  read -r name secs rss <<< "$row"
  awk -v n="$name" -v s="$secs" -v r="$rss" -v b="$base" \
    'BEGIN { printf "| %-22s | %8.1f | %12d | %15.2fx |\n", n, s, r, s / b }'
done
