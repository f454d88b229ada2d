//! The state manager: load and validate a state file, query, diff,
//! checkpoint, apply, verify, and roll back on any failure, across plugins.
//!
//! - [`file`]: the state file (`version: 1`, `plugins: {SECTION: ...}`).
//! - [`lock`]: one apply at a time per host, across processes.
//! - [`manager`]: the plugins and what the steps below share.
//! - [`pipeline`]: plan, show-diff, apply.
//! - [`settle`]: crash recovery, confirm-or-revert, retried rollbacks.
//! - [`plugins`]: installing and removing plugins.
//! - [`schema`]: the state file's JSON Schema, with every plugin's section.
//! - [`located`]: where a field is in a state file's YAML; parse errors in words.
//! - [`journal`]: the durable record of an apply in progress.
//! - [`leftovers`]: temporary files of writers that died, swept at start.
//! - [`managed_block`]: the bridge and its ports in Proxmox's interfaces
//!   file, written (and undone) as part of an apply-state.
//! - [`probe`]: the connectivity check after an apply.
//! - [`audit`]: the ledger entries the manager leaves.
//! - [`report`]: what the operations report.
//! - [`error`]: why they fail, and the kinds callers tell apart.

pub mod audit;
pub mod error;
pub mod file;
pub mod journal;
pub mod leftovers;
pub mod located;
pub mod lock;
pub mod managed_block;
pub mod manager;
pub mod metrics;
pub mod pipeline;
pub mod plugins;
pub mod probe;
pub mod report;
pub mod schema;
pub mod settle;

pub use audit::Caller;
pub use error::{ErrorKind, StateError};
pub use file::StateFile;
pub use manager::{Manager, Queried};
pub use pipeline::ApplyOptions;
pub use report::{ApplyReport, PluginDiff, Settled};
