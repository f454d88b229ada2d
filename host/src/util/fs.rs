//! Durable, private files: dirs created 0700 (and an existing one never
//! left writable by others), atomic replacement, lock files only their
//! owner can open.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and its parents) mode 0700. An existing dir keeps its
/// mode, except that write access for group and others is taken away:
/// another user must not be able to plant or replace files in it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = std::fs::metadata(dir)?;
    let mode = meta.permissions().mode() & 0o7777;
    // SAFETY: geteuid cannot fail.
    if mode & 0o022 != 0 && meta.uid() == unsafe { libc::geteuid() } {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & !0o022))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` via a temporary file, fsync and rename (and
/// an fsync of the dir): the file is either the old one or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_atomically_as(path, bytes, mode, None)
}

/// [`write_atomically`], the file getting exactly `mode` (whatever the
/// umask) and, when given, `owner` (uid, gid) before it takes the name.
pub fn write_atomically_as(path: &Path, bytes: &[u8], mode: u32, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Some(parent) = path.parent() {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// [`write_atomically`], or where `path` is a mount point (a file
/// bind-mounted over it, as containers, Kolla-style hosts and systemd's
/// `ReadWritePaths=` of one file have it), where nothing can be renamed
/// over it: written in place, truncated, and synced. Not atomic, but the
/// only way to change such a file.
pub fn write_atomically_or_in_place(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::ErrorKind::{ReadOnlyFilesystem, ResourceBusy};
    // ReadOnlyFilesystem: the dir is read-only but the file is not (a
    // systemd unit's `ReadWritePaths=/etc/hostname` under ProtectSystem).
    match write_atomically(path, bytes, mode) {
        Err(e) if matches!(e.kind(), ResourceBusy | ReadOnlyFilesystem) => {
            let mut file = std::fs::OpenOptions::new().write(true).truncate(true).open(path)?;
            file.write_all(bytes)?;
            file.sync_all()
        }
        other => other,
    }
}

/// Opens (creating) a lock file that only this user can open: mode 0600,
/// owned by the effective uid. One found with a wider mode (an older
/// version's 0644) or owned by someone else is replaced, not narrowed: a
/// process that opened it before still holds a descriptor, and with it
/// the flock, so another user's lock can never block this one.
pub fn open_lock_file(path: &Path) -> std::io::Result<File> {
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && (meta.uid() != me || !meta.file_type().is_file() || meta.permissions().mode() & 0o077 != 0)
    {
        std::fs::remove_file(path)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    if file.metadata()?.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Whether `e` says the filesystem (or the user's quota) is full.
pub fn is_out_of_space(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_dirs_are_created_0700_and_existing_ones_lose_write_for_others() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("a/b");
        create_private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        create_private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o755, "write taken away, read kept");
    }

    #[test]
    fn lock_files_are_0600_and_a_wider_one_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        drop(open_lock_file(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        // An older version's 0644 file, opened and locked by someone
        // before: replaced, so that holder no longer blocks anyone.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let held = std::fs::File::open(&path).unwrap();
        // SAFETY: flock on a descriptor we own.
        assert_eq!(unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&held), libc::LOCK_EX | libc::LOCK_NB) }, 0);
        let mine = open_lock_file(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        // SAFETY: as above.
        let taken = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&mine), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(taken, 0, "the old holder's lock is on a file that is gone");
        drop((held, mine));
        // A symlink planted in its place is replaced, never followed.
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        drop(open_lock_file(&path).unwrap());
        assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_file());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }

    #[test]
    fn atomic_writes_replace_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomically(&path, b"one", 0o600).unwrap();
        write_atomically(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}
