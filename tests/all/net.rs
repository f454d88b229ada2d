//! The built-in `net` plugin through the real binary, in a lab: the guide's
//! examples applied, re-applied, changed, removed, and failures rolled back.

use crate::support::text;
use portagent_lab::Lab;
use std::process::Output;

/// A lab with an uplink `eth0` whose peer (the gateway) is 192.168.1.1, and
/// portagent configured for OVS's userspace datapath.
pub fn net_lab() -> Lab {
    let mut lab = Lab::start().unwrap();
    lab.add_nic("eth0", "192.168.1.1/24").unwrap();
    lab.write("/etc/ovs-port-agent/config.toml", b"datapath_type = \"netdev\"\n").unwrap();
    lab
}

/// Runs `portagent ARGS` inside the lab (with its default paths).
pub fn portagent(lab: &Lab, args: &[&str]) -> Output {
    lab.command(env!("CARGO_BIN_EXE_portagent")).args(args).output().unwrap()
}

/// Writes `yaml` into the lab and applies it; returns the output.
pub fn apply(lab: &Lab, name: &str, yaml: &str) -> Output {
    let path = format!("/root/{name}.yaml");
    lab.write(&path, yaml.as_bytes()).unwrap();
    portagent(lab, &["apply-state", &path, "--output", "json"])
}

fn report(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// The guide's "Net Plugin" state file example, verbatim.
pub const GUIDE_NET: &str = r#"version: 1
plugins:
  net:
    interfaces:
      # OVS Bridge with static IP
      - name: ovsbr0
        type: ovs-bridge
        ports:
          - eth0  # Physical uplink
        ipv4:
          enabled: true
          dhcp: false
          address:
            - ip: 192.168.1.100
              prefix: 24
          gateway: 192.168.1.1
          dns:
            - 8.8.8.8
            - 8.8.4.4
      
      # Physical interface (enslaved)
      - name: eth0
        type: ethernet
        controller: ovsbr0  # Enslaved to bridge
        ipv4:
          enabled: false  # No IP on enslaved interface
      
      # Container bridge (no uplink)
      - name: ovsbr1
        type: ovs-bridge
        ipv4:
          enabled: true
          dhcp: false
          address:
            - ip: 10.0.100.1
              prefix: 24
"#;

#[test]
fn guide_example_applies_from_empty_and_reapplies_as_a_no_op() {
    let lab = net_lab();
    let out = apply(&lab, "net", GUIDE_NET);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let r = report(&out);
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["plugins"][0]["verified"], true, "{r}");

    // The real tools agree.
    let show = lab.vsctl("list-ports ovsbr0").unwrap();
    assert_eq!(show.trim(), "eth0");
    assert!(lab.vsctl("list-br").unwrap().lines().any(|l| l == "ovsbr1"));
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"]);
    assert_eq!(lab.addresses("ovsbr1").unwrap(), ["10.0.100.1/24"]);
    assert!(lab.addresses("eth0").unwrap().is_empty(), "an enslaved NIC has no address");
    assert!(lab.sh("ip route show default").unwrap().contains("default via 192.168.1.1 dev ovsbr0"));
    assert_eq!(lab.networkd_state("ovsbr0").as_deref(), Some("routable"));
    lab.sh("ping -c 1 -W 5 192.168.1.1").unwrap();

    // Again: nothing to do, nothing written.
    let files = lab.sh("ls -l --time-style=+%s.%N /etc/systemd/network").unwrap();
    let again = apply(&lab, "net", GUIDE_NET);
    let r = report(&again);
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["plugins"], serde_json::json!([]), "no plugin had anything to do: {r}");
    assert_eq!(lab.sh("ls -l --time-style=+%s.%N /etc/systemd/network").unwrap(), files);
    let diff = portagent(&lab, &["show-diff", "/root/net.yaml"]);
    assert_eq!(text(&diff.stdout).trim(), "{\n  \"plugin\": \"net\",\n  \"actions\": []\n}");

    // query-state's output is valid desired state, and applying it is a no-op.
    let q = portagent(&lab, &["query-state", "--plugin", "net"]);
    assert!(q.status.success(), "{}", text(&q.stderr));
    let again = apply(&lab, "queried", &text(&q.stdout));
    assert_eq!(report(&again)["plugins"], serde_json::json!([]), "{}", text(&q.stdout));
}
