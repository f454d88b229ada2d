//! Compares the live state with a desired section: every route and rule
//! present (and kept in a drop-in) or gone as it says, the hostname in the
//! kernel and the static file, networkd's view of the DNS link, and
//! portagent's flows on every bridge.

use crate::flows;
use crate::live::Live;
use crate::model::{NetcfgState, Route, Rule, State};
use portagent_sdk::{Mismatch, PluginError};
use std::collections::{BTreeSet, HashSet};

fn mismatch(resource: &str, field: &str, expected: impl Into<String>, actual: impl Into<String>) -> Mismatch {
    Mismatch { resource: resource.into(), field: field.into(), expected: expected.into(), actual: actual.into() }
}

pub fn verify(desired: &NetcfgState, live: &Live, default_link: &str) -> Result<Vec<Mismatch>, PluginError> {
    let mut out = Vec::new();
    let kept_routes: HashSet<&Route> = live.records.values().flat_map(|r| &r.routes).collect();
    let kept_rules: HashSet<&Rule> = live.records.values().flat_map(|r| &r.rules).collect();
    for spec in desired.routing.iter().flatten() {
        let Ok(want) = spec.resolve(default_link) else { continue };
        match spec.state() {
            State::Present => {
                let resource = want.resource();
                match live.route(&want.key()) {
                    Some(have) if *have == want => {}
                    Some(have) => out.push(mismatch(&resource, "route", json(&want), json(have))),
                    None => out.push(mismatch(&resource, "route", json(&want), "absent")),
                }
                if !kept_routes.contains(&want) {
                    out.push(mismatch(&resource, "persisted", "in netcfg's drop-in", "not kept"));
                }
            }
            State::Absent => {
                for (have, _) in live.routes.iter().filter(|(r, _)| spec.matches(r)) {
                    out.push(mismatch(&have.resource(), "route", "absent", json(have)));
                }
            }
        }
    }
    for spec in desired.rules.iter().flatten() {
        let Ok(want) = spec.resolve() else { continue };
        match spec.state() {
            State::Present => {
                if !live.has_rule(&want) {
                    out.push(mismatch(&want.resource(), "rule", json(&want), "absent"));
                }
                if !kept_rules.contains(&want) {
                    out.push(mismatch(&want.resource(), "persisted", "in netcfg's drop-in", "not kept"));
                }
            }
            State::Absent => {
                for (have, _) in live.rules.iter().filter(|(r, _)| spec.matches(r)) {
                    out.push(mismatch(&have.resource(), "rule", "absent", json(have)));
                }
            }
        }
    }
    if let Some(d) = &desired.dns {
        if let Some(h) = &d.hostname {
            let names = &live.hostnames;
            if names.transient != *h {
                out.push(mismatch("hostname", "transient", h.clone(), names.transient.clone()));
            }
            if names.configured != *h {
                out.push(mismatch("hostname", "static", h.clone(), names.configured.clone()));
            }
        }
        if d.servers.is_some() || d.search_domains.is_some() {
            let link = d.interface.as_deref().unwrap_or(default_link);
            let resource = format!("dns {link}");
            let view = live.link(link);
            for (field, want, have) in [
                ("servers", &d.servers, view.map(|v| &v.dns)),
                ("search_domains", &d.search_domains, view.map(|v| &v.domains)),
            ] {
                let Some(want) = want else { continue };
                let missing: Vec<&String> = want.iter().filter(|w| !have.is_some_and(|h| h.contains(w))).collect();
                if !missing.is_empty() {
                    let have = have.map(|h| h.join(" ")).unwrap_or_else(|| "no such link".into());
                    out.push(mismatch(&resource, field, want.join(" "), have));
                }
            }
        }
    }
    if let Some(wanted) = &desired.ovs_flows {
        let wanted = flows::by_bridge(wanted);
        let bridges: BTreeSet<&String> = wanted.keys().chain(live.flows.keys()).collect();
        for bridge in bridges {
            let texts: Vec<String> = wanted.get(bridge).into_iter().flatten().map(|(_, t)| t.clone()).collect();
            let want = flows::normalize(&texts)?;
            let have = live.flows.get(bridge).cloned().unwrap_or_default();
            if !flows::same(&want, &have) {
                out.push(mismatch(&format!("flows {bridge}"), "flows", want.join("; "), have.join("; ")));
            }
        }
    }
    Ok(out)
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("serializes")
}
