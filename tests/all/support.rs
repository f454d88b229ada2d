//! Shared helpers: test guest components and scratch configurations.

use std::path::{Path, PathBuf};

/// The `probe` test guest (see tests/guests/probe).
pub fn probe_wasm() -> Vec<u8> {
    std::fs::read(env!("PORTAGENT_GUEST_PROBE")).expect("probe guest was built by host/build.rs")
}

/// A guest built against an incompatible WIT major version.
pub fn incompatible_wasm_path() -> PathBuf {
    PathBuf::from(env!("PORTAGENT_GUEST_INCOMPATIBLE"))
}

pub fn probe_wasm_path() -> PathBuf {
    PathBuf::from(env!("PORTAGENT_GUEST_PROBE"))
}

/// A scratch state dir with a `config.toml` pointing into it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(extra: &str) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let networkd = dir.path().join("networkd");
        std::fs::create_dir_all(&networkd).unwrap();
        let config = format!(
            "state_dir = {:?}\nnetworkd_dir = {:?}\nledger_path = {:?}\nledger_heads_path = {:?}\n{extra}",
            dir.path().join("state"),
            networkd,
            dir.path().join("state/ledger.jsonl"),
            dir.path().join("heads.log"),
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Scratch { dir }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn networkd_dir(&self) -> PathBuf {
        self.dir.path().join("networkd")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn config(&self) -> portagent::config::Config {
        portagent::config::Config::load(&self.config_path()).unwrap()
    }

    /// Runs the real `portagent` binary with this config.
    pub fn portagent(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_portagent"))
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs `script` with the toolchains' Python (`scripts/toolchains`: it has
/// the real parsers and validators the tests check output with), `input`
/// on its stdin.
pub fn tools_python(script: &str, input: &str) -> std::process::Output {
    let tools = std::env::var("PORTAGENT_TOOLS").unwrap_or_else(|_| "/var/tmp/portagent-tools".into());
    let mut child = std::process::Command::new(format!("{tools}/py/bin/python"))
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the toolchains' python (scripts/toolchains)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}
