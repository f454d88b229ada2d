//! The port agent, in a lab with the daemon serving: time from `ip link
//! add` of a container's veth (its peer in another network namespace) to
//! the daemon's `PortAdded` signal for it (attached, verified and recorded
//! in the ledger), one at a time; then a burst of 100 made by one `ip
//! -batch`, until all 100 are attached, and how many applies that took.
//! Prints numbers; asserts nothing.
//!
//!     ./scripts/bench agent                  (30 singles, a burst of 100)
//!     PORTAGENT_BENCH_SIZES="10 50" ./scripts/bench agent

mod common;

use futures::StreamExt;
use portagent_lab::Lab;
use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs `script` in the lab without blocking the runtime.
async fn sh(lab: &Lab, script: &str) {
    let mut cmd = lab.command("sh");
    cmd.args(["-c", script]).stdout(Stdio::null());
    let out = tokio::process::Command::from(cmd).output().await.unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
}

fn main() {
    let sizes = common::sizes("30 100");
    let (singles, burst) = (sizes[0], sizes.get(1).copied().unwrap_or(100));
    let (lab, mut daemon) = common::daemon_lab();
    lab.sh("ip netns add guests").unwrap();
    let entries_before = common::run(&lab, &["ledger", "show"]).1.lines().count();

    let socket = lab.path("/run/dbus/system_bus_socket");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (single, burst_time) = rt.block_on(async {
        let conn = zbus::connection::Builder::address(format!("unix:path={}", socket.display()).as_str())
            .unwrap()
            .build()
            .await
            .unwrap();
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("dev.ovs.PortAgent1")
            .unwrap()
            .member("PortAdded")
            .unwrap()
            .build();
        let mut added = zbus::MessageStream::for_match_rule(rule, &conn, Some(4096)).await.unwrap();
        let mut next_added = async || -> String {
            let msg = added.next().await.unwrap().unwrap();
            msg.body().deserialize::<String>().unwrap()
        };
        let mut single = Vec::new();
        for i in 0..singles {
            let t = Instant::now();
            sh(&lab, &format!("ip link add veth{i} type veth peer name g{i} netns guests && ip link set veth{i} up"))
                .await;
            while next_added().await != format!("veth{i}") {}
            single.push(t.elapsed());
            // Apart, as guests start.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut batch = String::new();
        for i in 0..burst {
            batch
                .push_str(&format!("link add vethb{i} type veth peer name gb{i} netns guests\nlink set vethb{i} up\n"));
        }
        lab.write("/etc/ovs-port-agent/burst.batch", batch.as_bytes()).unwrap();
        let t = Instant::now();
        sh(&lab, "ip -batch /etc/ovs-port-agent/burst.batch").await;
        let mut seen = HashSet::new();
        while seen.len() < burst {
            let name = next_added().await;
            if name.starts_with("vethb") {
                seen.insert(name);
            }
        }
        (single, t.elapsed())
    });
    // The applies that attached the burst's links.
    let applies = common::run(&lab, &["ledger", "show"])
        .1
        .lines()
        .skip(entries_before)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["category"] == "apply_state" && e["data"].to_string().contains("\"vethb"))
        .count();
    let ports = lab.vsctl("list-ports ovsbr0").unwrap().lines().count();
    let _ = daemon.kill();
    let _ = daemon.wait();

    let mut sorted = single.clone();
    sorted.sort();
    let adopt = portagent::config::Config::default().adopt_after_ms;
    println!(
        "(every time below includes adopt_after_ms = {adopt}, the wait that lets a hypervisor plug its own links)"
    );
    println!("link made -> PortAdded (attached, verified, recorded), {singles} single veths:");
    println!(
        "  p50 {:.1} ms   p90 {:.1} ms   p99 {:.1} ms   max {:.1} ms",
        ms(percentile(&sorted, 0.5)),
        ms(percentile(&sorted, 0.9)),
        ms(percentile(&sorted, 0.99)),
        ms(*sorted.last().unwrap())
    );
    println!(
        "burst of {burst} veths (one ip -batch) -> all attached: {:.1} ms, in {applies} applies; ports on ovsbr0: {ports}",
        ms(burst_time)
    );
}
