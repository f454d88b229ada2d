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
use super::leftovers::pid_alive;
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
            gave_up: false,
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
    fn conclude(&self, j: Journal, category: &str, settled: Settled, caller: Caller) -> Settled {
        self.conclude_as(j, category, settled, caller, true)
    }

    /// [`Manager::conclude`], with the record left out when `record_it` is
    /// false: a retried rollback that failed as the one before it (one
    /// ledger entry per outcome, not per attempt).
    fn conclude_as(
        &self,
        mut j: Journal,
        category: &str,
        mut settled: Settled,
        caller: Caller,
        record_it: bool,
    ) -> Settled {
        let record = audit::settled_record(category, &j, &settled, caller);
        if record_it && let Err(e) = self.write_record(None, &record) {
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

    /// Whether the rollback `j` holds has failed as often as it may be
    /// tried by itself.
    fn gave_up(&self, j: &Journal) -> bool {
        j.phase == Phase::RollbackFailed && u64::from(j.attempts) >= self.config().rollback_max_attempts
    }

    /// Settles a journal left behind, under the apply lock (see the module).
    /// A change still awaiting confirmation is left as it is; a failed
    /// rollback that was tried `rollback_max_attempts` times is tried
    /// again only when `force` is set (`portagent recover`).
    pub(super) fn settle(&self, caller: Caller) -> Result<Option<Settled>, StateError> {
        self.settle_as(caller, false)
    }

    fn settle_as(&self, caller: Caller, force: bool) -> Result<Option<Settled>, StateError> {
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
            Phase::RollbackFailed if self.gave_up(&j) && !force => {
                let mut settled =
                    Settled::of(&j, false, "rollback failed; no longer retried by itself", j.errors.clone());
                settled.gave_up = true;
                settled
            }
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
                // Failing as the attempt before did is no news for the
                // ledger (the first record also holds the apply's own
                // errors: only what the restores said is compared).
                let restores = |errors: &[String]| -> Vec<String> {
                    errors.iter().filter(|e| e.starts_with("ROLLBACK")).cloned().collect()
                };
                let news = errors.is_empty() || restores(&errors) != restores(&j.errors) || unwritten.is_some();
                let mut settled =
                    self.conclude_as(j.clone(), "recovery", Settled::of(&j, false, &reason, errors), caller, news);
                if settled.result == "rollback_failed"
                    && u64::from(j.attempts + 1) >= self.config().rollback_max_attempts
                {
                    log::error!(
                        "the rollback of change {} failed {} times; portagent stops retrying it by itself: \
                         `portagent recover` tries again, `portagent recover --abandon --reason TEXT` settles it by hand",
                        j.id,
                        j.attempts + 1
                    );
                    settled.gave_up = true;
                }
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
                    gave_up: false,
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
                Phase::RollbackFailed => !self.gave_up(&j),
                Phase::Unrecorded => true,
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
                _ => StateError::RollbackFailed {
                    id: s.checkpoint.clone(),
                    errors: s.errors.clone(),
                    gave_up: s.gave_up,
                },
            });
        }
        Ok(settled)
    }

    /// `portagent recover`: settles what is unsettled now, a failed
    /// rollback included however often it failed before.
    pub fn recover_now(&self, caller: Caller) -> Result<Settled, StateError> {
        let _lock = self.lock(Wait::Block, None)?;
        match Journal::read(self.dir()).map_err(StateError::io(Journal::path(self.dir()).display().to_string()))? {
            None => Err(StateError::NothingUnsettled),
            Some(j) if j.phase == Phase::PendingConfirmation && !j.expired() => {
                Err(StateError::Pending { id: j.id.clone(), seconds_left: j.time_left().unwrap_or_default().as_secs() })
            }
            Some(_) => self.settle_as(caller, true)?.ok_or(StateError::NothingUnsettled),
        }
    }

    /// `portagent recover --abandon`: an admin settles a change whose
    /// rollback failed (or whose apply was interrupted and cannot be
    /// restored) by hand. The journal goes; the ledger records what was
    /// abandoned (the change, its plugins, the last errors, the attempts)
    /// and why. The system stays as it is: the admin answers for it.
    pub fn abandon(&self, caller: Caller, reason: &str) -> Result<Settled, StateError> {
        if reason.trim().is_empty() {
            return Err(StateError::invalid("reason", "say why the change is abandoned"));
        }
        let _lock = self.lock(Wait::Block, None)?;
        let j = Journal::read(self.dir())
            .map_err(StateError::io(Journal::path(self.dir()).display().to_string()))?
            .ok_or(StateError::NothingUnsettled)?;
        let why = match j.phase {
            Phase::RollbackFailed => None,
            Phase::Applying if !pid_alive(j.pid) => None,
            Phase::Applying => Some("is being applied right now"),
            Phase::PendingConfirmation => {
                Some("awaits confirmation: `portagent commit` keeps it, `portagent rollback` undoes it")
            }
            Phase::Unrecorded => {
                Some("is settled and only its record waits for the ledger: it is written, not abandoned")
            }
        };
        if let Some(why) = why {
            return Err(StateError::NotAbandonable { id: j.id.clone(), why: why.into() });
        }
        let mut settled = Settled::of(&j, false, reason.trim(), j.errors.clone());
        settled.result = "abandoned".into();
        let mut record = audit::settled_record("recovery", &j, &settled, caller);
        record.data["attempts"] = serde_json::json!(j.attempts);
        log::warn!("change {} abandoned by {}: {}", j.id, caller.describe(), reason.trim());
        self.write_record(None, &record).map_err(|error| StateError::Unrecorded { id: j.id.clone(), error })?;
        Journal::remove(self.dir()).map_err(StateError::io(Journal::path(self.dir()).display().to_string()))?;
        Ok(settled)
    }

    /// The plugins (by name) of a change left unsettled: what may not be
    /// removed until it is settled (or abandoned).
    pub fn unsettled_plugins(&self) -> Vec<String> {
        match Journal::read(self.dir()) {
            Ok(Some(j)) if j.phase != Phase::PendingConfirmation => {
                j.plugins.iter().map(|p| p.plugin.clone()).collect()
            }
            _ => vec![],
        }
    }

    /// Keeps the change awaiting confirmation.
    pub fn commit(&self, caller: Caller) -> Result<Settled, StateError> {
        let _lock = self.lock(Wait::Block, None)?;
        let expired = self.settle_before_work(caller)?;
        let Some(j) = self.pending()? else {
            return Err(match expired {
                Some(s) if s.reason == EXPIRED => StateError::Expired { id: s.checkpoint },
                _ => match self.last_change_expired() {
                    Some(id) => StateError::Expired { id },
                    None => StateError::NothingPending,
                },
            });
        };
        let settled = Settled::of(&j, true, "confirmed", vec![]);
        Ok(self.conclude(j, "commit", settled, caller))
    }

    /// The checkpoint id of the last change the ledger records, if its
    /// confirm timer rolled it back: a `commit` that comes too late says
    /// so (exit 3) rather than that nothing awaits confirmation. Read
    /// only on that path.
    fn last_change_expired(&self) -> Option<String> {
        let entries = crate::ledger::store::entries(&self.config().ledger_path).ok()?;
        let last = entries.iter().rev().find(|e| !e.data["checkpoint_id"].is_null())?;
        (last.category == "rollback" && last.data["reason"] == EXPIRED)
            .then(|| last.data["checkpoint_id"].as_str().unwrap_or_default().to_string())
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
