//! Plugins by language, in a lab: for a Rust plugin (the `probe` test
//! guest), a Python one (`pynote`, componentize-py) and a JavaScript one
//! (`jsnote`, componentize-js): the component's size, `plugin install`
//! (compiling it), the first `show-diff` after the install and a warm one
//! (each a new CLI process, the built-ins precompiled as `scripts/install.sh`
//! leaves them), and each process's peak RSS; then the
//! built-in `net`: the first command on a fresh state dir with and without
//! `plugin precompile` (what `scripts/install.sh` runs). Prints a table;
//! asserts nothing.
//!
//!     ./scripts/bench plugins

mod common;

use common::lab;
use portagent_lab::Lab;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs the CLI in the lab: wall time, peak RSS (KiB) of that process.
fn measured(lab: &Lab, args: &[&str]) -> (Duration, i64) {
    let t = Instant::now();
    // Reaped by wait4 below, which also gives this child's own peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = lab
        .command(env!("CARGO_BIN_EXE_portagent"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for this child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child's, not yet waited for.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let took = t.elapsed();
    assert!(pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{args:?} failed ({status})");
    (took, usage.ru_maxrss)
}

fn lang_guests() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target-bench-guests");
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or(out);
    let built = std::process::Command::new(root.join("scripts/lang-guests"))
        .arg(target.join("lang-guests"))
        .env("PORTAGENT_BIN", env!("CARGO_BIN_EXE_portagent"))
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    String::from_utf8_lossy(&built.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, p)| (n.to_string(), PathBuf::from(p)))
        .collect()
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let mut guests = vec![("probe (Rust)".to_string(), PathBuf::from(env!("PORTAGENT_GUEST_PROBE")))];
    for (name, path) in lang_guests() {
        let language = if name == "pynote" { "Python" } else { "JavaScript" };
        guests.push((format!("{name} ({language})"), path));
    }
    println!("| plugin | size | install (compile) | install RSS | first show-diff | warm show-diff | show-diff RSS |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (label, path) in &guests {
        let lab = lab();
        // As after scripts/install.sh: the built-ins are compiled already.
        measured(&lab, &["plugin", "precompile"]);
        let name = label.split(' ').next().unwrap();
        let wasm = std::fs::read(path).unwrap();
        let file = format!("/etc/ovs-port-agent/{name}.wasm");
        lab.write(&file, &wasm).unwrap();
        let (install, install_rss) = measured(&lab, &["plugin", "install", &file, "--yes", "--allow-unsigned"]);
        let section =
            if name == "probe" { "probe:\n    run: []\n" } else { &format!("{name}:\n    notes: {{a: b}}\n") };
        lab.write("/etc/ovs-port-agent/s.yaml", format!("version: 1\nplugins:\n  {section}").as_bytes()).unwrap();
        let (first, _) = measured(&lab, &["show-diff", "/etc/ovs-port-agent/s.yaml"]);
        let mut warm = Vec::new();
        let mut rss = 0;
        for _ in 0..5 {
            let (d, r) = measured(&lab, &["show-diff", "/etc/ovs-port-agent/s.yaml"]);
            warm.push(d);
            rss = rss.max(r);
        }
        warm.sort();
        println!(
            "| {label} | {:.1} MB | {} | {} MiB | {} | {} | {} MiB |",
            wasm.len() as f64 / 1e6,
            ms(install),
            install_rss >> 10,
            ms(first),
            ms(warm[warm.len() / 2]),
            rss >> 10
        );
    }

    println!();
    println!("| built-in net, fresh state dir | first query-state | second query-state |");
    println!("| --- | ---: | ---: |");
    for precompiled in [false, true] {
        let lab = lab();
        if precompiled {
            measured(&lab, &["plugin", "precompile"]);
        }
        let (first, _) = measured(&lab, &["query-state", "--plugin", "net"]);
        let (second, _) = measured(&lab, &["query-state", "--plugin", "net"]);
        let label = if precompiled { "after `plugin precompile`" } else { "compiled on first use" };
        println!("| {label} | {} | {} |", ms(first), ms(second));
    }
}
