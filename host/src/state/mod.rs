//! The state manager: load and validate a state file, query, diff,
//! checkpoint, apply, verify, and roll back on any failure, across plugins.
//!
//! - [`file`]: the state file (`version: 1`, `plugins: {SECTION: ...}`).
//! - [`lock`]: one apply at a time per host, across processes.
//! - [`manager`]: the pipeline and its report.
//! - [`audit`]: the ledger entry each apply leaves.

pub mod audit;
pub mod file;
pub mod lock;
pub mod manager;

pub use audit::Caller;
pub use file::StateFile;
pub use manager::{ApplyReport, Manager, PluginDiff, StateError};
