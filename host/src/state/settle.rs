//! Settling changes whose outcome is not final: an apply interrupted by a
//! crash (restored, `recovery`), a change awaiting confirmation (kept by
//! `commit`, undone by `rollback` or its deadline), a rollback that failed
//! (restored again until it works), an outcome not yet recorded (recorded).
//!
//! Restoring never depends on the ledger: the network comes first, then
//! the record; a record that cannot be written waits in the journal.

use super::audit::{self, Caller};
use super::error::StateError;
use super::journal::{Journal, Phase};
use super::lock::Wait;
use super::manager::Manager;
use super::report::Settled;
use std::time::Duration;

/// Why an unconfirmed change was rolled back by its timer.
pub const EXPIRED: &str = "confirm timeout expired";

impl Settled {
    /// `committed` for a commit; otherwise rolled back, or not fully.
    pub(super) fn of(j: &Journal, committed: bool, reason: &str, errors: Vec<String>) -> Settled {
        let result = match (committed, errors.is_empty()) {
            (true, _) => "committed",
            (false, true) => "rolled_back",
            (false, false) => "rollback_failed",
        };
        Settled {
            checkpoint: j.id.clone(),
            result: result.into(),
            reason: reason.into(),
            plugins: j.plugins.iter().map(|s| s.section.clone()).collect(),
            errors,
            unrecorded: None,
        }
    }

    /// Whether this needs someone's attention: the rollback failed, or it
    /// is not in the ledger yet.
    pub fn unfinished(&self) -> bool {
        self.result == "rollback_failed" || self.unrecorded.is_some()
    }
}

impl Manager {
    /// Records how `j` was settled and puts the journal in its place:
    /// removed; kept as `rollback_failed` (to retry the restore); or kept
    /// as `unrecorded` (to write the record later).
    fn conclude(&self, mut j: Journal, category: &str, mut settled: Settled, caller: Caller) -> Settled {
        let record = audit::settled_record(category, &j, &settled, caller);
        if let Err(e) = self.write_record(None, &record) {
            settled.unrecorded = Some(e);
        }
        let keep = if settled.result == "rollback_failed" {
            j.phase = Phase::RollbackFailed;
            j.attempts += 1;
            j.errors = settled.errors.clone();
            // Its failure not written yet: written before the next attempt.
            j.record = settled.unrecorded.is_some().then_some(record);
            true
        } else if settled.unrecorded.is_some() {
            j.phase = Phase::Unrecorded;
            j.record = Some(record);
            true
        } else {
            false
        };
        let kept = if keep { j.write(self.dir()) } else { Journal::remove(self.dir()) };
        if let Err(e) = kept {
            // The journal stays as it was: settling it again repeats the
            // restore (which finds nothing to do) and the record.
            log::error!("journal {}: {e}", Journal::path(self.dir()).display());
        }
        settled
    }

    /// Settles a journal left behind, under the apply lock (see the module).
    /// A change still awaiting confirmation is left as it is.
    pub(super) fn settle(&self, caller: Caller) -> Result<Option<Settled>, StateError> {
        let journal_err = StateError::io(Journal::path(self.dir()).display().to_string());
        let Some(mut j) = Journal::read(self.dir()).map_err(journal_err)? else { return Ok(None) };
        if self.recorded_final(&j) {
            Journal::remove(self.dir()).map_err(StateError::io(Journal::path(self.dir()).display().to_string()))?;
            return Ok(None);
        }
        let settled = match j.phase {
            Phase::Applying => {
                let reason = format!("apply interrupted (pid {} started {})", j.pid, j.started);
                log::warn!("{reason}: restoring checkpoint {}", j.id);
                let errors = self.undo_journal(&j);
                self.conclude(j.clone(), "recovery", Settled::of(&j, false, &reason, errors), caller)
            }
            Phase::PendingConfirmation if j.expired() => {
                log::warn!("change {} was not confirmed in time: rolling back", j.id);
                let errors = self.undo_journal(&j);
                self.conclude(j.clone(), "rollback", Settled::of(&j, false, EXPIRED, errors), caller)
            }
            Phase::PendingConfirmation => return Ok(None),
            Phase::RollbackFailed => {
                if let Some(r) = j.record.take() {
                    // The failure itself first, if it was not written then.
                    if self.write_record(None, &r).is_err() {
                        j.record = Some(r);
                    }
                }
                let reason = format!("rollback of change {} retried (attempt {})", j.id, j.attempts + 1);
                log::warn!("{reason}");
                let errors = self.undo_journal(&j);
                let unwritten = j.record.take();
                let mut settled = self.conclude(j.clone(), "recovery", Settled::of(&j, false, &reason, errors), caller);
                if let Some(r) = unwritten {
                    settled
                        .unrecorded
                        .get_or_insert_with(|| format!("the earlier failure ({}) is not recorded yet", r.category));
                }
                settled
            }
            Phase::Unrecorded => {
                let record = j.record.clone().ok_or_else(|| StateError::Unrecorded {
                    id: j.id.clone(),
                    error: "the journal holds no record to write".into(),
                })?;
                self.write_record(None, &record).map_err(|error| StateError::Unrecorded { id: j.id.clone(), error })?;
                Journal::remove(self.dir()).map_err(StateError::io(Journal::path(self.dir()).display().to_string()))?;
                Settled {
                    checkpoint: j.id.clone(),
                    result: record.data["result"].as_str().unwrap_or_default().into(),
                    reason: format!("{} recorded late", record.category),
                    plugins: record.plugins.clone(),
                    errors: vec![],
                    unrecorded: None,
                }
            }
        };
        Ok(Some(settled))
    }

    /// Run at start, and by the daemon whenever something is unfinished:
    /// settles what an earlier process left (see [`Manager::settle`]) unless
    /// a live apply holds the lock. Costs one `stat` when clean.
    pub fn recover(&self, caller: Caller) -> Result<Option<Settled>, StateError> {
        if !Journal::exists(self.dir()) {
            return Ok(None);
        }
        match self.lock(Wait::NoWait, None) {
            Ok(_lock) => self.settle(caller),
            Err(StateError::Busy) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether a journal waits for someone to settle it again: a failed
    /// rollback, an unrecorded outcome, an expired confirmation, or an
    /// apply whose process is gone.
    pub fn unfinished(&self) -> bool {
        match Journal::read(self.dir()) {
            Ok(Some(j)) => match j.phase {
                Phase::RollbackFailed | Phase::Unrecorded => true,
                Phase::PendingConfirmation => j.expired(),
                Phase::Applying => !pid_alive(j.pid),
            },
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// The change awaiting confirmation, if any.
    pub fn pending(&self) -> Result<Option<Journal>, StateError> {
        Ok(Journal::read(self.dir())
            .map_err(StateError::io(Journal::path(self.dir()).display().to_string()))?
            .filter(|j| j.phase == Phase::PendingConfirmation))
    }

    /// Settles what an earlier apply left before new work starts; refuses
    /// to go on while a rollback failed or an outcome is unrecorded.
    pub(super) fn settle_before_work(&self, caller: Caller) -> Result<Option<Settled>, StateError> {
        if !Journal::exists(self.dir()) {
            return Ok(None);
        }
        let settled = self.settle(caller)?;
        if let Some(s) = settled.as_ref().filter(|s| s.unfinished()) {
            return Err(match &s.unrecorded {
                Some(error) if s.result != "rollback_failed" => {
                    StateError::Unrecorded { id: s.checkpoint.clone(), error: error.clone() }
                }
                _ => StateError::RollbackFailed { id: s.checkpoint.clone(), errors: s.errors.clone() },
            });
        }
        Ok(settled)
    }

    /// Keeps the change awaiting confirmation.
    pub fn commit(&self, caller: Caller) -> Result<Settled, StateError> {
        let _lock = self.lock(Wait::Block, None)?;
        let expired = self.settle_before_work(caller)?;
        let Some(j) = self.pending()? else {
            return Err(match expired {
                Some(s) if s.reason == EXPIRED => StateError::Expired { id: s.checkpoint },
                _ => StateError::NothingPending,
            });
        };
        let settled = Settled::of(&j, true, "confirmed", vec![]);
        Ok(self.conclude(j, "commit", settled, caller))
    }

    /// Undoes the change awaiting confirmation.
    pub fn rollback(&self, caller: Caller) -> Result<Settled, StateError> {
        let _lock = self.lock(Wait::Block, None)?;
        if let Some(expired) = self.settle(caller)? {
            return Ok(expired);
        }
        let j = self.pending()?.ok_or(StateError::NothingPending)?;
        let errors = self.undo_journal(&j);
        Ok(self.conclude(j.clone(), "rollback", Settled::of(&j, false, "requested", errors), caller))
    }

    /// Rolls back change `id` if it is still unconfirmed at its deadline:
    /// the confirm timer, in whichever process runs it. Waits until then.
    pub fn expire_when_due(&self, id: &str, caller: Caller) -> Result<Option<Settled>, StateError> {
        loop {
            match self.pending()? {
                Some(j) if j.id == id => match j.time_left() {
                    Some(left) if !left.is_zero() => std::thread::sleep(left.min(Duration::from_secs(60))),
                    _ => break,
                },
                _ => return Ok(None),
            }
        }
        let _lock = self.lock(Wait::Block, None)?;
        match Journal::read(self.dir()) {
            Ok(Some(j)) if j.id == id => self.settle(caller),
            _ => Ok(None),
        }
    }
}

/// Whether process `pid` runs (a zombie does not).
fn pid_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !matches!(stat.rsplit_once(')').and_then(|(_, r)| r.trim_start().bytes().next()), Some(b'Z' | b'X'))
    })
}
