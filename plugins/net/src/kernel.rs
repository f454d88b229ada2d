//! What `net` sets in the kernel itself, beside networkd's files: a link
//! that needs nothing from networkd but being up with static addresses is
//! brought up with them at once, in one netlink batch for all such links.
//! networkd reads the same from the link's file and adopts them (an
//! address its file asks for is not foreign to it), but it takes about
//! 4 ms of its CPU per link, seconds for a thousand; so verify takes the
//! kernel's word for these links, asking of networkd only that it has not
//! failed them, instead of waiting until it is done.
//!
//! Everything else (DHCP, a gateway, DNS, IPv6, `state: down`, NICs) is
//! left to networkd alone, and verify waits for networkd to finish it.

use crate::model::{Interface, Kind, State};
use portagent_sdk::netlink::{Address, LinkSetup};

/// Whether `iface`, as declared in its file, needs nothing from networkd
/// but being up with static IPv4 addresses, so the kernel alone shows it
/// set up (see the module).
pub fn settles(iface: &Interface) -> bool {
    let v4_static_only = iface
        .ipv4
        .as_ref()
        .filter(|c| c.enabled)
        .is_none_or(|c| c.dhcp != Some(true) && c.gateway.is_none() && c.dns.as_ref().is_none_or(|d| d.is_empty()));
    matches!(iface.kind, Kind::OvsBridge | Kind::OvsInterface)
        && matches!(iface.state, None | Some(State::Up))
        && !iface.ipv6.as_ref().is_some_and(|c| c.enabled)
        && v4_static_only
}

/// How `iface` is set up in the kernel, if it [`settles`] there.
pub fn setup(iface: &Interface) -> Option<LinkSetup> {
    if !settles(iface) {
        return None;
    }
    let addresses = iface
        .ipv4
        .as_ref()
        .filter(|c| c.enabled)
        .and_then(|c| c.address.as_ref())
        .into_iter()
        .flatten()
        .map(|a| Address { link: iface.name.clone(), ip: a.ip.clone(), prefix: a.prefix })
        .collect();
    Some(LinkSetup { link: iface.name.clone(), addresses, no_link_local: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IpConfig;

    fn v4(f: impl FnOnce(&mut IpConfig)) -> Option<IpConfig> {
        let mut c: IpConfig = serde_json::from_str(r#"{"address": [{"ip": "10.0.0.1", "prefix": 24}]}"#).unwrap();
        f(&mut c);
        Some(c)
    }

    #[test]
    fn only_up_ovs_links_with_static_ipv4_alone() {
        let mut port = Interface::new("p0", Kind::OvsInterface);
        port.ipv4 = v4(|_| {});
        let s = setup(&port).expect("a port with a static address");
        assert_eq!(
            (s.link.as_str(), s.addresses.len(), s.addresses[0].ip.as_str(), s.addresses[0].prefix, s.no_link_local),
            ("p0", 1, "10.0.0.1", 24, true)
        );
        assert!(setup(&Interface::new("ovsbr0", Kind::OvsBridge)).is_some_and(|s| s.addresses.is_empty()));
        port.ipv4 = v4(|c| c.enabled = false);
        assert!(setup(&port).is_some_and(|s| s.addresses.is_empty()), "disabled: up, no addresses");

        let not = |f: &dyn Fn(&mut Interface)| {
            let mut i = Interface::new("p0", Kind::OvsInterface);
            i.ipv4 = v4(|_| {});
            f(&mut i);
            !settles(&i)
        };
        assert!(not(&|i| i.ipv4 = v4(|c| c.dhcp = Some(true))));
        assert!(not(&|i| i.ipv4 = v4(|c| c.gateway = Some("10.0.0.254".into()))));
        assert!(not(&|i| i.ipv4 = v4(|c| c.dns = Some(vec!["10.0.0.53".into()]))));
        assert!(not(&|i| i.ipv6 = v4(|c| c.address = None)));
        assert!(not(&|i| i.state = Some(State::Down)));
        assert!(not(&|i| i.kind = Kind::Ethernet));
    }
}
