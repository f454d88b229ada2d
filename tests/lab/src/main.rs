//! `portagent-lab demo`: the README's first command. Starts a throwaway lab,
//! walks through what portagent does in it, and tears it down.

use portagent_lab::Lab;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn step(title: &str) {
    println!("\n\x1b[1m==> {title}\x1b[0m");
}

fn show(lab: &Lab, script: &str) -> std::io::Result<()> {
    println!("$ {script}");
    print!("{}", lab.sh(script)?);
    Ok(())
}

/// The `portagent` binary built next to this one.
fn portagent() -> PathBuf {
    std::env::current_exe().unwrap().with_file_name("portagent")
}

fn demo() -> std::io::Result<()> {
    step("Starting a throwaway lab: network + mount namespace, dbus, OVS (userspace datapath), systemd-networkd");
    let mut lab = Lab::start()?;
    println!("lab {} (logs in {}/logs)", lab.name(), lab.dir().display());
    lab.add_nic("eth0", "192.168.1.1/24")?;
    println!("eth0 plays the uplink NIC; its peer, in a second namespace, is the gateway 192.168.1.1");

    step("The plugin sandbox: install a component, see what it asked for and what was granted");
    let guests = std::env::current_exe()?.parent().unwrap().parent().unwrap().join("wasm-guests/wasm32-wasip2/release");
    let probe = guests.join("probe.wasm");
    let pa = portagent();
    let run = |args: &[&str]| -> std::io::Result<()> {
        println!("$ portagent {}", args.join(" "));
        let out = lab.command(&pa).args(args).output()?;
        print!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        Ok(())
    };
    run(&["plugin", "install", probe.to_str().unwrap(), "--grant", "log", "--grant", "ovsdb=Bridge"])?;
    run(&["plugin", "list"])?;
    run(&["plugin", "info", "probe"])?;

    step("The guide's example network (ovsbr0 + uplink eth0 + 192.168.1.100/24), made the way the net plugin will: OVSDB + a .network file");
    lab.vsctl("add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev -- add-port ovsbr0 eth0")?;
    lab.write("/etc/systemd/network/eth0.network", b"[Match]\nName=eth0\n\n[Network]\nLinkLocalAddressing=no\n")?;
    lab.write(
        "/etc/systemd/network/ovsbr0.network",
        b"[Match]\nName=ovsbr0\n\n[Network]\nAddress=192.168.1.100/24\nGateway=192.168.1.1\nLinkLocalAddressing=no\n",
    )?;
    lab.sh("networkctl reload")?;
    lab.wait_networkd_state("ovsbr0", "routable", Duration::from_secs(20))?;
    show(&lab, "ovs-vsctl show")?;
    show(&lab, "networkctl list --no-pager")?;
    show(&lab, "ip -br addr show ovsbr0; ip route")?;
    show(&lab, "ping -c 2 -W 2 192.168.1.1 | tail -2")?;

    step("Tearing the lab down");
    let name = lab.name().to_string();
    drop(lab);
    println!("lab {name} removed: no namespace, mount or daemon left");
    Ok(())
}

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("demo") => match demo() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("demo failed: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: portagent-lab demo");
            ExitCode::from(2)
        }
    }
}
