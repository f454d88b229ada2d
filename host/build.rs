//! Builds the guest components for `wasm32-wasip2` with a nested cargo, in
//! `<target>/wasm-guests`: every plugin under `plugins/` (the built-in
//! ones: each dir there is one, nothing lists them by hand) and the test
//! guests under `tests/guests/`. Writes `$OUT_DIR/builtins.rs`, the list
//! `plugin::builtin` embeds, and tells the tests where each guest is
//! (`PORTAGENT_GUEST_<NAME>` = path of its .wasm).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The package name of each crate dir under `dir`, sorted.
fn packages(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("Cargo.toml")).ok())
        .filter_map(|toml| {
            let package = toml.split("[package]").nth(1)?;
            let line = package.lines().find(|l| l.trim_start().starts_with("name"))?;
            Some(line.split('"').nth(1)?.to_string())
        })
        .collect();
    out.sort();
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    <sha2::Sha256 as sha2::Digest>::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `$OUT_DIR/kit.rs`: what `portagent plugin new` writes besides its
/// templates: the SDK's sources and the WIT, as this build has them.
fn kit(root: &Path) -> String {
    let files = |dir: &Path, ext: &str| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        v.sort();
        v
    };
    let list = |name: &str, base: &Path, paths: Vec<PathBuf>| {
        let mut s = format!("pub const {name}: &[(&str, &str)] = &[\n");
        for p in paths {
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            s.push_str(&format!("    ({rel:?}, include_str!({:?})),\n", p.display().to_string()));
        }
        s + "];\n"
    };
    let sdk = root.join("sdk");
    let mut sdk_files = vec![sdk.join("Cargo.toml")];
    sdk_files.extend(files(&sdk.join("src"), "rs"));
    let frozen = root.join("wit/deps/portagent-plugin@0.1.0");
    list("SDK_FILES", &sdk, sdk_files)
        + &list("WIT_FILES", &root.join("wit"), files(&root.join("wit"), "wit"))
        + &list("WIT_0_1_FILES", &frozen, files(&frozen, "wit"))
}

fn main() {
    // Read at run time, not baked in with env!(): a shared target dir may
    // hold this script compiled for a checkout at another path.
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["wit", "sdk", "tests/guests", "plugins"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let builtins = packages(&root.join("plugins"));
    let test_guests = packages(&root.join("tests/guests"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let target_dir = out_dir.ancestors().nth(4).unwrap().join("wasm-guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target_dir);
    for g in builtins.iter().chain(&test_guests) {
        cmd.args(["-p", g]);
    }
    // Guests ship without DWARF (the name section stays, for backtraces).
    cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "false").env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    // Flags meant for the host build must not leak into the guests'.
    for var in ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR", "RUSTC_WRAPPER"] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("run cargo for the wasm32-wasip2 guests");
    assert!(
        status.success(),
        "building the guest components failed: see the errors above (a missing target: rustup target add wasm32-wasip2)"
    );
    let wasm_of = |g: &str| target_dir.join("wasm32-wasip2/release").join(format!("{}.wasm", g.replace('-', "_")));
    let mut list = String::from(
        "/// Every plugin under `plugins/`, built by `host/build.rs`.\npub const BUILTINS: &[Builtin] = &[\n",
    );
    for g in &builtins {
        let wasm = wasm_of(g);
        let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
        // Embedded from this build's own copy: another build (another
        // profile) may rebuild the shared one before rustc reads it, and
        // the hash must be of the bytes embedded. Hashed here once, not by
        // every process that loads a built-in.
        let copy = out_dir.join(format!("{g}.wasm"));
        std::fs::write(&copy, &bytes).unwrap_or_else(|e| panic!("{}: {e}", copy.display()));
        list.push_str(&format!(
            "    Builtin {{ name: {g:?}, wasm: include_bytes!({:?}), sha256: {:?} }},\n",
            copy.display().to_string(),
            sha256_hex(&bytes)
        ));
    }
    list.push_str("];\n");
    std::fs::write(out_dir.join("builtins.rs"), list).expect("write builtins.rs");
    std::fs::write(out_dir.join("kit.rs"), kit(&root)).expect("write kit.rs");
    for g in builtins.iter().chain(&test_guests) {
        let var = g.to_uppercase().replace('-', "_");
        println!("cargo:rustc-env=PORTAGENT_GUEST_{var}={}", wasm_of(g).display());
    }
}
