//! Ledger benchmark: durable appends per second (group commit under
//! concurrent load), verify of 1,000,000 entries, inclusion proof time.
//! Prints numbers; asserts nothing.
//!
//!     ./scripts/bench ledger

use portagent::ledger::entry::{self, GENESIS};
use portagent::ledger::{Ledger, Metadata, NewEntry, Options, store};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

fn new(i: u64) -> NewEntry {
    NewEntry {
        category: "apply_state".into(),
        action: "net".into(),
        metadata: Metadata { user: "root (uid 0)".into(), host: "bench".into(), plugin: "net".into() },
        data: serde_json::json!({"desired_state_hash": "ab".repeat(32), "result": "success", "n": i,
            "actions": [{"type": "Modify", "resource": "ovsbr0", "changes": {"ipv4.address": [{"ip": "192.168.1.200", "prefix": 24}]}}]}),
    }
}

fn options(dir: &std::path::Path) -> Options {
    Options {
        key_path: dir.join("ledger.key"),
        origin: "portagent.ledger/bench".into(),
        heads_path: Some(dir.join("heads.log")),
    }
}

fn main() {
    println!("durable appends (each acknowledged after fdatasync):");
    for threads in [1u64, 8, 64] {
        let dir = tempfile::tempdir().unwrap();
        let l = Arc::new(Ledger::open(&dir.path().join("ledger.jsonl"), options(dir.path())).unwrap());
        let per = if threads == 1 { 500 } else { 4000 / threads };
        let t = Instant::now();
        let hs: Vec<_> = (0..threads)
            .map(|k| {
                let l = l.clone();
                std::thread::spawn(move || {
                    for i in 0..per {
                        l.append(new(k * 1_000_000 + i)).unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let n = threads * per;
        println!(
            "  {threads:>3} writer threads: {n:>5} appends in {:>7.1} ms = {:>7.0} appends/s",
            t.elapsed().as_secs_f64() * 1e3,
            n as f64 / t.elapsed().as_secs_f64()
        );
    }

    let n: u64 = std::env::var("PORTAGENT_BENCH_LEDGER_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut prev = GENESIS.to_string();
        for i in 0..n {
            let (line, hash) = entry::seal(&new(i), i, &prev, "2026-11-25T12:00:00.000Z");
            writeln!(f, "{line}").unwrap();
            prev = hash;
        }
    }
    let bytes = std::fs::metadata(&path).unwrap().len();
    let t = Instant::now();
    let r = store::verify(&path, &options(dir.path()), &[]).unwrap();
    let verify = t.elapsed();
    assert_eq!(r.problem, None);
    println!("verify {n} entries ({} MB): {:.2} s", bytes >> 20, verify.as_secs_f64());
    let t = Instant::now();
    store::proof(&path, n / 3, None).unwrap();
    println!("inclusion proof in a tree of {n} (reads and hashes the whole file): {:.2} s", t.elapsed().as_secs_f64());
}
