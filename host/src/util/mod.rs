//! Helpers every layer needs and no domain owns: durable files, hashing,
//! time stamps, random ids. Nothing here knows about plugins, the ledger
//! or network state.
//!
//! - [`fs`]: private dirs, atomic writes, lock files.
//! - [`hash`]: SHA-256 in hex.
//! - [`time`]: seconds since the epoch, RFC 3339 stamps.
//! - [`id`]: random identifiers.
//! - [`public_key`]: Ed25519 public keys as text.

pub mod fs;
pub mod hash;
pub mod id;
pub mod public_key;
pub mod time;
