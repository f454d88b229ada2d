//! One apply at a time per host: an exclusive `flock` on
//! `<state_dir>/apply.lock`, held for the whole pipeline, across processes.
//! And one daemon per host: `<state_dir>/daemon.lock`, held while it runs.
//! Both are 0600 files in a dir others cannot write: another user cannot
//! open them, so cannot hold them to block root.

use crate::util::fs::{create_private_dir, open_lock_file};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Held while an apply runs; released on drop (and by the kernel if the
/// process dies).
pub struct ApplyLock {
    _file: File,
}

/// Whether to wait for a running apply or give up at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Block,
    NoWait,
}

/// How often a waiter that may be called off looks at the lock again.
const POLL: Duration = Duration::from_millis(20);

/// Why the lock was not taken.
#[derive(Debug)]
pub enum NotTaken {
    /// Held by another apply, and the caller would not wait.
    Busy,
    /// The caller called the wait off (its client went away).
    Cancelled,
    Io(std::io::Error),
}

impl ApplyLock {
    /// Takes the lock; `Ok(None)` when busy and `wait` is `NoWait`.
    pub fn take(state_dir: &Path, wait: Wait) -> std::io::Result<Option<ApplyLock>> {
        match Self::take_unless(state_dir, wait, None) {
            Ok(lock) => Ok(Some(lock)),
            Err(NotTaken::Busy | NotTaken::Cancelled) => Ok(None),
            Err(NotTaken::Io(e)) => Err(e),
        }
    }

    /// Takes the lock, waiting (unless `wait` is `NoWait`) until it is free
    /// or `cancelled` is set: a request whose caller is gone never runs.
    pub fn take_unless(
        state_dir: &Path,
        wait: Wait,
        cancelled: Option<&Arc<AtomicBool>>,
    ) -> Result<ApplyLock, NotTaken> {
        create_private_dir(state_dir).map_err(NotTaken::Io)?;
        let file = open_lock_file(&state_dir.join("apply.lock")).map_err(NotTaken::Io)?;
        let is_cancelled = || cancelled.is_some_and(|c| c.load(Ordering::SeqCst));
        // Without a way to be called off, the kernel queues the waiter.
        let block = wait == Wait::Block && cancelled.is_none();
        loop {
            if is_cancelled() {
                return Err(NotTaken::Cancelled);
            }
            match flock(&file, libc::LOCK_EX, block) {
                Ok(true) => return Ok(ApplyLock { _file: file }),
                Ok(false) if wait == Wait::NoWait => return Err(NotTaken::Busy),
                Ok(false) => std::thread::sleep(POLL),
                Err(e) => return Err(NotTaken::Io(e)),
            }
        }
    }
}

/// Held by a running daemon for its whole life: `<state_dir>/daemon.lock`.
/// Lets the CLI tell in a few microseconds whether a daemon runs, without
/// connecting to the bus.
pub struct DaemonLock {
    _file: File,
}

/// `flock(op)`, blocking until granted when `block`; whether it was taken.
fn flock(file: &File, op: libc::c_int, block: bool) -> std::io::Result<bool> {
    let op = if block { op } else { op | libc::LOCK_NB };
    loop {
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
}

impl DaemonLock {
    /// Takes the daemon lock; `Ok(None)` if another daemon holds it.
    pub fn take(state_dir: &Path) -> std::io::Result<Option<DaemonLock>> {
        create_private_dir(state_dir)?;
        let file = open_lock_file(&state_dir.join("daemon.lock"))?;
        Ok(flock(&file, libc::LOCK_EX, false)?.then_some(DaemonLock { _file: file }))
    }

    /// Whether a daemon holds the lock: `None` when this process cannot
    /// tell (the state dir is not readable by it).
    pub fn held(state_dir: &Path) -> Option<bool> {
        match std::fs::File::open(state_dir.join("daemon.lock")) {
            Ok(file) => flock(&file, libc::LOCK_SH, false).ok().map(|got| !got),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(false),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_is_told_busy() {
        let dir = tempfile::tempdir().unwrap();
        let held = ApplyLock::take(dir.path(), Wait::NoWait).unwrap();
        assert!(held.is_some());
        assert!(ApplyLock::take(dir.path(), Wait::NoWait).unwrap().is_none());
        drop(held);
        assert!(ApplyLock::take(dir.path(), Wait::NoWait).unwrap().is_some());
    }

    #[test]
    fn a_waiter_whose_caller_went_away_never_takes_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let held = ApplyLock::take(dir.path(), Wait::NoWait).unwrap().unwrap();
        let cancelled = Arc::new(AtomicBool::new(false));
        let (d, c) = (dir.path().to_path_buf(), cancelled.clone());
        let waiter = std::thread::spawn(move || ApplyLock::take_unless(&d, Wait::Block, Some(&c)).map(drop));
        std::thread::sleep(Duration::from_millis(100));
        cancelled.store(true, Ordering::SeqCst);
        assert!(matches!(waiter.join().unwrap(), Err(NotTaken::Cancelled)));
        drop(held);
        // Not cancelled: it waits its turn and gets it.
        let held = ApplyLock::take(dir.path(), Wait::NoWait).unwrap().unwrap();
        let (d, c) = (dir.path().to_path_buf(), Arc::new(AtomicBool::new(false)));
        let waiter = std::thread::spawn(move || ApplyLock::take_unless(&d, Wait::Block, Some(&c)).is_ok());
        std::thread::sleep(Duration::from_millis(60));
        drop(held);
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn lock_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        drop(ApplyLock::take(dir.path(), Wait::NoWait).unwrap());
        drop(DaemonLock::take(dir.path()).unwrap());
        for f in ["apply.lock", "daemon.lock"] {
            assert_eq!(std::fs::metadata(dir.path().join(f)).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
        }
    }

    #[test]
    fn the_daemon_lock_says_whether_a_daemon_runs() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(DaemonLock::held(dir.path()), Some(false), "no lock file: no daemon");
        let held = DaemonLock::take(dir.path()).unwrap().unwrap();
        assert_eq!(DaemonLock::held(dir.path()), Some(true));
        assert!(DaemonLock::take(dir.path()).unwrap().is_none(), "one daemon at a time");
        drop(held);
        assert_eq!(DaemonLock::held(dir.path()), Some(false));
    }
}
