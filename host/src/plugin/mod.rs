//! The WebAssembly component plugin host. Only this module imports wasmtime.
//!
//! - [`builtin`]: plugins embedded in the host (`net`).
//! - [`bindings`]: the generated types of the WIT world `state-plugin`.
//! - [`caps`]: capabilities, grants and their host implementations.
//! - [`sandbox`]: per-instance store data, WASI context and limits.
//! - [`runtime`]: the engine, linker, compile cache and epoch ticker.
//! - [`instance`]: a loaded plugin and its typed, limited calls.
//! - [`manifest`]: what a plugin asks for, checked against its imports.
//! - [`registry`]: installed plugins on disk.

pub mod bindings;
pub mod builtin;
pub mod caps;
pub mod instance;
pub mod manifest;
pub mod registry;
pub mod runtime;
pub mod sandbox;

pub use caps::{Capability, Grants};
pub use instance::{CallError, Plugin};
pub use manifest::Manifest;
pub use registry::{Installed, Registry, RegistryError};
pub use runtime::{LoadError, Runtime};
