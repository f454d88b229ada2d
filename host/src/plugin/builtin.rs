//! Plugins that ship inside the host binary. They need no install step and
//! are granted exactly what their manifest asks for.

/// A built-in plugin's name and component bytes.
pub struct Builtin {
    pub name: &'static str,
    pub wasm: &'static [u8],
}

/// Built by `host/build.rs` from `plugins/*`.
pub const BUILTINS: &[Builtin] = &[Builtin { name: "net", wasm: include_bytes!(env!("PORTAGENT_GUEST_NET")) }];

pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}
