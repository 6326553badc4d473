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
# The broker runs on the same cores: its CPU time during each run is part of what the run costs.
BROKER_PID="$(cat .services/kafka/kafka.pid)"
broker_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$BROKER_PID/stat"; }
TICKS="$(getconf CLK_TCK)"
# measure_cpu NAME COMMAND...: prints "NAME wall_s peak_rss_mb cpu_s broker_cpu_s".
measure_cpu() {
  local name="$1"; shift
  local log before after; log="$(mktemp)"; before="$(broker_cpu_ticks)"
  /usr/bin/time -f "%e %M %U %S" -o "$log" "$@" >/dev/null 2>&1 || { echo "$name failed" >&2; cat "$log" >&2; exit 1; }
  after="$(broker_cpu_ticks)"
  read -r secs kb user sys < <(tail -1 "$log"); rm -f "$log"
  awk -v n="$name" -v s="$secs" -v kb="$kb" -v u="$user" -v y="$sys" -v b="$before" -v a="$after" -v t="$TICKS" \
    'BEGIN { printf "%s %s %d %.1f %.1f\n", n, s, kb / 1024, u + y, (a - b) / t }'
}
rm -rf "$DATA/kafka-warehouse"
results=()
results+=("$(measure_cpu bare_rdkafka_consume "$BIN/examples/bare_consume" "$KAFKA_BOOTSTRAP" "assessments.$TENANT")")
results+=("$(measure_cpu examlake_ingest "$BIN/examlake" -q ingest --brokers "$KAFKA_BOOTSTRAP" --tenant "$TENANT" \
  --group "bench-$(date +%s%N)" --until-caught-up --warehouse "$DATA/kafka-warehouse")")
landed=$(find "$DATA/kafka-warehouse" -name '*.parquet' -path '*raw*' | wc -l)
base=$(echo "${results[0]}" | cut -d' ' -f2)
CORES="$(nproc)"
echo "topic: $N attempts in 3 partitions, $MB MB of payload, $CORES cores; examlake landed $landed raw files"
printf '| %-22s | %8s | %10s | %8s | %12s | %7s | %12s | %14s |\n' consumer "wall s" "msgs/s" "MB/s" "peak RSS MB" "CPU s" "broker CPU s" "rate vs bare"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------" "----------" "------------" "----------" "--------------" "---------" "--------------" "----------------"
for row in "${results[@]}"; do
  read -r name secs rss cpu broker <<< "$row"
  awk -v n="$name" -v s="$secs" -v mb="$MB" -v r="$rss" -v c="$cpu" -v k="$broker" -v b="$base" -v N="$N" \
    'BEGIN { printf "| %-22s | %8.1f | %10.0f | %8.1f | %12d | %7.1f | %12.1f | %13.2fx |\n", n, s, N / s, mb / s, r, c, k, b / s }'
done
# The bound the cores set: a run cannot take less wall time than its own CPU time plus the
# broker's, spread over every core.
read -r _ _ _ cpu broker <<< "${results[1]}"
awk -v c="$cpu" -v k="$broker" -v n="$CORES" -v b="$base" \
  'BEGIN { w = (c + k) / n; printf "examlake on %d cores: (%.1f + %.1f broker) CPU s / %d = at least %.1f s of wall, at best %.2fx the bare rate\n", n, c, k, n, w, b / w }'
