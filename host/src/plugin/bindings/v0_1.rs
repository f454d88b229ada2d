//! `bindgen!` for `portagent:plugin@0.1.0`, frozen in
//! `wit/deps/portagent-plugin@0.1.0/`: plugins built against it keep
//! working. Its capability imports are served by the current (0.2)
//! implementations, converted (`caps/wit_v0_1.rs`).

wasmtime::component::bindgen!({
    path: "../wit/deps/portagent-plugin@0.1.0",
    world: "portagent:plugin/state-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

use self::portagent::plugin::types as wit;

/// This bindings module's version of the WIT package.
pub const WIT_VERSION: &str = "0.1.0";

super::export_glue!();

/// 0.1.0 has no `schema`: its section may be any mapping.
async fn schema<T: Send + 'static>(_store: &mut wasmtime::Store<T>, _p: &Guest) -> wasmtime::Result<String> {
    Ok(r#"{"type":"object"}"#.into())
}

/// 0.1.0's `checkpoint` takes no id; the host keeps its own beside the data.
async fn checkpoint<T: Send + 'static>(store: &mut wasmtime::Store<T>, p: &Guest, _id: &str) -> Called<Vec<u8>> {
    p.call_checkpoint(store).await
}

/// 0.1.0's `restore` takes the data alone.
async fn restore<T: Send + 'static>(store: &mut wasmtime::Store<T>, p: &Guest, _id: &str, data: &[u8]) -> Called<()> {
    p.call_restore(store, data).await
}
