//! The apply journal, `<state_dir>/journal.json`: every checkpoint and the
//! intent of an apply, written durably (fsync + rename) before the first
//! change and removed once the outcome is settled and recorded. A journal
//! found later means an apply was interrupted (restore it), a change
//! awaits confirmation (keep it until `commit`, `rollback` or its
//! deadline), a rollback failed (retry it), or an outcome could not be
//! recorded yet (record it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

const FILE: &str = "journal.json";

/// Where an apply stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Changes are being made; if the writer is gone, they are undone.
    Applying,
    /// Applied and verified; undone unless committed before `deadline`.
    PendingConfirmation,
    /// A restore failed: the system may be partly changed. The restore is
    /// retried until it succeeds.
    RollbackFailed,
    /// Settled (the system is as it should be), but `record` could not be
    /// written to the ledger yet; whoever settles next appends it.
    Unrecorded,
}

/// A ledger entry waiting to be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub category: String,
    pub plugins: Vec<String>,
    pub uid: u32,
    pub data: serde_json::Value,
}

/// One plugin's saved state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The plugin's name (to load it again after a crash).
    pub plugin: String,
    /// The section it owns.
    pub section: String,
    /// Its `query()` before the apply: what a restore must verify against.
    pub before: String,
    /// Its opaque checkpoint, base64.
    #[serde(with = "base64_bytes")]
    pub checkpoint: Vec<u8>,
}

/// An apply in progress, or awaiting confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The checkpoint id reported to the user and recorded in the ledger.
    pub id: String,
    pub started: String,
    /// The process making the change.
    pub pid: u32,
    pub uid: u32,
    pub desired_state_hash: String,
    pub phase: Phase,
    /// Seconds since the Unix epoch, for [`Phase::PendingConfirmation`].
    pub deadline: Option<u64>,
    /// In apply order; restored in reverse.
    pub plugins: Vec<Saved>,
    /// The managed block's rewrite of the interfaces file, made after the
    /// plugins' changes and undone before theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interfaces_file: Option<super::managed_block::Written>,
    /// [`Phase::Unrecorded`]: the entry to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// [`Phase::RollbackFailed`]: restores tried so far, and the last errors.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

mod base64_bytes {
    use super::*;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        B64.decode(s).map_err(serde::de::Error::custom)
    }
}

use crate::util::time::unix_secs as now;

impl Journal {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE)
    }

    /// The journal, if one is there. An unreadable journal is an error:
    /// it may hold the only way back.
    pub fn read(state_dir: &Path) -> std::io::Result<Option<Journal>> {
        let path = Self::path(state_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether a journal is there (one `stat`; the no-op path's only cost).
    pub fn exists(state_dir: &Path) -> bool {
        Self::path(state_dir).exists()
    }

    /// Writes the journal durably: temporary file, fsync, rename, fsync dir.
    pub fn write(&self, state_dir: &Path) -> std::io::Result<()> {
        crate::util::fs::create_private_dir(state_dir)?;
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::util::fs::write_atomically(&Self::path(state_dir), &bytes, 0o600)
    }

    /// Removes the journal durably; the outcome is settled.
    pub fn remove(state_dir: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(Self::path(state_dir)) {
            Ok(()) => std::fs::File::open(state_dir)?.sync_all(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Time left before an unconfirmed change is rolled back.
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline.map(|d| Duration::from_secs(d.saturating_sub(now())))
    }

    /// Whether an unconfirmed change has passed its deadline.
    pub fn expired(&self) -> bool {
        self.phase == Phase::PendingConfirmation && self.deadline.is_some_and(|d| now() >= d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Journal {
        Journal {
            id: "chkpt-1".into(),
            started: "2026-11-25T00:00:00.000Z".into(),
            pid: 42,
            uid: 0,
            desired_state_hash: "ab".into(),
            phase: Phase::Applying,
            deadline: None,
            plugins: vec![Saved {
                plugin: "net".into(),
                section: "net".into(),
                before: "{}".into(),
                checkpoint: vec![0, 1, 2, 255],
            }],
            interfaces_file: Some(crate::state::managed_block::Written {
                path: "/etc/network/interfaces".into(),
                before: Some("auto lo\n".into()),
                after: "auto lo\n\n# BEGIN x\n# END x\n".into(),
            }),
            record: None,
            attempts: 0,
            errors: vec![],
        }
    }

    #[test]
    fn round_trips_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Journal::read(dir.path()).unwrap(), None);
        let mut j = sample();
        j.write(dir.path()).unwrap();
        assert_eq!(Journal::read(dir.path()).unwrap(), Some(j.clone()));
        j.phase = Phase::Unrecorded;
        j.record = Some(Record {
            category: "rollback".into(),
            plugins: vec!["net".into()],
            uid: 0,
            data: serde_json::json!({"result": "rolled_back"}),
        });
        j.write(dir.path()).unwrap();
        assert!(Journal::exists(dir.path()));
        assert_eq!(Journal::read(dir.path()).unwrap(), Some(j));
        Journal::remove(dir.path()).unwrap();
        assert!(!Journal::exists(dir.path()));
        Journal::remove(dir.path()).unwrap();
    }

    #[test]
    fn a_damaged_journal_is_an_error_not_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Journal::path(dir.path()), b"{\"id\": ").unwrap();
        let e = Journal::read(dir.path()).unwrap_err();
        assert!(e.to_string().contains("journal.json"), "{e}");
    }

    #[test]
    fn deadline_decides_expiry() {
        let mut j = sample();
        assert!(!j.expired(), "an apply in progress has no deadline");
        j.phase = Phase::PendingConfirmation;
        j.deadline = Some(now() + 60);
        assert!(!j.expired());
        assert!(j.time_left().unwrap() > Duration::from_secs(58));
        j.deadline = Some(now() - 1);
        assert!(j.expired());
    }
}
