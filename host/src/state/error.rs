//! Why a state operation did not succeed, and the one classification of
//! it ([`ErrorKind`]) that the CLI's exit codes and the daemon's D-Bus
//! errors are both mapped from.

use crate::ledger::LedgerError;
use crate::plugin::{CallError, LoadError, RegistryError};

/// Why a state operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Bad input; nothing was changed. `line` is where the field is in the
    /// state file, when it came from one.
    #[error("{}{field}: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Invalid { field: String, message: String, line: Option<u32> },
    /// Another apply is running and the caller chose not to wait.
    #[error("another apply is in progress")]
    Busy,
    /// A plugin failed before anything was changed.
    #[error("{0}")]
    Plugin(CallError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file of portagent's own (journal, lock) could not be used.
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
    /// The ledger cannot be written: nothing is applied unrecorded.
    #[error("ledger: {0}")]
    Ledger(LedgerError),
    /// A change awaits confirmation; nothing else is applied until it is
    /// committed or rolled back.
    #[error(
        "change {id} awaits confirmation ({seconds_left} s left): run `portagent commit` to keep it or `portagent rollback` to undo it"
    )]
    Pending { id: String, seconds_left: u64 },
    /// `commit` or `rollback` with no change awaiting confirmation.
    #[error("no change awaits confirmation")]
    NothingPending,
    /// `commit` came after the deadline: the change was rolled back.
    #[error("change {id} was not confirmed in time and has been rolled back")]
    Expired { id: String },
    /// A change could not be undone: the system may be partly changed.
    /// Its checkpoints stay in the journal and the restore is retried.
    #[error(
        "change {id} could not be rolled back ({}); its checkpoints are kept in the journal and portagent retries \
         (the next command, or the daemon as soon as OVS and networkd answer){}",
        errors.join("; "),
        if *gave_up {
            "; it stopped retrying by itself after every attempt failed: `portagent recover` tries again now, \
             `portagent recover --abandon --reason TEXT` settles it by hand (recorded)"
        } else {
            ""
        }
    )]
    RollbackFailed { id: String, errors: Vec<String>, gave_up: bool },
    /// `recover` with nothing left unsettled.
    #[error("no change is left unsettled")]
    NothingUnsettled,
    /// `recover --abandon` of a change that is not abandoned that way.
    #[error("change {id} {why}")]
    NotAbandonable { id: String, why: String },
    /// The outcome of a change is settled but not yet in the ledger.
    #[error(
        "the outcome of change {id} is not recorded in the ledger ({error}); it is kept in the journal and recorded as soon as the ledger can be written"
    )]
    Unrecorded { id: String, error: String },
    /// The caller went away (its bus connection closed) while the apply
    /// waited for its turn: nothing was done.
    #[error("the caller went away before the apply started; nothing was changed")]
    Cancelled,
}

impl From<LedgerError> for StateError {
    fn from(e: LedgerError) -> StateError {
        StateError::Ledger(e)
    }
}

impl StateError {
    /// Bad input naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> StateError {
        StateError::Invalid { field: field.into(), message: message.into(), line: None }
    }

    /// An I/O error on `what`.
    pub fn io(what: String) -> impl FnOnce(std::io::Error) -> StateError {
        move |error| StateError::Io { what, error }
    }

    /// What kind of failure this is, for exit codes and D-Bus errors.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StateError::Invalid { .. } => ErrorKind::Invalid,
            StateError::Busy | StateError::Pending { .. } => ErrorKind::Busy,
            StateError::Expired { .. } => ErrorKind::RolledBack,
            StateError::NothingPending | StateError::NothingUnsettled => ErrorKind::NotFound,
            StateError::NotAbandonable { .. } => ErrorKind::Invalid,
            StateError::RollbackFailed { .. } => ErrorKind::RollbackFailed,
            StateError::Registry(e) => e.kind(),
            _ => ErrorKind::Failed,
        }
    }
}

/// The kinds of failure a caller can tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: nothing was changed.
    Invalid,
    /// Another apply runs, or a change awaits confirmation.
    Busy,
    /// Applied, failed, and rolled back to the state before.
    RolledBack,
    /// Applied, failed, and the rollback failed too: retried until it works.
    RollbackFailed,
    /// No such thing (a plugin, a ledger entry, a pending change).
    NotFound,
    /// Anything else.
    Failed,
}

impl RegistryError {
    /// Refusals of what the user asked for are invalid input; a missing
    /// plugin is not found; the rest are failures.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegistryError::NotInstalled(_) => ErrorKind::NotFound,
            RegistryError::Io { .. } | RegistryError::Record { .. } | RegistryError::Tampered { .. } => {
                ErrorKind::Failed
            }
            RegistryError::Load(LoadError::Sandbox(_)) => ErrorKind::Failed,
            _ => ErrorKind::Invalid,
        }
    }
}
