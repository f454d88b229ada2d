//! `netlink`: typed reads and changes of kernel links, addresses, routes
//! and routing policy rules through rtnetlink, in the network namespace the host runs in.
//!
//! Reads need the `read` scope, changes the `write` scope. Each call opens
//! its own netlink socket, on the plugin call's own runtime (so a plugin
//! call never blocks the daemon's).

use super::{CapContext, Capability, Spec, valid_ifname};
use crate::plugin::bindings::current::CapError;
use crate::plugin::bindings::current::portagent::plugin::netlink::{
    Address, Host, Link, LinkSetup, Route, RouteKind, Rule,
};
use futures::{StreamExt, TryStreamExt};
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoKind, LinkAttribute, LinkFlags, LinkInfo, State,
};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use rtnetlink::{Handle, IpVersion, LinkUnspec, RouteMessageBuilder};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

type NlResult<T> = Result<T, CapError>;

/// A netlink call's error: a refusal by the kernel is classified by its
/// errno (a missing link is `not-found`, an address there already a
/// `conflict`, ...); anything else is `failed`.
fn failed(what: &str, e: impl std::fmt::Display + 'static) -> CapError {
    let message = format!("netlink {what}: {e}");
    match (&e as &dyn std::any::Any).downcast_ref::<rtnetlink::Error>() {
        Some(rtnetlink::Error::NetlinkError(m)) if m.raw_code() != 0 => super::by_errno(-m.raw_code(), message),
        _ => CapError::Failed(message),
    }
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
        .unwrap_or_else(|_| Err(CapError::Timeout(format!("netlink call timed out after {timeout:?}"))));
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
        Ok(None) => Err(CapError::NotFound(format!("no link named {name:?}"))),
        Err(e) => Err(lookup_failed(name, e)),
    }
}

/// A failed lookup of the link `name`: not found only when the kernel
/// says there is no such device (EPERM, a timeout, ... stay themselves).
fn lookup_failed(name: &str, e: rtnetlink::Error) -> CapError {
    if is_errno(&e, libc::ENODEV) {
        CapError::NotFound(format!("no link named {name:?}"))
    } else {
        failed(&format!("look up link {name:?}"), e)
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
        kind: match msg.header.kind {
            RouteType::Unicast => RouteKind::Unicast,
            RouteType::BlackHole => RouteKind::Blackhole,
            RouteType::Unreachable => RouteKind::Unreachable,
            RouteType::Prohibit => RouteKind::Prohibit,
            _ => RouteKind::Other,
        },
        source: None,
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
            RouteAttribute::PrefSource(a) => route.source = ip(a).map(|i| i.to_string()),
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
    text.parse().map_err(|_| CapError::InvalidArgument(format!("{field}: {text:?} is not an IP address")))
}

/// Whether `prefix` is a prefix length of `ip`'s family.
fn prefix_fits(ip: IpAddr, prefix: u8) -> bool {
    prefix <= if ip.is_ipv4() { 32 } else { 128 }
}

/// `A.B.C.D/N` -> (address, prefix), with the prefix checked for the family.
fn parse_cidr(field: &str, text: &str) -> NlResult<(IpAddr, u8)> {
    let bad = || CapError::InvalidArgument(format!("{field}: {text:?} is not ADDRESS/PREFIX"));
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
    if let Some(src) = &route.source {
        b = b.pref_source(parse_ip("source", src)?).map_err(|e| failed("route", e))?;
    }
    b = match route.kind {
        // No gateway: the destination is on the link (what `ip route` does).
        RouteKind::Unicast if route.gateway.is_none() => b.scope(RouteScope::Link),
        RouteKind::Unicast => b,
        RouteKind::Blackhole => b.kind(RouteType::BlackHole),
        RouteKind::Unreachable => b.kind(RouteType::Unreachable),
        RouteKind::Prohibit => b.kind(RouteType::Prohibit),
        RouteKind::Other => return Err(CapError::InvalidArgument(format!("route {}: kind `other` cannot be added", route.destination))),
    };
    Ok(b.build())
}

/// A route message as a delete request: any protocol matches (a route
/// added by hand is `boot`, by networkd `static`).
fn delete_message(mut msg: RouteMessage) -> RouteMessage {
    msg.header.protocol = RouteProtocol::Unspec;
    msg
}

/// Whether a netlink request failed with `errno`.
fn is_errno(e: &rtnetlink::Error, errno: i32) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -errno)
}

/// How many requests `change-routes` and `change-rules` keep in flight.
const CHANGES_IN_FLIGHT: usize = 64;

/// Deletes `delete` (a route already gone is fine), then adds or replaces
/// `add`; every message is built (so checked) before anything changes.
async fn change_routes(h: Handle, delete: Vec<Route>, add: Vec<Route>) -> NlResult<()> {
    let mut dels = Vec::with_capacity(delete.len());
    for r in &delete {
        dels.push((r.destination.clone(), delete_message(route_message(&h, r).await?)));
    }
    let mut adds = Vec::with_capacity(add.len());
    for r in &add {
        adds.push((r.destination.clone(), route_message(&h, r).await?));
    }
    futures::stream::iter(dels)
        .map(|(dest, msg)| {
            let h = h.clone();
            async move {
                match h.route().del(msg).execute().await {
                    Err(e) if is_errno(&e, libc::ESRCH) || is_errno(&e, libc::ENOENT) => Ok(()),
                    other => other.map_err(|e| failed(&format!("delete route {dest}"), e)),
                }
            }
        })
        .buffer_unordered(CHANGES_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    futures::stream::iter(adds)
        .map(|(dest, msg)| {
            let h = h.clone();
            async move { h.route().add(msg).replace().execute().await.map_err(|e| failed(&format!("add route {dest}"), e)) }
        })
        .buffer_unordered(CHANGES_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await
        .map(drop)
}

/// `A.B.C.D/N` of a rule's prefix, checked against the rule's family.
fn rule_prefix(field: &str, text: &str, ipv6: bool) -> NlResult<(IpAddr, u8)> {
    let (ip, prefix) = parse_cidr(field, text)?;
    if ip.is_ipv6() != ipv6 {
        return Err(CapError::InvalidArgument(format!("{field}: {text} is not an IPv{} prefix", if ipv6 { 6 } else { 4 })));
    }
    Ok((ip, prefix))
}

/// The kernel's message for `rule` (a lookup in its table).
fn rule_message(rule: &Rule) -> NlResult<RuleMessage> {
    let mut msg = RuleMessage::default();
    msg.header.family = if rule.ipv6 { AddressFamily::Inet6 } else { AddressFamily::Inet };
    msg.header.action = RuleAction::ToTable;
    let table = if rule.table == 0 { 254 } else { rule.table };
    msg.header.table = u8::try_from(table).unwrap_or(0);
    msg.attributes.push(RuleAttribute::Table(table));
    if let Some(from) = &rule.from {
        let (ip, len) = rule_prefix("from", from, rule.ipv6)?;
        msg.header.src_len = len;
        msg.attributes.push(RuleAttribute::Source(ip));
    }
    if let Some(to) = &rule.to {
        let (ip, len) = rule_prefix("to", to, rule.ipv6)?;
        msg.header.dst_len = len;
        msg.attributes.push(RuleAttribute::Destination(ip));
    }
    if let Some(iif) = &rule.iif {
        if !valid_ifname(iif) {
            return Err(CapError::InvalidArgument(format!("iif: {iif:?} is not an interface name")));
        }
        msg.attributes.push(RuleAttribute::Iifname(iif.clone()));
    }
    if let Some(mark) = rule.fwmark {
        msg.attributes.push(RuleAttribute::FwMark(mark));
    }
    if let Some(p) = rule.priority {
        msg.attributes.push(RuleAttribute::Priority(p));
    }
    msg.attributes.push(RuleAttribute::Protocol(RouteProtocol::Static));
    Ok(msg)
}

fn rule_of(msg: &RuleMessage) -> Rule {
    let ipv6 = msg.header.family == AddressFamily::Inet6;
    let mut rule = Rule {
        priority: None,
        from: None,
        to: None,
        iif: None,
        fwmark: None,
        table: u32::from(msg.header.table),
        ipv6,
        protocol: "unspec".into(),
    };
    for attr in &msg.attributes {
        match attr {
            RuleAttribute::Priority(p) => rule.priority = Some(*p),
            RuleAttribute::Source(ip) => rule.from = Some(format!("{ip}/{}", msg.header.src_len)),
            RuleAttribute::Destination(ip) => rule.to = Some(format!("{ip}/{}", msg.header.dst_len)),
            RuleAttribute::Iifname(n) => rule.iif = Some(n.clone()),
            RuleAttribute::FwMark(m) => rule.fwmark = Some(*m),
            RuleAttribute::Table(t) => rule.table = *t,
            RuleAttribute::Protocol(p) => rule.protocol = protocol_name(*p),
            _ => {}
        }
    }
    rule
}

async fn rules(h: &Handle) -> NlResult<Vec<Rule>> {
    let mut out = Vec::new();
    for version in [IpVersion::V4, IpVersion::V6] {
        let mut stream = h.rule().get(version).execute();
        while let Some(msg) = stream.try_next().await.map_err(|e| failed("list rules", e))? {
            if msg.header.action == RuleAction::ToTable {
                out.push(rule_of(&msg));
            }
        }
    }
    Ok(out)
}

/// Deletes then adds rules, as [`change_routes`] does routes. A rule to
/// delete is matched whole against the kernel's (priority, prefixes,
/// iif, fwmark, table).
async fn change_rules(h: Handle, delete: Vec<Rule>, add: Vec<Rule>) -> NlResult<()> {
    let dels = delete.iter().map(rule_message).collect::<NlResult<Vec<_>>>()?;
    let adds = add.iter().map(rule_message).collect::<NlResult<Vec<_>>>()?;
    if !dels.is_empty() {
        let live = rules(&h).await?;
        for (want, msg) in delete.iter().zip(dels) {
            let same = |r: &Rule| {
                r.ipv6 == want.ipv6
                    && r.from == want.from
                    && r.to == want.to
                    && r.iif == want.iif
                    && r.fwmark == want.fwmark
                    && r.table == if want.table == 0 { 254 } else { want.table }
                    && (want.priority.is_none() || r.priority == want.priority)
            };
            if !live.iter().any(same) {
                continue;
            }
            match h.rule().del(msg).execute().await {
                Err(e) if is_errno(&e, libc::ENOENT) || is_errno(&e, libc::ESRCH) => {}
                other => other.map_err(|e| failed("delete rule", e))?,
            }
        }
    }
    for msg in adds {
        let mut req = h.rule().add();
        *req.message_mut() = msg;
        match req.execute().await {
            Err(e) if is_errno(&e, libc::EEXIST) => {}
            other => other.map_err(|e| failed("add rule", e))?,
        }
    }
    Ok(())
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
            let idx = *index.get(&s.link).ok_or_else(|| CapError::NotFound(format!("no link named {:?}", s.link)))?;
            let addresses = s
                .addresses
                .iter()
                .map(|a| {
                    if a.link != s.link {
                        return Err(CapError::InvalidArgument(format!(
                            "address {}/{} is for {:?}, not {:?}",
                            a.ip, a.prefix, a.link, s.link
                        )));
                    }
                    let ip = parse_ip("ip", &a.ip)?;
                    if !prefix_fits(ip, a.prefix) {
                        return Err(CapError::InvalidArgument(format!("prefix: {} is too long for {}", a.prefix, a.ip)));
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
    /// Refuses a change to a link outside the `links:` patterns of the
    /// grant. `None` stands for a change that names no link (a route by
    /// gateway, a rule without `iif`): it could touch any, so only a grant
    /// without patterns covers it.
    fn links_allowed<'a>(&self, links: impl IntoIterator<Item = Option<&'a str>>) -> Result<(), CapError> {
        let scope = self.grants.scope(&self.plugin, Capability::NETLINK)?;
        for link in links {
            let ok = match link {
                Some(l) => link_in_scope(scope, l),
                None => link_in_scope(scope, "\0"),
            };
            if !ok {
                let patterns: Vec<&str> = scope.iter().filter_map(|s| s.strip_prefix(LINKS_ITEM)).collect();
                let what = link.map_or("a change that names no link".to_string(), |l| format!("link {l:?}"));
                return Err(CapError::Denied(format!(
                    "plugin '{}' was granted netlink changes to links [{}] only, not to {what}",
                    self.plugin,
                    patterns.join(", ")
                )));
            }
        }
        Ok(())
    }

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
        if let Err(e) = self.links_allowed([Some(link.as_str())]) {
            return Ok(Err(e));
        }
        self.netlink("write", |h| async move {
            let index = index_of(&h, &link).await?;
            let msg = LinkUnspec::new_with_index(index);
            let msg = if up { msg.up() } else { msg.down() }.build();
            h.link().set(msg).execute().await.map_err(|e| failed(&format!("set {link} up={up}"), e))
        })
        .await
    }

    async fn rename_link(&mut self, link: String, new_name: String) -> wasmtime::Result<NlResult<()>> {
        if let Err(e) = self.links_allowed([Some(link.as_str()), Some(new_name.as_str())]) {
            return Ok(Err(e));
        }
        if !valid_ifname(&new_name) {
            return Ok(Err(CapError::InvalidArgument(format!("{new_name:?} is not an interface name"))));
        }
        self.netlink("rename", |h| async move {
            let mut stream = h.link().get().match_name(link.clone()).execute();
            let msg = match stream.try_next().await {
                Ok(Some(msg)) => msg,
                Ok(None) => return Err(CapError::NotFound(format!("no link named {link:?}"))),
                Err(e) => return Err(lookup_failed(&link, e)),
            };
            let (index, up) = (msg.header.index, msg.header.flags.contains(LinkFlags::Up));
            let set = |m| h.link().set(m).execute();
            if up {
                set(LinkUnspec::new_with_index(index).down().build())
                    .await
                    .map_err(|e| failed(&format!("set {link} down to rename it"), e))?;
            }
            let renamed = set(LinkUnspec::new_with_index(index).name(new_name.clone()).build())
                .await
                .map_err(|e| failed(&format!("rename {link} to {new_name}"), e));
            if up {
                let now = if renamed.is_ok() { &new_name } else { &link };
                set(LinkUnspec::new_with_index(index).up().build())
                    .await
                    .map_err(|e| failed(&format!("set {now} up again"), e))?;
            }
            renamed
        })
        .await
    }

    async fn set_link_mtu(&mut self, link: String, mtu: u32) -> wasmtime::Result<NlResult<()>> {
        if let Err(e) = self.links_allowed([Some(link.as_str())]) {
            return Ok(Err(e));
        }
        self.netlink("write", |h| async move {
            let index = index_of(&h, &link).await?;
            let msg = LinkUnspec::new_with_index(index).mtu(mtu).build();
            h.link().set(msg).execute().await.map_err(|e| failed(&format!("set {link} mtu {mtu}"), e))
        })
        .await
    }

    async fn add_address(&mut self, address: Address) -> wasmtime::Result<NlResult<()>> {
        if let Err(e) = self.links_allowed([Some(address.link.as_str())]) {
            return Ok(Err(e));
        }
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
        if let Err(e) = self.links_allowed([Some(address.link.as_str())]) {
            return Ok(Err(e));
        }
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
            Err(CapError::NotFound(format!("{}/{} is not on {}", address.ip, address.prefix, address.link)))
        })
        .await
    }

    async fn add_route(&mut self, route: Route) -> wasmtime::Result<NlResult<()>> {
        if let Err(e) = self.links_allowed([route.link.as_deref()]) {
            return Ok(Err(e));
        }
        self.netlink("write", |h| async move {
            let msg = route_message(&h, &route).await?;
            h.route().add(msg).execute().await.map_err(|e| failed(&format!("add route {}", route.destination), e))
        })
        .await
    }

    async fn set_up_links(&mut self, links: Vec<LinkSetup>) -> wasmtime::Result<NlResult<()>> {
        if let Err(e) = self.links_allowed(links.iter().map(|l| Some(l.link.as_str()))) {
            return Ok(Err(e));
        }
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

    async fn change_routes(&mut self, delete: Vec<Route>, add: Vec<Route>) -> wasmtime::Result<NlResult<()>> {
        if let Err(e) = self.links_allowed(delete.iter().chain(&add).map(|r| r.link.as_deref())) {
            return Ok(Err(e));
        }
        self.netlink("write", |h| change_routes(h, delete, add)).await
    }

    async fn list_rules(&mut self) -> wasmtime::Result<NlResult<Vec<Rule>>> {
        self.netlink("read", |h| async move { rules(&h).await }).await
    }

    async fn change_rules(&mut self, delete: Vec<Rule>, add: Vec<Rule>) -> wasmtime::Result<NlResult<()>> {
        if let Err(e) = self.links_allowed(delete.iter().chain(&add).map(|r| r.iif.as_deref())) {
            return Ok(Err(e));
        }
        self.netlink("write", |h| change_rules(h, delete, add)).await
    }

    async fn del_route(&mut self, route: Route) -> wasmtime::Result<NlResult<()>> {
        if let Err(e) = self.links_allowed([route.link.as_deref()]) {
            return Ok(Err(e));
        }
        self.netlink("write", |h| async move {
            let msg = delete_message(route_message(&h, &route).await?);
            h.route().del(msg).execute().await.map_err(|e| failed(&format!("delete route {}", route.destination), e))
        })
        .await
    }
}

/// `netlink`: kernel links, addresses and routes: `read`, `write`, and
/// `rename` (links).
pub const CAPABILITY: Capability = Capability("netlink");

/// `read`, `write`, `rename`, and `links:PATTERN` items (a name, or a
/// prefix ending in `*`): with any, changes are allowed only to links
/// whose names match one.
pub static SPEC: Spec = Spec {
    capability: CAPABILITY,
    scope_item: |item| ["read", "write", "rename"].contains(&item) || valid_link_pattern(item),
    scope_expected: || "`read`, `write`, `rename` and `links:NAME` or `links:PREFIX*` items".into(),
    empty_scope_grants: false,
};

const LINKS_ITEM: &str = "links:";

fn valid_link_pattern(item: &str) -> bool {
    item.strip_prefix(LINKS_ITEM).is_some_and(|p| {
        let name = p.strip_suffix('*').unwrap_or(p);
        (!name.is_empty() || p == "*") && (name.is_empty() || valid_ifname(name))
    })
}

/// Whether `link` matches one of the `links:` items of `scope`, or the
/// scope has none (every link).
fn link_in_scope(scope: &[String], link: &str) -> bool {
    let mut patterns = scope.iter().filter_map(|s| s.strip_prefix(LINKS_ITEM)).peekable();
    patterns.peek().is_none()
        || patterns.any(|p| match p.strip_suffix('*') {
            Some(prefix) => link.starts_with(prefix),
            None => link == p,
        })
}

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
            Err(e) => e,
            Ok(v) => panic!("{} setups", v.len()),
        };
        let missing = err(vec![setup("p0", &[]), setup("p9", &[])]);
        assert!(matches!(missing, CapError::NotFound(m) if m.contains("no link named \"p9\"")));
        let elsewhere = err(vec![setup("p0", &[("p1", "10.0.0.1", 24)])]);
        assert!(matches!(elsewhere, CapError::InvalidArgument(m) if m.contains("is for \"p1\", not \"p0\"")));
        let long = err(vec![setup("p0", &[("p0", "10.0.0.1", 33)])]);
        assert!(matches!(long, CapError::InvalidArgument(m) if m.starts_with("prefix:")));
        assert!(matches!(err(vec![setup("p0", &[("p0", "ten", 8)])]), CapError::InvalidArgument(m) if m.starts_with("ip:")));
    }

    #[test]
    fn link_patterns() {
        let scope = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(link_in_scope(&scope(&["write"]), "anything"));
        let veths = scope(&["write", "links:veth*", "links:ovsbr9"]);
        assert!(link_in_scope(&veths, "veth12") && link_in_scope(&veths, "ovsbr9"));
        assert!(!link_in_scope(&veths, "eth0") && !link_in_scope(&veths, "ovsbr90"));
        assert!(!link_in_scope(&veths, "\0"), "a change naming no link is outside any pattern");
        for ok in ["links:veth*", "links:eth0", "links:*"] {
            assert!(valid_link_pattern(ok), "{ok}");
        }
        for bad in ["links:", "links:a b", "links:ve*th", "links:this-name-is-too-long*"] {
            assert!(!valid_link_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn kernel_refusals_are_classified_by_errno() {
        let refusal = |errno: i32| {
            let mut m = rtnetlink::packet_core::ErrorMessage::default();
            m.code = std::num::NonZeroI32::new(-errno);
            failed("add 10.0.0.1/24 to p0", rtnetlink::Error::NetlinkError(m))
        };
        assert!(matches!(refusal(libc::EEXIST), CapError::Conflict(m) if m.starts_with("netlink add 10.0.0.1/24 to p0")));
        assert!(matches!(refusal(libc::ENODEV), CapError::NotFound(_)));
        assert!(matches!(refusal(libc::EINVAL), CapError::InvalidArgument(_)));
        assert!(matches!(refusal(libc::EPERM), CapError::Failed(_)));
        assert!(matches!(failed("socket", "no socket".to_string()), CapError::Failed(_)));
    }

    #[test]
    fn cidr_parsing_names_the_field() {
        assert_eq!(parse_cidr("d", "10.0.0.0/8").unwrap(), ("10.0.0.0".parse().unwrap(), 8));
        assert_eq!(parse_cidr("d", "::/0").unwrap().1, 0);
        assert!(
            matches!(parse_cidr("destination", "10.0.0.0/33"), Err(CapError::InvalidArgument(m)) if m.starts_with("destination:"))
        );
        assert!(parse_cidr("d", "10.0.0.0").is_err());
        assert!(parse_cidr("d", "banana/3").is_err());
    }
}
