//! The WebAssembly component plugin host. Only this module imports wasmtime.
//!
//! - [`builtin`]: plugins embedded in the host (`net`).
//! - [`api`]: the host's own types for what crosses the WIT boundary.
//! - [`bindings`]: the generated types of the WIT world, per version.
//! - [`caps`]: capabilities, grants and their host implementations.
//! - [`sandbox`]: the limits of a call and its wall clock.
//! - [`errno`]: WASI error numbers named in guests' messages.
//! - [`file_names`]: which names in the networkd dir are a plugin's.
//! - [`fs_guard`]: what a plugin may make in the networkd preopen.
//! - [`networkd_files`]: the links a plugin's networkd files configure, and their quota.
//! - [`store`]: per-instance store data: WASI context, capability view, limits.
//! - [`runtime`]: the engine, linker and compile cache.
//! - [`ticker`]: the epoch ticker behind the time limits.
//! - [`instance`]: a loaded plugin and its typed, limited calls.
//! - [`manifest`]: what a plugin asks for, checked against its imports.
//! - [`registry`]: installed plugins on disk.
//! - [`signature`]: publisher signatures, checked before compiling.

pub mod api;
pub mod bindings;
pub mod builtin;
pub mod caps;
pub mod errno;
pub mod file_names;
pub mod fs_guard;
pub mod instance;
pub mod manifest;
pub mod networkd_files;
pub mod output;
pub mod registry;
pub mod runtime;
pub mod sandbox;
pub mod signature;
pub mod store;
pub mod ticker;

pub use caps::{Capability, Grants};
pub use instance::{CallError, MAX_ACTIONS, MAX_LISTED, MAX_OUTPUT_BYTES, Plugin};
pub use manifest::Manifest;
pub use registry::{Installed, Registry, RegistryError};
pub use runtime::{LoadError, Runtime};
pub use signature::{SignatureError, Trust};
