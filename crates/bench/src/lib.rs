//! Helpers for `bench/compare_transform.sh`; see `examples/parse_floor.rs` (an example, not a
//! binary, so `cargo run -- demo` at the root still has exactly one binary to run).
