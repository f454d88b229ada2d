//! A snapshot of everything an apply could touch, and the way back to it:
//! netcfg's drop-ins byte for byte, the routes and rules (all but the
//! kernel's and daemons' own), the hostname, networkd's DNS view of every
//! link, and portagent's flows on every bridge.

use crate::dropin::{DROPINS, DnsRecord, Record};
use crate::live::{Live, kernel_route, kernel_rule};
use crate::model::{Route, Rule};
use portagent_sdk::{PluginError, hostname, netlink, networkd, openflow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Every drop-in named like netcfg's, by `.network` file, as it was.
    pub dropins: BTreeMap<String, String>,
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
    /// The kernel's hostname and the static one.
    pub hostname: (String, String),
    /// networkd's DNS servers and search domains, by link.
    pub dns: BTreeMap<String, DnsRecord>,
    /// portagent's flows by bridge, in OVS's normal form.
    pub flows: BTreeMap<String, Vec<String>>,
}

pub fn take() -> Result<Checkpoint, PluginError> {
    let live = Live::read()?;
    Ok(Checkpoint {
        dropins: DROPINS.read_all()?,
        routes: live.restorable_routes(),
        rules: live.restorable_rules(),
        hostname: (live.hostnames.transient.clone(), live.hostnames.configured.clone()),
        dns: live
            .links
            .iter()
            .map(|l| (l.name.clone(), DnsRecord { servers: l.dns.clone(), domains: l.domains.clone() }))
            .collect(),
        flows: live.flows.clone(),
    })
}

/// What the records in a set of drop-ins own: route keys, rules, and the
/// links with DNS settings.
struct Owned {
    routes: BTreeSet<(String, u32, u32)>,
    rules: BTreeSet<Rule>,
    dns_links: BTreeSet<String>,
}

fn owned(records: &BTreeMap<String, Record>) -> Owned {
    Owned {
        routes: records.values().flat_map(|r| &r.routes).map(Route::key).collect(),
        rules: records.values().flat_map(|r| &r.rules).cloned().collect(),
        dns_links: records.values().filter(|r| r.dns.is_some()).map(|r| r.link.clone()).collect(),
    }
}

fn records_in(dropins: &BTreeMap<String, String>) -> BTreeMap<String, Record> {
    dropins
        .iter()
        .filter(|(_, c)| DROPINS.is_ours(c))
        .filter_map(|(f, c)| {
            let json = c.lines().find_map(|l| l.strip_prefix(portagent_sdk::networkd::RECORD))?;
            Some((f.clone(), serde_json::from_str(json).ok()?))
        })
        .collect()
}

pub fn restore(cp: &Checkpoint) -> Result<(), PluginError> {
    let now = Live::read()?;
    let Owned { routes: routes_then, rules: rules_then, dns_links: dns_then } = owned(&records_in(&cp.dropins));
    let Owned { routes: routes_now, rules: rules_now, dns_links: dns_now } = owned(&now.records);

    // Flows: exactly portagent's as they were, on every bridge.
    let bridges: BTreeSet<&String> = cp.flows.keys().chain(now.flows.keys()).collect();
    for bridge in bridges {
        let want = cp.flows.get(bridge).cloned().unwrap_or_default();
        if !crate::flows::same(&want, now.flows.get(bridge).map_or(&[][..], Vec::as_slice)) {
            openflow::replace_flows(bridge, &want)?;
        }
    }

    let (transient, configured) = &cp.hostname;
    if (transient, configured) != (&now.hostnames.transient, &now.hostnames.configured) {
        hostname::set(if configured.is_empty() { transient } else { configured })?;
    }

    // Routes netcfg owned then or owns now: as they were.
    let (mut add, mut del) = (Vec::new(), Vec::new());
    let then_by_key: HashMap<_, &Route> = cp.routes.iter().rev().map(|r| (r.key(), r)).collect();
    for key in routes_then.union(&routes_now) {
        let then = then_by_key.get(key).copied();
        match (then, now.route(key)) {
            (Some(t), Some(n)) if t == n => {}
            (Some(t), _) => add.push(kernel_route(t)),
            (None, Some(n)) => del.push(kernel_route(n)),
            (None, None) => {}
        }
    }
    netlink::change_routes(&del, &add)?;
    // Any other route that went missing (one `state: absent` removed) is
    // put back. One whose link is gone (with another plugin's change) is
    // that plugin's to restore, and waits for it; one the kernel refuses
    // on a link that is there is lost, and the restore says so (the host
    // then records it as failed and tries again), never quietly.
    let links: BTreeSet<&str> = now.links.iter().map(|l| l.name.as_str()).collect();
    let mut lost = Vec::new();
    for r in cp.routes.iter().filter(|r| !routes_then.contains(&r.key()) && now.route(&r.key()).is_none()) {
        if let Err(e) = netlink::change_routes(&[], &[kernel_route(r)]) {
            match r.interface.as_deref().filter(|l| !links.contains(l)) {
                Some(link) => portagent_sdk::log::info(&format!(
                    "restore: route to {} waits for its link {link} (another plugin's to put back): {}",
                    r.destination,
                    e.message()
                )),
                None => lost.push(format!("route to {}: {}", r.destination, e.message())),
            }
        }
    }

    let (mut add, mut del) = (Vec::new(), Vec::new());
    for rule in rules_then.union(&rules_now) {
        match (cp.rules.contains(rule), now.has_rule(rule)) {
            (true, false) => add.push(kernel_rule(rule)),
            (false, true) => del.push(kernel_rule(rule)),
            _ => {}
        }
    }
    netlink::change_rules(&del, &add)?;
    for r in cp.rules.iter().filter(|r| !rules_then.contains(*r) && !now.has_rule(r)) {
        if let Err(e) = netlink::change_rules(&[], &[kernel_rule(r)]) {
            lost.push(format!("rule {}: {}", r.priority, e.message()));
        }
    }

    // DNS of the links netcfg added to then or now: networkd's view as it was.
    for link in dns_then.union(&dns_now) {
        let (Some(was), Some(is)) = (cp.dns.get(link), now.link(link)) else { continue };
        if was.servers != is.dns || was.domains != is.domains {
            networkd::set_link_dns(link, &was.servers, &was.domains)?;
        }
    }

    // The drop-ins, byte for byte.
    for (file, content) in &cp.dropins {
        DROPINS.write_raw(file, content)?;
    }
    for file in DROPINS.read_all()?.keys().filter(|f| !cp.dropins.contains_key(*f)) {
        DROPINS.remove(file)?;
    }
    if !lost.is_empty() {
        return Err(PluginError::Failed(format!("restore: not put back: {}", lost.join("; "))));
    }
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::model::parse;
    use portagent_sdk::networkd::LinkState;
    use portagent_sdk::testing::{Fake, run};

    #[test]
    fn restore_undoes_an_apply() {
        let mut fake = Fake::new().with_link("ovsbr0", true).with_setting("bridge_name", "ovsbr0");
        fake.bridges = vec!["ovsbr0".into()];
        // Named in /etc/hostname too (the capability sets both at once).
        fake.hostnames.configured = "localhost".into();
        fake.own_flows.insert("ovsbr0".into(), vec!["priority=9,actions=drop".into()]);
        fake.link_states.push(LinkState {
            name: "ovsbr0".into(),
            operational: "routable".into(),
            setup: "configured".into(),
            network_file: "/etc/systemd/network/10-portagent-ovsbr0.network".into(),
            dns: vec![],
            domains: vec!["old.example".into()],
        });
        let desired = parse(
            r#"{"routing": [{"destination": "10.0.0.0/8", "gateway": "192.168.1.254", "metric": 100}],
                "rules": [{"priority": 600, "from": "10.2.0.0/16", "table": 200}],
                "dns": {"hostname": "netmaker-server", "search_domains": ["vpn.internal"]},
                "ovs_flows": [{"bridge": "ovsbr0", "priority": 200, "match_rule": "ip", "actions": "normal"}]}"#,
        )
        .unwrap();
        let (same, fake) = run(fake, || {
            let before = Live::read().unwrap().state();
            let cp = take().unwrap();
            let actions = crate::diff::diff(&before, &desired, "ovsbr0").unwrap();
            crate::apply::apply(&actions).unwrap();
            assert_ne!(Live::read().unwrap().state(), before);
            restore(&cp).unwrap();
            Live::read().unwrap().state() == before
        });
        assert!(same, "query after restore equals query before");
        assert!(fake.routes.is_empty() && fake.rules.is_empty());
        assert_eq!(fake.own_flows["ovsbr0"], ["priority=9,actions=drop"]);
        assert_eq!(fake.link_states[0].domains, ["old.example"]);
        assert!(!fake.networkd_dir().join("10-portagent-ovsbr0.network.d/50-portagent-netcfg.conf").exists());
    }

    #[test]
    fn a_foreign_route_that_cannot_be_put_back_fails_the_restore() {
        let mut fake = Fake::new().with_link("ovsbr0", true).with_setting("bridge_name", "ovsbr0");
        fake.link_states.push(LinkState {
            name: "ovsbr0".into(),
            operational: "routable".into(),
            setup: "configured".into(),
            network_file: "/etc/systemd/network/10-portagent-ovsbr0.network".into(),
            dns: vec![],
            domains: vec![],
        });
        let hand = netlink::Route {
            destination: "10.66.0.0/16".into(),
            gateway: Some("192.168.1.1".into()),
            link: Some("ovsbr0".into()),
            metric: None,
            table: 254,
            protocol: "static".into(),
            kind: netlink::RouteKind::Unicast,
            source: None,
        };
        fake.routes.push(hand);
        // A `state: absent` took it away; putting it back is refused.
        let (cp, mut fake) = run(fake, || {
            let cp = take().unwrap();
            netlink::change_routes(&cp.routes.iter().map(kernel_route).collect::<Vec<_>>(), &[]).unwrap();
            cp
        });
        fake.refused_route = Some("10.66.0.0/16".into());
        let (result, fake) = run(fake, || restore(&cp));
        let e = result.expect_err("a lost route is not a restored one");
        assert!(e.to_string().contains("route to 10.66.0.0/16") && e.to_string().contains("unreachable"), "{e}");
        assert!(fake.routes.is_empty());
    }
}
