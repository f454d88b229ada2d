//! The audit ledger: a hash-chained, Merkle-tree-backed, crash-safe JSON
//! lines file with an Ed25519-signed head after every commit (RFC 6962/9162
//! hashing, the C2SP checkpoint format), mirrored to a second file. Only
//! this module appends to the ledger.
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
            key_path: config.ledger_key_path.clone().unwrap_or_else(|| config.state_dir.join("ledger.key")),
            origin: format!("portagent.ledger/{}", store::hostname()),
            heads_path: (!config.ledger_heads_path.as_os_str().is_empty()).then(|| config.ledger_heads_path.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
