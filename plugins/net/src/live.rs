//! The live truth: OVSDB rows, the kernel's links, addresses and routes
//! (netlink), and portagent's own networkd files; and the `net` section
//! that reproduces it (what `query` returns).

use crate::model::{Address, Interface, IpConfig, Kind, NetState, State};
use crate::networkd::{self, ManagedFile};
use crate::ovs::{self, OvsView};
use portagent_sdk::PluginError;
use portagent_sdk::netlink::{self, Link, Route};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Link kinds reported as `ethernet` (NICs and their stand-ins).
// `tun`: a VM's tap.
const ETHERNET_KINDS: &[&str] = &["", "veth", "dummy", "macvlan", "vlan", "tun"];

/// OVS's own links: the userspace datapath's tap (`ovs-netdev`) and the
/// kernel datapath's (`ovs-system`). Nobody configures them; a state file
/// that named them could not be applied anywhere else.
const OVS_DATAPATH_LINKS: &[&str] = &["ovs-netdev", "ovs-system"];

pub struct Live {
    pub ovs: OvsView,
    pub links: Vec<Link>,
    pub addresses: Vec<netlink::Address>,
    pub routes: Vec<Route>,
    pub files: BTreeMap<String, ManagedFile>,
    /// Lookups by link name (a host may have thousands of links).
    link_at: HashMap<String, usize>,
    addresses_at: HashMap<String, Vec<usize>>,
    /// The gateway of each link's default route in the main table, by
    /// (link, IPv6).
    gateways: HashMap<(String, bool), String>,
}

impl Live {
    pub fn read() -> Result<Live, PluginError> {
        Ok(Live::new(
            ovs::read()?,
            netlink::list_links()?,
            netlink::list_addresses()?,
            netlink::list_routes()?,
            networkd::read_all()?,
        ))
    }

    /// The live state from what was read, indexed.
    pub fn new(
        ovs: OvsView,
        links: Vec<Link>,
        addresses: Vec<netlink::Address>,
        routes: Vec<Route>,
        files: BTreeMap<String, ManagedFile>,
    ) -> Live {
        let mut link_at = HashMap::new();
        for (i, l) in links.iter().enumerate() {
            link_at.entry(l.name.clone()).or_insert(i);
        }
        let mut addresses_at: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in addresses.iter().enumerate() {
            addresses_at.entry(a.link.clone()).or_default().push(i);
        }
        let mut gateways = HashMap::new();
        for r in routes.iter().filter(|r| r.table == 254) {
            let v6 = match r.destination.as_str() {
                "0.0.0.0/0" => false,
                "::/0" => true,
                _ => continue,
            };
            if let (Some(link), Some(gw)) = (&r.link, &r.gateway) {
                gateways.entry((link.clone(), v6)).or_insert_with(|| gw.clone());
            }
        }
        Live { ovs, links, addresses, routes, files, link_at, addresses_at, gateways }
    }

    pub fn link(&self, name: &str) -> Option<&Link> {
        self.link_at.get(name).map(|&i| &self.links[i])
    }

    /// Addresses on `link` of one family, link-local ones left out.
    fn addresses_of(&self, link: &str, v6: bool) -> Vec<Address> {
        let mut v: Vec<Address> = self
            .addresses_at
            .get(link)
            .into_iter()
            .flatten()
            .map(|&i| &self.addresses[i])
            .filter(|a| a.ip.contains(':') == v6)
            .filter(|a| !(v6 && a.ip.to_ascii_lowercase().starts_with("fe80:")))
            .map(|a| Address { ip: a.ip.clone(), prefix: a.prefix })
            .collect();
        v.sort();
        v
    }

    fn gateway_of(&self, link: &str, v6: bool) -> Option<String> {
        self.gateways.get(&(link.to_string(), v6)).cloned()
    }

    fn ip_config(&self, name: &str, v6: bool) -> IpConfig {
        let declared = self.files.get(name).and_then(|f| f.declared.as_ref());
        let declared_ip = declared.and_then(|d| if v6 { d.ipv6.as_ref() } else { d.ipv4.as_ref() });
        let dhcp = declared_ip.and_then(|c| c.dhcp).unwrap_or(false);
        let address = self.addresses_of(name, v6);
        let dns: Vec<String> = declared_ip.and_then(|c| c.dns.clone()).unwrap_or_default();
        IpConfig {
            enabled: dhcp || !address.is_empty(),
            dhcp: Some(dhcp),
            address: Some(address),
            gateway: self.gateway_of(name, v6),
            gateway_on_link: declared_ip.and_then(|c| c.gateway_on_link),
            dns: Some(dns),
        }
    }

    fn interface(&self, name: &str, kind: Kind) -> Interface {
        let link = self.link(name);
        let bridge = self.ovs.bridge_of(name);
        let controller = bridge.map(|b| b.name.clone());
        let port = bridge.and_then(|b| b.port(name)).filter(|p| p.dynamic);
        let dynamic = port.is_some();
        let ovs_mtu = self.ovs.iface(name).and_then(|i| i.mtu_request);
        let mut iface = Interface {
            state: Some(if link.is_some_and(|l| l.up) { State::Up } else { State::Down }),
            controller,
            mtu: link.map(|l| l.mtu).or(ovs_mtu),
            ipv4: Some(self.ip_config(name, false)),
            ipv6: Some(self.ip_config(name, true)),
            dynamic: dynamic.then_some(true),
            alias: port.and_then(|p| p.alias.clone()),
            ..Interface::new(name, kind)
        };
        if dynamic {
            // Its link is its owner's (the container's, the VM's).
            (iface.state, iface.mtu) = (None, None);
        }
        if let Some(b) = self.ovs.bridge(name).filter(|_| kind == Kind::OvsBridge) {
            iface.ports = Some(b.port_specs());
            iface.datapath_type =
                Some(if b.datapath_type.is_empty() { "system".into() } else { b.datapath_type.clone() });
            iface.stp = Some(b.stp);
            iface.rstp = Some(b.rstp);
            iface.fail_mode = b.fail_mode;
        }
        iface
    }

    /// The live state as a `net` section: OVS bridges, OVS internal ports,
    /// then kernel NICs, each by name.
    pub fn state(&self) -> NetState {
        let mut interfaces = Vec::new();
        for b in &self.ovs.bridges {
            interfaces.push(self.interface(&b.name, Kind::OvsBridge));
        }
        let mut internal: Vec<&str> = self
            .ovs
            .bridges
            .iter()
            .flat_map(|b| b.ports.iter().filter(move |p| p.name != b.name))
            .filter(|p| p.interfaces.iter().any(|i| i.kind == "internal"))
            .map(|p| p.name.as_str())
            .collect();
        internal.sort();
        let is_internal: HashSet<&str> = internal.iter().copied().collect();
        for name in &internal {
            interfaces.push(self.interface(name, Kind::OvsInterface));
        }
        let mut nics: Vec<&Link> = self
            .links
            .iter()
            .filter(|l| l.name != "lo" && ETHERNET_KINDS.contains(&l.kind.as_str()))
            .filter(|l| !OVS_DATAPATH_LINKS.contains(&l.name.as_str()))
            .filter(|l| self.ovs.bridge(&l.name).is_none() && !is_internal.contains(l.name.as_str()))
            .collect();
        nics.sort_by(|a, b| a.name.cmp(&b.name));
        for l in nics {
            interfaces.push(self.interface(&l.name, Kind::Ethernet));
        }
        NetState { interfaces }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ovs::{OvsBridge, OvsIface, OvsPort};
    use std::time::Instant;

    /// A bridge with `n` internal ports, each with an address and the
    /// kernel's three routes for it, and portagent's files.
    pub(crate) fn live(n: usize) -> Live {
        let iface = |name: &str| OvsIface {
            uuid: format!("u-{name}"),
            name: name.into(),
            kind: "internal".into(),
            mtu_request: None,
            error: None,
            ofport: Some(1),
            peer: None,
        };
        let port = |name: &str| OvsPort {
            uuid: format!("p-{name}"),
            name: name.into(),
            interfaces: vec![iface(name)],
            tag: None,
            trunks: vec![],
            vlan_mode: None,
            bond_mode: None,
            owned: true,
            dynamic: false,
            alias: None,
        };
        let names: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
        let mut ports = vec![port("ovsbr0")];
        ports.extend(names.iter().map(|n| port(n)));
        let bridge = OvsBridge {
            uuid: "b".into(),
            name: "ovsbr0".into(),
            datapath_type: "netdev".into(),
            owned: true,
            stp: false,
            rstp: false,
            fail_mode: None,
            ports,
            ports_raw: serde_json::Value::Null,
            port_at: Default::default(),
        };
        let link = |i: usize, name: &str| Link {
            index: i as u32,
            name: name.into(),
            kind: "tun".into(),
            mtu: 1500,
            up: true,
            oper_state: "unknown".into(),
            mac: String::new(),
        };
        let ip = |i: usize| format!("10.{}.{}.1", 100 + i / 256, i % 256);
        let route = |dest: String, link: &str, table: u32| Route {
            destination: dest,
            gateway: None,
            link: Some(link.into()),
            metric: None,
            table,
            protocol: "kernel".into(),
            kind: portagent_sdk::netlink::RouteKind::Unicast,
            source: None,
        };
        let mut files = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            let mut d = Interface::new(name, Kind::OvsInterface);
            d.controller = Some("ovsbr0".into());
            d.ipv4 = Some(IpConfig {
                enabled: true,
                dhcp: None,
                address: Some(vec![Address { ip: ip(i), prefix: 24 }]),
                gateway: None,
                gateway_on_link: None,
                dns: None,
            });
            let content = networkd::render(&d);
            files.insert(name.clone(), ManagedFile { content, declared: Some(d) });
        }
        Live::new(
            OvsView::new("r".into(), vec![bridge]),
            std::iter::once(link(1, "lo")).chain(names.iter().enumerate().map(|(i, n)| link(i + 2, n))).collect(),
            names
                .iter()
                .enumerate()
                .map(|(i, n)| netlink::Address { link: n.clone(), ip: ip(i), prefix: 24 })
                .collect(),
            names
                .iter()
                .enumerate()
                .flat_map(|(i, n)| {
                    [
                        route(format!("{}/32", ip(i)), n, 255),
                        route(format!("{}/24", ip(i)), n, 254),
                        route(format!("{}/32", ip(i)), n, 255),
                    ]
                })
                .collect(),
            files,
        )
    }

    #[test]
    fn ovs_datapath_links_are_not_interfaces_of_the_state() {
        let mut live = live(1);
        let tap = Link { name: "ovs-netdev".into(), index: 90, ..live.links[0].clone() };
        let nic = Link { name: "eth1".into(), index: 91, kind: "veth".into(), ..live.links[0].clone() };
        live = Live::new(
            live.ovs,
            live.links.into_iter().chain([tap, nic]).collect(),
            live.addresses,
            live.routes,
            live.files,
        );
        let names: Vec<String> = live.state().interfaces.into_iter().map(|i| i.name).collect();
        assert!(names.contains(&"eth1".to_string()) && !names.contains(&"ovs-netdev".to_string()), "{names:?}");
    }

    #[test]
    #[ignore = "timing, prints numbers: cargo test --release -p net --lib -- --ignored --nocapture"]
    fn time_state_and_diff_at_1000_ports() {
        let live = live(1000);
        let t = Instant::now();
        let state = live.state();
        println!("state(): {:?}", t.elapsed());
        let t = Instant::now();
        let json = serde_json::to_string(&state).unwrap();
        println!("serialize: {:?} ({} bytes)", t.elapsed(), json.len());
        let t = Instant::now();
        let parsed = crate::model::parse(&json).unwrap();
        parsed.validate().unwrap();
        println!("parse + validate: {:?}", t.elapsed());
        let t = Instant::now();
        let actions = crate::diff::diff(&state, &parsed, "netdev", &|n| {
            live.ovs.bridge(n).is_some_and(|b| b.owned) || live.ovs.bridge_of(n).is_some_and(|b| b.owned)
        })
        .unwrap();
        println!("diff: {:?} ({} actions)", t.elapsed(), actions.len());
        let t = Instant::now();
        let m = crate::verify::mismatches(&parsed, &live, None);
        println!("mismatches: {:?} ({})", t.elapsed(), m.len());
    }
}
