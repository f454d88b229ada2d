//! The state manager: load and validate a state file, query, diff,
//! checkpoint, apply, verify, and roll back on any failure, across plugins.
//!
//! - [`file`]: the state file (`version: 1`, `plugins: {SECTION: ...}`).
//! - [`lock`]: one apply at a time per host, across processes.
//! - [`manager`]: the pipeline, confirm-or-revert, crash recovery.
//! - [`journal`]: the durable record of an apply in progress.
//! - [`probe`]: the connectivity check after an apply.
//! - [`audit`]: the ledger entries the manager leaves.

pub mod audit;
pub mod file;
pub mod journal;
pub mod lock;
pub mod manager;
pub mod probe;

pub use audit::Caller;
pub use file::StateFile;
pub use manager::{ApplyOptions, ApplyReport, Manager, PluginDiff, Settled, StateError};
