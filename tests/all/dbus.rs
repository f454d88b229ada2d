//! The daemon on the lab's system bus, driven by real clients: the guide's
//! `dbus-send`/`busctl` commands verbatim, its Python client unchanged,
//! access control (bus policy + polkit), typed errors and signals.

use crate::net::{GUIDE_NET, ledger, net_lab_with, portagent, snapshot};
use crate::support::text;
use portagent_lab::{Lab, Options};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

fn repo_file(rel: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join(rel)
}

/// `portagent daemon`, stopped (by pid) when dropped.
pub struct Daemon(Child);

impl Daemon {
    /// The pid of the process started (the daemon, once it has exec'd).
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A net lab with the repo's D-Bus policy and polkit actions, polkitd,
/// a group `netdev` with user `netop`, and the daemon serving.
pub fn dbus_lab() -> (Lab, Daemon) {
    dbus_lab_with(true)
}

/// [`dbus_lab`], with or without portagent's polkit actions installed.
pub fn dbus_lab_with(polkit_actions: bool) -> (Lab, Daemon) {
    let lab = bus_lab(polkit_actions);
    let daemon = start_daemon(&lab);
    (lab, daemon)
}

/// [`dbus_lab_with`] before the daemon is started.
pub fn bus_lab(polkit_actions: bool) -> Lab {
    let lab = net_lab_with(Options {
        dbus_policies: vec![repo_file("systemd/dev.ovs.PortAgent1.conf")],
        polkit: true,
        polkit_actions: if polkit_actions { vec![repo_file("systemd/dev.ovs.PortAgent1.policy")] } else { vec![] },
    });
    lab.sh("groupadd -r netdev && useradd -r -M -N -g netdev -s /usr/sbin/nologin netop").unwrap();
    // dbus-daemon resolves policy group names when it loads its config.
    lab.sh("dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig").unwrap();
    lab
}

/// `portagent daemon` in `lab`, once it is on the bus (with polkit).
pub fn start_daemon(lab: &Lab) -> Daemon {
    start_daemon_by(lab, env!("CARGO_BIN_EXE_portagent"), &["daemon"])
}

/// The daemon started by `program ARGS` (which ends up running it), once
/// it is on the bus; its output goes to the lab's `portagent-daemon.log`.
pub fn start_daemon_by(lab: &Lab, program: &str, args: &[&str]) -> Daemon {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(lab.dir().join("logs/portagent-daemon.log"))
        .unwrap();
    let child = lab
        .command(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let daemon = Daemon(child);
    lab.wait_until(Duration::from_secs(20), "dev.ovs.PortAgent1 and polkit on the bus", || {
        lab.sh("busctl --system list --no-pager")
            .is_ok_and(|l| l.contains("dev.ovs.PortAgent1") && l.contains("org.freedesktop.PolicyKit1"))
    })
    .unwrap();
    daemon
}

/// `dbus-send --system --print-reply --dest=dev.ovs.PortAgent1 /dev/ovs/PortAgent1 dev.ovs.PortAgent1.METHOD ARGS`,
/// as the guide writes it; stdout, or Err(stderr).
pub fn send(lab: &Lab, method: &str, args: &str) -> Result<String, String> {
    send_as(lab, "", method, args)
}

/// The same, run through `PREFIX` (e.g. `setpriv ... --`).
fn send_as(lab: &Lab, prefix: &str, method: &str, args: &str) -> Result<String, String> {
    let script = format!(
        "{prefix} dbus-send --system --print-reply \\\n  --dest=dev.ovs.PortAgent1 \\\n  /dev/ovs/PortAgent1 \\\n  dev.ovs.PortAgent1.{method} {args}"
    );
    let out = lab.command("sh").args(["-c", &script]).output().unwrap();
    if out.status.success() { Ok(text(&out.stdout)) } else { Err(text(&out.stderr)) }
}

/// The JSON inside a `string "..."` reply.
pub fn reply_json(reply: &str) -> serde_json::Value {
    let start = reply.find("string \"").expect("a string reply") + 8;
    let end = reply.rfind('"').unwrap();
    serde_json::from_str(&reply[start..end].replace("\\\"", "\"")).unwrap_or_else(|e| panic!("{e}: {reply}"))
}

const NOBODY: &str = "setpriv --reuid=65534 --regid=65534 --clear-groups --";
const NETOP: &str = "setpriv --reuid=netop --regid=netdev --init-groups --";

#[test]
fn the_guides_dbus_commands_answer_as_written() {
    let (lab, _daemon) = dbus_lab();
    // Verification, 1 and 2.
    assert!(lab.sh("busctl list | grep dev.ovs.PortAgent1").unwrap().contains("dev.ovs.PortAgent1"));
    assert!(send(&lab, "ping", "").unwrap().contains("string \"pong\""));
    assert!(send(&lab, "Ping", "").unwrap().contains("string \"pong\""));

    // Apply over D-Bus (the design card's "apply-state over D-Bus").
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    let applied = send(&lab, "ApplyState", "string:\"$(cat /etc/ovs-port-agent/net.yaml)\"").unwrap();
    let report = reply_json(&applied);
    assert_eq!(report["success"], true, "{report}");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"]);

    // Verification 3 and 4, Daily Operations, Blockchain Operations.
    let state = lab
        .sh("dbus-send --system --print-reply \\\n  --dest=dev.ovs.PortAgent1 \\\n  /dev/ovs/PortAgent1 \\\n  dev.ovs.PortAgent1.GetSystemNetworkState | head -50")
        .unwrap();
    assert!(state.contains("ovsbr0"), "{state}");
    let stats = reply_json(&send(&lab, "get_blockchain_stats", "").unwrap());
    assert_eq!(stats["total_blocks"], 1, "{stats}");
    let net = reply_json(&send(&lab, "QueryState", "\\\n  string:\"net\"").unwrap());
    assert!(net["plugins"]["net"]["interfaces"].to_string().contains("ovsbr0"), "{net}");
    let network = reply_json(&send(&lab, "get_blocks_by_category", "\\\n  string:\"network\"").unwrap());
    assert_eq!(network[0]["category"], "apply_state", "{network}");
    assert!(send(&lab, "verify_blockchain_integrity", "").unwrap().contains("VALID: 1 entries"));
    let hash = network[0]["hash"].as_str().unwrap();
    let block = reply_json(&send(&lab, "get_block_by_hash", &format!("\\\n  string:\"{hash}\"")).unwrap());
    assert_eq!(block["height"], 0);
    let missing = send(&lab, "get_block_by_hash", "string:\"abc123...\"").unwrap_err();
    assert!(missing.contains("dev.ovs.PortAgent1.Error.NotFound"), "{missing}");

    // Port Management: veth123 as in the guide.
    lab.sh("ip link add veth123 type veth peer name veth123p && ip link set veth123 up && ip link set veth123p up")
        .unwrap();
    // Both ends here: no guest's, so the port agent leaves it to add_port.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reply_json(&send(&lab, "list_ports", "").unwrap()), serde_json::json!(["eth0"]));
    let bridge_file = lab.read("/etc/systemd/network/10-portagent-ovsbr0.network").unwrap();
    send(&lab, "add_port", "\\\n  string:\"veth123\"").unwrap();
    assert_eq!(
        lab.read("/etc/systemd/network/10-portagent-ovsbr0.network").unwrap(),
        bridge_file,
        "a port change leaves the bridge's IP configuration (and networkd) alone"
    );
    assert!(lab.vsctl("list-ports ovsbr0").unwrap().lines().any(|l| l == "veth123"));
    assert_eq!(reply_json(&send(&lab, "ListPorts", "").unwrap()), serde_json::json!(["eth0", "veth123"]));
    send(&lab, "del_port", "\\\n  string:\"veth123\"").unwrap();
    assert_eq!(lab.vsctl("list-ports ovsbr0").unwrap().trim(), "eth0");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"], "the bridge's address is untouched");

    // System Introspection, over D-Bus and the CLI.
    let nd = reply_json(&send(&lab, "IntrospectSystemdNetworkd", "").unwrap());
    let bridge =
        nd["links"].as_array().unwrap().iter().find(|l| l["name"] == "ovsbr0").expect("ovsbr0 in networkd's links");
    assert_eq!(bridge["operational_state"], "routable", "{nd}");
    let cli = portagent(&lab, &["introspect-systemd"]);
    assert!(cli.status.success(), "{}", text(&cli.stderr));
    assert!(text(&cli.stdout).contains("\"ovsbr0\""));

    let version =
        lab.sh("busctl get-property dev.ovs.PortAgent1 /dev/ovs/PortAgent1 dev.ovs.PortAgent1 Version").unwrap();
    assert_eq!(version.trim(), format!("s \"{}\"", env!("CARGO_PKG_VERSION")));
    let entries = ledger(&lab);
    let of = |c: &str| entries.iter().filter(|e| e["category"] == c).count();
    assert_eq!(of("apply_state"), 3, "apply, add_port, del_port");
    // Each port change also rewrote the managed block of /etc/network/interfaces.
    assert_eq!(of("interfaces_file"), 2, "{entries:?}");
    assert_eq!(entries.len(), of("apply_state") + of("interfaces_file"), "{entries:?}");
    assert!(entries.iter().all(|e| e["metadata"]["user"] == "root (uid 0)"), "the caller's uid is recorded");
}

#[test]
fn the_guides_python_client_runs_unchanged() {
    let (lab, _daemon) = dbus_lab();
    lab.write("/etc/ovs-port-agent/client.py", portagent_lab::guide::PYTHON_CLIENT.as_bytes()).unwrap();
    let out = lab.command("/usr/bin/python3").arg("/etc/ovs-port-agent/client.py").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Ping: pong"), "{stdout}");
    assert!(stdout.contains("Network state: {"), "{stdout}");
    assert!(stdout.contains("Blockchain: {"), "{stdout}");
}

#[test]
fn unprivileged_callers_may_read_but_not_change() {
    let (lab, _daemon) = dbus_lab();
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    let before = snapshot(&lab);
    let apply = "string:\"$(cat /etc/ovs-port-agent/net.yaml)\"";

    // nobody: read-only methods work, every mutating one is refused.
    assert!(send_as(&lab, NOBODY, "ping", "").unwrap().contains("pong"));
    assert!(send_as(&lab, NOBODY, "get_blockchain_stats", "").unwrap().contains("total_blocks"));
    assert!(send_as(&lab, NOBODY, "QueryState", "string:\"net\"").unwrap().contains("interfaces"));
    for (method, args) in [
        ("ApplyState", apply),
        ("add_port", "string:\"eth0\""),
        ("del_port", "string:\"eth0\""),
        ("Commit", ""),
        ("Rollback", ""),
    ] {
        let err = send_as(&lab, NOBODY, method, args).unwrap_err();
        assert!(err.contains("AccessDenied"), "{method}: {err}");
    }

    // netop (group netdev) passes the bus policy; polkit, with no rule for
    // netdev yet, says no: the daemon's own typed refusal.
    let err = send_as(&lab, NETOP, "ApplyState", apply).unwrap_err();
    assert!(err.contains("dev.ovs.PortAgent1.Error.AccessDenied"), "{err}");
    assert!(err.contains("uid"), "names the caller: {err}");
    assert_eq!(snapshot(&lab), before, "nothing changed");
    assert!(ledger(&lab).is_empty(), "nothing recorded");

    // With the shipped polkit rule, netdev may change network state, and
    // the ledger records who did.
    let rule = std::fs::read(repo_file("systemd/50-ovs-port-agent.rules")).unwrap();
    lab.write("/etc/polkit-1/rules.d/50-ovs-port-agent.rules", &rule).unwrap();
    // polkitd notices the new rule by inotify and reloads its JavaScript
    // at its own pace (slow on a loaded machine); until then: AccessDenied.
    let mut last = String::new();
    let loaded = lab.wait_until(Duration::from_secs(30), "polkit loads the rule", || {
        match send_as(&lab, NETOP, "ApplyState", apply) {
            Ok(_) => true,
            Err(e) => {
                last = e;
                false
            }
        }
    });
    assert!(loaded.is_ok(), "{loaded:?}; the last answer: {last}");
    assert!(!last.contains("Error.") || last.contains("AccessDenied"), "refused only for want of the rule: {last}");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"]);
    let entries = ledger(&lab);
    assert_eq!(entries.len(), 1);
    assert!(entries[0]["metadata"]["user"].as_str().unwrap().starts_with("netop (uid "), "{}", entries[0]);
    // Plugins stay admin-only.
    let err = send_as(&lab, NETOP, "RemovePlugin", "string:\"x\"").unwrap_err();
    assert!(err.contains("AccessDenied"), "{err}");
}

/// Signals seen by `dbus-monitor` since it started.
struct Monitor {
    child: Child,
    path: PathBuf,
}

impl Monitor {
    fn start(lab: &Lab) -> Monitor {
        let path = lab.dir().join("logs/dbus-monitor.log");
        let out = std::fs::File::create(&path).unwrap();
        let child = lab
            .command("dbus-monitor")
            .args(["--system", "type='signal',sender='dev.ovs.PortAgent1'"])
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        Monitor { child, path }
    }

    fn wait_for(&self, lab: &Lab, member: &str) {
        lab.wait_until(Duration::from_secs(20), member, || {
            std::fs::read_to_string(&self.path).unwrap_or_default().contains(&format!("member={member}"))
        })
        .unwrap();
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn apply_state_over_dbus_errors_signals_and_confirm_timeout() {
    let (lab, _daemon) = dbus_lab();
    let monitor = Monitor::start(&lab);
    let before = snapshot(&lab);

    // Invalid: a typed error naming the field; nothing changed.
    let bad = GUIDE_NET.replace("prefix: 24", "prefix: 33");
    lab.write("/etc/ovs-port-agent/bad.yaml", bad.as_bytes()).unwrap();
    let err = send(&lab, "ApplyState", "string:\"$(cat /etc/ovs-port-agent/bad.yaml)\"").unwrap_err();
    assert!(err.contains("dev.ovs.PortAgent1.Error.InvalidState"), "{err}");
    assert!(err.contains("plugins.net.interfaces[0].ipv4.address[0].prefix"), "{err}");
    assert_eq!(snapshot(&lab), before);

    // Valid: applied, StateApplied emitted.
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    send(&lab, "ApplyState", "string:\"$(cat /etc/ovs-port-agent/net.yaml)\"").unwrap();
    monitor.wait_for(&lab, "StateApplied");
    let applied = snapshot(&lab);

    // A failure after the change: rolled back, RolledBack emitted and returned.
    let broken = GUIDE_NET.replace("192.168.1.100", "192.168.1.150").replace(
        "      - name: ovsbr0\n        type: ovs-bridge\n",
        "      - name: ovsbr0\n        type: ovs-bridge\n        mtu: 65535\n",
    );
    lab.write("/etc/ovs-port-agent/broken.yaml", broken.as_bytes()).unwrap();
    let err = send(&lab, "ApplyState", "string:\"$(cat /etc/ovs-port-agent/broken.yaml)\"").unwrap_err();
    assert!(err.contains("dev.ovs.PortAgent1.Error.RolledBack"), "{err}");
    monitor.wait_for(&lab, "RolledBack");
    assert_eq!(snapshot(&lab), applied);

    // Confirm-or-revert inside the daemon: not committed, rolled back by it.
    let changed = GUIDE_NET.replace("192.168.1.100", "192.168.1.120");
    lab.write("/etc/ovs-port-agent/try.yaml", changed.as_bytes()).unwrap();
    send(&lab, "ApplyStateWithTimeout", "string:\"$(cat /etc/ovs-port-agent/try.yaml)\" uint32:2").unwrap();
    let pending = lab
        .sh("busctl get-property dev.ovs.PortAgent1 /dev/ovs/PortAgent1 dev.ovs.PortAgent1 PendingConfirmation")
        .unwrap();
    assert_eq!(pending.trim(), "b true");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.120/24"]);
    lab.wait_until(Duration::from_secs(20), "the daemon rolled the change back", || {
        lab.addresses("ovsbr0").is_ok_and(|a| a == ["192.168.1.100/24"])
            && !lab.path("/var/lib/ovs-port-agent/journal.json").exists()
    })
    .unwrap();
    assert_eq!(snapshot(&lab), applied);
    let last = ledger(&lab).pop().unwrap();
    assert_eq!(last["data"]["reason"], "confirm timeout expired", "{last}");
    // Too late: it was rolled back (RolledBack, exit 3 in the CLI).
    let err = send(&lab, "Commit", "").unwrap_err();
    assert!(err.contains("dev.ovs.PortAgent1.Error.RolledBack"), "{err}");
    assert!(err.contains("was not confirmed in time"), "{err}");
}

#[test]
fn the_cli_goes_through_the_daemon_when_it_runs() {
    let (lab, _daemon) = dbus_lab();
    let rule = std::fs::read(repo_file("systemd/50-ovs-port-agent.rules")).unwrap();
    lab.write("/etc/polkit-1/rules.d/50-ovs-port-agent.rules", &rule).unwrap();
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    let cli = |args: &str| {
        lab.command("sh").args(["-c", &format!("{NETOP} {} {args}", env!("CARGO_BIN_EXE_portagent"))]).output().unwrap()
    };

    // netop cannot even read the state dir: only the daemon can do this.
    let diff = cli("show-diff /etc/ovs-port-agent/net.yaml --output text");
    assert!(diff.status.success(), "{}", text(&diff.stderr));
    assert!(text(&diff.stdout).contains("+ ovsbr0"), "{}", text(&diff.stdout));
    let mut applied = cli("apply-state /etc/ovs-port-agent/net.yaml --detailed-exitcode");
    for _ in 0..50 {
        // polkit picks the rule up asynchronously.
        if applied.status.code() != Some(1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        applied = cli("apply-state /etc/ovs-port-agent/net.yaml --detailed-exitcode");
    }
    assert_eq!(applied.status.code(), Some(5), "changed: {}{}", text(&applied.stdout), text(&applied.stderr));
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"]);
    let again = cli("apply-state /etc/ovs-port-agent/net.yaml --detailed-exitcode");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let q = cli("query-state --plugin net --output json");
    assert!(text(&q.stdout).contains("\"ovsbr0\""), "{}", text(&q.stderr));
    assert!(ledger(&lab)[0]["metadata"]["user"].as_str().unwrap().starts_with("netop"), "recorded as the CLI's user");

    // On a terminal the daemon's progress lines reach the caller.
    lab.write("/etc/ovs-port-agent/moved.yaml", GUIDE_NET.replace("192.168.1.100", "192.168.1.110").as_bytes())
        .unwrap();
    let shown = crate::net::on_a_terminal(
        &lab,
        &format!("{NETOP} {} apply-state /etc/ovs-port-agent/moved.yaml", env!("CARGO_BIN_EXE_portagent")),
    );
    let phases = crate::net::progress_lines(&shown);
    assert_eq!(phases.first().map(String::as_str), Some("planned: 1 action(s) (net 1)"), "{shown}");
    assert!(phases.iter().any(|p| p.starts_with("checkpointed 1 plugin(s) as ")), "{shown}");
    assert_eq!(phases.last().map(String::as_str), Some("recorded in the ledger"), "{shown}");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.110/24"]);

    // Invalid input: the daemon's typed error becomes exit 2, with the field.
    lab.write("/etc/ovs-port-agent/bad.yaml", GUIDE_NET.replace("prefix: 24", "prefix: 40").as_bytes()).unwrap();
    let bad = cli("apply-state /etc/ovs-port-agent/bad.yaml");
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(text(&bad.stderr).contains("prefix"), "{}", text(&bad.stderr));

    // Confirm-or-revert through the daemon: its timer, no helper process.
    let changed = GUIDE_NET.replace("192.168.1.100", "192.168.1.120");
    lab.write("/etc/ovs-port-agent/try.yaml", changed.as_bytes()).unwrap();
    let t = cli("apply-state /etc/ovs-port-agent/try.yaml --confirm-timeout 60 --output json");
    assert!(t.status.success(), "{}", text(&t.stderr));
    assert!(!lab.sh("ps -eo args").unwrap().contains("confirm-watch"), "the daemon keeps the timer");
    let busy = cli("apply-state /etc/ovs-port-agent/net.yaml");
    assert_eq!(busy.status.code(), Some(4), "{}", text(&busy.stderr));
    let commit = cli("commit");
    assert!(commit.status.success(), "{}", text(&commit.stderr));
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.120/24"]);
    let none = cli("rollback");
    assert_eq!(none.status.code(), Some(1));
    assert!(text(&none.stderr).contains("no change awaits confirmation"), "{}", text(&none.stderr));
}

#[test]
fn root_is_never_locked_out_by_polkit_and_others_are_told_why() {
    // The guide's "From Source" install never installs the polkit action.
    let (lab, _daemon) = dbus_lab_with(false);
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    let apply = "string:\"$(cat /etc/ovs-port-agent/net.yaml)\"";
    let err = send_as(&lab, NETOP, "ApplyState", apply).unwrap_err();
    assert!(err.contains("AccessDenied") && err.contains("not registered"), "the cause, not just a no: {err}");
    send(&lab, "ApplyState", apply).unwrap();
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"], "root applied it");
    let cli = portagent(&lab, &["apply-state", "/etc/ovs-port-agent/net.yaml", "--detailed-exitcode"]);
    assert_eq!(cli.status.code(), Some(0), "root's CLI through the daemon: {}", text(&cli.stderr));
}

#[test]
fn an_apply_whose_caller_went_away_before_its_turn_never_runs() {
    let (lab, _daemon) = dbus_lab();
    crate::state::install_probe(&lab);
    // One apply holds the lock for a while (the probe sleeps after net).
    lab.write("/etc/ovs-port-agent/slow.yaml", crate::state::two_plugins("\"sleep:4000\"").as_bytes()).unwrap();
    let changed = GUIDE_NET.replace("192.168.1.100", "192.168.1.222");
    lab.write("/etc/ovs-port-agent/abandoned.yaml", changed.as_bytes()).unwrap();
    let slow = lab
        .command(env!("CARGO_BIN_EXE_portagent"))
        .args(["apply-state", "/etc/ovs-port-agent/slow.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    lab.wait_until(Duration::from_secs(30), "the slow apply under way", || lab.path(crate::faults::JOURNAL).exists())
        .unwrap();
    // Given up on (killed by `timeout`) while it waits for its turn.
    let gave_up = lab
        .sh(&format!(
            "timeout 1 {} apply-state /etc/ovs-port-agent/abandoned.yaml; echo $?",
            env!("CARGO_BIN_EXE_portagent")
        ))
        .unwrap();
    assert_eq!(gave_up.trim(), "124", "it was still waiting when it was killed");
    let slow = slow.wait_with_output().unwrap();
    assert!(slow.status.success(), "{}", text(&slow.stderr));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"], "the abandoned apply was dropped");
    let entries: Vec<_> = ledger(&lab).into_iter().filter(|e| e["category"] != "plugin").collect();
    assert_eq!(entries.len(), 1, "only the slow apply is recorded (besides the probe's install): {entries:?}");
}

#[test]
fn the_daemon_retries_a_failed_rollback_when_ovsdb_comes_back() {
    let (mut lab, _daemon) = dbus_lab();
    crate::state::install_probe(&lab);
    let monitor = Monitor::start(&lab);
    let before = snapshot(&lab);
    lab.write("/etc/ovs-port-agent/two.yaml", crate::state::two_plugins("\"sleep:2000\", panic").as_bytes()).unwrap();
    let child = lab
        .command(env!("CARGO_BIN_EXE_portagent"))
        .args(["apply-state", "/etc/ovs-port-agent/two.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    lab.wait_until(Duration::from_secs(30), "net applied", || {
        lab.addresses("ovsbr0").is_ok_and(|a| a == ["192.168.1.100/24"])
    })
    .unwrap();
    lab.stop_daemon(portagent_lab::Daemon::OvsdbServer, libc::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("its rollback failed too"), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(crate::faults::journal_phase(&lab).as_deref(), Some("rollback_failed"), "kept while OVSDB is away");
    // OVSDB comes back: the daemon restores it by itself, no command run.
    lab.start_daemon(portagent_lab::Daemon::OvsdbServer).unwrap();
    lab.wait_until(Duration::from_secs(30), "the daemon restored it", || !lab.path(crate::faults::JOURNAL).exists())
        .unwrap();
    lab.wait_until(Duration::from_secs(20), "as before", || snapshot(&lab) == before).unwrap();
    monitor.wait_for(&lab, "RolledBack");
    let last = ledger(&lab).pop().unwrap();
    assert_eq!(
        (last["category"].as_str(), last["data"]["result"].as_str()),
        (Some("recovery"), Some("rolled_back")),
        "{last}"
    );
}

#[test]
fn the_daemons_timer_reverts_even_when_the_ledger_is_damaged() {
    let (lab, _daemon) = dbus_lab();
    let before = snapshot(&lab);
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    send(&lab, "ApplyStateWithTimeout", "string:\"$(cat /etc/ovs-port-agent/net.yaml)\" uint32:3").unwrap();
    let ledger_path = lab.path("/var/lib/ovs-port-agent/ledger.jsonl");
    let damaged =
        std::fs::read_to_string(&ledger_path).unwrap().replacen("\"result\":\"pending", "\"result\":\"Pending", 1);
    std::fs::write(&ledger_path, damaged).unwrap();
    lab.wait_until(Duration::from_secs(30), "the network restored", || snapshot(&lab) == before).unwrap();
    lab.wait_until(Duration::from_secs(10), "no longer pending", || {
        lab.sh("busctl get-property dev.ovs.PortAgent1 /dev/ovs/PortAgent1 dev.ovs.PortAgent1 PendingConfirmation")
            .is_ok_and(|p| p.trim() == "b false")
    })
    .unwrap();
    assert_eq!(crate::faults::journal_phase(&lab).as_deref(), Some("unrecorded"), "the record waits in the journal");
    // Set aside, as the guide says: the daemon writes the waiting record.
    lab.sh("mv /var/lib/ovs-port-agent/ledger.jsonl /var/lib/ovs-port-agent/ledger.jsonl.corrupted").unwrap();
    lab.wait_until(Duration::from_secs(90), "the record written", || !lab.path(crate::faults::JOURNAL).exists())
        .unwrap();
    let last = ledger(&lab).pop().unwrap();
    assert_eq!(
        (last["category"].as_str(), last["data"]["reason"].as_str()),
        (Some("rollback"), Some("confirm timeout expired")),
        "{last}"
    );
}

#[test]
fn large_states_and_floods_of_reads_do_not_stall_the_daemon() {
    let (lab, _daemon) = dbus_lab();
    // A state over max_state_bytes: refused, saying which limit.
    let script = r##"
import dbus, sys
bus = dbus.SystemBus()
pa = dbus.Interface(bus.get_object('dev.ovs.PortAgent1', '/dev/ovs/PortAgent1'), 'dev.ovs.PortAgent1')
try:
    pa.ShowDiff("version: 1\nplugins:\n  net: {}\n" + "#" * (9 << 20) + "\n")
except dbus.DBusException as e:
    print(e.get_dbus_name(), e.get_dbus_message())
"##;
    lab.write("/etc/ovs-port-agent/big.py", script.as_bytes()).unwrap();
    let out = lab.command("/usr/bin/python3").arg("/etc/ovs-port-agent/big.py").output().unwrap();
    let said = text(&out.stdout);
    assert!(said.contains("InvalidState") && said.contains("max_state_bytes"), "{said}{}", text(&out.stderr));

    // Many unprivileged readers at once: some are told to wait, and root's
    // ping keeps answering meanwhile.
    let flood = r#"
import dbus, threading
state = "version: 1\nplugins:\n  net:\n    interfaces:\n" + "".join(
    "      - {name: x%d, type: ovs-bridge, ipv4: {address: [{ip: 10.%d.%d.1, prefix: 24}]}}\n" % (i, i // 256, i % 256) for i in range(20000))
busy = []
def one():
    bus = dbus.bus.BusConnection(dbus.bus.BUS_SYSTEM)
    pa = dbus.Interface(bus.get_object('dev.ovs.PortAgent1', '/dev/ovs/PortAgent1'), 'dev.ovs.PortAgent1')
    try:
        pa.ShowDiff(state, timeout=120)
    except dbus.DBusException as e:
        busy.append(e.get_dbus_name())
ts = [threading.Thread(target=one) for _ in range(10)]
[t.start() for t in ts]
[t.join() for t in ts]
print(" ".join(busy))
"#;
    lab.write("/etc/ovs-port-agent/flood.py", flood.as_bytes()).unwrap();
    let flood = lab
        .command("sh")
        .args(["-c", &format!("{NOBODY} /usr/bin/python3 /etc/ovs-port-agent/flood.py")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..20 {
        let t = std::time::Instant::now();
        assert!(send(&lab, "ping", "").unwrap().contains("pong"));
        assert!(t.elapsed() < Duration::from_secs(2), "ping took {:?}", t.elapsed());
    }
    let out = flood.wait_with_output().unwrap();
    let errors = text(&out.stdout);
    assert!(errors.contains("dev.ovs.PortAgent1.Error.Busy"), "some of 10 were told to wait: {errors}");
    assert!(!errors.contains("NoReply"), "{errors}");
}

/// The methods that change nothing: open to anyone. Every other method
/// of the interface is a change, and the bus policy itself must stop it
/// for anyone but root and `netdev` (polkit's answer alone is not enough:
/// the README and ARCHITECTURE promise the bus stops them). A method
/// added to the interface is a change until it is named here.
const READ_ONLY: &[&str] = &[
    "ping",
    "Ping",
    "ShowDiff",
    "QueryState",
    "GetSystemNetworkState",
    "IntrospectSystemdNetworkd",
    "get_blockchain_stats",
    "GetBlockchainStats",
    "get_blocks_by_category",
    "GetBlocksByCategory",
    "verify_blockchain_integrity",
    "VerifyBlockchainIntegrity",
    "get_block_by_hash",
    "GetBlockByHash",
    "GetBlocksByHeight",
    "list_ports",
    "ListPorts",
    "ListPlugins",
];

#[test]
fn the_bus_policy_stops_every_method_that_changes_something() {
    let (lab, _daemon) = dbus_lab();
    let xml = lab.sh("busctl --system introspect --xml-interface dev.ovs.PortAgent1 /dev/ovs/PortAgent1").unwrap();
    let ours = &xml[xml.find("<interface name=\"dev.ovs.PortAgent1\">").expect("the interface")..];
    let ours = &ours[..ours.find("</interface>").unwrap()];
    let methods: Vec<&str> = ours.split("<method name=\"").skip(1).filter_map(|m| m.split('"').next()).collect();
    assert!(methods.len() > 30, "{methods:?}");
    for m in READ_ONLY {
        assert!(methods.contains(m), "{m} is not a method of the interface any more: {methods:?}");
    }
    let changes: Vec<&str> = methods.iter().copied().filter(|m| !READ_ONLY.contains(m)).collect();
    for expected in ["ApplyState", "Commit", "Recover", "CreateContainerInterface", "remove_container_interface"] {
        assert!(changes.contains(&expected), "{expected}: {changes:?}");
    }
    for method in changes {
        // Refused by dbus-daemon before the daemon sees it: arguments do
        // not matter, and the error is the bus's, not the daemon's.
        let err = send_as(&lab, NOBODY, method, "").unwrap_err();
        assert!(
            err.contains("org.freedesktop.DBus.Error.AccessDenied") && err.contains("Rejected send message"),
            "{method} passes the bus policy for nobody: {err}"
        );
    }
    // Recover is root's alone: netdev passes the bus policy, the daemon
    // refuses; root is answered (nothing is unsettled here).
    let err = send_as(&lab, NETOP, "Recover", "boolean:false string:\"\"").unwrap_err();
    assert!(err.contains("dev.ovs.PortAgent1.Error.AccessDenied") && err.contains("root only"), "{err}");
    let err = send(&lab, "Recover", "boolean:false string:\"\"").unwrap_err();
    assert!(err.contains("dev.ovs.PortAgent1.Error.NotFound") && err.contains("no change is left unsettled"), "{err}");
}

/// Issue 27, item 8: a reply the system bus could not carry is refused in
/// words, and the daemon stays on the bus. A plugin's 100,000 actions (its
/// bound) of 167 bytes make a plan of over 20 MiB: `show-diff` through the
/// daemon says so and names the way round; `ping` and a small plan answer
/// right after, and the name never left the bus.
#[test]
fn a_reply_too_big_for_the_bus_is_refused_and_the_daemon_stays() {
    let (lab, _daemon) = dbus_lab();
    crate::state::install_probe(&lab);
    let big = format!("\"actions:100000:{}\"", "x".repeat(150));
    lab.write("/etc/ovs-port-agent/big.yaml", crate::state::two_plugins(&big).as_bytes()).unwrap();
    let out = portagent(&lab, &["show-diff", "/etc/ovs-port-agent/big.yaml"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let said = text(&out.stderr);
    assert!(said.contains("the plan is") && said.contains("more than the 20 MiB"), "{said}");
    assert!(said.contains("PORTAGENT_NO_DAEMON=1"), "{said}");
    assert!(send(&lab, "ping", "").unwrap().contains("pong"), "the daemon still answers");
    let names = lab.sh("busctl --system list --no-pager").unwrap();
    assert!(names.contains("dev.ovs.PortAgent1"), "{names}");
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    let small = portagent(&lab, &["show-diff", "/etc/ovs-port-agent/net.yaml"]);
    assert!(small.status.success(), "{}", text(&small.stderr));
    let log = std::fs::read_to_string(lab.dir().join("logs/portagent-daemon.log")).unwrap();
    assert!(log.contains("not sent: the plan is"), "the daemon's log says what it did not send");
}

/// Issue 27, item 6: a plugin that logs without end is bounded per call
/// (1,000 lines, 256 KiB) and per minute, the rest counted in one line;
/// the daemon's log stays small and root's ping answers meanwhile.
#[test]
fn a_plugin_flooding_the_log_is_bounded_and_the_daemon_answers() {
    let (lab, _daemon) = dbus_lab();
    crate::state::install_probe(&lab);
    let log = lab.dir().join("logs/portagent-daemon.log");
    let before = std::fs::metadata(&log).unwrap().len();
    lab.write("/etc/ovs-port-agent/flood.yaml", crate::state::two_plugins("\"flood:200000\"").as_bytes()).unwrap();
    let out = portagent(&lab, &["apply-state", "/etc/ovs-port-agent/flood.yaml"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(send(&lab, "ping", "").unwrap().contains("pong"));
    let grown = std::fs::metadata(&log).unwrap().len() - before;
    // 200,000 lines of 200 bytes would be 40 MB.
    assert!(grown < 2 << 20, "the daemon's log grew by {grown} bytes");
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.contains("log lines dropped (at most 1000 lines"), "the drop is counted in the log");
}
