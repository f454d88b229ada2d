//! Carries out a diff's actions without reconfiguring any link: routes
//! and rules in the kernel at once (one batch each), the hostname, each
//! bridge's flows in one OpenFlow bundle, DNS through networkd at run
//! time; the drop-ins (written first, so a restore after a failure
//! part-way knows what netcfg was making) keep all of it across a reboot,
//! a networkd reload and a networkd restart. networkd is never reloaded: a reload
//! reconfigures the link, re-adding its addresses and dropping routes it
//! did not make (the admin's among them).

use crate::diff::{DnsChange, FlowsChange};
use crate::dropin::{self, DROPINS, DnsRecord, Record};
use crate::live::{kernel_route, kernel_rule};
use crate::model::{Route, Rule};
use portagent_sdk::{Action, ActionKind, CapError, PluginError, hostname, netlink, networkd, openflow, settings};
use std::collections::{BTreeMap, HashSet};

/// What the actions ask for, gathered so each kind is one batch.
#[derive(Default)]
struct Plan {
    hostname: Option<String>,
    add_routes: Vec<Route>,
    del_routes: Vec<Route>,
    add_rules: Vec<Rule>,
    del_rules: Vec<Rule>,
    dns: Option<DnsChange>,
    flows: Vec<FlowsChange>,
    /// Drop-ins to write again from their records (edited behind netcfg).
    rewrite: HashSet<String>,
}

fn body<T: serde::de::DeserializeOwned>(a: &Action) -> Result<T, PluginError> {
    serde_json::from_str(&a.body).map_err(|e| PluginError::Failed(format!("action {}: bad body: {e}", a.resource)))
}

fn plan(actions: &[Action]) -> Result<Plan, PluginError> {
    #[derive(serde::Deserialize)]
    struct Hostname {
        hostname: String,
    }
    #[derive(serde::Deserialize)]
    struct Routes {
        routes: Vec<Route>,
    }
    #[derive(serde::Deserialize)]
    struct Rules {
        rules: Vec<Rule>,
    }
    let mut p = Plan::default();
    for a in actions {
        let kind = a.resource.split(' ').next().unwrap_or_default();
        match (kind, a.kind) {
            ("hostname", _) => p.hostname = Some(body::<Hostname>(a)?.hostname),
            ("route", ActionKind::Delete) => p.del_routes.extend(body::<Routes>(a)?.routes),
            ("route", _) => p.add_routes.push(body(a)?),
            ("rule", ActionKind::Delete) => p.del_rules.extend(body::<Rules>(a)?.rules),
            ("rule", _) => p.add_rules.push(body(a)?),
            ("dns", _) => p.dns = Some(body(a)?),
            ("flows", _) => p.flows.push(body(a)?),
            ("dropin", _) => {
                p.rewrite.insert(a.resource.trim_start_matches("dropin ").to_string());
            }
            _ => return Err(PluginError::Failed(format!("unknown action {}", a.resource))),
        }
    }
    Ok(p)
}

/// The record of `link`'s `.network` file (new if there was none), or
/// why netcfg cannot keep `what` there.
fn record_mut<'a>(
    records: &'a mut BTreeMap<String, Record>,
    files: &BTreeMap<String, String>,
    link: &str,
    what: &str,
) -> Result<&'a mut Record, PluginError> {
    let file = dropin::file_of(files, link, what)?.to_string();
    Ok(records.entry(file).or_insert_with(|| Record { link: link.into(), ..Default::default() }))
}

/// The records after the plan: what netcfg owns, by `.network` file.
/// Fails, before anything changed, if a link has no file to add to.
fn records_after(
    mut records: BTreeMap<String, Record>,
    p: &Plan,
    files: &BTreeMap<String, String>,
    default_link: &str,
) -> Result<BTreeMap<String, Record>, PluginError> {
    let replaced: HashSet<_> = p.del_routes.iter().chain(&p.add_routes).map(Route::key).collect();
    records.values_mut().for_each(|rec| rec.routes.retain(|x| !replaced.contains(&x.key())));
    for r in &p.add_routes {
        let link = r.interface.as_deref().unwrap_or(default_link);
        let rec = record_mut(&mut records, files, link, &format!("the route to {}", r.destination))?;
        rec.routes.push(r.clone());
    }
    let replaced: HashSet<&Rule> = p.del_rules.iter().chain(&p.add_rules).collect();
    records.values_mut().for_each(|rec| rec.rules.retain(|x| !replaced.contains(x)));
    for r in &p.add_rules {
        let rec = record_mut(&mut records, files, default_link, &format!("rule {}", r.priority))?;
        rec.rules.push(r.clone());
    }
    for rec in records.values_mut() {
        rec.routes.sort();
        rec.rules.sort();
    }
    if let Some(d) = &p.dns {
        records.values_mut().for_each(|rec| rec.dns = None);
        // DNS cleared needs no file to be kept in (its link may be going
        // in this very apply).
        if !(d.servers.is_empty() && d.domains.is_empty()) {
            let rec = record_mut(&mut records, files, &d.interface, "DNS settings")?;
            rec.dns = Some(DnsRecord { servers: d.servers.clone(), domains: d.domains.clone() });
        }
    }
    Ok(records)
}

/// `flow N: ...` from the host as `ovs_flows[index] (bridge B): ...`.
fn name_the_flow(e: CapError, change: &FlowsChange) -> PluginError {
    let named = e
        .message()
        .strip_prefix("flow ")
        .and_then(|r| r.split_once(':'))
        .and_then(|(n, rest)| Some((n.parse::<usize>().ok()?, rest)))
        .and_then(|(n, rest)| Some((change.flows.get(n)?.index, rest.to_string())));
    match (named, e) {
        (Some((index, rest)), CapError::InvalidArgument(_)) => {
            PluginError::Failed(format!("ovs_flows[{index}] (bridge {}):{rest}", change.bridge))
        }
        (_, e) => PluginError::from(e),
    }
}

/// Sets `link`'s DNS at run time: what its files say, then netcfg's, as
/// networkd itself puts them together when it reads the files (servers
/// one after the other, a server in both twice; search domains once
/// each), so a reload or a restart of networkd, which reads the files
/// again, changes nothing.
pub fn set_link_dns(files: &BTreeMap<String, String>, link: &str, ours: &DnsRecord) -> Result<(), PluginError> {
    let base = files.get(link).map(|f| dropin::dns_of_files(f)).unwrap_or_default();
    let servers: Vec<String> = base.servers.iter().chain(&ours.servers).cloned().collect();
    // Nothing is asked of a link that is gone (a bridge deleted in this
    // apply, whose DNS the file clears): there is nothing to set.
    let nothing_of_ours = ours.servers.is_empty() && ours.domains.is_empty();
    match networkd::set_link_dns(link, &servers, &dropin::merged(&base.domains, &ours.domains)) {
        Err(portagent_sdk::CapError::NotFound(_)) if nothing_of_ours => Ok(()),
        other => other.map_err(PluginError::from),
    }
}

pub fn apply(actions: &[Action]) -> Result<Vec<String>, PluginError> {
    let p = plan(actions)?;
    let default_link = settings::get("bridge_name").unwrap_or_else(|| "ovsbr0".into());
    let files = dropin::network_files()?;
    let before = dropin::records()?;
    let after = records_after(before.clone(), &p, &files, &default_link)?;
    for file in after.iter().filter(|(_, rec)| !rec.is_empty()).map(|(f, _)| f) {
        let path = DROPINS.path_for(file);
        if std::fs::read_to_string(&path).is_ok_and(|c| !DROPINS.is_ours(&c)) {
            return Err(PluginError::Failed(portagent_sdk::networkd::foreign_message(&path)));
        }
    }

    // The drop-ins first: what netcfg is about to own is written down
    // before it is made, so a restore after a failure part-way knows it.
    for (file, rec) in &after {
        if before.get(file) == Some(rec) && !p.rewrite.contains(file) {
            continue;
        }
        if rec.is_empty() {
            DROPINS.remove(file)?;
        } else {
            DROPINS.write(file, &dropin::render(rec))?;
        }
    }
    if let Some(h) = &p.hostname {
        hostname::set(h)?;
    }
    if !p.del_routes.is_empty() || !p.add_routes.is_empty() {
        let del: Vec<_> = p.del_routes.iter().map(kernel_route).collect();
        let add: Vec<_> = p.add_routes.iter().map(kernel_route).collect();
        netlink::change_routes(&del, &add)?;
    }
    if !p.del_rules.is_empty() || !p.add_rules.is_empty() {
        let del: Vec<_> = p.del_rules.iter().map(kernel_rule).collect();
        let add: Vec<_> = p.add_rules.iter().map(kernel_rule).collect();
        netlink::change_rules(&del, &add)?;
    }
    for change in &p.flows {
        let texts: Vec<String> = change.flows.iter().map(|f| f.flow.clone()).collect();
        openflow::replace_flows(&change.bridge, &texts).map_err(|e| name_the_flow(e, change))?;
    }
    if let Some(d) = &p.dns {
        let ours = DnsRecord { servers: d.servers.clone(), domains: d.domains.clone() };
        set_link_dns(&files, &d.interface, &ours)?;
        // The link netcfg's DNS was on before, if another: its files' own.
        for old in before.values().filter(|r| r.dns.is_some() && r.link != d.interface) {
            set_link_dns(&files, &old.link, &DnsRecord::default())?;
        }
    }
    Ok(actions.iter().map(|a| a.resource.clone()).collect())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::model::parse;
    use portagent_sdk::networkd::LinkState;
    use portagent_sdk::testing::{Fake, run};

    fn lab() -> Fake {
        let mut fake = Fake::new().with_link("ovsbr0", true).with_setting("bridge_name", "ovsbr0");
        fake.bridges = vec!["ovsbr0".into()];
        fake.link_states.push(LinkState {
            name: "ovsbr0".into(),
            operational: "routable".into(),
            setup: "configured".into(),
            network_file: "/etc/systemd/network/10-portagent-ovsbr0.network".into(),
            dns: vec!["8.8.8.8".into()],
            domains: vec![],
        });
        std::fs::write(
            fake.networkd_dir().join("10-portagent-ovsbr0.network"),
            "[Match]\nName=ovsbr0\n[Network]\nDNS=8.8.8.8\n",
        )
        .unwrap();
        fake
    }

    #[test]
    fn the_guide_example_is_applied_without_a_reload_and_kept_in_a_drop_in() {
        let desired = parse(
            r#"{"routing": [{"destination": "10.0.0.0/8", "gateway": "192.168.1.254", "interface": "ovsbr0", "metric": 100}],
                "dns": {"hostname": "netmaker-server", "search_domains": ["vpn.internal", "example.com"]},
                "ovs_flows": [{"bridge": "ovsbr0", "priority": 200, "match_rule": "ip,nw_dst=10.0.0.0/8", "actions": "normal"}]}"#,
        )
        .unwrap();
        let (result, fake) = run(lab(), || {
            let current = crate::live::Live::read().unwrap().state();
            let actions = crate::diff::diff(&current, &desired, "ovsbr0").unwrap();
            apply(&actions).unwrap();
            let again = crate::live::Live::read().unwrap().state();
            crate::diff::diff(&again, &desired, "ovsbr0").unwrap()
        });
        assert!(result.is_empty(), "a re-apply is a no-op: {result:?}");
        assert!(!fake.calls.iter().any(|c| c.contains("reload") || c.contains("reconfigure")), "{:?}", fake.calls);
        assert!(fake.calls.contains(&"networkd.set-link-dns ovsbr0 [8.8.8.8] [vpn.internal example.com]".to_string()));
        assert_eq!(fake.hostnames.transient, "netmaker-server");
        assert_eq!(fake.own_flows["ovsbr0"], ["priority=200,ip,nw_dst=10.0.0.0/8,actions=normal"]);
        let dropin =
            std::fs::read_to_string(fake.networkd_dir().join("10-portagent-ovsbr0.network.d/50-portagent-netcfg.conf"))
                .unwrap();
        assert!(dropin.contains("Destination=10.0.0.0/8\nGateway=192.168.1.254\nMetric=100"), "{dropin}");
        assert!(dropin.contains("Domains=vpn.internal example.com"), "{dropin}");
        assert!(fake.routes.iter().any(|r| r.destination == "10.0.0.0/8" && r.metric == Some(100)));
    }

    /// The running name agrees with the desired one, the static name does
    /// not (no /etc/hostname): both are set, and only then is the host
    /// described by `dns.hostname` (issue 26, item 10).
    #[test]
    fn a_hostname_is_the_hosts_only_where_its_running_and_static_names_agree() {
        let mut fake = lab();
        fake.hostnames.transient = "lab".into();
        let desired = parse(r#"{"dns": {"hostname": "lab"}}"#).unwrap();
        let ((queried, actions, again), fake) = run(fake, || {
            let current = crate::live::Live::read().unwrap().state();
            let actions = crate::diff::diff(&current, &desired, "ovsbr0").unwrap();
            apply(&actions).unwrap();
            let again = crate::live::Live::read().unwrap().state();
            (current, actions, again)
        });
        assert_eq!(queried.dns.unwrap().hostname, None, "the static name differs: not described by one field");
        assert_eq!(actions.len(), 1, "set although the running name agrees: {actions:?}");
        assert_eq!((fake.hostnames.transient.as_str(), fake.hostnames.configured.as_str()), ("lab", "lab"));
        assert_eq!(again.dns.unwrap().hostname.as_deref(), Some("lab"));
    }

    #[test]
    fn a_route_on_a_link_without_a_file_fails_before_any_change() {
        let desired =
            parse(r#"{"routing": [{"destination": "10.0.0.0/8", "interface": "eth9"}], "dns": {"hostname": "x"}}"#)
                .unwrap();
        let (e, fake) = run(lab().with_link("eth9", true), || {
            let current = crate::live::Live::read().unwrap().state();
            apply(&crate::diff::diff(&current, &desired, "ovsbr0").unwrap()).unwrap_err()
        });
        assert!(e.to_string().contains("eth9"), "{e}");
        assert!(fake.calls.is_empty(), "nothing changed: {:?}", fake.calls);
    }

    #[test]
    fn a_flow_refused_at_apply_is_named_by_its_place_in_the_file() {
        // diff refuses what OVS cannot parse; what OVS refuses only when
        // it is replaced (the bridge changed in between) is named too.
        let mut fake = lab();
        fake.refused_flow = Some("bogus".into());
        let change = FlowsChange {
            bridge: "ovsbr0".into(),
            flows: vec![
                crate::diff::IndexedFlow { index: 3, flow: "priority=1,actions=drop".into() },
                crate::diff::IndexedFlow { index: 5, flow: "priority=2,actions=bogus".into() },
            ],
        };
        let action = Action {
            kind: ActionKind::Create,
            resource: "flows ovsbr0".into(),
            body: serde_json::to_string(&change).unwrap(),
        };
        let (e, _) = run(fake, || apply(&[action]).unwrap_err());
        assert!(e.to_string().contains("ovs_flows[5] (bridge ovsbr0)"), "{e}");
    }
}
