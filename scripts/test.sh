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

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --release --locked -- -D warnings
echo "== the README's first command resolves to the examlake binary"
cargo run --release --locked -q -- demo --help > /dev/null

echo "== cargo test"
test_log="$(mktemp)"
cargo test --workspace --release --locked 2>&1 | tee "$test_log"

echo "== interop: DuckDB and PySpark read the tables"
# Pinned PyPI versions, installed once into a virtualenv that survives between runs.
VENV="${EXAMLAKE_VENV:-$HOME/.cache/examlake-venv}"
PY_PACKAGES=(duckdb==2.0.1 pyspark==4.3.0 numpy==2.3.5 pyyaml==6.0.2)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
interop_dir="$(mktemp -d)"
trap 'rm -rf "$interop_dir" "$test_log"' EXIT
"$CARGO_TARGET_DIR/release/examlake" -q demo --sample-dir data/sample \
  --warehouse "$interop_dir/warehouse" --reports "$interop_dir/reports" > /dev/null
SPARK_LOCAL_IP=127.0.0.1 "$VENV/bin/python" scripts/interop_check.py "$interop_dir/warehouse" acme 2> "$interop_dir/spark.log" \
  || { cat "$interop_dir/spark.log" >&2; exit 1; }

echo "== item analysis: a second implementation (numpy) agrees"
"$CARGO_TARGET_DIR/release/examlake" report item-analysis --tenant acme --warehouse "$interop_dir/warehouse" \
  --format json > "$interop_dir/item_analysis.json"
"$VENV/bin/python" scripts/item_analysis_check.py "$interop_dir/warehouse" acme "$interop_dir/item_analysis.json"

echo "== docker-compose.yml: structure matches the services script and the CLI"
"$VENV/bin/python" scripts/check_compose.py "$CARGO_TARGET_DIR/release/examlake"

# One closing line for the whole run: every cargo test binary's counts plus the interop check.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed + 3, failed }' "$test_log"
