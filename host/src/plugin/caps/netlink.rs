//! `netlink`: typed reads and changes of kernel links, addresses and routes
//! through rtnetlink, in the network namespace the host runs in.
//!
//! Reads need the `read` scope, changes the `write` scope. Each call opens
//! its own netlink socket, on the plugin call's own runtime (so a plugin
//! call never blocks the daemon's).

use super::{CapContext, Spec};
use super::Capability;
use crate::plugin::bindings::current::CapError;
use crate::plugin::bindings::current::portagent::plugin::netlink::{
    Address, Host, Link, LinkSetup, Route,
};
use futures::{StreamExt, TryStreamExt};
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoKind, LinkAttribute, LinkFlags, LinkInfo, State,
};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol};
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

type NlResult<T> = Result<T, CapError>;

fn failed(what: &str, e: impl std::fmt::Display) -> CapError {
    CapError::Failed(format!("netlink {what}: {e}"))
}

/// Runs `f` with a fresh netlink handle, bounded by `timeout`.
async fn with_handle<T, F, Fut>(timeout: Duration, f: F) -> NlResult<T>
where
    F: FnOnce(Handle) -> Fut,
    Fut: std::future::Future<Output = NlResult<T>>,
{
    let (connection, handle, _) = rtnetlink::new_connection().map_err(|e| failed("socket", e))?;
    let conn = tokio::spawn(connection);
    let result = tokio::time::timeout(timeout, f(handle))
        .await
        .unwrap_or_else(|_| Err(failed("call", format!("timed out after {timeout:?}"))));
    conn.abort();
    result
}

async fn links(handle: &Handle) -> NlResult<Vec<Link>> {
    let mut stream = handle.link().get().execute();
    let mut out = Vec::new();
    while let Some(msg) = stream.try_next().await.map_err(|e| failed("list links", e))? {
        let mut link = Link {
            index: msg.header.index,
            name: String::new(),
            kind: String::new(),
            mtu: 0,
            up: msg.header.flags.contains(LinkFlags::Up),
            oper_state: "unknown".into(),
            mac: String::new(),
        };
        for attr in msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => link.name = n,
                LinkAttribute::Mtu(m) => link.mtu = m,
                LinkAttribute::OperState(s) => link.oper_state = oper_state(s),
                LinkAttribute::Address(a) => {
                    link.mac = a.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
                }
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(kind) = info {
                            link.kind = match kind {
                                InfoKind::Other(s) => s,
                                k => k.to_string(),
                            };
                        }
                    }
                }
                _ => {}
            }
        }
        out.push(link);
    }
    Ok(out)
}

fn oper_state(s: State) -> String {
    match s {
        State::Up => "up",
        State::Down => "down",
        State::LowerLayerDown => "lowerlayerdown",
        State::Dormant => "dormant",
        State::Testing => "testing",
        State::NotPresent => "notpresent",
        _ => "unknown",
    }
    .into()
}

async fn index_of(handle: &Handle, name: &str) -> NlResult<u32> {
    let mut stream = handle.link().get().match_name(name.to_string()).execute();
    match stream.try_next().await {
        Ok(Some(msg)) => Ok(msg.header.index),
        Ok(None) | Err(_) => Err(CapError::Failed(format!("no link named {name:?}"))),
    }
}

async fn names(handle: &Handle) -> NlResult<HashMap<u32, String>> {
    Ok(links(handle).await?.into_iter().map(|l| (l.index, l.name)).collect())
}

async fn addresses(handle: &Handle) -> NlResult<Vec<Address>> {
    let names = names(handle).await?;
    let mut stream = handle.address().get().execute();
    let mut out = Vec::new();
    while let Some(msg) = stream.try_next().await.map_err(|e| failed("list addresses", e))? {
        let ip = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        });
        if let Some(ip) = ip {
            out.push(Address {
                link: names.get(&msg.header.index).cloned().unwrap_or_default(),
                ip: ip.to_string(),
                prefix: msg.header.prefix_len,
            });
        }
    }
    Ok(out)
}

async fn routes(handle: &Handle) -> NlResult<Vec<Route>> {
    let names = names(handle).await?;
    let mut out = Vec::new();
    let queries = [
        RouteMessageBuilder::<Ipv4Addr>::new().table_id(0).build(),
        RouteMessageBuilder::<Ipv6Addr>::new().table_id(0).build(),
    ];
    for query in queries {
        let mut stream = handle.route().get(query).execute();
        while let Some(msg) = stream.try_next().await.map_err(|e| failed("list routes", e))? {
            out.push(route_of(&msg, &names));
        }
    }
    Ok(out)
}

fn route_of(msg: &RouteMessage, names: &HashMap<u32, String>) -> Route {
    let ip = |a: &RouteAddress| match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    };
    let v6 = msg.header.address_family == rtnetlink::packet_route::AddressFamily::Inet6;
    let mut destination = if v6 { "::".to_string() } else { "0.0.0.0".to_string() };
    let mut route = Route {
        destination: String::new(),
        gateway: None,
        link: None,
        metric: None,
        table: u32::from(msg.header.table),
        protocol: protocol_name(msg.header.protocol),
    };
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(a) => {
                if let Some(ip) = ip(a) {
                    destination = ip.to_string()
                }
            }
            RouteAttribute::Gateway(a) => route.gateway = ip(a).map(|i| i.to_string()),
            RouteAttribute::Oif(i) => route.link = names.get(i).cloned(),
            RouteAttribute::Priority(p) => route.metric = Some(*p),
            RouteAttribute::Table(t) => route.table = *t,
            _ => {}
        }
    }
    route.destination = format!("{destination}/{}", msg.header.destination_prefix_length);
    route
}

fn protocol_name(p: RouteProtocol) -> String {
    match p {
        RouteProtocol::Kernel => "kernel".into(),
        RouteProtocol::Boot => "boot".into(),
        RouteProtocol::Static => "static".into(),
        RouteProtocol::Dhcp => "dhcp".into(),
        RouteProtocol::Ra => "ra".into(),
        other => u8::from(other).to_string(),
    }
}

fn parse_ip(field: &str, text: &str) -> NlResult<IpAddr> {
    text.parse().map_err(|_| CapError::Failed(format!("{field}: {text:?} is not an IP address")))
}

/// Whether `prefix` is a prefix length of `ip`'s family.
fn prefix_fits(ip: IpAddr, prefix: u8) -> bool {
    prefix <= if ip.is_ipv4() { 32 } else { 128 }
}

/// `A.B.C.D/N` -> (address, prefix), with the prefix checked for the family.
fn parse_cidr(field: &str, text: &str) -> NlResult<(IpAddr, u8)> {
    let bad = || CapError::Failed(format!("{field}: {text:?} is not ADDRESS/PREFIX"));
    let (ip, prefix) = text.split_once('/').ok_or_else(bad)?;
    let ip = parse_ip(field, ip)?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if !prefix_fits(ip, prefix) {
        return Err(bad());
    }
    Ok((ip, prefix))
}

async fn route_message(handle: &Handle, route: &Route) -> NlResult<RouteMessage> {
    let (dest, prefix) = parse_cidr("destination", &route.destination)?;
    let mut b =
        RouteMessageBuilder::<IpAddr>::new().destination_prefix(dest, prefix).map_err(|e| failed("route", e))?;
    if let Some(gw) = &route.gateway {
        b = b.gateway(parse_ip("gateway", gw)?).map_err(|e| failed("route", e))?;
    }
    if let Some(link) = &route.link {
        b = b.output_interface(index_of(handle, link).await?);
    }
    if let Some(metric) = route.metric {
        b = b.priority(metric);
    }
    if route.table != 0 {
        b = b.table_id(route.table);
    }
    Ok(b.build())
}

/// How many links `set-up-links` works on at once.
const SETUP_IN_FLIGHT: usize = 64;

/// A `set-up-links` entry, checked: the link's index and parsed addresses.
struct Setup {
    link: String,
    index: u32,
    addresses: Vec<(IpAddr, u8)>,
    no_link_local: bool,
}

/// Checks every entry against the links there are, before anything is
/// changed.
fn checked_setups(links: Vec<LinkSetup>, index: &HashMap<String, u32>) -> NlResult<Vec<Setup>> {
    links
        .into_iter()
        .map(|s| {
            let idx = *index.get(&s.link).ok_or_else(|| CapError::Failed(format!("no link named {:?}", s.link)))?;
            let addresses = s
                .addresses
                .iter()
                .map(|a| {
                    if a.link != s.link {
                        return Err(CapError::Failed(format!(
                            "address {}/{} is for {:?}, not {:?}",
                            a.ip, a.prefix, a.link, s.link
                        )));
                    }
                    let ip = parse_ip("ip", &a.ip)?;
                    if !prefix_fits(ip, a.prefix) {
                        return Err(CapError::Failed(format!("prefix: {} is too long for {}", a.prefix, a.ip)));
                    }
                    Ok((ip, a.prefix))
                })
                .collect::<NlResult<Vec<_>>>()?;
            Ok(Setup { link: s.link, index: idx, addresses, no_link_local: s.no_link_local })
        })
        .collect()
}

/// One link: link-local generation off (while it is still down), its
/// addresses, then up.
async fn set_up(h: Handle, s: Setup) -> NlResult<()> {
    let fail = |what: String| move |e| failed(&what, e);
    if s.no_link_local {
        let off = LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(vec![AfSpecInet6::AddrGenMode(
            In6AddrGenMode::None,
        )])]);
        let msg = LinkUnspec::new_with_index(s.index).append_extra_attribute(off).build();
        h.link().set(msg).execute().await.map_err(fail(format!("{}: link-local off", s.link)))?;
    }
    for (ip, prefix) in s.addresses {
        let req = h.address().add(s.index, ip, prefix).replace();
        req.execute().await.map_err(fail(format!("add {ip}/{prefix} to {}", s.link)))?;
    }
    let msg = LinkUnspec::new_with_index(s.index).up().build();
    h.link().set(msg).execute().await.map_err(fail(format!("set {} up", s.link)))
}

impl CapContext {
    /// Checks the scope, then runs `f` against the kernel.
    async fn netlink<T, F, Fut>(&mut self, scope: &str, f: F) -> wasmtime::Result<NlResult<T>>
    where
        F: FnOnce(Handle) -> Fut,
        Fut: std::future::Future<Output = NlResult<T>>,
    {
        if let Err(e) = self.grants.require(&self.plugin, Capability::NETLINK, scope) {
            return Ok(Err(e));
        }
        let timeout = self.remaining(Capability::NETLINK)?;
        Ok(with_handle(timeout, f).await)
    }
}

impl Host for CapContext {
    async fn list_links(&mut self) -> wasmtime::Result<NlResult<Vec<Link>>> {
        self.netlink("read", |h| async move { links(&h).await }).await
    }

    async fn list_addresses(&mut self) -> wasmtime::Result<NlResult<Vec<Address>>> {
        self.netlink("read", |h| async move { addresses(&h).await }).await
    }

    async fn list_routes(&mut self) -> wasmtime::Result<NlResult<Vec<Route>>> {
        self.netlink("read", |h| async move { routes(&h).await }).await
    }

    async fn set_link_up(&mut self, link: String, up: bool) -> wasmtime::Result<NlResult<()>> {
        self.netlink("write", |h| async move {
            let index = index_of(&h, &link).await?;
            let msg = LinkUnspec::new_with_index(index);
            let msg = if up { msg.up() } else { msg.down() }.build();
            h.link().set(msg).execute().await.map_err(|e| failed(&format!("set {link} up={up}"), e))
        })
        .await
    }

    async fn set_link_mtu(&mut self, link: String, mtu: u32) -> wasmtime::Result<NlResult<()>> {
        self.netlink("write", |h| async move {
            let index = index_of(&h, &link).await?;
            let msg = LinkUnspec::new_with_index(index).mtu(mtu).build();
            h.link().set(msg).execute().await.map_err(|e| failed(&format!("set {link} mtu {mtu}"), e))
        })
        .await
    }

    async fn add_address(&mut self, address: Address) -> wasmtime::Result<NlResult<()>> {
        self.netlink("write", |h| async move {
            let ip = parse_ip("ip", &address.ip)?;
            let index = index_of(&h, &address.link).await?;
            h.address()
                .add(index, ip, address.prefix)
                .execute()
                .await
                .map_err(|e| failed(&format!("add {}/{} to {}", address.ip, address.prefix, address.link), e))
        })
        .await
    }

    async fn del_address(&mut self, address: Address) -> wasmtime::Result<NlResult<()>> {
        self.netlink("write", |h| async move {
            let ip = parse_ip("ip", &address.ip)?;
            let index = index_of(&h, &address.link).await?;
            let mut stream = h.address().get().set_link_index_filter(index).execute();
            while let Some(msg) = stream.try_next().await.map_err(|e| failed("list addresses", e))? {
                let matches = msg.header.prefix_len == address.prefix
                    && msg.attributes.iter().any(|a| matches!(a, AddressAttribute::Address(x) if *x == ip));
                if matches {
                    return h.address().del(msg).execute().await.map_err(|e| failed("delete address", e));
                }
            }
            Err(CapError::Failed(format!("{}/{} is not on {}", address.ip, address.prefix, address.link)))
        })
        .await
    }

    async fn add_route(&mut self, route: Route) -> wasmtime::Result<NlResult<()>> {
        self.netlink("write", |h| async move {
            let msg = route_message(&h, &route).await?;
            h.route().add(msg).execute().await.map_err(|e| failed(&format!("add route {}", route.destination), e))
        })
        .await
    }

    async fn set_up_links(&mut self, links: Vec<LinkSetup>) -> wasmtime::Result<NlResult<()>> {
        self.netlink("write", |h| async move {
            let index: HashMap<String, u32> = names(&h).await?.into_iter().map(|(i, n)| (n, i)).collect();
            let setups = checked_setups(links, &index)?;
            futures::stream::iter(setups)
                .map(|s| set_up(h.clone(), s))
                .buffer_unordered(SETUP_IN_FLIGHT)
                .try_collect::<Vec<()>>()
                .await
                .map(drop)
        })
        .await
    }

    async fn del_route(&mut self, route: Route) -> wasmtime::Result<NlResult<()>> {
        self.netlink("write", |h| async move {
            let msg = route_message(&h, &route).await?;
            h.route().del(msg).execute().await.map_err(|e| failed(&format!("delete route {}", route.destination), e))
        })
        .await
    }
}

/// `netlink`: kernel links, addresses and routes: `read`, `write`.
pub const CAPABILITY: Capability = Capability("netlink");

pub static SPEC: Spec = Spec {
    capability: CAPABILITY,
    scope_item: |item| item == "read" || item == "write",
    scope_expected: || "`read` and/or `write`".into(),
    empty_scope_grants: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(link: &str, addresses: &[(&str, &str, u8)]) -> LinkSetup {
        LinkSetup {
            link: link.into(),
            addresses: addresses
                .iter()
                .map(|(l, ip, p)| Address { link: (*l).into(), ip: (*ip).into(), prefix: *p })
                .collect(),
            no_link_local: true,
        }
    }

    #[test]
    fn set_up_links_checks_every_entry_first() {
        let index: HashMap<String, u32> = [("p0".to_string(), 7), ("p1".to_string(), 8)].into();
        let ok = checked_setups(vec![setup("p0", &[("p0", "10.0.0.1", 24)]), setup("p1", &[])], &index).unwrap();
        assert_eq!(
            (ok[0].index, ok[0].addresses.clone(), ok[1].index),
            (7, vec![("10.0.0.1".parse().unwrap(), 24)], 8)
        );
        let err = |links| match checked_setups(links, &index) {
            Err(CapError::Failed(m)) => m,
            other => panic!("{:?}", other.map(|v| v.len())),
        };
        assert!(err(vec![setup("p0", &[]), setup("p9", &[])]).contains("no link named \"p9\""));
        assert!(err(vec![setup("p0", &[("p1", "10.0.0.1", 24)])]).contains("is for \"p1\", not \"p0\""));
        assert!(err(vec![setup("p0", &[("p0", "10.0.0.1", 33)])]).starts_with("prefix:"));
        assert!(err(vec![setup("p0", &[("p0", "ten", 8)])]).starts_with("ip:"));
    }

    #[test]
    fn cidr_parsing_names_the_field() {
        assert_eq!(parse_cidr("d", "10.0.0.0/8").unwrap(), ("10.0.0.0".parse().unwrap(), 8));
        assert_eq!(parse_cidr("d", "::/0").unwrap().1, 0);
        assert!(
            matches!(parse_cidr("destination", "10.0.0.0/33"), Err(CapError::Failed(m)) if m.starts_with("destination:"))
        );
        assert!(parse_cidr("d", "10.0.0.0").is_err());
        assert!(parse_cidr("d", "banana/3").is_err());
    }
}
