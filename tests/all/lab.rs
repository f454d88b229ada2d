//! The lab itself: real OVS + networkd + dbus in namespaces, torn down
//! whatever happens, several side by side.

use portagent_lab::{LABS_DIR, Lab, reap_stale_labs};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn netns_exists(name: &str) -> bool {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().any(|l| l.split_whitespace().next() == Some(name))
}

fn mounted(path: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap().contains(&format!(" {} ", path.display()))
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

/// Daemons of a lab, from its pid file (what teardown must stop).
fn lab_pids(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("pids"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

fn assert_gone(name: &str, dir: &Path, pids: &[u32]) {
    assert!(!netns_exists(name), "netns {name} left behind");
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!mounted(dir), "{} still mounted", dir.display());
    for pid in pids {
        assert!(!alive(*pid), "daemon {pid} of {name} still running");
    }
}

/// Bridge through OVSDB + address through networkd = a routable link.
fn bridge_with_address(lab: &Lab, bridge: &str, cidr: &str) {
    lab.vsctl(&format!("add-br {bridge} -- set bridge {bridge} datapath_type=netdev")).unwrap();
    lab.write(
        format!("/etc/systemd/network/{bridge}.network"),
        format!("[Match]\nName={bridge}\n\n[Network]\nAddress={cidr}\nLinkLocalAddressing=no\n").as_bytes(),
    )
    .unwrap();
    lab.sh("networkctl reload").unwrap();
    lab.wait_networkd_state(bridge, "routable", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}; networkctl: {:?}", lab.sh("networkctl list --no-pager")));
    assert_eq!(lab.addresses(bridge).unwrap(), vec![cidr.to_string()]);
}

#[test]
fn ovs_bridge_gets_its_address_from_networkd() {
    let lab = Lab::start().unwrap();
    bridge_with_address(&lab, "ovsbr0", "192.0.2.10/24");
    assert!(lab.vsctl("list-br").unwrap().lines().any(|l| l == "ovsbr0"));
    let kind = lab.vsctl("get bridge ovsbr0 datapath_type").unwrap();
    assert_eq!(kind.trim(), "netdev");
    // The product's default paths point into the lab, not the host.
    assert!(lab.path("/etc/systemd/network/ovsbr0.network").exists());
    assert!(!Path::new("/etc/systemd/network/ovsbr0.network").exists());
    assert!(lab.path("/run/openvswitch/db.sock").exists());
    // Writing outside the lab-private trees would write the host's files.
    assert!(lab.write("/root/x.yaml", b"x").is_err());
    assert!(lab.write("/etc/../root/x.yaml", b"x").is_err());
    assert!(!Path::new("/root/x.yaml").exists());
}

#[test]
fn traffic_flows_from_the_bridge_to_an_upstream_peer() {
    let mut lab = Lab::start().unwrap();
    lab.add_nic("eth0", "198.51.100.1/24").unwrap();
    lab.vsctl("add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev -- add-port ovsbr0 eth0").unwrap();
    lab.write("/etc/systemd/network/eth0.network", b"[Match]\nName=eth0\n\n[Network]\nLinkLocalAddressing=no\n")
        .unwrap();
    lab.write(
        "/etc/systemd/network/ovsbr0.network",
        b"[Match]\nName=ovsbr0\n\n[Network]\nAddress=198.51.100.2/24\nLinkLocalAddressing=no\n",
    )
    .unwrap();
    lab.sh("networkctl reload").unwrap();
    lab.wait_networkd_state("ovsbr0", "routable", Duration::from_secs(20)).unwrap();
    lab.sh("ping -c 1 -W 5 198.51.100.1").unwrap();
}

#[test]
fn two_labs_run_side_by_side() {
    let a = std::thread::spawn(|| {
        let lab = Lab::start().unwrap();
        bridge_with_address(&lab, "ovsbr0", "192.0.2.1/24");
        lab
    });
    let b = std::thread::spawn(|| {
        let lab = Lab::start().unwrap();
        bridge_with_address(&lab, "ovsbr0", "192.0.2.2/24");
        lab
    });
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert_ne!(a.name(), b.name());
    // Same bridge name, separate worlds.
    assert_eq!(a.addresses("ovsbr0").unwrap(), vec!["192.0.2.1/24"]);
    assert_eq!(b.addresses("ovsbr0").unwrap(), vec!["192.0.2.2/24"]);
}

#[test]
fn failing_test_still_tears_its_lab_down() {
    let mut seen = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let lab = Lab::start().unwrap();
        seen = Some((lab.name().to_string(), lab.dir().to_path_buf(), lab_pids(lab.dir())));
        panic!("a test fails while its lab is up");
    }));
    assert!(result.is_err());
    let (name, dir, pids) = seen.unwrap();
    assert_eq!(pids.len(), 4, "dbus, ovsdb-server, ovs-vswitchd, networkd: {pids:?}");
    assert_gone(&name, &dir, &pids);
}

/// Run only as a child of `killed_test_process_is_cleaned_up_next_run`.
#[test]
#[ignore = "helper: started by killed_test_process_is_cleaned_up_next_run"]
fn helper_hold_a_lab_until_killed() {
    let Ok(report) = std::env::var("PORTAGENT_LAB_HELPER") else { return };
    let lab = Lab::start().unwrap();
    std::fs::write(&report, lab.name()).unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn killed_test_process_is_cleaned_up_next_run() {
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lab::helper_hold_a_lab_until_killed", "--ignored", "--nocapture"])
        .env("PORTAGENT_LAB_HELPER", report.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let name = loop {
        let name = std::fs::read_to_string(report.path()).unwrap();
        if !name.is_empty() {
            break name;
        }
        assert!(std::time::Instant::now() < deadline, "helper never started its lab");
        std::thread::sleep(Duration::from_millis(50));
    };
    let dir = Path::new(LABS_DIR).join(&name);
    let pids = lab_pids(&dir);
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    assert!(netns_exists(&name), "the killed process left its lab (as a crash would)");
    reap_stale_labs();
    assert_gone(&name, &dir, &pids);
}

#[test]
fn lab_bus_has_networkd_polkit_and_our_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("dev.ovs.LabTest1.conf");
    std::fs::write(
        &policy,
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><policy user="root"><allow own="dev.ovs.LabTest1"/></policy></busconfig>
"#,
    )
    .unwrap();
    let lab = portagent_lab::Lab::start_with(portagent_lab::Options {
        dbus_policies: vec![policy],
        polkit: true,
        ..Default::default()
    })
    .unwrap();
    assert!(lab.path("/etc/dbus-1/system.d/dev.ovs.LabTest1.conf").exists());
    assert!(!Path::new("/etc/dbus-1/system.d/dev.ovs.LabTest1.conf").exists(), "installed in the lab only");
    lab.wait_until(Duration::from_secs(10), "polkit on the lab's bus", || {
        lab.sh("busctl --system list --no-pager").is_ok_and(|l| l.contains("org.freedesktop.PolicyKit1"))
    })
    .unwrap();
    let names = lab.sh("busctl --system list --no-pager").unwrap();
    assert!(names.contains("org.freedesktop.network1"), "{names}");
    // The policy is live: root may own the name it grants.
    let owner = lab
        .command("/usr/bin/python3")
        .args(["-c", "import dbus; b = dbus.SystemBus(); print(b.request_name('dev.ovs.LabTest1'))"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), "1", "{}", String::from_utf8_lossy(&owner.stderr));
}
