//! `scripts/install.sh` run inside a lab: the files land, the uplink's
//! address and default route move onto the bridge with confirm-or-revert,
//! and the gateway stays reachable. Also `systemd-analyze verify` of the unit,
//! and the daemon at work on the read-only root the unit gives it.

use crate::net::{ledger, net_lab};
use crate::support::text;
use portagent_lab::Lab;
use std::path::Path;

/// Runs install.sh in the lab with ARGS; binaries and /usr/share files go
/// under the lab's private /run, the rest into its private /etc and /var/lib.
fn install(lab: &Lab, args: &str) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("scripts/install.sh");
    lab.command("bash")
        .arg(script)
        .args(args.split_whitespace())
        .env("PREFIX", "/run/pa-install")
        .env("BINARY", env!("CARGO_BIN_EXE_portagent"))
        .env("DBUS_SERVICES_DIR", "/run/pa-install/share/dbus-1/system-services")
        .env("POLKIT_ACTIONS_DIR", "/run/pa-install/share/polkit-1/actions")
        .output()
        .unwrap()
}

#[test]
fn install_moves_the_uplink_onto_the_bridge_and_keeps_the_gateway() {
    let lab = net_lab();
    // The host as an installer finds it: the uplink configured by hand.
    lab.sh("ip addr add 192.168.1.50/24 dev eth0 && ip route add default via 192.168.1.1").unwrap();
    lab.sh("ovs-vsctl add-br oldbr -- set bridge oldbr datapath_type=netdev").unwrap();

    let out = install(&lab, "--bridge ovsbr0 --uplink eth0 --with-ovsbr1 --system --purge-bridges");
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("systemd is not running here"), "{stdout}");
    // The built-ins were compiled at install, before any command needed them.
    assert!(stdout.lines().any(|l| l.starts_with("net ") && l.contains("ready in")), "{stdout}");

    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.50/24"]);
    assert!(lab.addresses("eth0").unwrap().is_empty());
    assert_eq!(lab.vsctl("list-ports ovsbr0").unwrap().trim(), "eth0");
    let bridges = lab.vsctl("list-br").unwrap();
    assert_eq!(bridges.split_whitespace().collect::<Vec<_>>(), ["ovsbr0", "ovsbr1"], "oldbr purged");
    assert!(lab.sh("ip route show default").unwrap().contains("default via 192.168.1.1 dev ovsbr0"));
    lab.sh("ping -c 1 -W 5 192.168.1.1").unwrap();

    for f in [
        "/run/pa-install/bin/ovs-port-agent",
        "/run/pa-install/share/man/man1/ovs-port-agent.1",
        "/run/pa-install/share/man/man1/ovs-port-agent-apply-state.1",
        "/run/pa-install/share/bash-completion/completions/ovs-port-agent",
        "/run/pa-install/share/zsh/vendor-completions/_portagent",
        "/run/pa-install/share/fish/vendor_completions.d/ovs-port-agent.fish",
        "/etc/dbus-1/system.d/dev.ovs.PortAgent1.conf",
        "/etc/systemd/system/ovs-port-agent.service",
        "/etc/polkit-1/rules.d/50-ovs-port-agent.rules",
        "/run/pa-install/share/polkit-1/actions/dev.ovs.PortAgent1.policy",
        "/etc/ovs-port-agent/initial-state.yaml",
    ] {
        assert!(lab.path(f).exists(), "{f}");
    }
    let unit = lab.read("/etc/systemd/system/ovs-port-agent.service").unwrap();
    assert!(unit.contains("ExecStart=/run/pa-install/bin/ovs-port-agent daemon"), "{unit}");
    let categories: Vec<String> = ledger(&lab)
        .iter()
        .map(|e| format!("{}:{}", e["category"].as_str().unwrap(), e["data"]["result"].as_str().unwrap()))
        .collect();
    assert_eq!(categories, ["apply_state:pending_confirmation", "commit:committed"]);

    // Installing again changes nothing (eth0's addresses are the bridge's now).
    let again = install(&lab, "--bridge ovsbr0 --uplink eth0 --with-ovsbr1");
    assert!(again.status.success(), "{}\n{}", text(&again.stdout), text(&again.stderr));
    assert!(text(&again.stdout).contains("nothing to change"), "{}", text(&again.stdout));
    assert_eq!(ledger(&lab).len(), 2);
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.50/24"]);
}

#[test]
fn install_refuses_bad_arguments_and_changes_nothing() {
    let lab = net_lab();
    for (args, why) in [
        ("--bridge ovsbr0", "--uplink NIC is required"),
        ("--uplink eth9", "no network device named 'eth9'"),
        ("--uplink eth0 --bridge way-too-long-name", "not a valid interface name"),
        ("--uplink eth0 --frobnicate", "unknown option --frobnicate"),
    ] {
        let out = install(&lab, args);
        assert_eq!(out.status.code(), Some(2), "{args}");
        assert!(text(&out.stderr).contains(why), "{args}: {}", text(&out.stderr));
    }
    assert!(!lab.path("/etc/systemd/system/ovs-port-agent.service").exists());
    assert!(lab.vsctl("list-br").unwrap().trim().is_empty());
}

#[test]
fn systemd_analyze_accepts_the_unit() {
    let Ok(analyze) = which("systemd-analyze") else {
        eprintln!("systemd-analyze is not installed: skipped");
        return;
    };
    let lab = net_lab();
    let out = install(&lab, "--help");
    assert!(out.status.success());
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("systemd/ovs-port-agent.service"),
    )
    .unwrap();
    // The unit as install.sh writes it, pointing at a binary that exists.
    let unit = unit.replace(
        "ExecStart=/usr/local/bin/ovs-port-agent daemon",
        &format!("ExecStart={} daemon", env!("CARGO_BIN_EXE_portagent")),
    );
    lab.write("/etc/systemd/system/ovs-port-agent.service", unit.as_bytes()).unwrap();
    let out = lab.command(analyze).args(["verify", "/etc/systemd/system/ovs-port-agent.service"]).output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("ovs-port-agent.service:"), "no complaint about our unit: {all}");
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var("PATH").unwrap_or_default().split(':').map(|d| Path::new(d).join(name)).find(|p| p.exists()).ok_or(())
}

/// What the shipped unit lets the daemon write under `ProtectSystem=strict`:
/// its `ReadWritePaths` (a leading `-`: may be missing), the dirs systemd
/// makes for it, and `PrivateTmp`'s own /tmp and /var/tmp.
fn unit_writable() -> Vec<String> {
    let unit = include_str!("../../systemd/ovs-port-agent.service");
    let mut out = vec!["/tmp".to_string(), "/var/tmp".to_string()];
    for line in unit.lines() {
        match line.split_once('=') {
            Some(("ReadWritePaths", v)) => {
                out.extend(v.split_whitespace().map(|p| p.trim_start_matches('-').to_string()))
            }
            Some(("StateDirectory", v)) => out.push(format!("/var/lib/{v}")),
            Some(("LogsDirectory", v)) => out.push(format!("/var/log/{v}")),
            _ => {}
        }
    }
    out
}

/// The daemon confined as the unit confines it: a mount namespace of its
/// own in which every mount is read-only (`/dev`, `/proc` and `/sys`
/// aside) but the unit's writable paths, each bound on itself first.
fn confined_daemon(lab: &Lab) -> crate::dbus::Daemon {
    let rw = unit_writable().join(" ");
    let script = format!(
        r#"set -e
mkdir -p /var/lib/ovs-port-agent /var/log/ovs-port-agent
for p in {rw}; do if [ -e "$p" ]; then mount --rbind "$p" "$p"; fi; done
for m in $(awk '{{print $5}}' /proc/self/mountinfo | sort -u); do
  case "$m" in /dev|/dev/*|/proc|/proc/*|/sys|/sys/*) continue;; esac
  keep=
  for p in {rw}; do case "$m" in "$p"|"$p"/*) keep=1;; esac; done
  [ -n "$keep" ] || mount -o remount,bind,ro "$m" 2>/dev/null || echo "confined: left as it is: $m" >&2
done
exec {bin} daemon"#,
        bin = env!("CARGO_BIN_EXE_portagent"),
    );
    crate::dbus::start_daemon_by(lab, "unshare", &["-m", "--propagation", "private", "sh", "-c", &script])
}

/// Issue 28 item 8: the daemon does its whole job (an apply of net and
/// netcfg, the port methods, the managed block, the hostname, the ledger)
/// on the read-only root the shipped unit gives it.
#[test]
fn the_daemon_does_its_job_on_the_read_only_root_the_unit_gives_it() {
    let lab = crate::dbus::bus_lab(true);
    lab.write(
        "/etc/network/interfaces",
        b"auto lo\niface lo inet loopback\n\n# BEGIN ovs-port-agent\n# END ovs-port-agent\n",
    )
    .unwrap();
    let daemon = confined_daemon(&lab);
    // The confinement is real: the daemon's root is read-only.
    let probe = lab
        .command("nsenter")
        .args(["-t", &daemon.pid().to_string(), "-m", "sh", "-c", "touch /etc/portagent-probe /usr/portagent-probe"])
        .output()
        .unwrap();
    assert!(
        !probe.status.success() && text(&probe.stderr).contains("Read-only file system"),
        "{}",
        text(&probe.stderr)
    );

    let run = |args: &[&str]| {
        let out = lab.command(env!("CARGO_BIN_EXE_portagent")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    };
    lab.write("/etc/ovs-port-agent/net.yaml", crate::net::GUIDE_NET.as_bytes()).unwrap();
    lab.write("/etc/ovs-port-agent/netcfg.yaml", portagent_lab::guide::NETCFG_STATE.as_bytes()).unwrap();
    run(&["apply-state", "/etc/ovs-port-agent/net.yaml"]);
    run(&["apply-state", "/etc/ovs-port-agent/netcfg.yaml"]);
    assert_eq!(lab.sh("cat /etc/hostname").unwrap(), "netmaker-server\n", "hostname_file written");
    lab.sh("ip link add vethro0 type veth peer name vethro1 && ip link set vethro0 up").unwrap();
    crate::dbus::send(&lab, "add_port", "string:vethro0").unwrap();
    assert_eq!(lab.vsctl("port-to-br vethro0").unwrap().trim(), "ovsbr0");
    let interfaces = lab.read("/etc/network/interfaces").unwrap();
    assert!(interfaces.contains("iface vethro0 inet manual"), "the managed block written: {interfaces}");

    let entries = ledger(&lab);
    let failed: Vec<_> = entries
        .iter()
        .filter(|e| e["data"]["result"] == "failed" || e["data"]["interfaces_file"]["result"] == "failed")
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(run(&["ledger", "verify"]).starts_with("VALID"));
    let log = std::fs::read_to_string(lab.dir().join("logs/portagent-daemon.log")).unwrap();
    assert!(!log.contains("Read-only file system"), "{log}");
}
