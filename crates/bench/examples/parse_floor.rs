//! The parse floor: read an NDJSON file and parse every line with serde_json into a `Value`,
//! on every core, doing nothing else. No transform can beat this; the benchmark reports how far
//! examlake's ingest + transform is from it.

use std::io::{BufRead, BufReader};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse_floor FILE.ndjson");
        return ExitCode::from(2);
    };
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("error: opening {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut lines = BufReader::with_capacity(1 << 20, file).lines();
    let (mut parsed, mut failed) = (0u64, 0u64);
    loop {
        let batch: Vec<String> = lines.by_ref().take(20_000).map_while(Result::ok).collect();
        if batch.is_empty() {
            break;
        }
        let chunk = batch.len().div_ceil(threads);
        let counts: Vec<(u64, u64)> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter().fold((0, 0), |(ok, bad), line| {
                            match serde_json::from_str::<serde_json::Value>(line) {
                                Ok(_) => (ok + 1, bad),
                                Err(_) => (ok, bad + 1),
                            }
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((0, 0)))
                .collect()
        });
        for (ok, bad) in counts {
            parsed += ok;
            failed += bad;
        }
    }
    println!("parsed {parsed} lines, {failed} failed");
    ExitCode::SUCCESS
}
