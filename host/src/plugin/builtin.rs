//! Plugins that ship inside the host binary: every dir under `plugins/`,
//! found and built by `host/build.rs` (nothing lists them by hand). They
//! need no install step, are granted exactly what their manifest asks for,
//! and their names and sections are reserved.

/// A built-in plugin's name, component bytes and their sha256.
pub struct Builtin {
    pub name: &'static str,
    pub wasm: &'static [u8],
    /// Hex sha256 of `wasm`, computed by `host/build.rs`.
    pub sha256: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Whether `name` is a built-in plugin's (no install may take it).
pub fn reserved(name: &str) -> bool {
    find(name).is_some()
}

#[cfg(test)]
mod tests {
    #[test]
    fn build_time_hashes_match_the_bytes() {
        assert!(super::find("net").is_some(), "plugins/net is built in");
        for b in super::BUILTINS {
            assert_eq!(crate::util::hash::sha256_hex(b.wasm), b.sha256, "{}", b.name);
        }
    }
}
