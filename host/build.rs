//! Builds the guest components (`plugins/net`, `tests/guests/*`) for
//! `wasm32-wasip2` with a nested cargo, in `<target>/wasm-guests`, and tells
//! the host where they are (`PORTAGENT_GUEST_<NAME>` = path of the .wasm).

use std::path::PathBuf;
use std::process::Command;

/// Built-in plugins (embedded in the host) and test guests.
const GUESTS: &[&str] = &["net", "probe", "incompatible"];

fn main() {
    // Read at run time, not baked in with env!(): a shared target dir may
    // hold this script compiled for a checkout at another path.
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["wit", "sdk", "tests/guests", "plugins"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let target_dir = out_dir.ancestors().nth(4).unwrap().join("wasm-guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target_dir);
    for g in GUESTS {
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
        "building the guest components failed; is the target installed? (rustup target add wasm32-wasip2)"
    );
    for g in GUESTS {
        let wasm = target_dir.join("wasm32-wasip2/release").join(format!("{g}.wasm"));
        assert!(wasm.exists(), "{} was not built", wasm.display());
        let var = g.to_uppercase().replace('-', "_");
        println!("cargo:rustc-env=PORTAGENT_GUEST_{var}={}", wasm.display());
        // Hashed here once, not by every process that loads a built-in.
        let bytes = std::fs::read(&wasm).expect("read the guest");
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        println!("cargo:rustc-env=PORTAGENT_GUEST_{var}_SHA256={hex}");
    }
}
