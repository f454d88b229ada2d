//! The live truth: OVSDB rows, the kernel's links, addresses and routes
//! (netlink), and portagent's own networkd files; and the `net` section
//! that reproduces it (what `query` returns).

use crate::model::{Address, Interface, IpConfig, Kind, NetState, State};
use crate::networkd::{self, ManagedFile};
use crate::ovs::{self, OvsView};
use portagent_sdk::netlink::{self, Link, Route};
use portagent_sdk::PluginError;
use std::collections::BTreeMap;

/// Link kinds reported as `ethernet` (NICs and their stand-ins).
const ETHERNET_KINDS: &[&str] = &["", "veth", "dummy", "macvlan", "vlan"];

pub struct Live {
    pub ovs: OvsView,
    pub links: Vec<Link>,
    pub addresses: Vec<netlink::Address>,
    pub routes: Vec<Route>,
    pub files: BTreeMap<String, ManagedFile>,
}

impl Live {
    pub fn read() -> Result<Live, PluginError> {
        Ok(Live {
            ovs: ovs::read()?,
            links: netlink::list_links()?,
            addresses: netlink::list_addresses()?,
            routes: netlink::list_routes()?,
            files: networkd::read_all()?,
        })
    }

    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// Addresses on `link` of one family, link-local ones left out.
    fn addresses_of(&self, link: &str, v6: bool) -> Vec<Address> {
        let mut v: Vec<Address> = self
            .addresses
            .iter()
            .filter(|a| a.link == link && a.ip.contains(':') == v6)
            .filter(|a| !(v6 && a.ip.to_ascii_lowercase().starts_with("fe80:")))
            .map(|a| Address { ip: a.ip.clone(), prefix: a.prefix })
            .collect();
        v.sort();
        v
    }

    fn gateway_of(&self, link: &str, v6: bool) -> Option<String> {
        let default = if v6 { "::/0" } else { "0.0.0.0/0" };
        self.routes
            .iter()
            .filter(|r| r.destination == default && r.link.as_deref() == Some(link) && r.table == 254)
            .find_map(|r| r.gateway.clone())
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
            dns: Some(dns),
        }
    }

    fn interface(&self, name: &str, kind: Kind) -> Interface {
        let link = self.link(name);
        let controller = self.ovs.bridge_of(name).map(|b| b.name.clone());
        let ovs_mtu = self.ovs.iface(name).and_then(|i| i.mtu_request);
        let mut iface = Interface {
            state: Some(if link.is_some_and(|l| l.up) { State::Up } else { State::Down }),
            controller,
            mtu: link.map(|l| l.mtu).or(ovs_mtu),
            ipv4: Some(self.ip_config(name, false)),
            ipv6: Some(self.ip_config(name, true)),
            ..Interface::new(name, kind)
        };
        if let Some(b) = self.ovs.bridge(name).filter(|_| kind == Kind::OvsBridge) {
            iface.ports = Some(b.port_specs());
            iface.datapath_type = Some(if b.datapath_type.is_empty() { "system".into() } else { b.datapath_type.clone() });
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
        for name in &internal {
            interfaces.push(self.interface(name, Kind::OvsInterface));
        }
        let mut nics: Vec<&Link> = self
            .links
            .iter()
            .filter(|l| l.name != "lo" && ETHERNET_KINDS.contains(&l.kind.as_str()))
            .filter(|l| self.ovs.bridge(&l.name).is_none() && !internal.contains(&l.name.as_str()))
            .collect();
        nics.sort_by(|a, b| a.name.cmp(&b.name));
        for l in nics {
            interfaces.push(self.interface(&l.name, Kind::Ethernet));
        }
        NetState { interfaces }
    }
}
