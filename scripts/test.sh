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

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --release --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --release --locked
