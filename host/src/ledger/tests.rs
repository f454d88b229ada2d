//! Tamper, truncation, rewrite and concurrency tests of the ledger file.

use super::entry::{self, Metadata, NewEntry};
use super::store::{self, Ledger, Options};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn options(dir: &Path, every: u64) -> Options {
    Options {
        checkpoint_every: every,
        checkpoint_interval: Duration::from_secs(3600),
        key_path: dir.join("ledger.key"),
        origin: "portagent.ledger/test".into(),
    }
}

fn new(i: u64) -> NewEntry {
    NewEntry {
        category: if i % 2 == 0 { "apply_state".into() } else { "rollback".into() },
        action: "net".into(),
        metadata: Metadata { user: "root (uid 0)".into(), host: "test".into(), plugin: "net".into() },
        data: json!({"n": i, "actions": [{"type": "Create", "resource": format!("br{i}")}]}),
    }
}

fn build(dir: &Path, n: u64, every: u64) -> PathBuf {
    let path = dir.join("ledger.jsonl");
    let l = Ledger::open(&path, options(dir, every)).unwrap();
    for i in 0..n {
        assert_eq!(l.append(new(i)).unwrap().height, i);
    }
    path
}

fn verify(dir: &Path, path: &Path) -> store::Report {
    store::verify(path, &dir.join("ledger.key"), "portagent.ledger/test", &[]).unwrap()
}

#[test]
fn append_verify_and_query_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10, 4);
    let r = verify(dir.path(), &path);
    assert_eq!(r.problem, None, "{r}");
    assert_eq!(r.checkpoints, vec![4, 8]);
    assert!(r.to_string().starts_with("VALID: 10 entries"), "{r}");
    let all = store::entries(&path).unwrap();
    assert_eq!(all.iter().map(|e| e.height).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    assert_eq!(all[3].prev_hash, all[2].hash);
    let stats = store::stats(&all);
    assert_eq!(stats["total_blocks"], 10);
    assert_eq!(stats["categories"], json!({"apply_state": 5, "rollback": 5}));
    let p = store::proof(&path, 6, None).unwrap();
    assert_eq!(p["proof"].as_array().unwrap().len(), 4, "a tree of 10 has depth 4");
}

#[test]
fn every_single_byte_mutation_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 4, 2);
    let good = std::fs::read(&path).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] = if bad[i] == b'x' { b'y' } else { b'x' };
        std::fs::write(&path, &bad).unwrap();
        let r = verify(dir.path(), &path);
        assert!(r.problem.is_some(), "byte {i} ({:?}) changed, still {r}", good[i] as char);
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(verify(dir.path(), &path).problem, None);
}

#[test]
fn truncating_the_last_entry_is_reported_or_recovered() {
    let dir = tempfile::tempdir().unwrap();
    // Every entry checkpointed: any cut, even of whole lines, is reported.
    let path = build(dir.path(), 5, 1);
    let good = std::fs::read(&path).unwrap();
    let last_start = good[..good.len() - 1].iter().rposition(|b| *b == b'\n').unwrap() + 1;
    for cut in last_start..good.len() {
        std::fs::write(&path, &good[..cut]).unwrap();
        let r = verify(dir.path(), &path);
        assert!(r.problem.is_some(), "cut at {cut}: {r}");
    }

    // No checkpoint covers the tail (as after a crash: checkpoints follow
    // the fsync): a torn line is moved aside and the recovery recorded.
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 5, 1000);
    let good = std::fs::read(&path).unwrap();
    let last_start = good[..good.len() - 1].iter().rposition(|b| *b == b'\n').unwrap() + 1;
    for cut in [last_start + 1, last_start + 50, good.len() - 1] {
        std::fs::write(&path, &good[..cut]).unwrap();
        let r = verify(dir.path(), &path);
        assert!(r.problem.as_deref().unwrap_or("").contains("incomplete last line"), "{r}");
        let l = Ledger::open(&path, options(dir.path(), 1000)).unwrap();
        drop(l);
        let r = verify(dir.path(), &path);
        assert_eq!(r.problem, None, "recovered: {r}");
        let all = store::entries(&path).unwrap();
        assert_eq!(all.len(), 5, "4 whole entries and the recovery record");
        assert_eq!(all[4].action, "torn_tail_recovered");
        let saved = all[4].data["saved_to"].as_str().unwrap();
        assert_eq!(std::fs::read(saved).unwrap(), good[last_start..cut], "the torn bytes are kept as evidence");
        std::fs::write(&path, &good).unwrap();
    }
}

#[test]
fn deletion_reordering_and_rewriting_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 6, 3);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let write = |ls: &[&str]| std::fs::write(&path, ls.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();

    let mut deleted = lines.clone();
    deleted.remove(2);
    write(&deleted);
    assert!(verify(dir.path(), &path).problem.unwrap().starts_with("height 2: found height 3"));

    let mut swapped = lines.clone();
    swapped.swap(1, 4);
    write(&swapped);
    assert!(verify(dir.path(), &path).problem.unwrap().starts_with("height 1:"));

    // A whole new, internally consistent history, signed by nobody.
    let note = {
        write(&lines);
        Ledger::open(&path, options(dir.path(), 3)).unwrap().checkpoint().unwrap()
    };
    let mut rewritten = String::new();
    let mut prev = entry::GENESIS.to_string();
    for i in 0..6u64 {
        let mut e = new(i);
        e.data = json!({"n": i, "innocent": true});
        let (line, hash) = entry::seal(&e, i, &prev, "2025-01-01T00:00:00.000Z");
        rewritten.push_str(&line);
        rewritten.push('\n');
        prev = hash;
    }
    std::fs::write(&path, &rewritten).unwrap();
    let r = verify(dir.path(), &path);
    assert!(r.problem.as_deref().unwrap_or("").contains("history rewritten"), "{r}");
    // Even with the kept checkpoints deleted too, a copy kept elsewhere
    // (syslog, another host) catches it.
    std::fs::remove_file(store::checkpoints_path(&path)).unwrap();
    assert_eq!(verify(dir.path(), &path).problem, None, "nothing local left to compare with");
    let r = store::verify(&path, &dir.path().join("ledger.key"), "portagent.ledger/test", &[note]).unwrap();
    assert!(r.problem.as_deref().unwrap_or("").contains("history rewritten"), "{r}");
}

#[test]
fn concurrent_appends_are_grouped_and_chained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let l = std::sync::Arc::new(Ledger::open(&path, options(dir.path(), 50)).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || (0..50).map(|i| l.append(new(t * 100 + i)).unwrap().height).collect::<Vec<_>>())
        })
        .collect();
    let mut heights: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    heights.sort();
    assert_eq!(heights, (0..400).collect::<Vec<_>>());
    assert_eq!(verify(dir.path(), &path).problem, None);
}

#[test]
fn two_writers_on_one_file_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let a = Ledger::open(&path, options(dir.path(), 1000)).unwrap();
    let b = Ledger::open(&path, options(dir.path(), 1000)).unwrap();
    for i in 0..10 {
        let w = if i % 3 == 0 { &a } else { &b };
        assert_eq!(w.append(new(i)).unwrap().height, i);
    }
    assert_eq!(verify(dir.path(), &path).problem, None);
}
