//! The ledger file: appends (durable before they are acknowledged, grouped
//! into one write and one fsync when many arrive at once, serialized across
//! processes by `flock`), a signed head after every commit (kept beside
//! the ledger and mirrored to a second file and syslog), space set aside
//! for the records of a change, torn-tail recovery, verification.

use super::checkpoint::{self, Checkpoint, Key, KeyError, Verifier};
use super::entry::{self, Entry, GENESIS, Metadata, NewEntry};
use super::merkle::{self, Frontier, Hash};
use crate::util::fs::{create_private_dir, is_out_of_space, write_atomically};
use crate::util::time::{rfc3339, unix_secs};
use serde_json::{Value, json};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Why the ledger could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file does not continue the chain this process knows, or its
    /// tail was cut.
    #[error("ledger {path} is corrupt at height {height}: {reason}; run `portagent ledger verify`")]
    Corrupt { path: PathBuf, height: u64, reason: String },
    /// The ledger disagrees with a head signed earlier (entries removed or
    /// rewritten, a head that does not verify): nothing is appended until
    /// an admin records the loss (`portagent ledger reset`).
    #[error(
        "ledger {path} disagrees with its signed checkpoints: {reason}; nothing is recorded (so nothing is \
         changed) until an admin records what was lost with `portagent ledger reset --reason TEXT`"
    )]
    Disagrees { path: PathBuf, reason: String },
    /// The signing key cannot be used (replaced, unreadable).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The space for a change's records could not be set aside.
    #[error("cannot set aside {bytes} bytes beside {path} to record this change: {source}")]
    Reserve { path: PathBuf, bytes: u64, source: std::io::Error },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io { path: path.into(), source }
}

/// Where signed heads go, and how they are signed.
#[derive(Debug, Clone)]
pub struct Options {
    pub key_path: PathBuf,
    pub origin: String,
    /// A second file every signed head is appended to (besides
    /// `<ledger>.checkpoints` and syslog): cutting the ledger's tail
    /// unnoticed then means editing both. None: no second file.
    pub heads_path: Option<PathBuf>,
}

fn sibling(ledger: &Path, suffix: &str) -> PathBuf {
    let mut p = ledger.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// `<ledger>.checkpoints`: the signed heads kept beside the ledger.
pub fn checkpoints_path(ledger: &Path) -> PathBuf {
    sibling(ledger, ".checkpoints")
}

/// `<ledger>.reserve`: space set aside for the records of a change.
pub fn reserve_path(ledger: &Path) -> PathBuf {
    sibling(ledger, ".reserve")
}

/// Holds the cross-process write lock while alive.
struct FileLock(#[allow(dead_code, reason = "held for its Drop: closing releases the flock")] File);

impl FileLock {
    fn take(ledger: &Path) -> Result<FileLock, LedgerError> {
        let path = sibling(ledger, ".lock");
        let f = crate::util::fs::open_lock_file(&path).map_err(io(&path))?;
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
    /// A reset's record, appended by [`Ledger::reset`] before anything else.
    reset_entry: Mutex<Option<NewEntry>>,
}

impl Ledger {
    /// Opens (creating) the ledger at `path`. A torn last line left by a
    /// crash (never acknowledged: no signed head covers it) is moved aside
    /// as evidence and the recovery recorded; a cut line that a signed
    /// head covers is corruption. A ledger that disagrees with its last
    /// signed heads (entries cut or rewritten since) or whose key was
    /// replaced is refused: appending would sign over the loss.
    pub fn open(path: &Path, options: Options) -> Result<Ledger, LedgerError> {
        Ledger::open_as(path, options, None)
    }

    /// Records a deliberate reset: the ledger as it is now (cut, or signed
    /// by a replaced key) is accepted, the earlier heads are set aside
    /// (`<file>.before-<unix seconds>`, kept as evidence) and the first
    /// entry appended says what was lost and why. The open ledger.
    pub fn reset(path: &Path, options: Options, reason: &str, user: &str) -> Result<(Ledger, Appended), LedgerError> {
        let ledger = Ledger::open_as(path, options, Some((reason, user)))?;
        let appended = ledger.append(ledger.reset_entry.lock().unwrap().take().expect("a reset records itself"))?;
        Ok((ledger, appended))
    }

    fn open_as(path: &Path, options: Options, reset: Option<(&str, &str)>) -> Result<Ledger, LedgerError> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(io(dir))?;
        }
        let (key, replaced_key) = Key::load_or_create(&options.key_path, &options.origin, reset.is_some())?;
        let file = OpenOptions::new().create(true).append(true).read(true).mode(0o644).open(path).map_err(io(path))?;
        let writer = Writer { file, offset: 0, height: 0, last_hash: GENESIS.into(), frontier: Frontier::default() };
        let ledger = Ledger {
            path: path.into(),
            options,
            key,
            queue: Mutex::new(vec![]),
            writer: Mutex::new(writer),
            reset_entry: Mutex::new(None),
        };
        let (recovered, previous) = {
            let _lock = FileLock::take(path)?;
            let mut w = ledger.writer.lock().unwrap();
            let recovered = ledger.catch_up(&mut w)?;
            let previous = if w.height == 0 || reset.is_some() {
                ledger.set_previous_heads_aside()?
            } else {
                ledger.check_signed_heads(&w)?;
                None
            };
            (recovered, previous)
        };
        if let Some((reason, user)) = reset {
            let mut data = previous.unwrap_or_else(|| json!({"previous_heads": []}));
            let signed =
                data["previous_heads"].as_array().into_iter().flatten().filter_map(|h| h["size"].as_u64()).max();
            let height = ledger.writer.lock().unwrap().height;
            data["reason"] = json!(reason);
            data["entries"] = json!(height);
            data["lost_entries"] = json!(signed.map_or(0, |s| s.saturating_sub(height)));
            if let Some(old) = replaced_key {
                data["key_replaced"] = json!({"old_public_key": old});
            }
            log::warn!("ledger {}: reset by {user}: {reason}", path.display());
            *ledger.reset_entry.lock().unwrap() = Some(NewEntry {
                category: "ledger".into(),
                action: "reset".into(),
                metadata: Metadata { user: user.into(), host: hostname(), plugin: String::new() },
                data,
            });
        } else if let Some(previous) = previous {
            // Started anew (the file was removed or emptied) where signed
            // heads of an earlier ledger were kept: the new ledger begins by
            // saying so, with the earlier one's last head as evidence.
            log::warn!("ledger {}: started anew; the earlier ledger's signed heads were set aside", path.display());
            ledger.append(NewEntry {
                category: "ledger".into(),
                action: "started_anew".into(),
                metadata: Metadata { user: "portagent".into(), host: hostname(), plugin: String::new() },
                data: previous,
            })?;
        }
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

    /// Refuses a ledger that disagrees with the last head of any heads
    /// file: one that does not verify, one signed at a size larger than
    /// the ledger (its tail removed), or one whose root the ledger's first
    /// entries no longer give (rewritten).
    fn check_signed_heads(&self, w: &Writer) -> Result<(), LedgerError> {
        let disagrees = |reason: String| LedgerError::Disagrees { path: self.path.clone(), reason };
        let mut heads = Vec::new();
        for file in self.head_files() {
            let found = last_head(&file, self.key.verifier());
            if let Some(problem) = found.problem {
                return Err(disagrees(problem));
            }
            heads.extend(found.head);
        }
        if let Some(cut) = heads.iter().filter(|h| h.size > w.height).map(|h| h.size).max() {
            return Err(disagrees(format!(
                "it has {} entries but a checkpoint signed {cut} ({} removed at the tail)",
                w.height,
                cut - w.height
            )));
        }
        let mut earlier: Vec<&Checkpoint> = heads.iter().filter(|h| h.size < w.height).collect();
        if heads.iter().any(|h| h.size == w.height && h.root != w.frontier.root()) {
            return Err(disagrees(format!("its {} entries are not the ones signed (history rewritten)", w.height)));
        }
        if earlier.is_empty() {
            return Ok(());
        }
        // Entries after the last head (a crash between the fsync and the
        // head): the root at the head's size, from the file.
        earlier.sort_by_key(|h| h.size);
        let bytes = map(&self.path)?;
        let (lines, _) = split_lines(&bytes);
        let mut frontier = Frontier::default();
        for line in &lines {
            frontier.push(merkle::leaf_hash(line));
            if let Some(h) = earlier.iter().find(|h| h.size == frontier.size())
                && h.root != frontier.root()
            {
                return Err(disagrees(format!(
                    "its first {} entries are not the ones signed (history rewritten)",
                    h.size
                )));
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The files signed heads are kept in: beside the ledger, and the mirror.
    fn head_files(&self) -> Vec<PathBuf> {
        heads_files(&self.path, self.options.heads_path.as_deref())
    }

    /// For a ledger with no entries, or one being reset: moves the heads
    /// files of an earlier ledger aside (`<file>.before-<unix seconds>`)
    /// and returns what the first entry records about them, if there were
    /// any.
    fn set_previous_heads_aside(&self) -> Result<Option<Value>, LedgerError> {
        let mut previous = Vec::new();
        for file in self.head_files() {
            let found = last_head(&file, self.key.verifier());
            let record = match (found.head, found.problem) {
                (Some(head), _) if head.size > 0 => json!({"size": head.size, "root": merkle::hex(&head.root)}),
                // One whose last head does not verify is set aside too.
                (_, Some(problem)) => json!({"problem": problem}),
                _ => continue,
            };
            let aside = sibling(&file, &format!(".before-{}", unix_secs()));
            std::fs::rename(&file, &aside).map_err(io(&file))?;
            let mut record = record;
            record["file"] = json!(file.display().to_string());
            record["moved_to"] = json!(aside.display().to_string());
            previous.push(record);
        }
        Ok((!previous.is_empty()).then(|| json!({"previous_heads": previous})))
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
        // A line without its newline. A write cut short by a crash was never
        // acknowledged (acks come after the fsync, and the head is signed
        // after that), so no signed head covers it: move it aside as
        // evidence and go on from the last whole line. One a head covers
        // was acknowledged: its end was cut off afterwards.
        let torn = &bytes[end..];
        let signed = self
            .head_files()
            .iter()
            .filter_map(|f| last_head(f, self.key.verifier()).head)
            .map(|h| h.size)
            .max()
            .unwrap_or(0);
        if signed > w.height {
            return Err(self.corrupt(
                w.height,
                format!(
                    "entry {} is cut short ({} bytes left), but a signed checkpoint covers {signed} entries: \
                     it was acknowledged, so its end was removed, not torn by a crash",
                    w.height,
                    torn.len()
                ),
            ));
        }
        let saved = sibling(&self.path, &format!(".torn-{}-{}", unix_secs(), w.height));
        write_atomically(&saved, torn, 0o600).map_err(io(&saved))?;
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
        let timestamp = rfc3339(SystemTime::now());
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
        self.write_whole(w, buf.as_bytes())?;
        w.offset += buf.len() as u64;
        w.height = height;
        w.last_hash = last;
        for l in leaves {
            w.frontier.push(l);
        }
        // The entries are durable and count from here on; a head that cannot
        // be written now is written with the next commit.
        if let Err(e) = self.sign_head(w) {
            log::warn!("ledger: signing the head at size {}: {e}", w.height);
        }
        Ok(done)
    }

    /// Writes `buf` at the end and makes it durable, or leaves the file as
    /// it was: a write that fails half-way is cut back to the last whole
    /// entry. When the filesystem is full, the space set aside by
    /// [`Ledger::reserve`] is given up and the write tried once more.
    fn write_whole(&self, w: &mut Writer, buf: &[u8]) -> Result<(), LedgerError> {
        let attempt = |w: &mut Writer| -> std::io::Result<()> {
            let result = w.file.write_all(buf).and_then(|_| w.file.sync_data());
            if result.is_err() {
                let _ = w.file.set_len(w.offset);
                let _ = w.file.sync_data();
            }
            result
        };
        match attempt(w) {
            Err(e) if is_out_of_space(&e) && self.release() => attempt(w).map_err(io(&self.path)),
            other => other.map_err(io(&self.path)),
        }
    }

    /// Signs a head of the current size and keeps it beside the ledger, in
    /// the mirror and in syslog; the signed note.
    fn sign_head(&self, w: &Writer) -> std::io::Result<String> {
        // The key's own name, kept with it: a hostname change renames nothing.
        let cp = Checkpoint { origin: self.key.name().to_string(), size: w.height, root: w.frontier.root() };
        let note = self.key.sign(&cp);
        let record = json!({
            "size": cp.size,
            "root": merkle::hex(&cp.root),
            "timestamp": rfc3339(SystemTime::now()),
            "note": note,
        });
        let line = format!("{record}\n");
        let mut first_error = None;
        for path in self.head_files() {
            let written = (|| {
                if let Some(dir) = path.parent() {
                    create_private_dir(dir)?;
                }
                let mut f = OpenOptions::new().create(true).append(true).mode(0o644).open(&path)?;
                f.write_all(line.as_bytes())
            })();
            if let Err(e) = written {
                first_error.get_or_insert(std::io::Error::new(e.kind(), format!("{}: {e}", path.display())));
            }
        }
        checkpoint::to_syslog(&note);
        match first_error {
            Some(e) => Err(e),
            None => Ok(note),
        }
    }

    /// Signs a head of the current size now; the signed note.
    pub fn checkpoint(&self) -> Result<String, LedgerError> {
        let mut w = self.writer.lock().unwrap();
        let _lock = FileLock::take(&self.path)?;
        self.catch_up(&mut w)?;
        self.sign_head(&w).map_err(io(&self.path))
    }

    /// Sets aside `bytes` beside the ledger (`<ledger>.reserve`, allocated
    /// now), so the records of a change can be written even if the
    /// filesystem fills up while it is made: an append that finds no space
    /// gives the reserve up and tries again.
    pub fn reserve(&self, bytes: u64) -> Result<(), LedgerError> {
        let path = reserve_path(&self.path);
        let fail = |source| LedgerError::Reserve { path: self.path.clone(), bytes, source };
        let file = OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(&path).map_err(fail)?;
        let had = file.metadata().map_err(fail)?.len();
        if had >= bytes {
            return Ok(());
        }
        // SAFETY: posix_fallocate on a descriptor we own.
        let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, bytes as libc::off_t) };
        let result = match rc {
            0 => Ok(()),
            libc::EOPNOTSUPP | libc::EINVAL => {
                // A filesystem without fallocate: zeros hold the space too.
                let mut f = &file;
                let zeros = vec![0u8; (bytes - had) as usize];
                f.seek(SeekFrom::Start(had)).and_then(|_| f.write_all(&zeros)).and_then(|_| f.sync_data())
            }
            errno => Err(std::io::Error::from_raw_os_error(errno)),
        };
        if let Err(e) = result {
            let _ = file.set_len(had);
            return Err(fail(e));
        }
        Ok(())
    }

    /// Gives up the space set aside by [`Ledger::reserve`]; whether there
    /// was any.
    pub fn release(&self) -> bool {
        let path = reserve_path(&self.path);
        let gone = std::fs::remove_file(&path).is_ok();
        if gone && let Some(dir) = path.parent().and_then(|d| File::open(d).ok()) {
            let _ = dir.sync_all();
        }
        gone
    }
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map_or_else(|_| "localhost".into(), |h| h.trim().to_string())
}

/// The files signed heads of `ledger` are kept in.
fn heads_files(ledger: &Path, mirror: Option<&Path>) -> Vec<PathBuf> {
    std::iter::once(checkpoints_path(ledger)).chain(mirror.map(Path::to_path_buf)).collect()
}

/// What one heads file says about the ledger.
#[derive(Debug, Default)]
struct HeadLookup {
    /// Its last signed head.
    head: Option<Checkpoint>,
    /// The file could not be read (not a problem of the ledger).
    unreadable: Option<String>,
    /// The last head of this ledger does not verify.
    problem: Option<String>,
}

/// How much of a heads file's end is read to find its last head.
const HEADS_TAIL: u64 = 64 << 10;

/// The last signed head in the heads file `path`. Only the last counts:
/// its root commits to every entry up to its size, so it is all a check
/// of the ledger needs (and a file of a million heads is not read whole).
fn last_head(path: &Path, verifier: &Verifier) -> HeadLookup {
    let mut out = HeadLookup::default();
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            out.unreadable = Some(format!("{}: {e}", path.display()));
            return out;
        }
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(HEADS_TAIL);
    let mut bytes = Vec::new();
    if let Err(e) = file.seek(SeekFrom::Start(start)).and_then(|_| file.read_to_end(&mut bytes)) {
        out.unreadable = Some(format!("{}: {e}", path.display()));
        return out;
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // begins mid-record
    }
    let Some(line) = lines.last() else { return out };
    let note = serde_json::from_str::<Value>(line).ok().and_then(|v| v["note"].as_str().map(str::to_string));
    match note.map(|n| verifier.verify(&n)) {
        Some(Ok(cp)) => out.head = Some(cp),
        Some(Err(e)) => out.problem = Some(format!("{}: the last signed head: {e}", path.display())),
        None => out.problem = Some(format!("{}: the last record is not a signed head", path.display())),
    }
    out
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
        let parts: Vec<_> =
            lines.chunks(chunk).map(|c| s.spawn(move || c.iter().map(|l| one(l)).collect::<Vec<_>>())).collect();
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
    /// Sizes of the signed heads the ledger was checked against.
    pub checkpoints: Vec<u64>,
    /// Entries after the last signed head.
    pub unsigned: u64,
    /// What is worth knowing but does not make the ledger invalid.
    pub notes: Vec<String>,
    /// What broke, if anything.
    pub problem: Option<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = &self.problem {
            return write!(f, "INVALID: {p}");
        }
        write!(f, "VALID: {} entries, hash chain and Merkle tree intact", self.entries)?;
        match self.checkpoints.iter().max() {
            Some(m) => {
                write!(f, ", consistent with {} signed checkpoint(s) (latest at size {m})", self.checkpoints.len())?
            }
            None => write!(f, ", no signed checkpoint yet")?,
        }
        match self.unsigned {
            0 => {}
            1 => write!(f, "; 1 entry after the last signed checkpoint")?,
            n => write!(f, "; {n} entries after the last signed checkpoint")?,
        }
        for n in &self.notes {
            write!(f, "; {n}")?;
        }
        Ok(())
    }
}

/// Checks the whole ledger: every entry's hash, the chain of `prev_hash`
/// links and heights, and the Merkle root at the last signed head kept
/// beside the ledger, the last one in the mirror, and each of `external`
/// (notes kept elsewhere, e.g. copied from syslog). Needs only the public
/// key.
pub fn verify(path: &Path, options: &Options, external: &[String]) -> Result<Report, LedgerError> {
    let bytes = map(path)?;
    let (lines, torn) = split_lines(&bytes);
    let mut report =
        Report { entries: lines.len() as u64, checkpoints: vec![], unsigned: 0, notes: vec![], problem: None };
    let verifier = match Verifier::load(&options.key_path, &options.origin) {
        Ok(v) => v,
        Err(KeyError::Io(e)) => return Err(io(&options.key_path)(e)),
        Err(e @ KeyError::Replaced { .. }) => {
            report.problem = Some(e.to_string());
            return Ok(report);
        }
    };
    let mut heads: Vec<Checkpoint> = Vec::new();
    match &verifier {
        Some(v) => {
            for file in heads_files(path, options.heads_path.as_deref()) {
                let found = last_head(&file, v);
                if let Some(p) = found.problem {
                    report.problem = Some(p);
                    return Ok(report);
                }
                if let Some(u) = found.unreadable {
                    report.notes.push(format!("not checked against {u}"));
                }
                heads.extend(found.head);
            }
            for (i, note) in external.iter().enumerate() {
                match v.verify(note) {
                    Ok(cp) => heads.push(cp),
                    Err(e) => {
                        report.problem = Some(format!("given checkpoint {i}: {e}"));
                        return Ok(report);
                    }
                }
            }
        }
        None if !external.is_empty() => {
            report.problem = Some(format!(
                "no public key at {} to check the given checkpoints",
                checkpoint::public_path(&options.key_path).display()
            ));
            return Ok(report);
        }
        None => {
            // No key at all, but heads were signed: the key went, and with
            // it the means to check them.
            if let Some(file) = heads_files(path, options.heads_path.as_deref())
                .into_iter()
                .find(|f| std::fs::metadata(f).is_ok_and(|m| m.len() > 0))
            {
                report.problem = Some(format!(
                    "{} holds signed checkpoints but neither the key {} nor its public half is there to check them",
                    file.display(),
                    options.key_path.display()
                ));
                return Ok(report);
            }
        }
    }
    report.checkpoints = heads.iter().map(|c| c.size).collect();
    let mut frontier = Frontier::default();
    let mut last: &str = GENESIS;
    let check_roots = |frontier: &Frontier| -> Option<String> {
        heads.iter().find(|c| c.size == frontier.size() && c.root != frontier.root()).map(|c| {
            format!("the first {} entries do not match the checkpoint signed at that size (history rewritten)", c.size)
        })
    };
    if let Some(p) = check_roots(&frontier) {
        report.problem = Some(p);
        return Ok(report);
    }
    for (i, (head, leaf)) in check_lines(&lines).into_iter().enumerate() {
        let i = i as u64;
        let fail = |r: String| Some(format!("height {i}: {r}"));
        match head {
            Err(r) => report.problem = fail(r),
            Ok(h) if h.height != i => {
                report.problem = fail(format!("found height {} (entries removed, inserted or reordered)", h.height))
            }
            Ok(h) if h.prev_hash != last => {
                report.problem = fail(format!("prev_hash does not link to height {}", i.wrapping_sub(1)))
            }
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
    let signed = heads.iter().map(|c| c.size).max().unwrap_or(0);
    if signed > report.entries {
        report.problem = Some(if torn.is_empty() {
            format!(
                "the ledger has {} entries but a checkpoint signed {signed} (entries at the tail were removed)",
                report.entries
            )
        } else {
            format!(
                "height {}: the entry is cut short ({} bytes left) but a checkpoint signed {signed} entries (the tail was removed)",
                report.entries,
                torn.len()
            )
        });
    } else if !torn.is_empty() {
        report.problem = Some(format!(
            "height {}: incomplete last line ({} bytes, a write cut short); the next start moves it aside",
            report.entries,
            torn.len()
        ));
    }
    report.unsigned = report.entries - signed.min(report.entries);
    Ok(report)
}

/// Every complete entry, parsed.
pub fn entries(path: &Path) -> Result<Vec<Entry>, LedgerError> {
    let bytes = map(path)?;
    let (lines, _) = split_lines(&bytes);
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_slice(l).map_err(|e| LedgerError::Corrupt {
                path: path.into(),
                height: i as u64,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The entries whose line contains `needle` (e.g. a checkpoint id), in
/// order, found by a byte search: a damaged line elsewhere does not stop
/// it, and one that mentions `needle` but does not parse is left out.
pub fn entries_mentioning(path: &Path, needle: &str) -> Result<Vec<Entry>, LedgerError> {
    let bytes = map(path)?;
    let mut out = Vec::new();
    let mut next_line = 0;
    for at in memchr::memmem::find_iter(&bytes, needle.as_bytes()) {
        if at < next_line {
            continue;
        }
        let start = bytes[..at].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let Some(len) = memchr::memchr(b'\n', &bytes[at..]) else { break };
        next_line = at + len + 1;
        if let Ok(e) = serde_json::from_slice(&bytes[start..at + len]) {
            out.push(e);
        }
    }
    Ok(out)
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
        return Err(format!(
            "height {height} is not in a tree of size {size} (the ledger has {} entries)",
            lines.len()
        ));
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
