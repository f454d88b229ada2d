//! Shared by the lab benchmarks (`net`, `netcfg`, `state`): the sizes to run, a lab
//! set up for OVS's userspace datapath, the N-port state file, the CLI run.

// Each bench uses part of this.
#![allow(dead_code)]

use portagent_lab::Lab;
use std::time::{Duration, Instant};

/// `PORTAGENT_BENCH_SIZES` (space-separated port counts), else `default`.
pub fn sizes(default: &str) -> Vec<usize> {
    std::env::var("PORTAGENT_BENCH_SIZES")
        .unwrap_or_else(|_| default.into())
        .split_whitespace()
        .map(|s| s.parse().expect("PORTAGENT_BENCH_SIZES: port counts"))
        .collect()
}

/// A fresh lab whose portagent uses the userspace datapath.
pub fn lab() -> Lab {
    let lab = Lab::start().unwrap();
    lab.write("/etc/ovs-port-agent/config.toml", b"datapath_type = \"netdev\"\n").unwrap();
    lab
}

/// Port `i`'s address.
pub fn addr(i: usize) -> String {
    format!("10.{}.{}.1", 100 + i / 256, i % 256)
}

/// A bridge `ovsbr0` with `n` internal ports `p0..`, port `i` with the
/// static IPv4 `ip(i)/24`.
pub fn state_file(n: usize, ip: impl Fn(usize) -> String) -> String {
    let mut y =
        String::from("version: 1\nplugins:\n  net:\n    interfaces:\n      - name: ovsbr0\n        type: ovs-bridge\n");
    for i in 0..n {
        y.push_str(&format!(
            "      - name: p{i}\n        type: ovs-interface\n        controller: ovsbr0\n        ipv4:\n          address:\n            - ip: {}\n              prefix: 24\n",
            ip(i)
        ));
    }
    y
}

/// A lab with eth0, the guide's net example applied and `portagent
/// daemon` serving on its bus (root may call it; no polkit).
pub fn daemon_lab() -> (Lab, std::process::Child) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut lab = Lab::start_with(portagent_lab::Options {
        dbus_policies: vec![repo.join("systemd/dev.ovs.PortAgent1.conf")],
        ..Default::default()
    })
    .unwrap();
    lab.add_nic("eth0", "192.168.1.1/24").unwrap();
    lab.write("/etc/ovs-port-agent/config.toml", b"datapath_type = \"netdev\"\n").unwrap();
    lab.write("/etc/ovs-port-agent/net.yaml", portagent_lab::guide::NET_STATE.as_bytes()).unwrap();
    run(&lab, &["apply-state", "/etc/ovs-port-agent/net.yaml"]);
    let daemon = lab
        .command(env!("CARGO_BIN_EXE_portagent"))
        .arg("daemon")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    lab.wait_until(Duration::from_secs(20), "the daemon on the bus", || {
        lab.sh("busctl --system list --no-pager").is_ok_and(|l| l.contains("dev.ovs.PortAgent1"))
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    (lab, daemon)
}

/// Runs the CLI in the lab; its wall time and stdout. Panics on failure.
pub fn run(lab: &Lab, args: &[&str]) -> (Duration, String) {
    let t = Instant::now();
    let out = lab.command(env!("CARGO_BIN_EXE_portagent")).args(args).output().unwrap();
    let d = t.elapsed();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (d, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs the CLI in the lab; its wall time.
pub fn timed(lab: &Lab, args: &[&str]) -> Duration {
    run(lab, args).0
}
