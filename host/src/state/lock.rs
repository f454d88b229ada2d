//! One apply at a time per host: an exclusive `flock` on
//! `<state_dir>/apply.lock`, held for the whole pipeline, across processes.

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
        crate::plugin::runtime::create_private_dir(state_dir)?;
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
}
