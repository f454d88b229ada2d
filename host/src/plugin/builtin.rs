//! Plugins that ship inside the host binary. They need no install step and
//! are granted exactly what their manifest asks for.

/// A built-in plugin's name, component bytes and their sha256.
pub struct Builtin {
    pub name: &'static str,
    pub wasm: &'static [u8],
    /// Hex sha256 of `wasm`, computed by `host/build.rs`.
    pub sha256: &'static str,
}

/// Built by `host/build.rs` from `plugins/*`.
pub const BUILTINS: &[Builtin] = &[Builtin {
    name: "net",
    wasm: include_bytes!(env!("PORTAGENT_GUEST_NET")),
    sha256: env!("PORTAGENT_GUEST_NET_SHA256"),
}];

pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn build_time_hashes_match_the_bytes() {
        for b in super::BUILTINS {
            assert_eq!(crate::util::hash::sha256_hex(b.wasm), b.sha256, "{}", b.name);
        }
    }
}
