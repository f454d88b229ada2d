//! `portagent-lab demo`: the README's first command. Starts a throwaway lab,
//! walks through what portagent does in it, and tears it down.
//! `portagent-lab hold`: starts a lab with the guide's uplink and config,
//! prints how to run commands in it, and keeps it until Enter or a signal.

use portagent_lab::Lab;
use std::path::PathBuf;
use std::process::ExitCode;

fn step(title: &str) {
    println!("\n\x1b[1m==> {title}\x1b[0m");
}

fn show(lab: &Lab, script: &str) -> std::io::Result<()> {
    println!("$ {script}");
    print!("{}", lab.sh(script)?);
    Ok(())
}

/// The `ovs-port-agent` binary (the guide's name for portagent) built
/// next to this one.
fn portagent() -> PathBuf {
    std::env::current_exe().unwrap().with_file_name("ovs-port-agent")
}

use portagent_lab::guide::{CONFIG as GUIDE_CONFIG, NET_STATE as GUIDE_STATE};

fn demo() -> std::io::Result<()> {
    step("Starting a throwaway lab: network + mount namespace, dbus, OVS (userspace datapath), systemd-networkd");
    // The repo's D-Bus policy, so the daemon can own its name on the lab's bus.
    let policy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd/dev.ovs.PortAgent1.conf");
    let mut lab = Lab::start_with(portagent_lab::Options { dbus_policies: vec![policy], ..Default::default() })?;
    println!("lab {} (logs in {}/logs)", lab.name(), lab.dir().display());
    lab.add_nic("eth0", "192.168.1.1/24")?;
    println!("eth0 plays the uplink NIC; its peer, in a second namespace, is the gateway 192.168.1.1");
    lab.write("/etc/ovs-port-agent/config.toml", GUIDE_CONFIG.as_bytes())?;
    lab.write("/etc/ovs-port-agent/network.yaml", GUIDE_STATE.as_bytes())?;
    show(&lab, "cat /etc/ovs-port-agent/network.yaml")?;

    let pa = portagent();
    let run = |args: &[&str]| -> std::io::Result<i32> {
        println!("$ ovs-port-agent {}", args.join(" "));
        let out = lab.command(&pa).args(args).output()?;
        print!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let code = out.status.code().unwrap_or(-1);
        println!("(exit {code})");
        Ok(code)
    };
    step("What will change? (nothing is changed yet)");
    run(&["show-diff", "/etc/ovs-port-agent/network.yaml"])?;

    step("Apply: checkpoint, one OVSDB transaction, networkd files, verify");
    run(&["apply-state", "/etc/ovs-port-agent/network.yaml"])?;
    show(&lab, "ovs-vsctl show")?;
    show(&lab, "networkctl list --no-pager")?;
    show(&lab, "ip -br addr; ip route")?;
    show(&lab, "ping -c 2 -W 2 192.168.1.1 | tail -2")?;

    step("The live state, as a state file (applying it is a no-op)");
    run(&["query-state", "--plugin", "net"])?;

    step("Apply the same file again: nothing to do");
    run(&["apply-state", "/etc/ovs-port-agent/network.yaml"])?;

    step(
        "A broken change (an MTU the bridge's device cannot carry, and a new address): verified, found wrong, rolled back",
    );
    let broken = GUIDE_STATE.replace("192.168.1.100", "192.168.1.150").replace(
        "      - name: ovsbr0\n        type: ovs-bridge\n",
        "      - name: ovsbr0\n        type: ovs-bridge\n        mtu: 65535\n",
    );
    assert_ne!(broken, GUIDE_STATE, "the guide's example still has the uplink line");
    lab.write("/etc/ovs-port-agent/broken.yaml", broken.as_bytes())?;
    run(&["apply-state", "/etc/ovs-port-agent/broken.yaml"])?;
    show(&lab, "ip -br addr show ovsbr0; ovs-vsctl list-ports ovsbr0")?;

    step("A change that must be confirmed (like `netplan try`): not committed, so it reverts by itself");
    let changed = GUIDE_STATE.replace("192.168.1.100", "192.168.1.120");
    lab.write("/etc/ovs-port-agent/try.yaml", changed.as_bytes())?;
    run(&["apply-state", "/etc/ovs-port-agent/try.yaml", "--confirm-timeout", "4", "--probe", "192.168.1.1"])?;
    show(&lab, "ip -br addr show ovsbr0")?;
    println!("(no `ovs-port-agent commit`: waiting for the deadline)");
    lab.wait_until(std::time::Duration::from_secs(30), "the unconfirmed change reverted", || {
        !lab.path("/var/lib/ovs-port-agent/journal.json").exists()
    })?;
    show(&lab, "ip -br addr show ovsbr0")?;

    step("The audit ledger: every change and rollback, hash-chained, Merkle tree, signed checkpoints");
    run(&["ledger", "show", "--last", "4"])?;
    run(&["ledger", "verify"])?;

    step("Plugins: net is built in; others install with `ovs-port-agent plugin install x.wasm`");
    run(&["plugin", "list"])?;

    step("The daemon on the (lab's) system bus: the guide's dbus-send commands");
    let mut daemon = lab.command(&pa).arg("daemon").stdin(std::process::Stdio::null()).spawn()?;
    lab.wait_until(std::time::Duration::from_secs(20), "dev.ovs.PortAgent1 on the bus", || {
        lab.sh("busctl --system list --no-pager").is_ok_and(|l| l.contains("dev.ovs.PortAgent1"))
    })?;
    let call = |method: &str| {
        format!(
            "dbus-send --system --print-reply --dest=dev.ovs.PortAgent1 /dev/ovs/PortAgent1 dev.ovs.PortAgent1.{method}"
        )
    };
    show(&lab, &call("ping"))?;
    show(&lab, &call("list_ports"))?;
    show(&lab, &call("verify_blockchain_integrity"))?;
    println!("(the CLI now goes through the daemon)");
    run(&["show-diff", "/etc/ovs-port-agent/network.yaml", "--output", "text"])?;
    // SAFETY: a plain signal to the daemon this demo started.
    unsafe { libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM) };
    daemon.wait()?;

    step("Tearing the lab down");
    let name = lab.name().to_string();
    drop(lab);
    println!("lab {name} removed: no namespace, mount or daemon left");
    Ok(())
}

/// A lab to try things in by hand (a plugin, a state file): held open
/// until Enter, end of input or SIGINT/SIGTERM, then torn down.
fn hold() -> std::io::Result<()> {
    let policy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd/dev.ovs.PortAgent1.conf");
    let mut lab = Lab::start_with(portagent_lab::Options { dbus_policies: vec![policy], ..Default::default() })?;
    lab.add_nic("eth0", "192.168.1.1/24")?;
    lab.write("/etc/ovs-port-agent/config.toml", GUIDE_CONFIG.as_bytes())?;
    lab.write("/etc/ovs-port-agent/network.yaml", GUIDE_STATE.as_bytes())?;
    println!("lab {} is up (logs in {}/logs); eth0's peer is 192.168.1.1", lab.name(), lab.dir().display());
    println!(
        "run commands in it with:\n  nsenter --net=/run/netns/{} --mount={}/mnt --uts={}/uts -- sh",
        lab.name(),
        lab.dir().display(),
        lab.dir().display()
    );
    println!("  e.g. {} apply-state /etc/ovs-port-agent/network.yaml", portagent().display());
    println!("press Enter (or send SIGTERM) to tear it down");
    // SAFETY: restoring default dispositions is async-signal-safe; the
    // blocked read below is interrupted and the lab dropped normally.
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut());
    }
    std::thread::spawn(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        // SAFETY: wakes the sigwait below.
        unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
    });
    let mut sig = 0;
    // SAFETY: waits for one of the blocked signals.
    unsafe { libc::sigwait(set.as_ptr(), &mut sig) };
    println!("tearing lab {} down", lab.name());
    drop(lab);
    Ok(())
}

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("hold") => match hold() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("lab failed: {e}");
                ExitCode::FAILURE
            }
        },
        Some("demo") => match demo() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("demo failed: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: portagent-lab demo | hold");
            ExitCode::from(2)
        }
    }
}
