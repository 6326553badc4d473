//! Helpers for `bench/compare_transform.sh`; see `src/bin/parse_floor.rs`.
