//! D-Bus benchmark, in a lab: `portagent daemon` serving the guide's
//! example state; round trips of `ping` and `QueryState` measured from a
//! zbus client on the lab's system bus, and the daemon's resident memory
//! when idle. Prints numbers; asserts nothing.
//!
//!     ./scripts/bench dbus

mod common;

use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap()
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    (us(v[v.len() / 2]), us(v[v.len() * 99 / 100]), us(v[v.len() - 1]))
}

fn main() {
    let (lab, mut daemon) = common::daemon_lab();
    let idle = rss_kib(daemon.id());

    let socket = lab.path("/run/dbus/system_bus_socket");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (ping, query) = rt.block_on(async {
        let conn = zbus::connection::Builder::address(format!("unix:path={}", socket.display()).as_str())
            .unwrap()
            .build()
            .await
            .unwrap();
        let call = |method: &'static str, arg: Option<&'static str>| {
            let conn = conn.clone();
            async move {
                let t = Instant::now();
                let reply = match arg {
                    Some(a) => {
                        conn.call_method(
                            Some("dev.ovs.PortAgent1"),
                            "/dev/ovs/PortAgent1",
                            Some("dev.ovs.PortAgent1"),
                            method,
                            &(a,),
                        )
                        .await
                    }
                    None => {
                        conn.call_method(
                            Some("dev.ovs.PortAgent1"),
                            "/dev/ovs/PortAgent1",
                            Some("dev.ovs.PortAgent1"),
                            method,
                            &(),
                        )
                        .await
                    }
                };
                reply.unwrap();
                t.elapsed()
            }
        };
        for _ in 0..100 {
            call("ping", None).await;
        }
        let mut ping = Vec::new();
        for _ in 0..2000 {
            ping.push(call("ping", None).await);
        }
        let mut query = Vec::new();
        for _ in 0..50 {
            query.push(call("QueryState", Some("net")).await);
        }
        (ping, query)
    });
    let busy = rss_kib(daemon.id());
    let (p50, p99, max) = percentiles(ping);
    println!("ping round trip (2000 calls):          p50 {p50:.0} us, p99 {p99:.0} us, max {max:.0} us");
    let (p50, p99, max) = percentiles(query);
    println!(
        "QueryState(\"net\") round trip (50):     p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        p50 / 1e3,
        p99 / 1e3,
        max / 1e3
    );
    println!("daemon RSS: idle {:.1} MiB, after the calls {:.1} MiB", idle as f64 / 1024.0, busy as f64 / 1024.0);
    let _ = daemon.kill();
    let _ = daemon.wait();
}
