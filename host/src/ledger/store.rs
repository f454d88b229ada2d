//! The ledger file: appends (durable before they are acknowledged, grouped
//! into one write and one fsync when many arrive at once, serialized across
//! processes by `flock`), torn-tail recovery, checkpoints, verification.

use super::checkpoint::{self, Checkpoint, Key};
use super::entry::{self, Entry, GENESIS, Metadata, NewEntry};
use super::merkle::{self, Frontier, Hash};
use serde_json::{Value, json};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Why the ledger could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file does not continue the chain this process knows (only
    /// possible when someone edits it under a running writer).
    #[error("ledger {path} is corrupt at height {height}: {reason}; run `portagent ledger verify`")]
    Corrupt { path: PathBuf, height: u64, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io { path: path.into(), source }
}

/// When to write a signed checkpoint.
#[derive(Debug, Clone)]
pub struct Options {
    pub checkpoint_every: u64,
    pub checkpoint_interval: Duration,
    pub key_path: PathBuf,
    pub origin: String,
}

pub fn checkpoints_path(ledger: &Path) -> PathBuf {
    let mut p = ledger.as_os_str().to_owned();
    p.push(".checkpoints");
    PathBuf::from(p)
}

fn sibling(ledger: &Path, suffix: &str) -> PathBuf {
    let mut p = ledger.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Holds the cross-process write lock while alive.
struct FileLock(#[allow(dead_code, reason = "held for its Drop: closing releases the flock")] File);

impl FileLock {
    fn take(ledger: &Path) -> Result<FileLock, LedgerError> {
        let path = sibling(ledger, ".lock");
        let f = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io(&path))?;
        // SAFETY: flock on a descriptor we own; released when it closes.
        while unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(io(&path)(e));
            }
        }
        Ok(FileLock(f))
    }
}

struct Writer {
    file: File,
    /// Bytes of the file this writer has read and checked.
    offset: u64,
    height: u64,
    last_hash: String,
    frontier: Frontier,
    since_checkpoint: u64,
    last_checkpoint: Instant,
}

/// An acknowledged append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub height: u64,
    pub hash: String,
}

type Slot = Arc<Mutex<Option<Result<Appended, String>>>>;

/// An open ledger, ready to append.
pub struct Ledger {
    path: PathBuf,
    options: Options,
    key: Key,
    queue: Mutex<Vec<(NewEntry, Slot)>>,
    writer: Mutex<Writer>,
}

/// The complete lines of a ledger file and the bytes of a torn last line.
fn read_lines(path: &Path) -> Result<(Vec<String>, Vec<u8>), LedgerError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], vec![])),
        Err(e) => return Err(io(path)(e)),
    };
    let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let torn = bytes[end..].to_vec();
    let text = String::from_utf8_lossy(&bytes[..end]);
    Ok((text.lines().map(str::to_string).collect(), torn))
}

impl Ledger {
    /// Opens (creating) the ledger at `path`. A torn last line left by a
    /// crash is moved aside as evidence and the recovery is recorded.
    pub fn open(path: &Path, options: Options) -> Result<Ledger, LedgerError> {
        if let Some(dir) = path.parent() {
            crate::plugin::runtime::create_private_dir(dir).map_err(io(dir))?;
        }
        let key = Key::load_or_create(&options.key_path, &options.origin).map_err(io(&options.key_path))?;
        let file = OpenOptions::new().create(true).append(true).read(true).open(path).map_err(io(path))?;
        let writer = Writer {
            file,
            offset: 0,
            height: 0,
            last_hash: GENESIS.into(),
            frontier: Frontier::default(),
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
        };
        let ledger = Ledger { path: path.into(), options, key, queue: Mutex::new(vec![]), writer: Mutex::new(writer) };
        let recovered = {
            let _lock = FileLock::take(path)?;
            let mut w = ledger.writer.lock().unwrap();
            ledger.catch_up(&mut w)?
        };
        if let Some((bytes, saved)) = recovered {
            ledger.append(NewEntry {
                category: "ledger".into(),
                action: "torn_tail_recovered".into(),
                metadata: Metadata { user: "portagent".into(), host: hostname(), plugin: String::new() },
                data: json!({"bytes": bytes, "saved_to": saved.display().to_string()}),
            })?;
        }
        Ok(ledger)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads what other processes appended since this writer last looked;
    /// moves a torn tail aside (returns its size and where it went).
    fn catch_up(&self, w: &mut Writer) -> Result<Option<(usize, PathBuf)>, LedgerError> {
        let len = w.file.metadata().map_err(io(&self.path))?.len();
        if len == w.offset {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        w.file.seek(SeekFrom::Start(w.offset)).map_err(io(&self.path))?;
        w.file.read_to_end(&mut bytes).map_err(io(&self.path))?;
        let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        for line in bytes[..end].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let line = std::str::from_utf8(line).map_err(|_| self.corrupt(w.height, "not UTF-8".into()))?;
            let head = entry::check_line(line).map_err(|r| self.corrupt(w.height, r))?;
            if head.height != w.height || head.prev_hash != w.last_hash {
                return Err(self.corrupt(w.height, "does not continue the chain".into()));
            }
            w.frontier.push(merkle::leaf_hash(line.as_bytes()));
            w.last_hash = head.hash.to_string();
            w.height += 1;
        }
        w.offset += end as u64;
        if end == bytes.len() {
            return Ok(None);
        }
        // A line without its newline: a write cut short by a crash. Never
        // acknowledged (acks come after fsync of whole lines), so move it
        // aside as evidence and go on from the last whole line.
        let torn = &bytes[end..];
        let saved = sibling(&self.path, &format!(".torn-{}-{}", unix_secs(), w.height));
        crate::plugin::runtime::write_atomically(&saved, torn, 0o600).map_err(io(&saved))?;
        w.file.set_len(w.offset).map_err(io(&self.path))?;
        w.file.sync_all().map_err(io(&self.path))?;
        Ok(Some((torn.len(), saved)))
    }

    fn corrupt(&self, height: u64, reason: String) -> LedgerError {
        LedgerError::Corrupt { path: self.path.clone(), height, reason }
    }

    /// Appends `e`; returns once it is durable. Concurrent callers are
    /// committed together: one write, one fsync.
    pub fn append(&self, e: NewEntry) -> Result<Appended, LedgerError> {
        let slot: Slot = Arc::new(Mutex::new(None));
        self.queue.lock().unwrap().push((e, slot.clone()));
        let mut w = self.writer.lock().unwrap();
        if let Some(done) = slot.lock().unwrap().take() {
            return done.map_err(|reason| self.corrupt(w.height, reason));
        }
        let batch = std::mem::take(&mut *self.queue.lock().unwrap());
        let result = self.commit(&mut w, &batch);
        let mut mine = None;
        for (i, (_, s)) in batch.iter().enumerate() {
            let r = match &result {
                Ok(done) => Ok(done[i].clone()),
                Err(e) => Err(e.to_string()),
            };
            if Arc::ptr_eq(s, &slot) {
                mine = Some(r);
            } else {
                *s.lock().unwrap() = Some(r);
            }
        }
        result?;
        mine.expect("own entry is in the batch").map_err(|reason| self.corrupt(w.height, reason))
    }

    fn commit(&self, w: &mut Writer, batch: &[(NewEntry, Slot)]) -> Result<Vec<Appended>, LedgerError> {
        let _lock = FileLock::take(&self.path)?;
        if let Some((bytes, saved)) = self.catch_up(w)? {
            log::warn!("ledger: moved a torn last line ({bytes} bytes) to {}", saved.display());
        }
        let timestamp = entry::rfc3339(SystemTime::now());
        let mut buf = String::new();
        let mut done = Vec::with_capacity(batch.len());
        let (mut height, mut last) = (w.height, w.last_hash.clone());
        let mut leaves = Vec::with_capacity(batch.len());
        for (e, _) in batch {
            let (line, hash) = entry::seal(e, height, &last, &timestamp);
            leaves.push(merkle::leaf_hash(line.as_bytes()));
            buf.push_str(&line);
            buf.push('\n');
            done.push(Appended { height, hash: hash.clone() });
            last = hash;
            height += 1;
        }
        w.file.write_all(buf.as_bytes()).map_err(io(&self.path))?;
        w.file.sync_data().map_err(io(&self.path))?;
        w.offset += buf.len() as u64;
        w.height = height;
        w.last_hash = last;
        for l in leaves {
            w.frontier.push(l);
        }
        w.since_checkpoint += batch.len() as u64;
        let due = w.since_checkpoint >= self.options.checkpoint_every
            || (w.since_checkpoint > 0 && w.last_checkpoint.elapsed() >= self.options.checkpoint_interval);
        if due {
            self.write_checkpoint(w)?;
        }
        Ok(done)
    }

    fn write_checkpoint(&self, w: &mut Writer) -> Result<(), LedgerError> {
        let cp = Checkpoint { origin: self.options.origin.clone(), size: w.height, root: w.frontier.root() };
        let note = self.key.sign(&cp);
        let record = json!({"size": cp.size, "root": merkle::hex(&cp.root), "timestamp": entry::rfc3339(SystemTime::now()), "note": note});
        let path = checkpoints_path(&self.path);
        let mut f = OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path))?;
        f.write_all(format!("{record}\n").as_bytes()).map_err(io(&path))?;
        f.sync_data().map_err(io(&path))?;
        checkpoint::to_syslog(&note);
        w.since_checkpoint = 0;
        w.last_checkpoint = Instant::now();
        Ok(())
    }

    /// Writes a checkpoint of the current size now.
    pub fn checkpoint(&self) -> Result<String, LedgerError> {
        let mut w = self.writer.lock().unwrap();
        let _lock = FileLock::take(&self.path)?;
        self.catch_up(&mut w)?;
        self.write_checkpoint(&mut w)?;
        let cp = Checkpoint { origin: self.options.origin.clone(), size: w.height, root: w.frontier.root() };
        Ok(self.key.sign(&cp))
    }
}

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map_or_else(|_| "localhost".into(), |h| h.trim().to_string())
}

/// Per line: its chain fields (or what is wrong with it) and its leaf
/// hash. Lines are independent here, so the work is spread over the cores.
fn check_lines<'a>(lines: &[&'a [u8]]) -> Vec<(Result<entry::Head<'a>, String>, Hash)> {
    let one = |raw: &'a [u8]| {
        let head = std::str::from_utf8(raw)
            .map_err(|_| "not UTF-8 (the entry was edited)".to_string())
            .and_then(entry::check_line);
        (head, merkle::leaf_hash(raw))
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores == 1 || lines.len() < 10_000 {
        return lines.iter().map(|l| one(l)).collect();
    }
    let chunk = lines.len().div_ceil(cores);
    std::thread::scope(|s| {
        let parts: Vec<_> = lines.chunks(chunk).map(|c| s.spawn(move || c.iter().map(|l| one(l)).collect::<Vec<_>>())).collect();
        parts.into_iter().flat_map(|p| p.join().expect("hashing thread")).collect()
    })
}

/// The complete lines (without newlines) and the torn rest.
fn split_lines(bytes: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut lines = Vec::with_capacity(bytes.len() / 256);
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        lines.push(&bytes[start..nl]);
        start = nl + 1;
    }
    (lines, &bytes[start..])
}

/// The file's bytes, mapped rather than copied (a ledger can be large).
fn map(path: &Path) -> Result<Mapped, LedgerError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Mapped::Empty),
        Err(e) => return Err(io(path)(e)),
    };
    if file.metadata().map_err(io(path))?.len() == 0 {
        return Ok(Mapped::Empty);
    }
    // SAFETY: read-only; the ledger is only ever appended to (under the
    // write lock), which does not change the mapped prefix. A file cut
    // short meanwhile by someone else would fault this read, not corrupt it.
    unsafe { memmap2::Mmap::map(&file) }.map(Mapped::Map).map_err(io(path))
}

enum Mapped {
    Empty,
    Map(memmap2::Mmap),
}

impl std::ops::Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Mapped::Empty => &[],
            Mapped::Map(m) => m,
        }
    }
}

/// The result of `verify`.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub entries: u64,
    /// Checkpoints the ledger was checked against (sizes).
    pub checkpoints: Vec<u64>,
    /// What broke, if anything.
    pub problem: Option<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            Some(p) => write!(f, "INVALID: {p}"),
            None => {
                write!(f, "VALID: {} entries, hash chain and Merkle tree intact", self.entries)?;
                match self.checkpoints.iter().max() {
                    Some(m) => write!(f, ", consistent with {} signed checkpoint(s) (latest at size {m})", self.checkpoints.len()),
                    None => write!(f, ", no signed checkpoint yet"),
                }
            }
        }
    }
}

/// Signed checkpoints kept beside the ledger, oldest first; a record
/// whose signature fails is a problem.
fn kept_checkpoints(path: &Path, key: &Key) -> Result<Vec<Checkpoint>, String> {
    let text = match std::fs::read_to_string(checkpoints_path(path)) {
        Ok(t) => t,
        Err(_) => return Ok(vec![]),
    };
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).map_err(|e| format!("checkpoint record {i}: {e}"))?;
            key.verify(v["note"].as_str().unwrap_or_default()).map_err(|e| format!("checkpoint record {i}: {e}"))
        })
        .collect()
}

/// Checks the whole ledger: every entry's hash, the chain of `prev_hash`
/// links and heights, and the Merkle root at every signed checkpoint (kept
/// beside the ledger, plus `external` notes, e.g. copied from syslog).
pub fn verify(path: &Path, key_path: &Path, origin: &str, external: &[String]) -> Result<Report, LedgerError> {
    let key = Key::load_or_create(key_path, origin).map_err(io(key_path))?;
    let bytes = map(path)?;
    let (lines, torn) = split_lines(&bytes);
    let mut report = Report { entries: lines.len() as u64, checkpoints: vec![], problem: None };
    let mut cps = match kept_checkpoints(path, &key) {
        Ok(c) => c,
        Err(p) => {
            report.problem = Some(p);
            return Ok(report);
        }
    };
    for (i, note) in external.iter().enumerate() {
        match key.verify(note) {
            Ok(cp) => cps.push(cp),
            Err(e) => {
                report.problem = Some(format!("given checkpoint {i}: {e}"));
                return Ok(report);
            }
        }
    }
    report.checkpoints = cps.iter().map(|c| c.size).collect();
    let mut frontier = Frontier::default();
    let mut last: &str = GENESIS;
    let check_roots = |frontier: &Frontier| -> Option<String> {
        cps.iter().find(|c| c.size == frontier.size() && c.root != frontier.root()).map(|c| {
            format!("the first {} entries do not match the checkpoint signed at that size (history rewritten)", c.size)
        })
    };
    for (i, (head, leaf)) in check_lines(&lines).into_iter().enumerate() {
        let i = i as u64;
        let fail = |r: String| Some(format!("height {i}: {r}"));
        match head {
            Err(r) => report.problem = fail(r),
            Ok(h) if h.height != i => report.problem = fail(format!("found height {} (entries removed, inserted or reordered)", h.height)),
            Ok(h) if h.prev_hash != last => report.problem = fail(format!("prev_hash does not link to height {}", i.wrapping_sub(1))),
            Ok(h) => last = h.hash,
        }
        if report.problem.is_some() {
            return Ok(report);
        }
        frontier.push(leaf);
        if let Some(p) = check_roots(&frontier) {
            report.problem = Some(p);
            return Ok(report);
        }
    }
    if let Some(c) = cps.iter().find(|c| c.size > report.entries) {
        report.problem = Some(format!(
            "the ledger has {} entries but a checkpoint signed {} (entries at the tail were removed)",
            report.entries, c.size
        ));
    } else if !torn.is_empty() {
        report.problem = Some(format!(
            "height {}: incomplete last line ({} bytes, a write cut short); the next start moves it aside",
            report.entries,
            torn.len()
        ));
    }
    Ok(report)
}

/// Every complete entry, parsed.
pub fn entries(path: &Path) -> Result<Vec<Entry>, LedgerError> {
    let (lines, _) = read_lines(path)?;
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| LedgerError::Corrupt { path: path.into(), height: i as u64, reason: e.to_string() })
        })
        .collect()
}

/// The guide's stats shape.
pub fn stats(entries: &[Entry]) -> Value {
    let mut categories = serde_json::Map::new();
    for e in entries {
        let n = categories.get(&e.category).and_then(Value::as_u64).unwrap_or(0);
        categories.insert(e.category.clone(), json!(n + 1));
    }
    json!({
        "total_blocks": entries.len(),
        "earliest": entries.first().map(|e| e.timestamp.clone()),
        "latest": entries.last().map(|e| e.timestamp.clone()),
        "categories": categories,
    })
}

/// An inclusion proof of entry `height` in the tree of the first `size`.
pub fn proof(path: &Path, height: u64, size: Option<u64>) -> Result<Value, String> {
    let bytes = map(path).map_err(|e| e.to_string())?;
    let (lines, _) = split_lines(&bytes);
    let size = size.unwrap_or(lines.len() as u64);
    if size > lines.len() as u64 || height >= size {
        return Err(format!("height {height} is not in a tree of size {size} (the ledger has {} entries)", lines.len()));
    }
    let leaves: Vec<Hash> = check_lines(&lines[..size as usize]).into_iter().map(|(_, leaf)| leaf).collect();
    let path_hashes = merkle::inclusion_proof(height as usize, &leaves);
    let root = merkle::root(&leaves);
    debug_assert!(merkle::verify_inclusion(height, size, &leaves[height as usize], &path_hashes, &root));
    Ok(json!({
        "height": height,
        "tree_size": size,
        "leaf_hash": merkle::hex(&leaves[height as usize]),
        "root": merkle::hex(&root),
        "proof": path_hashes.iter().map(merkle::hex).collect::<Vec<_>>(),
    }))
}
