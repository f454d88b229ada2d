//! Tamper, truncation, rewrite and concurrency tests of the ledger file.

use super::entry::{self, Metadata, NewEntry};
use super::store::{self, Ledger, Options};
use serde_json::json;
use std::path::{Path, PathBuf};

fn options(dir: &Path) -> Options {
    Options {
        key_path: dir.join("ledger.key"),
        origin: "portagent.ledger/test".into(),
        heads_path: Some(dir.join("mirror/heads.log")),
    }
}

fn new(i: u64) -> NewEntry {
    NewEntry {
        category: if i.is_multiple_of(2) { "apply_state".into() } else { "rollback".into() },
        action: "net".into(),
        metadata: Metadata { user: "root (uid 0)".into(), host: "test".into(), plugin: "net".into() },
        data: json!({"n": i, "actions": [{"type": "Create", "resource": format!("br{i}")}]}),
    }
}

fn build(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("ledger.jsonl");
    let l = Ledger::open(&path, options(dir)).unwrap();
    for i in 0..n {
        assert_eq!(l.append(new(i)).unwrap().height, i);
    }
    path
}

fn verify(dir: &Path, path: &Path) -> store::Report {
    store::verify(path, &options(dir), &[]).unwrap()
}

/// Removes the last `n` lines of a file.
fn drop_last_lines(path: &Path, n: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let kept: String = lines[..lines.len() - n].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, kept).unwrap();
}

/// A line sealed onto the ledger without its ledger knowing: what a crash
/// after the fsync but before the signed head leaves.
fn append_unsigned(path: &Path, i: u64) {
    let all = store::entries(path).unwrap();
    let last = all.last().map_or(entry::GENESIS.to_string(), |e| e.hash.clone());
    let (line, _) = entry::seal(&new(i), all.len() as u64, &last, "2026-12-01T00:00:00.000Z");
    let mut bytes = std::fs::read(path).unwrap();
    bytes.extend_from_slice(format!("{line}\n").as_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn append_verify_and_query_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10);
    let r = verify(dir.path(), &path);
    assert_eq!(r.problem, None, "{r}");
    assert_eq!(r.checkpoints, vec![10, 10], "the last head beside the ledger and the one in the mirror");
    assert_eq!(r.unsigned, 0);
    assert!(r.to_string().starts_with("VALID: 10 entries"), "{r}");
    assert_eq!(
        std::fs::read_to_string(store::checkpoints_path(&path)).unwrap().lines().count(),
        10,
        "a head per commit"
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("mirror/heads.log")).unwrap().lines().count(), 10);
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
    let path = build(dir.path(), 4);
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
fn a_cut_tail_is_reported_and_never_taken_for_a_torn_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 5);
    let good = std::fs::read(&path).unwrap();
    let last_start = good[..good.len() - 1].iter().rposition(|b| *b == b'\n').unwrap() + 1;
    // Every acknowledged entry is covered by a signed head: any cut of the
    // last one is tampering, in verify and at the next open alike.
    for cut in last_start..good.len() {
        std::fs::write(&path, &good[..cut]).unwrap();
        let r = verify(dir.path(), &path);
        assert!(
            r.problem.as_deref().unwrap_or("").contains("tail was removed")
                || r.problem.as_deref().unwrap_or("").contains("tail were removed"),
            "cut at {cut}: {r}"
        );
        if cut > last_start {
            let e = Ledger::open(&path, options(dir.path())).err().expect("a cut acknowledged entry is not recovered");
            assert!(e.to_string().contains("its end was removed"), "{e}");
        }
    }
    // Whole lines cut: caught by the head beside the ledger, and by the
    // mirror when that one was cut too.
    std::fs::write(&path, &good).unwrap();
    drop_last_lines(&path, 2);
    let r = verify(dir.path(), &path);
    assert!(r.problem.as_deref().unwrap_or("").contains("but a checkpoint signed 5"), "{r}");
    drop_last_lines(&store::checkpoints_path(&path), 2);
    let r = verify(dir.path(), &path);
    assert!(r.problem.as_deref().unwrap_or("").contains("but a checkpoint signed 5"), "the mirror: {r}");
    drop_last_lines(&dir.path().join("mirror/heads.log"), 2);
    assert_eq!(verify(dir.path(), &path).problem, None, "both places edited: nothing left to compare with");
}

#[test]
fn a_torn_write_that_was_never_acknowledged_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 4);
    let good = std::fs::read(&path).unwrap();
    // The crash came mid-write: part of a fifth line, which no head covers.
    append_unsigned(&path, 4);
    let with_fifth = std::fs::read(&path).unwrap();
    for cut in [good.len() + 1, good.len() + 50, with_fifth.len() - 1] {
        std::fs::write(&path, &with_fifth[..cut]).unwrap();
        let r = verify(dir.path(), &path);
        assert!(r.problem.as_deref().unwrap_or("").contains("incomplete last line"), "{r}");
        drop(Ledger::open(&path, options(dir.path())).unwrap());
        let r = verify(dir.path(), &path);
        assert_eq!(r.problem, None, "recovered: {r}");
        let all = store::entries(&path).unwrap();
        assert_eq!(all.len(), 5, "4 whole entries and the recovery record");
        assert_eq!(all[4].action, "torn_tail_recovered");
        let saved = all[4].data["saved_to"].as_str().unwrap();
        assert_eq!(std::fs::read(saved).unwrap(), with_fifth[good.len()..cut], "the torn bytes are kept as evidence");
        std::fs::write(&path, &good).unwrap();
        drop_last_lines(&store::checkpoints_path(&path), 1);
        drop_last_lines(&dir.path().join("mirror/heads.log"), 1);
    }
}

#[test]
fn entries_after_the_last_signed_head_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 3);
    append_unsigned(&path, 3);
    append_unsigned(&path, 4);
    let r = verify(dir.path(), &path);
    assert_eq!((r.problem.as_deref(), r.unsigned), (None, 2), "{r}");
    assert!(r.to_string().ends_with("; 2 entries after the last signed checkpoint"), "{r}");
    // The next commit signs them all.
    Ledger::open(&path, options(dir.path())).unwrap().append(new(5)).unwrap();
    let r = verify(dir.path(), &path);
    assert_eq!((r.problem.as_deref(), r.unsigned), (None, 0), "{r}");
}

#[test]
fn deletion_reordering_and_rewriting_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 6);
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
        Ledger::open(&path, options(dir.path())).unwrap().checkpoint().unwrap()
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
    // With the heads beside the ledger deleted, the mirror catches it...
    std::fs::remove_file(store::checkpoints_path(&path)).unwrap();
    let r = verify(dir.path(), &path);
    assert!(r.problem.as_deref().unwrap_or("").contains("history rewritten"), "{r}");
    // ...and with both gone, a copy kept elsewhere (syslog, another host).
    std::fs::remove_file(dir.path().join("mirror/heads.log")).unwrap();
    assert_eq!(verify(dir.path(), &path).problem, None, "nothing local left to compare with");
    let r = store::verify(&path, &options(dir.path()), &[note]).unwrap();
    assert!(r.problem.as_deref().unwrap_or("").contains("history rewritten"), "{r}");
}

#[test]
fn a_ledger_started_anew_begins_with_the_earlier_ones_last_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 5);
    // As the guide's troubleshooting says: keep the old one, start anew.
    std::fs::rename(&path, dir.path().join("ledger.jsonl.corrupted")).unwrap();
    assert!(
        verify(dir.path(), &path).problem.unwrap().contains("but a checkpoint signed 5"),
        "an emptied ledger is caught"
    );
    let l = Ledger::open(&path, options(dir.path())).unwrap();
    l.append(new(0)).unwrap();
    let r = verify(dir.path(), &path);
    assert_eq!(r.problem, None, "{r}");
    let all = store::entries(&path).unwrap();
    assert_eq!((all[0].category.as_str(), all[0].action.as_str()), ("ledger", "started_anew"));
    let previous = &all[0].data["previous_heads"];
    assert_eq!(previous.as_array().unwrap().len(), 2, "beside the ledger and the mirror: {previous}");
    assert_eq!(previous[0]["size"], 5);
    let aside = previous[0]["moved_to"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(aside).unwrap().lines().count(), 5, "the earlier heads are kept");
}

#[test]
fn verifying_needs_only_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 3);
    std::fs::rename(dir.path().join("ledger.key"), dir.path().join("elsewhere.key")).unwrap();
    let r = verify(dir.path(), &path);
    assert_eq!((r.problem.as_deref(), r.checkpoints.len()), (None, 2), "{r}");
}

#[test]
fn space_is_set_aside_and_given_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let l = Ledger::open(&path, options(dir.path())).unwrap();
    l.reserve(64 << 10).unwrap();
    assert_eq!(std::fs::metadata(store::reserve_path(&path)).unwrap().len(), 64 << 10);
    l.reserve(16 << 10).unwrap();
    assert_eq!(std::fs::metadata(store::reserve_path(&path)).unwrap().len(), 64 << 10, "never shrunk while held");
    assert!(l.release());
    assert!(!store::reserve_path(&path).exists());
    assert!(!l.release(), "nothing left to give up");
}

#[test]
fn entries_are_found_by_a_word_despite_damage_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 6);
    let text = std::fs::read_to_string(&path).unwrap().replacen("\"n\":1}", "\"n\":1x}", 1);
    std::fs::write(&path, text).unwrap();
    assert!(store::entries(&path).is_err(), "a damaged line stops a full parse");
    let found = store::entries_mentioning(&path, "\"br4\"").unwrap();
    assert_eq!(found.iter().map(|e| e.height).collect::<Vec<_>>(), [4]);
    assert!(store::entries_mentioning(&path, "\"br1\"").unwrap().is_empty(), "the damaged line is left out");
}

#[test]
fn concurrent_appends_are_grouped_and_chained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let l = std::sync::Arc::new(Ledger::open(&path, options(dir.path())).unwrap());
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
    let a = Ledger::open(&path, options(dir.path())).unwrap();
    let b = Ledger::open(&path, options(dir.path())).unwrap();
    for i in 0..10 {
        let w = if i % 3 == 0 { &a } else { &b };
        assert_eq!(w.append(new(i)).unwrap().height, i);
    }
    assert_eq!(verify(dir.path(), &path).problem, None);
}

#[test]
fn a_cut_ledger_takes_no_entry_until_a_reset_records_the_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 8);
    drop_last_lines(&path, 3);
    // Nothing is appended over the cut (an apply, `ledger checkpoint`)...
    let e = Ledger::open(&path, options(dir.path())).err().expect("a cut ledger is refused");
    assert!(e.to_string().contains("has 5 entries but a checkpoint signed 8 (3 removed at the tail)"), "{e}");
    assert!(e.to_string().contains("portagent ledger reset"), "says the way out: {e}");
    // ...so the disagreement stays visible.
    assert!(verify(dir.path(), &path).problem.unwrap().contains("but a checkpoint signed 8"));
    // The same for a tail rewritten to the signed length.
    let cut = std::fs::read(&path).unwrap();
    for i in 5..8 {
        append_unsigned(&path, 100 + i);
    }
    let e = Ledger::open(&path, options(dir.path())).err().expect("a rewritten tail is refused");
    assert!(e.to_string().contains("history rewritten"), "{e}");
    std::fs::write(&path, &cut).unwrap();

    let (l, reset) = Ledger::reset(&path, options(dir.path()), "restored from backup", "root (uid 0)").unwrap();
    assert_eq!(reset.height, 5);
    l.append(new(9)).unwrap();
    let r = verify(dir.path(), &path);
    assert_eq!(r.problem, None, "{r}");
    let all = store::entries(&path).unwrap();
    let e = &all[5];
    assert_eq!((e.category.as_str(), e.action.as_str()), ("ledger", "reset"));
    assert_eq!(e.metadata.user, "root (uid 0)");
    assert_eq!(e.data["reason"], "restored from backup");
    assert_eq!(e.data["lost_entries"], 3, "{}", e.data);
    let aside = e.data["previous_heads"][0]["moved_to"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(aside).unwrap().lines().count(), 8, "the signed heads are kept as evidence");
}

#[test]
fn a_hostname_change_keeps_the_ledger_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 3);
    // The host is renamed: the origin the config derives changes.
    let renamed = Options { origin: "portagent.ledger/netmaker-server".into(), ..options(dir.path()) };
    let r = store::verify(&path, &renamed, &[]).unwrap();
    assert_eq!(r.problem, None, "heads signed before the rename: {r}");
    Ledger::open(&path, renamed.clone()).unwrap().append(new(3)).unwrap();
    let r = store::verify(&path, &renamed, &[]).unwrap();
    assert_eq!((r.problem.as_deref(), r.unsigned), (None, 0), "{r}");
    let heads = std::fs::read_to_string(store::checkpoints_path(&path)).unwrap();
    assert!(heads.lines().last().unwrap().contains("portagent.ledger/test"), "the key keeps its name: {heads}");
}

#[test]
fn a_replaced_or_missing_key_is_refused_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 3);
    let key = dir.path().join("ledger.key");
    let original = std::fs::read(&key).unwrap();
    std::fs::write(&key, [7u8; 32]).unwrap();
    let e = Ledger::open(&path, options(dir.path())).err().expect("a replaced key is refused");
    assert!(e.to_string().contains("was replaced"), "{e}");
    let r = verify(dir.path(), &path);
    assert!(r.problem.as_deref().unwrap_or("").contains("does not match its public half"), "{r}");
    // Put back: all well again.
    std::fs::write(&key, &original).unwrap();
    assert_eq!(verify(dir.path(), &path).problem, None);
    // Neither key file, but heads: nothing left to check them with.
    std::fs::rename(&key, dir.path().join("k.away")).unwrap();
    let public = super::checkpoint::public_path(&key);
    std::fs::rename(&public, dir.path().join("k.pub.away")).unwrap();
    let r = verify(dir.path(), &path);
    assert!(r.problem.as_deref().unwrap_or("").contains("neither the key"), "{r}");
    // A new key made in its place is a recorded reset.
    let (l, reset) = Ledger::reset(&path, options(dir.path()), "key lost with the old disk", "root (uid 0)").unwrap();
    drop(l);
    let all = store::entries(&path).unwrap();
    assert_eq!(all[reset.height as usize].action, "reset");
    assert_eq!(verify(dir.path(), &path).problem, None);
}
