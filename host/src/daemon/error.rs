//! The errors a D-Bus caller sees (`dev.ovs.PortAgent1.Error.*`), each
//! mapped from the state manager's [`ErrorKind`] in one place.

use crate::state::{ErrorKind, StateError};

/// The errors a caller sees.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "dev.ovs.PortAgent1.Error")]
pub enum Error {
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The state (or an argument) is invalid; nothing was changed.
    InvalidState(String),
    /// Another apply runs, or a change awaits confirmation, or the caller
    /// has too many requests running.
    Busy(String),
    /// Applied, failed, and rolled back.
    RolledBack(String),
    /// Applied, failed, and the rollback failed too; it is retried.
    RollbackFailed(String),
    /// The caller may not do this.
    AccessDenied(String),
    /// No such thing (a ledger entry, a plugin, a pending change).
    NotFound(String),
    Failed(String),
}

impl From<StateError> for Error {
    fn from(e: StateError) -> Error {
        let text = e.to_string();
        match e.kind() {
            ErrorKind::Invalid => Error::InvalidState(text),
            ErrorKind::Busy => Error::Busy(text),
            ErrorKind::RolledBack => Error::RolledBack(text),
            ErrorKind::RollbackFailed => Error::RollbackFailed(text),
            ErrorKind::NotFound => Error::NotFound(text),
            ErrorKind::Failed => Error::Failed(text),
        }
    }
}

impl From<crate::ledger::LedgerError> for Error {
    fn from(e: crate::ledger::LedgerError) -> Error {
        Error::Failed(format!("ledger: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, Error>;
