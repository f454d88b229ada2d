//! The `netcfg` section: its schema (the deployment guide's `routing`,
//! `dns` and `ovs_flows`, plus `rules` and what nmstate users expect of
//! routes), validation with every bad field named, and the resolved forms
//! (defaults filled in, addresses in canonical text) that live state is
//! compared in.
//!
//! Unset fields leave things as they are. `routing` and `rules` entries
//! are each made present, or removed with `state: absent`; routes and
//! rules not listed are left alone. `dns.search_domains` and
//! `dns.servers` are the whole lists netcfg adds to its interface, and
//! `ovs_flows` the whole set of portagent's flows, on every bridge.

use portagent_sdk::validate::{self, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// The kernel's `main` table.
pub const MAIN_TABLE: u32 = 254;
/// OVS's default flow priority.
pub const DEFAULT_FLOW_PRIORITY: u32 = 32768;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetcfgState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Vec<RouteSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RuleSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Dns>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ovs_flows: Option<Vec<FlowSpec>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    #[default]
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// A prefix (`A.B.C.D/N` or `X::/N`) as a JSON Schema pattern: what
/// [`cidr`] reads, but for host bits (which it names).
pub const CIDR_PATTERN: &str = concat!(
    r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$",
    r"|^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$"
);
/// The rule priorities a file may give (0, 32766 and 32767 are the
/// kernel's own rules).
pub const RULE_PRIORITY_MIN: u32 = 1;
pub const RULE_PRIORITY_MAX: u32 = 32765;
/// OpenFlow's 16 bits.
pub const FLOW_PRIORITY_MAX: u32 = 65535;

/// A list of IP addresses (or nothing), as a schema.
fn ip_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": ["array", "null"],
        "items": {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
    })
}

/// A route as the file says it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// `A.B.C.D/N` or `X::/N`.
    #[schemars(pattern(CIDR_PATTERN))]
    pub destination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("anyOf" = [{"format": "ipv4"}, {"format": "ipv6"}]))]
    pub gateway: Option<String>,
    /// The output link; also the link whose `.network` file keeps the
    /// route (default: the configured `bridge_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// Default: `main` (254).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// The preferred source address (`ip route ... src`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RouteType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// A routing policy rule as the file says it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
// `priority` is an Option only so that its absence is an error naming it.
#[schemars(extend("required" = ["priority"]))]
pub struct RuleSpec {
    /// Required: it names the rule (`ip rule` would pick one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = RULE_PRIORITY_MIN, max = RULE_PRIORITY_MAX))]
    pub priority: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(CIDR_PATTERN))]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(CIDR_PATTERN))]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub iif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// The table it looks up. Default: `main` (254).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// Only for a rule with neither `from` nor `to`. Default: ipv4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// The host's name: the running (kernel) and the static
    /// (`/etc/hostname`) name alike. Shown by query-state only where the
    /// two agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_domains: Option<Vec<String>>,
    /// DNS servers added to the interface's own, in the order they are
    /// asked (a list: the order matters, as does that of search domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "ip_list")]
    pub servers: Option<Vec<String>>,
    /// Where search domains and servers go. Default: `bridge_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub interface: Option<String>,
}

/// An OpenFlow flow as the file says it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub bridge: String,
    /// 0 to 65535; default 32768 (OVS's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = FLOW_PRIORITY_MAX))]
    pub priority: Option<u32>,
    /// `ovs-ofctl` match fields, e.g. `ip,nw_dst=10.0.0.0/8`; empty
    /// matches every packet.
    #[serde(default)]
    pub match_rule: String,
    /// `ovs-ofctl` actions, e.g. `normal`, `drop`, `output:2`.
    pub actions: String,
}

impl FlowSpec {
    /// The flow in `ovs-ofctl add-flow` syntax (without a cookie).
    pub fn text(&self) -> String {
        let priority = self.priority.unwrap_or(DEFAULT_FLOW_PRIORITY);
        let m = self.match_rule.trim();
        if m.is_empty() {
            format!("priority={priority},actions={}", self.actions.trim())
        } else {
            format!("priority={priority},{m},actions={}", self.actions.trim())
        }
    }
}

/// A route with its defaults filled in and its addresses in canonical
/// text: the form routes are recorded and compared in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Route {
    pub destination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The output link (unicast routes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Unset is the kernel's default for the family (0, or 1024 for IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    pub table: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub kind: RouteType,
}

impl Route {
    pub fn ipv6(&self) -> bool {
        self.destination.contains(':')
    }

    /// The metric the kernel gives it.
    pub fn effective_metric(&self) -> u32 {
        self.metric.unwrap_or(if self.ipv6() { 1024 } else { 0 })
    }

    /// What the kernel tells routes apart by: another route with the same
    /// key replaces this one.
    pub fn key(&self) -> (String, u32, u32) {
        (self.destination.clone(), self.table, self.effective_metric())
    }

    /// The name of its action, e.g. `route 10.0.0.0/8 metric 100`.
    pub fn resource(&self) -> String {
        let mut s = format!("route {}", self.destination);
        if self.table != MAIN_TABLE {
            s.push_str(&format!(" table {}", self.table));
        }
        if let Some(m) = self.metric {
            s.push_str(&format!(" metric {m}"));
        }
        s
    }

    /// As a state file would say it.
    pub fn spec(&self) -> RouteSpec {
        RouteSpec {
            destination: self.destination.clone(),
            gateway: self.gateway.clone(),
            interface: self.interface.clone(),
            metric: self.metric,
            table: (self.table != MAIN_TABLE).then_some(self.table),
            source: self.source.clone(),
            kind: (self.kind != RouteType::Unicast).then_some(self.kind),
            state: None,
        }
    }
}

/// A rule with its defaults filled in: the form rules are recorded and
/// compared in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rule {
    pub priority: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    pub table: u32,
    #[serde(default)]
    pub ipv6: bool,
}

impl Rule {
    pub fn resource(&self) -> String {
        format!("rule {}{}", self.priority, if self.ipv6 { " ipv6" } else { "" })
    }

    pub fn spec(&self) -> RuleSpec {
        RuleSpec {
            priority: Some(self.priority),
            from: self.from.clone(),
            to: self.to.clone(),
            iif: self.iif.clone(),
            fwmark: self.fwmark,
            table: (self.table != MAIN_TABLE).then_some(self.table),
            family: (self.ipv6 && self.from.is_none() && self.to.is_none()).then_some(Family::Ipv6),
            state: None,
        }
    }
}

/// `A.B.C.D/N` in canonical text, with no host bits set.
pub fn cidr(text: &str) -> Result<String, String> {
    let (ip, prefix) =
        text.split_once('/').ok_or_else(|| format!("{text:?} is not a prefix (ADDRESS/LENGTH, e.g. 10.0.0.0/8)"))?;
    let ip: IpAddr = ip.parse().map_err(|_| format!("{text:?}: {ip:?} is not an IP address"))?;
    let prefix: u8 = prefix.parse().map_err(|_| format!("{text:?}: {prefix:?} is not a prefix length"))?;
    let bits: u8 = if ip.is_ipv4() { 32 } else { 128 };
    if prefix > bits {
        return Err(format!("{text:?}: the prefix length is at most {bits}"));
    }
    let host_bits_set = match ip {
        IpAddr::V4(v4) => {
            let n = u32::from(v4);
            prefix < 32 && n & (u32::MAX >> prefix) != 0
        }
        IpAddr::V6(v6) => {
            let n = u128::from(v6);
            prefix < 128 && n & (u128::MAX >> prefix) != 0
        }
    };
    if host_bits_set {
        return Err(format!("{text:?} has host bits set; the network is {}", network(ip, prefix)));
    }
    Ok(format!("{ip}/{prefix}"))
}

fn network(ip: IpAddr, prefix: u8) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
            format!("{}/{prefix}", std::net::Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
            format!("{}/{prefix}", std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

fn address(text: &str) -> Result<IpAddr, String> {
    text.parse().map_err(|_| format!("{text:?} is not an IP address"))
}

fn table(t: Option<u32>) -> Result<u32, String> {
    match t {
        None => Ok(MAIN_TABLE),
        Some(0) => Err("0 is no table (`main` is 254)".into()),
        Some(255) => Err("255 is the kernel's `local` table".into()),
        Some(t) => Ok(t),
    }
}

impl RouteSpec {
    pub fn state(&self) -> State {
        self.state.unwrap_or_default()
    }

    /// The route with its defaults (`interface` of a unicast route:
    /// `default_link`), or the bad field (relative to the route) and why.
    pub fn resolve(&self, default_link: &str) -> Result<Route, Invalid> {
        let destination = cidr(&self.destination).map_err(|m| Invalid::new("destination", m))?;
        let v6 = destination.contains(':');
        let family = |field: &str, ip: IpAddr| {
            if ip.is_ipv6() != v6 {
                Err(Invalid::new(field, format!("{ip} is not of the destination's family")))
            } else {
                Ok(ip.to_string())
            }
        };
        let gateway = match &self.gateway {
            Some(g) => Some(family("gateway", address(g).map_err(|m| Invalid::new("gateway", m))?)?),
            None => None,
        };
        let source = match &self.source {
            Some(s) => Some(family("source", address(s).map_err(|m| Invalid::new("source", m))?)?),
            None => None,
        };
        if let Some(i) = &self.interface {
            validate::ifname(i).map_err(|m| Invalid::new("interface", m))?;
        }
        let kind = self.kind.unwrap_or_default();
        if kind != RouteType::Unicast {
            if gateway.is_some() {
                return Err(Invalid::new("gateway", format!("a {kind:?} route has no gateway").to_lowercase()));
            }
            if self.interface.is_some() {
                return Err(Invalid::new(
                    "interface",
                    format!("a {kind:?} route has no output interface (netcfg keeps it with bridge_name's file)")
                        .to_lowercase(),
                ));
            }
        }
        let table = table(self.table).map_err(|m| Invalid::new("table", m))?;
        let interface =
            (kind == RouteType::Unicast).then(|| self.interface.clone().unwrap_or_else(|| default_link.to_string()));
        Ok(Route { destination, gateway, interface, metric: self.metric, table, source, kind })
    }

    /// Whether a live route is one this `state: absent` entry names: the
    /// same destination and table, and whatever else it gives.
    pub fn matches(&self, live: &Route) -> bool {
        let Ok(destination) = cidr(&self.destination) else { return false };
        let same_ip = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => address(w).ok().map(|ip| ip.to_string()) == *have,
        };
        destination == live.destination
            && table(self.table).ok() == Some(live.table)
            && same_ip(&self.gateway, &live.gateway)
            && same_ip(&self.source, &live.source)
            && self.interface.as_ref().is_none_or(|i| live.interface.as_ref() == Some(i))
            && self.metric.is_none_or(|m| live.effective_metric() == m)
            && self.kind.is_none_or(|k| live.kind == k)
    }
}

impl RuleSpec {
    pub fn state(&self) -> State {
        self.state.unwrap_or_default()
    }

    pub fn resolve(&self) -> Result<Rule, Invalid> {
        let priority = self.priority.ok_or_else(|| {
            Invalid::new("priority", "required: it names the rule (1 to 32765; `ip rule` would pick one)")
        })?;
        if !(RULE_PRIORITY_MIN..=RULE_PRIORITY_MAX).contains(&priority) {
            return Err(Invalid::new(
                "priority",
                format!(
                    "{priority} is the kernel's own (0, 32766, 32767); use {RULE_PRIORITY_MIN} to {RULE_PRIORITY_MAX}"
                ),
            ));
        }
        let from = self.from.as_deref().map(cidr).transpose().map_err(|m| Invalid::new("from", m))?;
        let to = self.to.as_deref().map(cidr).transpose().map_err(|m| Invalid::new("to", m))?;
        let v6_of = |p: &Option<String>| p.as_ref().map(|p| p.contains(':'));
        let ipv6 = match (v6_of(&from), v6_of(&to)) {
            (Some(a), Some(b)) if a != b => return Err(Invalid::new("to", "not of the same family as `from`")),
            (Some(a), _) | (None, Some(a)) => {
                if self.family.is_some_and(|f| (f == Family::Ipv6) != a) {
                    return Err(Invalid::new("family", "differs from the family of `from`/`to`"));
                }
                a
            }
            (None, None) => self.family == Some(Family::Ipv6),
        };
        if let Some(i) = &self.iif {
            validate::ifname(i).map_err(|m| Invalid::new("iif", m))?;
        }
        let table = table(self.table).map_err(|m| Invalid::new("table", m))?;
        Ok(Rule { priority, from, to, iif: self.iif.clone(), fwmark: self.fwmark, table, ipv6 })
    }

    /// Whether a live rule is one this `state: absent` entry names: the
    /// same priority and family, and whatever else it gives.
    pub fn matches(&self, live: &Rule) -> bool {
        let Ok(want) = self.resolve() else { return false };
        want.priority == live.priority
            && want.ipv6 == live.ipv6
            && (self.from.is_none() || want.from == live.from)
            && (self.to.is_none() || want.to == live.to)
            && (self.iif.is_none() || want.iif == live.iif)
            && (self.fwmark.is_none() || want.fwmark == live.fwmark)
            && (self.table.is_none() || want.table == live.table)
    }
}

/// A search domain: DNS labels (`_` allowed, as in service names).
fn domain(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok { Ok(()) } else { Err(format!("{text:?} is not a domain name")) }
}

/// What OVS would read as something else in a flow's text.
fn flow_text(field: &str, text: &str) -> Result<(), Invalid> {
    if text.contains(['\n', '\r']) {
        return Err(Invalid::new(field, "must be one line"));
    }
    if text.to_ascii_lowercase().contains("cookie") {
        return Err(Invalid::new(field, "cannot set a cookie: portagent's flows carry its own"));
    }
    Ok(())
}

impl NetcfgState {
    /// Every check that needs no look at the system; the first bad field.
    pub fn validate(&self) -> Result<(), Invalid> {
        let at = |prefix: String| move |e: Invalid| Invalid::new(format!("{prefix}.{}", e.field), e.message);
        let mut keys: HashMap<(String, u32, u32), usize> = HashMap::new();
        for (i, r) in self.routing.iter().flatten().enumerate() {
            let route = r.resolve("ovsbr0").map_err(at(format!("routing[{i}]")))?;
            if r.state() == State::Present
                && let Some(j) = keys.insert(route.key(), i)
            {
                return Err(Invalid::new(
                    format!("routing[{i}]"),
                    format!("the same route as routing[{j}] (destination, table and metric name a route)"),
                ));
            }
        }
        let mut rules: HashMap<Rule, usize> = HashMap::new();
        for (i, r) in self.rules.iter().flatten().enumerate() {
            let rule = r.resolve().map_err(at(format!("rules[{i}]")))?;
            if r.state() == State::Present
                && let Some(j) = rules.insert(rule, i)
            {
                return Err(Invalid::new(format!("rules[{i}]"), format!("the same rule as rules[{j}]")));
            }
        }
        if let Some(d) = &self.dns {
            if let Some(h) = &d.hostname {
                validate::hostname(h).map_err(|m| Invalid::new("dns.hostname", m))?;
            }
            for (i, s) in d.search_domains.iter().flatten().enumerate() {
                domain(s).map_err(|m| Invalid::new(format!("dns.search_domains[{i}]"), m))?;
            }
            for (i, s) in d.servers.iter().flatten().enumerate() {
                address(s).map_err(|m| Invalid::new(format!("dns.servers[{i}]"), m))?;
            }
            if let Some(i) = &d.interface {
                validate::ifname(i).map_err(|m| Invalid::new("dns.interface", m))?;
            }
        }
        for (i, f) in self.ovs_flows.iter().flatten().enumerate() {
            let field = |name: &str| format!("ovs_flows[{i}].{name}");
            validate::ifname(&f.bridge).map_err(|m| Invalid::new(field("bridge"), m))?;
            if let Some(p) = f.priority
                && p > FLOW_PRIORITY_MAX
            {
                return Err(Invalid::new(
                    field("priority"),
                    format!("{p} is over {FLOW_PRIORITY_MAX} (OpenFlow's 16 bits)"),
                ));
            }
            flow_text(&field("match_rule"), &f.match_rule)?;
            flow_text(&field("actions"), &f.actions)?;
            if f.actions.trim().is_empty() {
                return Err(Invalid::new(field("actions"), "empty: say `drop` to drop"));
            }
            if f.match_rule.contains("actions") {
                return Err(Invalid::new(field("match_rule"), "holds `actions`: give them in `actions`"));
            }
            if f.match_rule.contains("priority") {
                return Err(Invalid::new(field("match_rule"), "holds `priority`: give it in `priority`"));
            }
        }
        Ok(())
    }
}

/// Parses a section; the bad field is named by its path.
pub fn parse(json: &str) -> Result<NetcfgState, Invalid> {
    validate::parse(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(yaml_json: &str) -> Invalid {
        let s = parse(yaml_json).and_then(|s| s.validate().map(|_| s));
        s.expect_err("should be refused")
    }

    #[test]
    fn the_guide_example_is_valid() {
        let s = parse(
            r#"{"routing": [{"destination": "10.0.0.0/8", "gateway": "192.168.1.254", "interface": "ovsbr0", "metric": 100}],
                "dns": {"hostname": "netmaker-server", "search_domains": ["vpn.internal", "example.com"]},
                "ovs_flows": [{"bridge": "ovsbr0", "priority": 200, "match_rule": "ip,nw_dst=10.0.0.0/8", "actions": "normal"},
                              {"bridge": "ovsbr0", "priority": 100, "match_rule": "ip,nw_src=192.168.100.0/24", "actions": "drop"}]}"#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.ovs_flows.unwrap()[0].text(), "priority=200,ip,nw_dst=10.0.0.0/8,actions=normal");
    }

    #[test]
    fn bad_input_names_the_field() {
        let cases = [
            (r#"{"routing": [{"destination": "10.0.0.0"}]}"#, "routing[0].destination", "prefix"),
            (r#"{"routing": [{"destination": "10.0.0.1/8"}]}"#, "routing[0].destination", "10.0.0.0/8"),
            (r#"{"routing": [{"destination": "10.0.0.0/8", "gateway": "x"}]}"#, "routing[0].gateway", "not an IP"),
            (r#"{"routing": [{"destination": "10.0.0.0/8", "gateway": "::1"}]}"#, "routing[0].gateway", "family"),
            (r#"{"routing": [{"destination": "10.0.0.0/8", "metric": -1}]}"#, "routing[0].metric", ""),
            (r#"{"routing": [{"destination": "10.0.0.0/8", "metric": 4294967296}]}"#, "routing[0].metric", ""),
            (r#"{"routing": [{"destination": "10.0.0.0/8", "table": 0}]}"#, "routing[0].table", "main"),
            (
                r#"{"routing": [{"destination": "10.0.0.0/8", "type": "blackhole", "gateway": "1.1.1.1"}]}"#,
                "routing[0].gateway",
                "blackhole",
            ),
            (
                r#"{"routing": [{"destination": "10.0.0.0/8"}, {"destination": "10.0.0.0/8", "gateway": "1.1.1.1"}]}"#,
                "routing[1]",
                "routing[0]",
            ),
            (r#"{"rules": [{"from": "10.0.0.0/8", "table": 100}]}"#, "rules[0].priority", "required"),
            (r#"{"rules": [{"priority": 32766, "table": 100}]}"#, "rules[0].priority", "kernel"),
            (r#"{"dns": {"hostname": "bad_name"}}"#, "dns.hostname", "letters"),
            (
                r#"{"dns": {"hostname": "a234567890123456789012345678901234567890123456789012345678901.b234"}}"#,
                "dns.hostname",
                "64 bytes",
            ),
            (r#"{"dns": {"servers": ["8.8.8"]}}"#, "dns.servers[0]", "not an IP"),
            (r#"{"ovs_flows": [{"priority": 1, "actions": "drop"}]}"#, "ovs_flows[0]", "bridge"),
            (
                r#"{"ovs_flows": [{"bridge": "ovsbr0", "priority": 70000, "actions": "drop"}]}"#,
                "ovs_flows[0].priority",
                "65535",
            ),
            (
                r#"{"ovs_flows": [{"bridge": "ovsbr0", "actions": "drop", "match_rule": "cookie=0x1"}]}"#,
                "ovs_flows[0].match_rule",
                "cookie",
            ),
            (r#"{"ovs_flows": [{"bridge": "ovsbr0", "actions": ""}]}"#, "ovs_flows[0].actions", "empty"),
            (r#"{"routes": []}"#, "routes", "unknown field"),
        ];
        for (json, field, says) in cases {
            let e = invalid(json);
            assert_eq!(e.field, field, "{json}: {e:?}");
            assert!(e.message.contains(says), "{json}: {e:?}");
        }
    }

    #[test]
    fn routes_resolve_to_one_form() {
        let spec = RouteSpec {
            destination: "2001:db8:0::/32".into(),
            gateway: Some("2001:DB8::1".into()),
            ..Default::default()
        };
        let r = spec.resolve("ovsbr0").unwrap();
        assert_eq!(r.destination, "2001:db8::/32");
        assert_eq!(r.gateway.as_deref(), Some("2001:db8::1"));
        assert_eq!(r.interface.as_deref(), Some("ovsbr0"));
        assert_eq!(r.key(), ("2001:db8::/32".to_string(), 254, 1024));
        let b = RouteSpec { destination: "10.9.0.0/16".into(), kind: Some(RouteType::Blackhole), ..Default::default() }
            .resolve("ovsbr0")
            .unwrap();
        assert_eq!(b.interface, None);
        assert_eq!(b.spec().kind, Some(RouteType::Blackhole));
        assert_eq!(r.spec().table, None, "main is left out");
    }

    #[test]
    fn absent_entries_match_what_they_name() {
        let live = RouteSpec {
            destination: "10.0.0.0/8".into(),
            gateway: Some("192.168.1.254".into()),
            metric: Some(100),
            ..Default::default()
        }
        .resolve("ovsbr0")
        .unwrap();
        let absent = |json: &str| serde_json::from_str::<RouteSpec>(json).unwrap();
        assert!(absent(r#"{"destination": "10.0.0.0/8", "state": "absent"}"#).matches(&live));
        assert!(absent(r#"{"destination": "10.0.0.0/8", "metric": 100}"#).matches(&live));
        assert!(!absent(r#"{"destination": "10.0.0.0/8", "metric": 5}"#).matches(&live));
        assert!(!absent(r#"{"destination": "10.0.0.0/8", "table": 100}"#).matches(&live));
        assert!(!absent(r#"{"destination": "10.0.0.0/16"}"#).matches(&live));
    }

    #[test]
    fn rules_take_their_family_from_their_prefixes() {
        let r = RuleSpec { priority: Some(100), from: Some("fd00::/8".into()), table: Some(7), ..Default::default() };
        assert!(r.resolve().unwrap().ipv6);
        let r = RuleSpec { priority: Some(100), fwmark: Some(3), family: Some(Family::Ipv6), ..Default::default() };
        assert!(r.resolve().unwrap().ipv6);
        let r = RuleSpec {
            priority: Some(100),
            from: Some("10.0.0.0/8".into()),
            to: Some("fd00::/8".into()),
            ..Default::default()
        };
        assert_eq!(r.resolve().unwrap_err().field, "to");
    }
}
