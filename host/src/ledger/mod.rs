//! The audit ledger: a hash-chained, Merkle-tree-backed, crash-safe JSON
//! lines file with Ed25519-signed checkpoints (RFC 6962/9162 hashing, the
//! C2SP checkpoint format). Only this module appends to the ledger.
//!
//! - [`entry`]: one entry and its canonical form.
//! - [`merkle`]: RFC 6962 roots and proofs.
//! - [`checkpoint`]: signed checkpoints.
//! - [`store`]: the file: appends, recovery, verify, queries.

pub mod checkpoint;
pub mod entry;
pub mod merkle;
pub mod store;

pub use entry::{Entry, Metadata, NewEntry};
pub use store::{Ledger, LedgerError, Options, Report};

impl Options {
    /// The ledger options of `config`.
    pub fn from_config(config: &crate::config::Config) -> Options {
        Options {
            checkpoint_every: config.ledger_checkpoint_entries,
            checkpoint_interval: std::time::Duration::from_secs(config.ledger_checkpoint_seconds),
            key_path: config.ledger_key_path.clone().unwrap_or_else(|| config.state_dir.join("ledger.key")),
            origin: format!("portagent.ledger/{}", store::hostname()),
        }
    }
}

#[cfg(test)]
mod tests;
