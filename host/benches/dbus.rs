//! D-Bus benchmark, in a lab: `portagent daemon` serving the guide's
//! example state; round trips of `ping` and `QueryState` measured from a
//! zbus client on the lab's system bus, the daemon's resident memory
//! when idle, and root's `ping` again while unprivileged callers (uid
//! 65534, python3-dbus) keep it busy with `ShowDiff`s of a 10,000-interface
//! file. Prints numbers; asserts nothing.
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
    // The load: 6 unprivileged callers, each a ShowDiff of a 10,000-interface
    // file after another, for as long as root's pings are measured.
    lab.write("/etc/ovs-port-agent/big.yaml", common::state_file(10_000, common::addr).as_bytes()).unwrap();
    lab.write(
        "/etc/ovs-port-agent/load.py",
        b"import dbus, sys, time\n\
text = open('/etc/ovs-port-agent/big.yaml').read()\n\
pa = dbus.Interface(dbus.SystemBus().get_object('dev.ovs.PortAgent1', '/dev/ovs/PortAgent1'), 'dev.ovs.PortAgent1')\n\
end = time.time() + float(sys.argv[1])\n\
while time.time() < end:\n\
    try:\n\
        pa.ShowDiff(text, timeout=120)\n\
    except dbus.DBusException as e:\n\
        time.sleep(0.05)\n",
    )
    .unwrap();
    let load: Vec<std::process::Child> = (0..6)
        .map(|_| {
            lab.command("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/usr/bin/python3"])
                .args(["/etc/ovs-port-agent/load.py", "40"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let loaded = rt.block_on(async {
        let conn = zbus::connection::Builder::address(format!("unix:path={}", socket.display()).as_str())
            .unwrap()
            .build()
            .await
            .unwrap();
        let mut v = Vec::new();
        for _ in 0..1000 {
            let t = Instant::now();
            conn.call_method(
                Some("dev.ovs.PortAgent1"),
                "/dev/ovs/PortAgent1",
                Some("dev.ovs.PortAgent1"),
                "ping",
                &(),
            )
            .await
            .unwrap();
            v.push(t.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        v
    });
    for mut c in load {
        let _ = c.kill();
        let _ = c.wait();
    }
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
    let (p50, p99, max) = percentiles(loaded);
    println!(
        "root's ping under 6 unprivileged ShowDiffs of 10,000 interfaces (1000 calls, 20 ms apart): \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        p50 / 1e3,
        p99 / 1e3,
        max / 1e3
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
}
