//! portagent: declarative network state for Open vSwitch hosts, computed and
//! applied by sandboxed WebAssembly component plugins.
//!
//! - [`config`]: `config.toml`, with the deployment guide's keys.
//! - [`ledger`]: the tamper-evident audit ledger.
//! - [`plugin`]: the component runtime, capability grants, and the installed
//!   plugin registry. Only this module imports wasmtime.
//! - [`ports`]: the configured bridge's ports changed as state (the port
//!   methods, the agent's changes, guests' names), for the CLI and the daemon.
//! - [`state`]: the state manager (diff, checkpoint, apply, verify, rollback).
//! - [`util`]: helpers every layer needs (durable files, hashes, time).
//! - [`cli`]: the `portagent` / `ovs-port-agent` command line.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod ledger;
pub mod plugin;
pub mod ports;
pub mod state;
pub mod util;
