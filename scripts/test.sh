#!/usr/bin/env bash
# The project's test command: format check, clippy with warnings denied, every test.
# Uses a cargo target directory that survives between runs (CARGO_TARGET_DIR, default
# ~/.cache/examlake-target) so only the first run on a machine is a cold build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/examlake-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# rustfmt and clippy ship as rustup components; a minimal toolchain may lack them.
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi

# The browser test opens the HTML report in Debian's headless Chromium.
if ! command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1; then
  echo "== installing chromium (Debian package) for the browser test"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium > /dev/null
fi

# Real services for the integration tests: Kafka (KRaft) and HDFS from Maven Central jars.
# Started in the background while the build runs; stopped at the end, pass or fail, unless
# they were already running before this script (a developer's own session). Started here, they
# start on fresh data, as on CI: the nightly test reads every tenant topic on the broker, so
# topics left by earlier runs (200k messages per crash test) would slow each run down more.
mkdir -p .services
services_log=".services/test-up.log"
services_started_here=0
if scripts/services.sh status all > /dev/null 2>&1; then
  echo "== services: already running (left running)"
  services_pid=""
else
  echo "== services: starting Kafka and HDFS in the background (log: $services_log)"
  services_started_here=1
  # Kafka with SASL/SCRAM and ACLs: the tenant-isolation tests attack it.
  if ! scripts/services.sh status kafka > /dev/null 2>&1 && ! scripts/services.sh status hdfs > /dev/null 2>&1; then
    scripts/services.sh reset all > "$services_log" 2>&1
  fi
  KAFKA_AUTH=scram scripts/services.sh up all >> "$services_log" 2>&1 &
  services_pid=$!
fi
cleanup_dirs=()
cleanup() {
  rm -rf "${cleanup_dirs[@]}"
  if [ "$services_started_here" = 1 ]; then
    [ -n "$services_pid" ] && wait "$services_pid" 2> /dev/null || true
    echo "== services: stopping"
    scripts/services.sh down all > /dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --release --locked -- -D warnings
echo "== the README's first command resolves to the examlake binary"
cargo run --release --locked -q -- demo --help > /dev/null

if [ -n "$services_pid" ]; then
  wait "$services_pid" || { cat "$services_log" >&2; echo "services failed to start" >&2; exit 1; }
  services_pid=""
  tail -n 2 "$services_log"
fi
eval "$(scripts/services.sh env)"
export EXAMLAKE_TEST_BROKERS="$KAFKA_BOOTSTRAP" EXAMLAKE_TEST_HDFS="$HDFS_URL"
if [ "${KAFKA_AUTH:-none}" != scram ]; then
  echo "the running Kafka is not in KAFKA_AUTH=scram mode: run scripts/services.sh down kafka, reset kafka, then this again" >&2
  exit 1
fi
# Tests act as the Kafka admin unless they say otherwise (the isolation tests use tenant users).
export EXAMLAKE_KAFKA_USER="$KAFKA_ADMIN_USER" EXAMLAKE_KAFKA_PASSWORD="$KAFKA_ADMIN_PASSWORD"
export HADOOP_USER_NAME="${HADOOP_USER_NAME:-$HDFS_SUPERUSER}"

echo "== cargo test (against the real broker and HDFS)"
test_log="$(mktemp)"
cleanup_dirs+=("$test_log")
cargo test --workspace --release --locked 2>&1 | tee "$test_log"

echo "== interop: DuckDB and PySpark read the tables"
# Pinned PyPI versions, installed once into a virtualenv that survives between runs.
VENV="${EXAMLAKE_VENV:-$HOME/.cache/examlake-venv}"
PY_PACKAGES=(duckdb==2.0.1 pyspark==4.3.0 numpy==2.3.5 pyyaml==6.0.2)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
interop_dir="$(mktemp -d)"
cleanup_dirs+=("$interop_dir")
"$CARGO_TARGET_DIR/release/examlake" -q demo --sample-dir data/sample \
  --warehouse "$interop_dir/warehouse" --reports "$interop_dir/reports" > /dev/null
SPARK_LOCAL_IP=127.0.0.1 "$VENV/bin/python" scripts/interop_check.py "$interop_dir/warehouse" acme 2> "$interop_dir/spark.log" \
  || { cat "$interop_dir/spark.log" >&2; exit 1; }

echo "== item analysis: a second implementation (numpy) agrees"
"$CARGO_TARGET_DIR/release/examlake" report item-analysis --tenant acme --warehouse "$interop_dir/warehouse" \
  --format json > "$interop_dir/item_analysis.json"
"$VENV/bin/python" scripts/item_analysis_check.py "$interop_dir/warehouse" acme "$interop_dir/item_analysis.json"
echo "== distractors: a second implementation (numpy) agrees"
"$CARGO_TARGET_DIR/release/examlake" report distractors --tenant acme --warehouse "$interop_dir/warehouse" \
  --format json > "$interop_dir/distractors.json"
"$VENV/bin/python" scripts/distractors_check.py "$interop_dir/warehouse" acme "$interop_dir/distractors.json"

echo "== docker-compose.yml: structure matches the services script and the CLI"
"$VENV/bin/python" scripts/check_compose.py "$CARGO_TARGET_DIR/release/examlake"

# One closing line for the whole run: every cargo test binary's counts plus the interop check.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed + 4, failed }' "$test_log"
