//! One apply at a time per host: an exclusive `flock` on
//! `<state_dir>/apply.lock`, held for the whole pipeline, across processes.
//! And one daemon per host: `<state_dir>/daemon.lock`, held while it runs.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

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

impl ApplyLock {
    /// Takes the lock; `Ok(None)` when busy and `wait` is `NoWait`.
    pub fn take(state_dir: &Path, wait: Wait) -> std::io::Result<Option<ApplyLock>> {
        crate::util::fs::create_private_dir(state_dir)?;
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(state_dir.join("apply.lock"))?;
        let flags = libc::LOCK_EX | if wait == Wait::NoWait { libc::LOCK_NB } else { 0 };
        loop {
            // SAFETY: flock on a file descriptor we own.
            if unsafe { libc::flock(file.as_raw_fd(), flags) } == 0 {
                return Ok(Some(ApplyLock { _file: file }));
            }
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EWOULDBLOCK) => return Ok(None),
                Some(libc::EINTR) => continue,
                _ => return Err(err),
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

fn flock(file: &File, op: libc::c_int) -> std::io::Result<bool> {
    loop {
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), op | libc::LOCK_NB) } == 0 {
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
        crate::util::fs::create_private_dir(state_dir)?;
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(state_dir.join("daemon.lock"))?;
        Ok(flock(&file, libc::LOCK_EX)?.then_some(DaemonLock { _file: file }))
    }

    /// Whether a daemon holds the lock: `None` when this process cannot
    /// tell (the state dir is not readable by it).
    pub fn held(state_dir: &Path) -> Option<bool> {
        match std::fs::File::open(state_dir.join("daemon.lock")) {
            Ok(file) => flock(&file, libc::LOCK_SH).ok().map(|got| !got),
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
