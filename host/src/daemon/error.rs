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

impl Error {
    /// The error name a kind is sent as.
    fn name_of(kind: ErrorKind) -> &'static str {
        match kind {
            ErrorKind::Invalid => "InvalidState",
            ErrorKind::Busy => "Busy",
            ErrorKind::RolledBack => "RolledBack",
            ErrorKind::RollbackFailed => "RollbackFailed",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::Failed => "Failed",
        }
    }
}

/// The kind of a `dev.ovs.PortAgent1.Error.*` a client received: the
/// inverse of `From<StateError>`, for the CLI's exit codes. Any other
/// error (access denied, the bus's own) is a failure.
pub fn kind_of(name: &str) -> ErrorKind {
    let short = name.strip_prefix("dev.ovs.PortAgent1.Error.").unwrap_or("");
    [ErrorKind::Invalid, ErrorKind::Busy, ErrorKind::RolledBack, ErrorKind::RollbackFailed, ErrorKind::NotFound]
        .into_iter()
        .find(|k| Error::name_of(*k) == short)
        .unwrap_or(ErrorKind::Failed)
}

impl From<crate::ledger::LedgerError> for Error {
    fn from(e: crate::ledger::LedgerError) -> Error {
        Error::Failed(format!("ledger: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::DBusError;

    #[test]
    fn every_kind_comes_back_from_its_name() {
        let kinds = [
            ErrorKind::Invalid,
            ErrorKind::Busy,
            ErrorKind::RolledBack,
            ErrorKind::RollbackFailed,
            ErrorKind::NotFound,
            ErrorKind::Failed,
        ];
        for kind in kinds {
            let sent = match kind {
                ErrorKind::Invalid => Error::InvalidState(String::new()),
                ErrorKind::Busy => Error::Busy(String::new()),
                ErrorKind::RolledBack => Error::RolledBack(String::new()),
                ErrorKind::RollbackFailed => Error::RollbackFailed(String::new()),
                ErrorKind::NotFound => Error::NotFound(String::new()),
                ErrorKind::Failed => Error::Failed(String::new()),
            };
            assert_eq!(sent.name().as_str(), format!("dev.ovs.PortAgent1.Error.{}", Error::name_of(kind)));
            assert_eq!(kind_of(sent.name().as_str()), kind);
        }
        assert_eq!(kind_of("dev.ovs.PortAgent1.Error.AccessDenied"), ErrorKind::Failed);
        assert_eq!(kind_of("org.freedesktop.DBus.Error.ServiceUnknown"), ErrorKind::Failed);
    }
}
