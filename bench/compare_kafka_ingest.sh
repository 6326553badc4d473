#!/usr/bin/env bash
# Kafka ingest throughput, side by side in one run, from one pre-filled topic: examlake
# `ingest --until-caught-up` (parse check, Parquet, atomic writes, resume bookkeeping) against a
# bare rdkafka consumer that reads and discards the same messages. Prints messages/s, MB/s, peak
# RSS and the ratio. The broker must be up (scripts/services.sh up kafka).
#
# Usage: bench/compare_kafka_ingest.sh [ATTEMPTS]   (default 1000000; data in ./bench-data)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/examlake-target}"
eval "$(scripts/services.sh env)"
if [ "${KAFKA_AUTH:-none}" = scram ]; then
  export EXAMLAKE_KAFKA_USER="$KAFKA_ADMIN_USER" EXAMLAKE_KAFKA_PASSWORD="$KAFKA_ADMIN_PASSWORD"
fi
# Build exactly what the test command builds (the whole workspace, tests and examples): a
# build of one package alone resolves other features and recompiles Polars.
cargo test --release --locked --workspace --no-run >/dev/null 2>&1
BIN="$CARGO_TARGET_DIR/release"
DATA="bench-data"; mkdir -p "$DATA"
INPUT="$DATA/attempts-$N.ndjson"
[ -f "$INPUT" ] || "$BIN/examlake" -q generate --tenant bench --attempts "$N" --seed 1 --out "$INPUT" >/dev/null
MB=$(du -m "$INPUT" | cut -f1)
TENANT="kbench-$N"
# Produced once per size: a marker file records it, so a re-run reuses the topic as it is.
if [ ! -f "$DATA/produced-$TENANT" ]; then
  if ! "$BIN/examlake" -q produce --tenant "$TENANT" --file "$INPUT" --brokers "$KAFKA_BOOTSTRAP" --partitions 3 >"$DATA/produce-$N.log" 2>&1; then
    cat "$DATA/produce-$N.log" >&2; exit 1
  fi
  touch "$DATA/produced-$TENANT"
fi
# shellcheck source=bench/measure.sh
source bench/measure.sh
rm -rf "$DATA/kafka-warehouse"
results=()
results+=("$(measure bare_rdkafka_consume "$BIN/examples/bare_consume" "$KAFKA_BOOTSTRAP" "assessments.$TENANT")")
results+=("$(measure examlake_ingest "$BIN/examlake" -q ingest --brokers "$KAFKA_BOOTSTRAP" --tenant "$TENANT" \
  --group "bench-$(date +%s%N)" --until-caught-up --warehouse "$DATA/kafka-warehouse")")
landed=$(find "$DATA/kafka-warehouse" -name '*.parquet' -path '*raw*' | wc -l)
base=$(echo "${results[0]}" | cut -d' ' -f2)
echo "topic: $N attempts in 3 partitions, $MB MB of payload, $(nproc) cores; examlake landed $landed raw files"
printf '| %-22s | %8s | %10s | %8s | %12s | %18s |\n' consumer "wall s" "msgs/s" "MB/s" "peak RSS MB" "rate vs bare"
printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------" "----------" "------------" "----------" "--------------" "--------------------"
for row in "${results[@]}"; do
  read -r name secs rss <<< "$row"
  awk -v n="$name" -v s="$secs" -v mb="$MB" -v r="$rss" -v b="$base" -v N="$N" \
    'BEGIN { printf "| %-22s | %8.1f | %10.0f | %8.1f | %12d | %17.2fx |\n", n, s, N / s, mb / s, r, b / s }'
done
