//! The safety net under faults, in labs: portagent, ovsdb-server or
//! networkd killed mid-apply, a damaged ledger, a full disk, a guest that
//! will not return. Each case ends with the system either as it was before
//! or as it was asked to be, the ledger VALID, and nothing unsettled left.

use crate::net::{GUIDE_NET, apply, ledger, net_lab, portagent, snapshot};
use crate::state::{install_probe, two_plugins};
use crate::support::text;
use portagent_lab::{Daemon, Lab};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub const JOURNAL: &str = "/var/lib/ovs-port-agent/journal.json";
const LEDGER: &str = "/var/lib/ovs-port-agent/ledger.jsonl";

/// The journal's phase, if there is a journal.
pub fn journal_phase(lab: &Lab) -> Option<String> {
    let text = std::fs::read_to_string(lab.path(JOURNAL)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["phase"].as_str().map(str::to_string)
}

/// `portagent apply-state` of `yaml`, started in the background.
fn spawn_apply(lab: &Lab, name: &str, yaml: &str) -> Child {
    let path = format!("/etc/ovs-port-agent/{name}.yaml");
    lab.write(&path, yaml.as_bytes()).unwrap();
    lab.command(env!("CARGO_BIN_EXE_portagent"))
        .args(["apply-state", &path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `net` has applied the guide's state (and the apply goes on).
fn wait_net_applied(lab: &Lab) {
    lab.wait_until(Duration::from_secs(30), "net applied and verified", || {
        lab.path(JOURNAL).exists() && lab.addresses("ovsbr0").is_ok_and(|a| a == ["192.168.1.100/24"])
    })
    .unwrap();
}

/// Puts a line that is no entry at the end of the ledger: every later
/// open of it, and every append, finds it corrupt.
fn damage_ledger(lab: &Lab) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(lab.path(LEDGER)).unwrap();
    f.write_all(b"{\"height\": \"tampered\"}\n").unwrap();
}

/// What the network is, by name (OVS rows get new uuids when a bridge is
/// made again, so [`snapshot`]'s uuids cannot tell states apart here):
/// bridges with their ports and settings, IPv4 addresses and routes, and
/// networkd's files.
fn network(lab: &Lab) -> String {
    lab.sh(
        "for b in $(ovs-vsctl list-br); do \
           echo \"bridge $b $(ovs-vsctl get bridge $b datapath_type external_ids) ports: $(ovs-vsctl list-ports $b | tr '\\n' ' ')\"; \
         done; \
         ip -4 -o addr show | awk '{print $2, $4}' | sort; ip -4 route | sort; \
         for f in /etc/systemd/network/*; do [ -e \"$f\" ] || continue; echo \"== $f\"; cat \"$f\"; done",
    )
    .unwrap()
}

fn verify_text(lab: &Lab) -> String {
    text(&portagent(lab, &["ledger", "verify"]).stdout)
}

#[test]
fn each_apply_has_its_own_checkpoint_id_so_recovery_is_never_skipped() {
    let lab = net_lab();
    install_probe(&lab);
    let before = snapshot(&lab);
    // An apply that fails and is rolled back (an entry with id X)...
    let failed = apply(&lab, "fails", &two_plugins("panic"));
    assert_eq!(failed.status.code(), Some(3), "{}", text(&failed.stderr));
    let x = ledger(&lab).pop().unwrap()["data"]["checkpoint_id"].as_str().unwrap().to_string();
    // ...then, at once, a 50-port bridge, killed mid-apply.
    let mut big = two_plugins("\"sleep:60000\"")
        .replace("  probe:", "      - name: br50\n        type: ovs-bridge\n        ports: [q0]\n  probe:");
    let ports: String =
        (0..50).map(|i| format!("      - {{name: q{i}, type: ovs-interface, controller: br50}}\n")).collect();
    big = big.replace("  probe:", &format!("{ports}  probe:")).replace(
        "ports: [q0]",
        &format!("ports: [{}]", (0..50).map(|i| format!("q{i}")).collect::<Vec<_>>().join(", ")),
    );
    let mut child = spawn_apply(&lab, "big", &big);
    wait_net_applied(&lab);
    lab.wait_until(Duration::from_secs(30), "br50 applied", || {
        lab.vsctl("list-ports br50").is_ok_and(|p| p.lines().count() == 50)
    })
    .unwrap();
    let y: String = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(lab.path(JOURNAL)).unwrap())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .into();
    assert_ne!(x, y, "two applies, two ids");
    child.kill().unwrap();
    child.wait().unwrap();

    // The next start restores it and records the recovery under its own id.
    let out = portagent(&lab, &["query-state", "--plugin", "net"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(snapshot(&lab), before, "the bridge and its files are gone again");
    let last = ledger(&lab).pop().unwrap();
    assert_eq!(
        (last["category"].as_str(), last["data"]["checkpoint_id"].as_str()),
        (Some("recovery"), Some(y.as_str())),
        "{last}"
    );
    assert!(!lab.path(JOURNAL).exists());
    assert!(verify_text(&lab).starts_with("VALID"), "{}", verify_text(&lab));
}

#[test]
fn an_unconfirmed_change_reverts_even_when_the_ledger_is_damaged() {
    let lab = net_lab();
    let before = snapshot(&lab);
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    let out = portagent(&lab, &["apply-state", "/etc/ovs-port-agent/net.yaml", "--confirm-timeout", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    damage_ledger(&lab);

    // The timer restores the network first; the record waits in the journal.
    lab.wait_until(Duration::from_secs(30), "the network restored", || snapshot(&lab) == before).unwrap();
    lab.wait_until(Duration::from_secs(10), "the journal says unrecorded", || {
        journal_phase(&lab).as_deref() == Some("unrecorded")
    })
    .unwrap();
    let rollback = portagent(&lab, &["rollback"]);
    assert_eq!(rollback.status.code(), Some(1), "{}", text(&rollback.stderr));
    assert!(text(&rollback.stderr).contains("not recorded in the ledger"), "loud: {}", text(&rollback.stderr));
    assert!(verify_text(&lab).starts_with("INVALID"), "the damage is evidence: {}", verify_text(&lab));

    // The admin keeps the damaged ledger aside (the guide's procedure);
    // the waiting record is written to the new one.
    lab.sh(&format!("mv {LEDGER} {LEDGER}.corrupted")).unwrap();
    lab.wait_until(Duration::from_secs(30), "the record written", || {
        let _ = portagent(&lab, &["query-state", "--plugin", "net"]);
        !lab.path(JOURNAL).exists()
    })
    .unwrap();
    let entries = ledger(&lab);
    let kinds: Vec<String> = entries
        .iter()
        .map(|e| format!("{}:{}", e["category"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, ["ledger:started_anew", "rollback:net"], "{entries:?}");
    assert_eq!(entries[1]["data"]["reason"], "confirm timeout expired");
    assert!(verify_text(&lab).starts_with("VALID"), "{}", verify_text(&lab));
    assert_eq!(snapshot(&lab), before);
}

#[test]
fn a_change_that_cannot_be_recorded_is_undone() {
    let lab = net_lab();
    install_probe(&lab);
    let before = snapshot(&lab);
    let child = spawn_apply(&lab, "two", &two_plugins("\"sleep:3000\""));
    wait_net_applied(&lab);
    damage_ledger(&lab);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "rolled back: {}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stdout).contains("could not be recorded in the ledger, so it was undone"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("NOT RECORDED"), "{}", text(&out.stdout));
    assert_eq!(snapshot(&lab), before, "nothing stays that is not recorded");
    assert_eq!(journal_phase(&lab).as_deref(), Some("unrecorded"));
}

#[test]
fn a_full_disk_refuses_a_change_before_it_is_made() {
    let lab = net_lab();
    // The state dir on a small filesystem of its own.
    lab.sh("mount -t tmpfs -o size=4m tmpfs /var/lib/ovs-port-agent").unwrap();
    let first = apply(&lab, "net", GUIDE_NET);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let applied = snapshot(&lab);
    // 8 KB left.
    let free: u64 = lab.sh("df --output=avail -B1 /var/lib/ovs-port-agent | tail -1").unwrap().trim().parse().unwrap();
    lab.sh(&format!("fallocate -l {} /var/lib/ovs-port-agent/filler", free - 8192)).unwrap();

    // Commands that only read still work (the compile cache is optional).
    let q = portagent(&lab, &["query-state", "--plugin", "net"]);
    assert!(q.status.success(), "{}", text(&q.stderr));
    let out = apply(&lab, "changed", &GUIDE_NET.replace("192.168.1.100", "192.168.1.200"));
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("to record this change"), "says why: {}", text(&out.stderr));
    assert_eq!(snapshot(&lab), applied, "nothing changed");
    assert!(!lab.path(JOURNAL).exists());
    assert!(verify_text(&lab).starts_with("VALID: 1 entries"), "no partial line: {}", verify_text(&lab));
    lab.sh("rm /var/lib/ovs-port-agent/filler").unwrap();
    let out = apply(&lab, "changed", &GUIDE_NET.replace("192.168.1.100", "192.168.1.200"));
    assert!(out.status.success(), "with room again: {}", text(&out.stderr));
}

/// Kills `daemon` while the probe holds an apply open after `net`'s part,
/// then lets the probe fail: the rollback cannot reach `daemon`.
fn rollback_fails_without(lab: &mut Lab, daemon: Daemon) -> std::process::Output {
    let child = spawn_apply(lab, "two", &two_plugins("\"sleep:2000\", panic"));
    wait_net_applied(lab);
    lab.stop_daemon(daemon, libc::SIGTERM).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_failed_rollback_keeps_its_way_back_and_is_retried() {
    for daemon in [Daemon::OvsdbServer, Daemon::Networkd] {
        let mut lab = net_lab();
        install_probe(&lab);
        let before = snapshot(&lab);
        let out = rollback_fails_without(&mut lab, daemon);
        assert_eq!(out.status.code(), Some(6), "{daemon:?}: {}{}", text(&out.stdout), text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("ROLLBACK FAILED") && !stdout.contains("rolled back to checkpoint"),
            "not contradictory: {stdout}"
        );
        assert_eq!(journal_phase(&lab).as_deref(), Some("rollback_failed"), "{daemon:?}");
        let last = ledger(&lab).pop().unwrap();
        assert_eq!(
            (last["category"].as_str(), last["data"]["result"].as_str()),
            (Some("rollback"), Some("rollback_failed")),
            "{last}"
        );

        if daemon == Daemon::OvsdbServer {
            // Still away: the next command tries again, fails again, says so.
            let again = portagent(&lab, &["query-state", "--plugin", "net"]);
            assert_eq!(again.status.code(), Some(6), "{daemon:?}: {}", text(&again.stderr));
            let busy = apply(&lab, "other", GUIDE_NET);
            assert_eq!(busy.status.code(), Some(6), "no new apply on top: {}", text(&busy.stderr));
        }
        // (Without networkd the files are already back after the first try,
        // and the kernel is put back by netlink: a retry can succeed before
        // networkd returns, and reading it then finds what the files say.)

        // Back: the next command restores it.
        lab.start_daemon(daemon).unwrap();
        let out = portagent(&lab, &["query-state", "--plugin", "net"]);
        assert!(out.status.success(), "{daemon:?}: {}", text(&out.stderr));
        assert!(!lab.path(JOURNAL).exists());
        lab.wait_until(Duration::from_secs(20), "as before", || snapshot(&lab) == before).unwrap();
        let last = ledger(&lab).pop().unwrap();
        assert_eq!(
            (last["category"].as_str(), last["data"]["result"].as_str()),
            (Some("recovery"), Some("rolled_back")),
            "{last}"
        );
        assert!(verify_text(&lab).starts_with("VALID"), "{}", verify_text(&lab));
    }
}

#[test]
fn a_guest_that_will_not_return_does_not_hold_the_apply_lock() {
    let lab = net_lab();
    install_probe(&lab);
    lab.write("/etc/ovs-port-agent/config.toml", b"datapath_type = \"netdev\"\n[plugins]\ncall_timeout_ms = 2000\n")
        .unwrap();
    let before = snapshot(&lab);
    let t = Instant::now();
    let out = apply(&lab, "sleepy", &two_plugins("\"sleep:40000\""));
    assert_eq!(out.status.code(), Some(3), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(t.elapsed() < Duration::from_secs(15), "stopped at its limit: {:?}", t.elapsed());
    assert!(text(&out.stdout).contains("wall-clock limit of 2s"), "{}", text(&out.stdout));
    assert_eq!(snapshot(&lab), before);
    let next = apply(&lab, "net", GUIDE_NET);
    assert!(next.status.success(), "the lock is free: {}", text(&next.stderr));
}

#[test]
fn lock_and_state_files_cannot_be_held_by_another_user() {
    let lab = net_lab();
    let out = apply(&lab, "net", GUIDE_NET);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The lab made the state dir 0755, as the guide's `mkdir -p` does.
    let modes =
        lab.sh("stat -c '%n %a' /var/lib/ovs-port-agent/apply.lock /var/lib/ovs-port-agent/ledger.key").unwrap();
    assert_eq!(modes, "/var/lib/ovs-port-agent/apply.lock 600\n/var/lib/ovs-port-agent/ledger.key 600\n");
    // One someone opened up to everybody is narrowed.
    lab.sh("chmod 0777 /var/lib/ovs-port-agent && chmod 0666 /var/lib/ovs-port-agent/apply.lock").unwrap();
    let out = apply(&lab, "net", GUIDE_NET);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let modes = lab.sh("stat -c '%a' /var/lib/ovs-port-agent/apply.lock /var/lib/ovs-port-agent").unwrap();
    assert_eq!(modes, "600\n755\n", "narrowed");
    let nobody = lab
        .output("sh", &["-c", "setpriv --reuid=65534 --regid=65534 --clear-groups -- flock -n /var/lib/ovs-port-agent/apply.lock true"])
        .unwrap();
    assert!(
        !nobody.status.success() && text(&nobody.stderr).contains("Permission denied"),
        "nobody cannot hold it: {}",
        text(&nobody.stderr)
    );
}

#[test]
fn a_thousand_port_bridge_is_deleted_however_long_ovs_vswitchd_takes() {
    let lab = net_lab();
    let n = 1000;
    let ports: String =
        (0..n).map(|i| format!("      - {{name: q{i}, type: ovs-interface, controller: brbig}}\n")).collect();
    let names = (0..n).map(|i| format!("q{i}")).collect::<Vec<_>>().join(", ");
    let create = format!(
        "version: 1\nplugins:\n  net:\n    interfaces:\n      - {{name: brbig, type: ovs-bridge, ports: [{names}]}}\n{ports}"
    );
    let out = apply(&lab, "big", &create);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let absent: String =
        (0..n).map(|i| format!("      - {{name: q{i}, type: ovs-interface, state: absent}}\n")).collect();
    let delete = format!(
        "version: 1\nplugins:\n  net:\n    interfaces:\n      - {{name: brbig, type: ovs-bridge, state: absent}}\n{absent}"
    );
    let t = Instant::now();
    let out = apply(&lab, "gone", &delete);
    let took = t.elapsed();
    assert!(out.status.success(), "after {took:?}: {}{}", text(&out.stdout), text(&out.stderr));
    assert!(!lab.vsctl("list-br").unwrap().contains("brbig"));
    assert_eq!(lab.sh("ip -o link | wc -l").unwrap().trim(), "2", "lo and eth0 left");
    eprintln!("deleting {n} ports took {took:?}");
}

/// A small deterministic generator (xorshift64*), so a failing run can be
/// repeated from its printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What gets killed in a round.
#[derive(Debug, Clone, Copy)]
enum Victim {
    Portagent,
    Lab(Daemon),
}

/// Settles what a round left: restarts the killed daemon, then runs
/// commands until nothing is unsettled (a failed rollback is retried).
fn settle_round(lab: &mut Lab, victim: Victim) -> Result<(), String> {
    if let Victim::Lab(d) = victim {
        lab.start_daemon(d).map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = portagent(lab, &["query-state", "--plugin", "net"]);
        if out.status.success() && !lab.path(JOURNAL).exists() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("still unsettled ({:?}): {}", journal_phase(lab), text(&out.stderr)));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn seeded_faults_leave_the_state_before_or_the_state_asked_for() {
    let seed: u64 = std::env::var("PORTAGENT_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("fault injection: seed {seed} (repeat with PORTAGENT_FAULT_SEED={seed})");
    let mut rng = Rng(seed);
    let mut lab = net_lab();
    // Two states to go back and forth between: B changes addresses and adds
    // a bridge that A takes away again.
    let a = format!("{GUIDE_NET}      - {{name: ovsbr2, type: ovs-bridge, state: absent}}\n");
    let b = format!(
        "{}      - {{name: ovsbr2, type: ovs-bridge, ipv4: {{address: [{{ip: 10.0.201.1, prefix: 24}}]}}}}\n",
        GUIDE_NET.replace("192.168.1.100", "192.168.1.150").replace("10.0.100.1", "10.0.200.1")
    );
    let states = [a, b];
    let mut snaps = Vec::new();
    for (i, s) in states.iter().enumerate() {
        let out = apply(&lab, &format!("s{i}"), s);
        assert!(out.status.success(), "{}", text(&out.stderr));
        snaps.push(network(&lab));
    }
    assert_ne!(snaps[0], snaps[1]);
    let mut at = 1;
    for round in 0..20 {
        let to = 1 - at;
        let victim = match rng.below(3) {
            0 => Victim::Portagent,
            1 => Victim::Lab(Daemon::OvsdbServer),
            _ => Victim::Lab(Daemon::Networkd),
        };
        let delay = Duration::from_millis(rng.below(700));
        let what = format!("seed {seed}, round {round}: {victim:?} killed {delay:?} into an apply of state {to}");
        let mut child = spawn_apply(&lab, &format!("s{to}"), &states[to]);
        std::thread::sleep(delay);
        match victim {
            Victim::Portagent => {
                let _ = child.kill();
            }
            Victim::Lab(d) => lab.stop_daemon(d, libc::SIGKILL).unwrap(),
        }
        let waited = Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(waited.elapsed() < Duration::from_secs(90), "{what}: the apply does not end");
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let code = out.status.code();
        settle_round(&mut lab, victim).unwrap_or_else(|e| panic!("{what}: {e}"));
        // networkd may still be putting a restarted link's addresses back.
        let mut now = String::new();
        let settled = lab.wait_until(Duration::from_secs(30), "the state before or after", || {
            now = network(&lab);
            snaps.contains(&now)
        });
        assert!(
            settled.is_ok(),
            "{what} (exit {code:?}: {}): a mix:\n{now}\nbefore:\n{}\nasked for:\n{}",
            text(&out.stdout),
            snaps[at],
            snaps[to]
        );
        at = if now == snaps[to] { to } else { at };
        let v = verify_text(&lab);
        assert!(v.starts_with("VALID"), "{what}: {v}");
        eprintln!("{what}: exit {code:?}, now in state {at}");
    }
}

#[test]
fn the_last_entries_cannot_be_cut_off_unnoticed() {
    let lab = net_lab();
    for (i, address) in ["192.168.1.100", "192.168.1.101", "192.168.1.102"].iter().enumerate() {
        let out = apply(&lab, &format!("a{i}"), &GUIDE_NET.replace("192.168.1.100", address));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let cut = |path: &str, lines: usize| {
        lab.sh(&format!("head -n -{lines} {path} > {path}.cut && cat {path}.cut > {path} && rm {path}.cut")).unwrap();
    };
    // The last two entries and their heads beside the ledger, cut: the
    // mirror in /var/log still has the head that covers them.
    cut(LEDGER, 2);
    cut(&format!("{LEDGER}.checkpoints"), 2);
    let v = verify_text(&lab);
    assert!(v.starts_with("INVALID") && v.contains("but a checkpoint signed 3"), "{v}");
    // A cut in the middle of an acknowledged entry is not taken for a
    // torn write (and quietly moved aside) at the next start.
    lab.sh(&format!("truncate -s -20 {LEDGER}")).unwrap();
    let out = apply(&lab, "more", GUIDE_NET);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("its end was removed"), "{}", text(&out.stderr));
    assert!(lab.sh("ls /var/lib/ovs-port-agent").unwrap().lines().all(|f| !f.contains("torn")), "nothing moved aside");
}
