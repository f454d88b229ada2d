//! The live state netcfg answers for, read once: its drop-ins' records,
//! the kernel's routes and rules, the hostname, networkd's links, and
//! portagent's flows on every bridge; and that state as a section that
//! re-applies as a no-op.

use crate::dropin::{self, Record};
use crate::flows;
use crate::model::{Dns, NetcfgState, Route, RouteType, Rule};
use portagent_sdk::hostname::{self, Hostnames};
use portagent_sdk::netlink::{self, RouteKind};
use portagent_sdk::networkd::{self, LinkState};
use portagent_sdk::{PluginError, openflow};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Routes of these protocols are the kernel's or a daemon's own, never
/// anyone's to restore.
const NOT_RESTORED: &[&str] = &["kernel", "dhcp", "ra", "redirect"];

/// A kernel route in netcfg's form (None: a kind netcfg does not make).
pub fn route_of(r: &netlink::Route) -> Option<Route> {
    let kind = match r.kind {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::Blackhole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
        RouteKind::Other => return None,
    };
    Some(Route {
        destination: r.destination.clone(),
        gateway: r.gateway.clone(),
        interface: if kind == RouteType::Unicast { r.link.clone() } else { None },
        metric: r.metric.filter(|m| *m != if r.destination.contains(':') { 1024 } else { 0 }),
        table: r.table,
        source: r.source.clone(),
        kind,
    })
}

/// A route as the kernel takes it.
pub fn kernel_route(r: &Route) -> netlink::Route {
    netlink::Route {
        destination: r.destination.clone(),
        gateway: r.gateway.clone(),
        link: r.interface.clone(),
        metric: r.metric,
        table: r.table,
        protocol: "static".into(),
        kind: match r.kind {
            RouteType::Unicast => RouteKind::Unicast,
            RouteType::Blackhole => RouteKind::Blackhole,
            RouteType::Unreachable => RouteKind::Unreachable,
            RouteType::Prohibit => RouteKind::Prohibit,
        },
        source: r.source.clone(),
    }
}

pub fn rule_of(r: &netlink::Rule) -> Option<Rule> {
    Some(Rule {
        priority: r.priority?,
        from: r.from.clone(),
        to: r.to.clone(),
        iif: r.iif.clone(),
        fwmark: r.fwmark,
        table: r.table,
        ipv6: r.ipv6,
    })
}

pub fn kernel_rule(r: &Rule) -> netlink::Rule {
    netlink::Rule {
        priority: Some(r.priority),
        from: r.from.clone(),
        to: r.to.clone(),
        iif: r.iif.clone(),
        fwmark: r.fwmark,
        table: r.table,
        ipv6: r.ipv6,
        protocol: "static".into(),
    }
}

/// Everything netcfg reads, once.
#[derive(Debug, Clone)]
pub struct Live {
    /// netcfg's drop-ins' records, by `.network` file name.
    pub records: BTreeMap<String, Record>,
    /// The kernel's routes (of kinds netcfg knows), with their protocols.
    pub routes: Vec<(Route, String)>,
    pub rules: Vec<(Rule, String)>,
    /// `routes` by key and `rules` as a set: lookups stay O(1) at
    /// thousands of routes.
    route_index: HashMap<(String, u32, u32), usize>,
    rule_set: HashSet<Rule>,
    pub hostnames: Hostnames,
    pub links: Vec<LinkState>,
    /// portagent's flows, in OVS's normal form, by bridge (bridges
    /// without any left out).
    pub flows: BTreeMap<String, Vec<String>>,
}

impl Live {
    pub fn read() -> Result<Live, PluginError> {
        Live::read_with(true)
    }

    /// [`Live::read`], leaving out portagent's flows unless `flows`: each
    /// bridge's dump is an `ovs-ofctl` process (about 10 ms), which a
    /// verify of a section without `ovs_flows` does not need.
    pub fn read_with(flows: bool) -> Result<Live, PluginError> {
        let routes: Vec<(Route, String)> =
            netlink::list_routes()?.iter().filter_map(|r| Some((route_of(r)?, r.protocol.clone()))).collect();
        let rules: Vec<(Rule, String)> =
            netlink::list_rules()?.iter().filter_map(|r| Some((rule_of(r)?, r.protocol.clone()))).collect();
        let bridges = if flows { openflow::list_bridges()? } else { vec![] };
        let mut flows = BTreeMap::new();
        for bridge in bridges {
            let own = openflow::own_flows(&bridge)?;
            if !own.is_empty() {
                flows.insert(bridge, own);
            }
        }
        // The first route with a key wins, as `find` would.
        let mut route_index = HashMap::with_capacity(routes.len());
        for (i, (r, _)) in routes.iter().enumerate() {
            route_index.entry(r.key()).or_insert(i);
        }
        let rule_set = rules.iter().map(|(r, _)| r.clone()).collect();
        Ok(Live {
            records: dropin::records()?,
            routes,
            rules,
            route_index,
            rule_set,
            hostnames: hostname::get()?,
            links: networkd::link_states()?,
            flows,
        })
    }

    /// The live route with `route`'s key.
    pub fn route(&self, key: &(String, u32, u32)) -> Option<&Route> {
        self.route_index.get(key).map(|&i| &self.routes[i].0)
    }

    pub fn has_rule(&self, rule: &Rule) -> bool {
        self.rule_set.contains(rule)
    }

    /// Routes netcfg owns (recorded), as they are live, by key.
    pub fn owned_routes(&self) -> Vec<Route> {
        let mut out: Vec<Route> =
            self.records.values().flat_map(|r| &r.routes).filter_map(|r| self.route(&r.key()).cloned()).collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn owned_rules(&self) -> Vec<Rule> {
        let mut out: Vec<Rule> =
            self.records.values().flat_map(|r| &r.rules).filter(|r| self.has_rule(r)).cloned().collect();
        out.sort();
        out.dedup();
        out
    }

    /// The link netcfg's DNS settings are on, and them.
    pub fn dns_record(&self) -> Option<(&str, &dropin::DnsRecord)> {
        self.records.values().find_map(|r| Some((r.link.as_str(), r.dns.as_ref()?)))
    }

    pub fn link(&self, name: &str) -> Option<&LinkState> {
        self.links.iter().find(|l| l.name == name)
    }

    /// Routes and rules to put back if they went missing: everything but
    /// the kernel's and daemons' own.
    pub fn restorable_routes(&self) -> Vec<Route> {
        self.routes.iter().filter(|(_, p)| !NOT_RESTORED.contains(&p.as_str())).map(|(r, _)| r.clone()).collect()
    }

    pub fn restorable_rules(&self) -> Vec<Rule> {
        self.rules.iter().filter(|(_, p)| !NOT_RESTORED.contains(&p.as_str())).map(|(r, _)| r.clone()).collect()
    }

    /// The live state as a section: what netcfg owns and is live, the
    /// hostname (where the running and static names agree), its search domains and servers as networkd holds them,
    /// and portagent's flows.
    pub fn state(&self) -> NetcfgState {
        let has_routes = self.records.values().any(|r| !r.routes.is_empty());
        let has_rules = self.records.values().any(|r| !r.rules.is_empty());
        // `dns.hostname` sets the running and the static name alike, so it
        // describes the host only where the two agree: where they differ
        // (no /etc/hostname, a name set by DHCP) it is left out, so that
        // applying this is a no-op, and a desired name is set in both.
        let names = &self.hostnames;
        let hostname = (names.transient == names.configured).then(|| names.transient.clone());
        let mut dns = Dns { hostname, ..Default::default() };
        if let Some((link, record)) = self.dns_record() {
            let view = self.link(link);
            let live = |want: &[String], have: Option<&Vec<String>>| -> Vec<String> {
                want.iter().filter(|x| have.is_some_and(|h| h.contains(x))).cloned().collect()
            };
            dns.servers = Some(live(&record.servers, view.map(|v| &v.dns)));
            dns.search_domains = Some(live(&record.domains, view.map(|v| &v.domains)));
            dns.interface = Some(link.to_string());
        }
        let mut flows: Vec<_> =
            self.flows.iter().flat_map(|(b, fs)| fs.iter().map(move |f| flows::spec_of(b, f))).collect();
        flows.sort_by(|a, b| {
            (&a.bridge, std::cmp::Reverse(a.priority), &a.match_rule).cmp(&(
                &b.bridge,
                std::cmp::Reverse(b.priority),
                &b.match_rule,
            ))
        });
        NetcfgState {
            routing: has_routes.then(|| self.owned_routes().iter().map(Route::spec).collect()),
            rules: has_rules.then(|| self.owned_rules().iter().map(Rule::spec).collect()),
            dns: Some(dns),
            ovs_flows: (!flows.is_empty()).then_some(flows),
        }
    }
}
