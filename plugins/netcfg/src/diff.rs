//! Desired vs current: the actions, empty when they agree. Routes and
//! rules are named by what the kernel tells them apart by; `state:
//! absent` entries name the live routes and rules they remove (whoever
//! made them); flows are compared in OVS's normal form.

use crate::flows;
use crate::live::{route_of, rule_of};
use crate::model::{NetcfgState, Route, Rule, State};
use portagent_sdk::validate::Invalid;
use portagent_sdk::{Action, ActionKind, CapError, PluginError, netlink};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The body of a `dns` action: the whole of what netcfg adds to the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsChange {
    pub interface: String,
    pub servers: Vec<String>,
    pub domains: Vec<String>,
}

/// The body of a `flows` action: portagent's flows for one bridge, each
/// with its index in `ovs_flows` (to name it if OVS refuses it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowsChange {
    pub bridge: String,
    pub flows: Vec<IndexedFlow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedFlow {
    pub index: usize,
    pub flow: String,
}

fn action(kind: ActionKind, resource: String, body: serde_json::Value) -> Action {
    Action { kind, resource, body: body.to_string() }
}

fn at(prefix: String) -> impl Fn(Invalid) -> PluginError {
    move |e| PluginError::invalid(format!("{prefix}.{}", e.field), e.message)
}

/// The actions that turn `current` (what query said) into `desired`.
/// `default_link` is the configured `bridge_name`.
pub fn diff(current: &NetcfgState, desired: &NetcfgState, default_link: &str) -> Result<Vec<Action>, PluginError> {
    let mut out = Vec::new();
    hostname(current, desired, &mut out);
    routes(current, desired, default_link, &mut out)?;
    rules(current, desired, &mut out)?;
    dns(current, desired, default_link, &mut out);
    ovs_flows(current, desired, &mut out)?;
    Ok(out)
}

fn hostname(current: &NetcfgState, desired: &NetcfgState, out: &mut Vec<Action>) {
    let want = desired.dns.as_ref().and_then(|d| d.hostname.as_ref());
    let have = current.dns.as_ref().and_then(|d| d.hostname.as_ref());
    if let Some(want) = want
        && Some(want) != have
    {
        out.push(action(ActionKind::Modify, "hostname".into(), json!({"hostname": want})));
    }
}

fn routes(
    current: &NetcfgState,
    desired: &NetcfgState,
    default_link: &str,
    out: &mut Vec<Action>,
) -> Result<(), PluginError> {
    let Some(wanted) = &desired.routing else { return Ok(()) };
    let have: Vec<Route> =
        current.routing.iter().flatten().map(|r| r.resolve(default_link)).collect::<Result<_, _>>().map_err(|e| {
            PluginError::Failed(format!("the live routes read back do not resolve: {}: {}", e.field, e.message))
        })?;
    let live: Vec<Route> = if wanted.iter().any(|r| r.state() == State::Absent) {
        netlink::list_routes()?.iter().filter_map(route_of).collect()
    } else {
        vec![]
    };
    let have_by_key: HashMap<_, &Route> = have.iter().rev().map(|h| (h.key(), h)).collect();
    let mut deleted = BTreeSet::new();
    let mut present = Vec::new();
    for (i, spec) in wanted.iter().enumerate() {
        match spec.state() {
            State::Present => {
                let r = spec.resolve(default_link).map_err(at(format!("routing[{i}]")))?;
                match have_by_key.get(&r.key()) {
                    Some(h) if **h == r => {}
                    Some(_) => out.push(action(ActionKind::Modify, r.resource(), json!(r))),
                    None => out.push(action(ActionKind::Create, r.resource(), json!(r))),
                }
                present.push(r);
            }
            State::Absent => {
                let gone: Vec<&Route> =
                    live.iter().filter(|l| spec.matches(l) && deleted.insert((*l).clone())).collect();
                if let Some(first) = gone.first() {
                    out.push(action(ActionKind::Delete, first.resource(), json!({"routes": gone})));
                }
            }
        }
    }
    // The file lists the routes to a destination in a table: netcfg's
    // others there (the old metric of a route whose metric changed) go.
    let listed: HashSet<(&str, u32)> = present.iter().map(|p| (p.destination.as_str(), p.table)).collect();
    let present_keys: HashSet<_> = present.iter().map(Route::key).collect();
    for old in &have {
        let listed = listed.contains(&(old.destination.as_str(), old.table));
        if listed && !present_keys.contains(&old.key()) && deleted.insert(old.clone()) {
            out.push(action(ActionKind::Delete, old.resource(), json!({"routes": [old]})));
        }
    }
    Ok(())
}

fn rules(current: &NetcfgState, desired: &NetcfgState, out: &mut Vec<Action>) -> Result<(), PluginError> {
    let Some(wanted) = &desired.rules else { return Ok(()) };
    let have: Vec<Rule> = current.rules.iter().flatten().filter_map(|r| r.resolve().ok()).collect();
    let live: Vec<Rule> = if wanted.iter().any(|r| r.state() == State::Absent) {
        netlink::list_rules()?.iter().filter_map(rule_of).collect()
    } else {
        vec![]
    };
    let mut deleted = BTreeSet::new();
    for (i, spec) in wanted.iter().enumerate() {
        match spec.state() {
            State::Present => {
                let r = spec.resolve().map_err(at(format!("rules[{i}]")))?;
                if !have.contains(&r) {
                    out.push(action(ActionKind::Create, r.resource(), json!(r)));
                }
            }
            State::Absent => {
                let gone: Vec<&Rule> =
                    live.iter().filter(|l| spec.matches(l) && deleted.insert((*l).clone())).collect();
                if let Some(first) = gone.first() {
                    out.push(action(ActionKind::Delete, first.resource(), json!({"rules": gone})));
                }
            }
        }
    }
    Ok(())
}

fn dns(current: &NetcfgState, desired: &NetcfgState, default_link: &str, out: &mut Vec<Action>) {
    let Some(d) = &desired.dns else { return };
    if d.servers.is_none() && d.search_domains.is_none() && d.interface.is_none() {
        return;
    }
    let have = current.dns.as_ref().and_then(|c| {
        Some(DnsChange {
            interface: c.interface.clone()?,
            servers: c.servers.clone().unwrap_or_default(),
            domains: c.search_domains.clone().unwrap_or_default(),
        })
    });
    let interface = d.interface.clone().unwrap_or_else(|| default_link.to_string());
    let kept = have.as_ref().filter(|h| h.interface == interface);
    let want = DnsChange {
        servers: d.servers.clone().or_else(|| kept.map(|k| k.servers.clone())).unwrap_or_default(),
        domains: d.search_domains.clone().or_else(|| kept.map(|k| k.domains.clone())).unwrap_or_default(),
        interface,
    };
    if have.as_ref() != Some(&want) {
        out.push(action(ActionKind::Modify, format!("dns {}", want.interface), json!(want)));
    }
}

/// OVS's refusal of `flow N: why` (N counting `want`) as the file's field.
fn refused_flow(message: &str, want: &[(usize, String)]) -> PluginError {
    let named = message
        .strip_prefix("flow ")
        .and_then(|r| r.split_once(':'))
        .and_then(|(n, why)| Some((want.get(n.trim().parse::<usize>().ok()?)?.0, why.trim())));
    match named {
        Some((index, why)) => PluginError::invalid(format!("ovs_flows[{index}]"), why),
        None => PluginError::invalid("ovs_flows", message),
    }
}

fn ovs_flows(current: &NetcfgState, desired: &NetcfgState, out: &mut Vec<Action>) -> Result<(), PluginError> {
    let Some(wanted) = &desired.ovs_flows else { return Ok(()) };
    let wanted = flows::by_bridge(wanted);
    let mut have: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in current.ovs_flows.iter().flatten() {
        have.entry(f.bridge.clone()).or_default().push(f.text());
    }
    let bridges: BTreeSet<&String> = wanted.keys().chain(have.keys()).collect();
    for bridge in bridges {
        let want: &[(usize, String)] = wanted.get(bridge).map_or(&[], Vec::as_slice);
        let have = have.get(bridge).map_or(&[][..], Vec::as_slice);
        let texts: Vec<String> = want.iter().map(|(_, t)| t.clone()).collect();
        // Both sides in the file's form of OVS's normal form. A flow OVS
        // cannot parse is refused here, before anything changes (show-diff
        // says so too), naming it.
        let same = match flows::normalize(&texts) {
            Ok(normal) => {
                let want: Vec<String> = normal.iter().map(|n| flows::spec_of(bridge, n).text()).collect();
                flows::same(&want, have)
            }
            Err(CapError::InvalidArgument(m)) => return Err(refused_flow(&m, want)),
            Err(e) => return Err(e.into()),
        };
        if same {
            continue;
        }
        let kind = match (have.is_empty(), want.is_empty()) {
            (true, _) => ActionKind::Create,
            (false, true) => ActionKind::Delete,
            (false, false) => ActionKind::Modify,
        };
        let body = FlowsChange {
            bridge: bridge.clone(),
            flows: want.iter().map(|(index, flow)| IndexedFlow { index: *index, flow: flow.clone() }).collect(),
        };
        out.push(action(kind, format!("flows {bridge}"), json!(body)));
    }
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::model::parse;
    use portagent_sdk::testing::{Fake, run};

    fn kinds(actions: &[Action]) -> Vec<(String, ActionKind)> {
        actions.iter().map(|a| (a.resource.clone(), a.kind)).collect()
    }

    #[test]
    fn the_guide_example_from_nothing_and_then_again() {
        let desired = parse(
            r#"{"routing": [{"destination": "10.0.0.0/8", "gateway": "192.168.1.254", "interface": "ovsbr0", "metric": 100}],
                "dns": {"hostname": "netmaker-server", "search_domains": ["vpn.internal", "example.com"]},
                "ovs_flows": [{"bridge": "ovsbr0", "priority": 200, "match_rule": "ip,nw_dst=10.0.0.0/8", "actions": "normal"}]}"#,
        )
        .unwrap();
        let current = parse(r#"{"dns": {"hostname": "lab"}}"#).unwrap();
        let (actions, _) = run(Fake::new(), || diff(&current, &desired, "ovsbr0").unwrap());
        assert_eq!(
            kinds(&actions),
            [
                ("hostname".into(), ActionKind::Modify),
                ("route 10.0.0.0/8 metric 100".into(), ActionKind::Create),
                ("dns ovsbr0".into(), ActionKind::Modify),
                ("flows ovsbr0".into(), ActionKind::Create),
            ]
        );
        // What query says once it is applied (the fake's normal form is the text).
        let now = parse(
            r#"{"routing": [{"destination": "10.0.0.0/8", "gateway": "192.168.1.254", "interface": "ovsbr0", "metric": 100}],
                "dns": {"hostname": "netmaker-server", "search_domains": ["vpn.internal", "example.com"], "servers": [], "interface": "ovsbr0"},
                "ovs_flows": [{"bridge": "ovsbr0", "priority": 200, "match_rule": "ip,nw_dst=10.0.0.0/8", "actions": "normal"}]}"#,
        )
        .unwrap();
        let (actions, _) = run(Fake::new(), || diff(&now, &desired, "ovsbr0").unwrap());
        assert!(actions.is_empty(), "{actions:?}");
    }

    #[test]
    fn a_changed_metric_replaces_netcfg_s_old_route_to_that_destination() {
        let current = parse(r#"{"routing": [{"destination": "10.0.0.0/8", "gateway": "192.168.1.254", "interface": "ovsbr0", "metric": 100},
                                            {"destination": "10.9.0.0/16", "interface": "ovsbr0"}]}"#)
        .unwrap();
        let desired =
            parse(r#"{"routing": [{"destination": "10.0.0.0/8", "gateway": "192.168.1.254", "metric": 50}]}"#).unwrap();
        let (actions, _) = run(Fake::new(), || diff(&current, &desired, "ovsbr0").unwrap());
        assert_eq!(
            kinds(&actions),
            [
                ("route 10.0.0.0/8 metric 50".into(), ActionKind::Create),
                ("route 10.0.0.0/8 metric 100".into(), ActionKind::Delete)
            ],
            "10.9.0.0/16 is not listed, so it stays"
        );
    }

    #[test]
    fn absent_entries_delete_what_is_live_and_nothing_else() {
        let mut fake = Fake::new().with_link("ovsbr0", true);
        fake.routes.push(crate::live::kernel_route(
            &crate::model::RouteSpec {
                destination: "172.16.0.0/16".into(),
                gateway: Some("192.168.1.2".into()),
                ..Default::default()
            }
            .resolve("ovsbr0")
            .unwrap(),
        ));
        let desired = parse(
            r#"{"routing": [{"destination": "172.16.0.0/16", "state": "absent"}, {"destination": "172.17.0.0/16", "state": "absent"}]}"#,
        )
        .unwrap();
        let (actions, _) = run(fake, || diff(&NetcfgState::default(), &desired, "ovsbr0").unwrap());
        assert_eq!(kinds(&actions), [("route 172.16.0.0/16".into(), ActionKind::Delete)]);
    }

    #[test]
    fn flows_of_bridges_left_out_are_removed_and_others_are_left() {
        let current =
            parse(r#"{"ovs_flows": [{"bridge": "ovsbr1", "priority": 5, "match_rule": "", "actions": "drop"}]}"#)
                .unwrap();
        let (actions, _) =
            run(Fake::new(), || diff(&current, &parse(r#"{"ovs_flows": []}"#).unwrap(), "ovsbr0").unwrap());
        assert_eq!(kinds(&actions), [("flows ovsbr1".into(), ActionKind::Delete)]);
        let (actions, _) = run(Fake::new(), || diff(&current, &parse("{}").unwrap(), "ovsbr0").unwrap());
        assert!(actions.is_empty(), "ovs_flows unset leaves flows alone");
    }

    #[test]
    fn a_flow_ovs_cannot_parse_is_refused_by_its_place_in_the_file() {
        let mut fake = Fake::new();
        fake.refused_flow = Some("bogus".into());
        // The refused flow is the file's third, its bridge's second.
        let desired = parse(
            r#"{"ovs_flows": [{"bridge": "ovsbr0", "priority": 1, "actions": "drop"}, {"bridge": "ovsbr1", "priority": 1, "actions": "drop"}, {"bridge": "ovsbr0", "priority": 2, "actions": "bogus"}]}"#,
        )
        .unwrap();
        let (e, _) = run(fake, || diff(&NetcfgState::default(), &desired, "ovsbr0").unwrap_err());
        match e {
            PluginError::Invalid(i) => {
                assert_eq!(i.field, "ovs_flows[2]");
                assert!(i.message.contains("unknown action bogus"), "{}", i.message);
            }
            other => panic!("{other:?}"),
        }
    }
}
