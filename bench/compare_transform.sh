#!/usr/bin/env bash
# Side by side, in one run, on the same generated NDJSON: examlake (file ingest + transform),
# DuckDB (read_json + unnest to Parquet), Python Polars (read_ndjson + explode), PySpark the seed's
# way (spark.read.json with inference + explode) and the serde_json parse floor.
# Set SKIP_PYSPARK=1 to leave PySpark out (it needs several minutes at 1M), SKIP_PYTHON_POLARS=1
# to leave Python Polars out (it needs about 4.7 GB per 100k attempts). Prints wall time, MB/s,
# peak RSS and each one's ratio to examlake. Then it times the least work any design must do
# (examples/mandatory_work.rs: read, check, compress, decompress and parse every line, each on one
# thread; SKIP_LEAST_WORK=1 leaves it out) and sets that bound beside the speed targets of issue 3.
#
# Usage: bench/compare_transform.sh [ATTEMPTS]   (default 100000; data in ./bench-data, git-ignored)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/examlake-target}"
VENV="${EXAMLAKE_VENV:-$HOME/.cache/examlake-venv}"
# Build exactly what the test command builds (the whole workspace, tests and examples): a
# build of one package alone resolves other features and recompiles Polars.
cargo test --release --locked --workspace --no-run >/dev/null 2>&1
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check duckdb==2.0.1 polars==2.1.0 pyspark==4.3.0
BIN="$CARGO_TARGET_DIR/release"
DATA="bench-data"; mkdir -p "$DATA"
INPUT="$DATA/attempts-$N.ndjson"
[ -f "$INPUT" ] || "$BIN/examlake" -q generate --tenant bench --attempts "$N" --seed 1 --out "$INPUT" >/dev/null
MB=$(du -m "$INPUT" | cut -f1)

# shellcheck source=bench/measure.sh
source bench/measure.sh

rm -rf "$DATA/warehouse" "$DATA/duckdb" "$DATA/polars" "$DATA/pyspark"
results=()
results+=("$(measure examlake bash -c "'$BIN/examlake' -q ingest --from-file '$INPUT' --tenant bench --warehouse '$DATA/warehouse' && '$BIN/examlake' -q transform --warehouse '$DATA/warehouse'")")
results+=("$(measure duckdb "$VENV/bin/python" bench/duckdb_transform.py "$INPUT" "$DATA/duckdb")")
if [ -z "${SKIP_PYTHON_POLARS:-}" ]; then
  results+=("$(measure python_polars "$VENV/bin/python" bench/polars_transform.py "$INPUT" "$DATA/polars")")
fi
if [ -z "${SKIP_PYSPARK:-}" ]; then
  results+=("$(BENCH_EXTRA_RSS_FILE="$DATA/jvm-rss" measure pyspark_seed "$VENV/bin/python" bench/pyspark_transform.py "$INPUT" "$DATA/pyspark")")
fi
results+=("$(measure serde_parse_floor "$BIN/examples/parse_floor" "$INPUT")")

base=$(echo "${results[0]}" | cut -d' ' -f2)
echo "input: $N attempts, $MB MB of NDJSON, $(nproc) cores"
printf '| %-18s | %8s | %8s | %12s | %22s |\n' tool "wall s" "MB/s" "peak RSS MB" "time vs examlake"
printf '|%s|%s|%s|%s|%s|\n' "--------------------" "----------" "----------" "--------------" "------------------------"
for row in "${results[@]}"; do
  read -r name secs rss <<< "$row"
  awk -v n="$name" -v s="$secs" -v mb="$MB" -v r="$rss" -v b="$base" \
    'BEGIN { printf "| %-18s | %8.1f | %8.1f | %12d | %21.2fx |\n", n, s, mb / s, r, s / b }'
done

if [ -z "${SKIP_LEAST_WORK:-}" ]; then
  echo
  least=$(POLARS_MAX_THREADS=1 "$BIN/examples/mandatory_work" "$INPUT")
  echo "$least"
  # "with bare zstd: … at least S s of wall time on C cores …"
  bound=$(echo "$least" | sed -n 's/^with bare zstd: .* at least \([0-9.]*\) s of wall.*/\1/p')
  # budget FACTOR PEER SECONDS: the wall time "FACTORx faster than PEER" allows, beside the bound.
  budget() {
    awk -v f="$1" -v peer="$2" -v s="$3" -v b="$bound" \
      'BEGIN { printf "%sx faster than %s = %.2f s; the least work alone needs %.2f s (%.2fx that budget)\n", f, peer, s / f, b, b / (s / f) }'
  }
  for row in "${results[@]}"; do
    read -r name secs _ <<< "$row"
    case "$name" in
      duckdb) budget 2 DuckDB "$secs" ;;
      pyspark_seed) budget 10 PySpark "$secs" ;;
    esac
  done
fi
