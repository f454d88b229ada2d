//! systemd-networkd `.network` files, one per managed interface, in the
//! preopened config dir. Each starts with a marker and a JSON record of
//! what portagent declared; files without the marker are never touched.
//! `netcfg` adds routes and DNS as drop-ins (`NAME.network.d/`), never by
//! editing these files.

use crate::model::{Interface, IpConfig, Kind, State};
use portagent_sdk::PluginError;
use portagent_sdk::networkd::{Managed, ManagedFiles, NETWORKD_DIR};
use std::collections::BTreeMap;

pub const MARKER: &str = "# Managed by portagent (net plugin): edits are overwritten.";

/// `net`'s files: `10-portagent-NAME.network`, one per interface.
pub const FILES: ManagedFiles = ManagedFiles { prefix: "10-portagent-", suffix: ".network", marker: MARKER };

/// One of portagent's files; `declared` is the interface as declared (the
/// header record): the kernel cannot tell DHCP intent or DNS servers;
/// this can.
pub type ManagedFile = Managed<Interface>;

pub fn file_name(iface: &str) -> String {
    FILES.file_name(iface)
}

/// The file's path as networkd reports it.
pub fn path(iface: &str) -> String {
    format!("{NETWORKD_DIR}/{}", FILES.file_name(iface))
}

/// portagent's files in the config dir, by interface name (look-alikes
/// without the marker are someone else's and left out).
pub fn read_all() -> Result<BTreeMap<String, ManagedFile>, PluginError> {
    FILES.read_all()
}

fn dhcp_value(v4: bool, v6: bool) -> &'static str {
    match (v4, v6) {
        (true, true) => "yes",
        (true, false) => "ipv4",
        (false, true) => "ipv6",
        (false, false) => "no",
    }
}

fn enabled(c: &Option<IpConfig>) -> bool {
    c.as_ref().is_some_and(|c| c.enabled)
}

/// The file for an interface as declared (unset fields are not managed).
pub fn render(iface: &Interface) -> String {
    // The record holds only what this file is about: OVS settings (ports,
    // datapath, STP, an internal port's MTU) live in OVSDB, and a change
    // to them must not rewrite the file, or networkd would reconfigure the
    // link and drop its addresses for a moment.
    let record = Interface {
        ports: None,
        datapath_type: None,
        stp: None,
        rstp: None,
        fail_mode: None,
        force: None,
        mtu: iface.mtu.filter(|_| iface.kind == Kind::Ethernet),
        ..iface.clone()
    };
    let dhcp4 = iface.ipv4.as_ref().and_then(|c| c.dhcp).unwrap_or(false);
    let dhcp6 = iface.ipv6.as_ref().and_then(|c| c.dhcp).unwrap_or(false);
    let mut dns: Vec<String> = Vec::new();
    for c in [&iface.ipv4, &iface.ipv6].into_iter().flatten() {
        dns.extend(c.dns.iter().flatten().cloned());
    }
    let mut f = format!("{}\n[Match]\nName={}\n", FILES.header(&record), iface.name);
    let mut link = String::new();
    if iface.state == Some(State::Down) {
        link.push_str("ActivationPolicy=down\n");
    }
    if let (Some(mtu), Kind::Ethernet) = (iface.mtu, iface.kind) {
        link.push_str(&format!("MTUBytes={mtu}\n"));
    }
    if !link.is_empty() {
        f.push_str(&format!("\n[Link]\n{link}"));
    }
    f.push_str("\n[Network]\n");
    if iface.controller.is_some() && iface.kind == Kind::Ethernet {
        // A NIC given to a bridge: no addresses of its own, not even link-local.
        f.push_str("DHCP=no\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n");
        return f;
    }
    f.push_str(&format!("DHCP={}\n", dhcp_value(dhcp4, dhcp6)));
    let v6 = enabled(&iface.ipv6);
    f.push_str(if v6 { "LinkLocalAddressing=ipv6\n" } else { "LinkLocalAddressing=no\n" });
    f.push_str(if v6 && dhcp6 { "IPv6AcceptRA=yes\n" } else { "IPv6AcceptRA=no\n" });
    if iface.kind != Kind::Ethernet {
        // OVS internal ports may lack carrier when no port is up. No LLDP
        // receiver: OVS does not forward link-local frames to them, and
        // its packet socket costs each link a kernel RCU grace period
        // (about 10 ms, serially in networkd; most of an apply's time).
        f.push_str("ConfigureWithoutCarrier=yes\nLLDP=no\n");
    }
    let mut on_link = Vec::new();
    for c in [&iface.ipv4, &iface.ipv6].into_iter().flatten().filter(|c| c.enabled) {
        for a in c.address.iter().flatten() {
            f.push_str(&format!("Address={}\n", a.cidr()));
        }
        match (&c.gateway, c.gateway_on_link) {
            (Some(gw), Some(true)) => on_link.push(gw),
            (Some(gw), _) => f.push_str(&format!("Gateway={gw}\n")),
            (None, _) => {}
        }
    }
    for d in dns {
        f.push_str(&format!("DNS={d}\n"));
    }
    // A gateway outside the link's subnets needs a route of its own.
    for gw in on_link {
        f.push_str(&format!("\n[Route]\nGateway={gw}\nGatewayOnLink=yes\n"));
    }
    f
}

/// The key of an action that only writes `iface`'s file again: it was
/// changed or removed behind net (the rest of the link matched).
pub const FILE_KEY: &str = "networkd_file";

/// Why the file of `d` is not what net writes for it, if it is not:
/// edited by someone (or by an older net), or gone while `d` declares IP
/// settings only the file keeps across a reload or a boot.
pub fn behind(files: &BTreeMap<String, ManagedFile>, d: &Interface) -> Option<String> {
    match files.get(&d.name) {
        Some(f) => match &f.declared {
            Some(record) if render(record) == f.content => None,
            Some(_) => Some(format!("{} was changed behind portagent", path(&d.name))),
            None => Some(format!("{} was changed behind portagent: its record cannot be read", path(&d.name))),
        },
        None if d.dynamic != Some(true) && (enabled(&d.ipv4) || enabled(&d.ipv6)) => {
            Some(format!("{} is missing: networkd would drop {}'s addresses at its next reload", path(&d.name), d.name))
        }
        None => None,
    }
}

/// Whether another plugin adds to `iface`'s file with drop-ins
/// (`<file>.d/*.conf`).
pub fn has_drop_ins(iface: &str) -> bool {
    let dir = portagent_sdk::networkd::dir().join(format!("{}.d", file_name(iface)));
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| e.file_name().to_string_lossy().ends_with(".conf"))
}

/// The file named like portagent's for `iface` if one is there without
/// portagent's marker (someone else's, never written), as networkd names it.
pub fn foreign(iface: &str) -> Option<String> {
    FILES.foreign(iface).map(|_| path(iface))
}

/// Writes `content` as the file for `iface` if it differs; true if written.
/// A look-alike file without the marker is refused, never written.
pub fn write(iface: &str, content: &str) -> Result<bool, PluginError> {
    FILES.write(iface, content)
}

/// Removes portagent's file for `iface`; true if there was one.
pub fn remove(iface: &str) -> Result<bool, PluginError> {
    FILES.remove(iface)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, PortSpec};

    #[test]
    fn a_file_changed_or_removed_behind_net_is_noticed() {
        let b = bridge();
        let content = render(&b);
        let record: Interface = serde_json::from_str(
            content.lines().find_map(|l| l.strip_prefix(portagent_sdk::networkd::RECORD)).unwrap(),
        )
        .unwrap();
        let file = |content: &str| {
            BTreeMap::from([(b.name.clone(), ManagedFile { content: content.into(), declared: Some(record.clone()) })])
        };
        assert_eq!(behind(&file(&content), &b), None, "render of its own record is what net wrote");
        let edited = content.replace("Address=192.168.1.100/24", "Address=10.67.0.1/24");
        assert!(behind(&file(&edited), &b).unwrap().contains("changed behind portagent"));
        assert!(behind(&BTreeMap::new(), &b).unwrap().contains("is missing"));
        let mut plain = b.clone();
        plain.ipv4 = None;
        assert_eq!(behind(&BTreeMap::new(), &plain), None, "nothing for a file to keep");
    }

    fn bridge() -> Interface {
        Interface {
            state: Some(State::Up),
            ports: Some(vec![PortSpec::Name("eth0".into())]),
            ipv4: Some(IpConfig {
                enabled: true,
                dhcp: Some(false),
                address: Some(vec![Address { ip: "192.168.1.100".into(), prefix: 24 }]),
                gateway: Some("192.168.1.1".into()),
                gateway_on_link: None,
                dns: Some(vec!["8.8.8.8".into()]),
            }),
            ..Interface::new("ovsbr0", Kind::OvsBridge)
        }
    }

    #[test]
    fn bridge_with_static_address() {
        let f = render(&bridge());
        assert!(f.starts_with(MARKER));
        assert!(f.contains("[Match]\nName=ovsbr0\n"));
        assert!(f.contains("DHCP=no\nLinkLocalAddressing=no\nIPv6AcceptRA=no\nConfigureWithoutCarrier=yes\nLLDP=no\nAddress=192.168.1.100/24\nGateway=192.168.1.1\nDNS=8.8.8.8\n"), "{f}");
        assert!(!f.contains("[Link]"));
    }

    #[test]
    fn ovs_settings_do_not_change_the_file() {
        let b = bridge();
        let mut other = b.clone();
        other.ports = Some(vec![]);
        other.stp = Some(true);
        other.datapath_type = Some("netdev".into());
        other.mtu = Some(9000);
        assert_eq!(render(&b), render(&other), "a port or OVS change must not make networkd reconfigure the bridge");
    }

    #[test]
    fn a_gateway_on_the_link_gets_a_route_of_its_own() {
        let mut b = bridge();
        let v4 = b.ipv4.as_mut().unwrap();
        v4.gateway = Some("172.16.5.1".into());
        v4.gateway_on_link = Some(true);
        let f = render(&b);
        assert!(!f.contains("\nGateway=172.16.5.1\nDNS"), "{f}");
        assert!(f.ends_with("DNS=8.8.8.8\n\n[Route]\nGateway=172.16.5.1\nGatewayOnLink=yes\n"), "{f}");
    }

    #[test]
    fn enslaved_port_has_no_addresses() {
        let mut e = bridge();
        e.name = "eth0".into();
        e.kind = Kind::Ethernet;
        e.ports = None;
        e.controller = Some("ovsbr0".into());
        e.ipv4 = Some(IpConfig {
            enabled: false,
            dhcp: None,
            address: None,
            gateway: None,
            gateway_on_link: None,
            dns: None,
        });
        e.mtu = Some(9000);
        let f = render(&e);
        assert!(
            f.ends_with("[Link]\nMTUBytes=9000\n\n[Network]\nDHCP=no\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n"),
            "{f}"
        );
        assert!(f.contains("\"controller\":\"ovsbr0\""), "{f}");
        // The header round-trips to the declared interface.
        let header = f.lines().find_map(|l| l.strip_prefix(portagent_sdk::networkd::RECORD)).unwrap();
        assert_eq!(serde_json::from_str::<Interface>(header).unwrap(), e);
    }
}
