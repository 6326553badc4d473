//! The parse floor: read an NDJSON file and parse every line with serde_json into a `Value`,
//! on every core, doing nothing else. Lines are read in blocks on one thread while the blocks
//! read before are parsed on the others, so reading overlaps parsing (a floor that read, then
//! parsed, would be slower than it need be, and flatter every ratio to it). The benchmark
//! reports how far examlake's ingest + transform is from it.

use std::io::{BufRead, BufReader};
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// Lines per block handed to a parsing thread.
const BLOCK_LINES: usize = 5_000;

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
    let (blocks, to_parse) = sync_channel::<Vec<String>>(threads);
    let to_parse = Arc::new(Mutex::new(to_parse));
    let (parsed, failed) = std::thread::scope(|scope| {
        let parsers: Vec<_> = (0..threads)
            .map(|_| {
                let to_parse = Arc::clone(&to_parse);
                scope.spawn(move || parse_blocks(&to_parse))
            })
            .collect();
        let mut lines = BufReader::with_capacity(1 << 20, file).lines();
        loop {
            let block: Vec<String> = lines
                .by_ref()
                .take(BLOCK_LINES)
                .map_while(Result::ok)
                .collect();
            if block.is_empty() || blocks.send(block).is_err() {
                break;
            }
        }
        drop(blocks);
        parsers
            .into_iter()
            .map(|p| p.join().unwrap_or((0, 0)))
            .fold((0u64, 0u64), |(ok, bad), (o, b)| (ok + o, bad + b))
    });
    println!("parsed {parsed} lines, {failed} failed");
    ExitCode::SUCCESS
}

/// Parse blocks until the reader is done: (lines parsed, lines that failed).
fn parse_blocks(to_parse: &Mutex<Receiver<Vec<String>>>) -> (u64, u64) {
    let (mut ok, mut bad) = (0, 0);
    loop {
        let block = match to_parse.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return (ok, bad),
        };
        let Ok(block) = block else {
            return (ok, bad);
        };
        for line in &block {
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(_) => ok += 1,
                Err(_) => bad += 1,
            }
        }
    }
}
