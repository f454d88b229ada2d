//! `bindgen!` for `portagent:plugin@0.2.0`: Rust types and traits for the
//! WIT world `state-plugin` in `../wit`, and their conversions to the
//! host's own types ([`crate::plugin::api`]).
//!
//! Every capability import is `trappable` so a host implementation can turn
//! an exhausted call deadline into a trap; errors the guest should handle
//! stay inside the WIT `result` as `cap-error`. Imports and exports are
//! `async`: a call runs on a fiber the host can stop at any await point
//! (a guest asleep in WASI included), so its wall-clock limit always holds.

// `sdk/wit` links each file of `wit/` without `wit/deps/` (where older
// versions of the same package are frozen), so the package binds alone.
wasmtime::component::bindgen!({
    path: "../sdk/wit",
    world: "portagent:plugin/state-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

use self::portagent::plugin::types as wit;
pub use self::portagent::plugin::types::CapError;

/// This bindings module's version of the WIT package.
pub const WIT_VERSION: &str = "0.2.0";

super::export_glue!();

async fn schema<T: Send + 'static>(store: &mut wasmtime::Store<T>, p: &Guest) -> wasmtime::Result<String> {
    p.call_schema(store).await
}

/// The plugin's snapshot under the host's checkpoint `id`; a snapshot that
/// comes back under another id is refused (it is not this apply's).
async fn checkpoint<T: Send + 'static>(store: &mut wasmtime::Store<T>, p: &Guest, id: &str) -> Called<Vec<u8>> {
    Ok(p.call_checkpoint(store, id).await?.and_then(|s| {
        if s.id == id {
            Ok(s.data)
        } else {
            Err(wit::PluginError::Failed(format!(
                "checkpoint returned the snapshot under id {:?}, not the host's {id:?}",
                s.id
            )))
        }
    }))
}

async fn restore<T: Send + 'static>(store: &mut wasmtime::Store<T>, p: &Guest, id: &str, data: &[u8]) -> Called<()> {
    p.call_restore(store, &wit::Snapshot { id: id.to_string(), data: data.to_vec() }).await
}
