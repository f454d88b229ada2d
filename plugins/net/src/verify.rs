//! Verification: the desired section against a fresh read of the live
//! system, retried within a bounded settle time (networkd configures links
//! asynchronously; for links the kernel alone shows set up, see kernel.rs,
//! networkd at work on them is enough). Mismatches name the resource and
//! field.

use crate::diff::{changes, wanted_ports};
use crate::kernel;
use crate::live::Live;
use crate::model::{Interface, Kind, NetState, State};
use crate::networkd;
use portagent_sdk::networkd::LinkState;
use portagent_sdk::{Mismatch, PluginError};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long the system may take to settle: networkd configures links at
/// its own pace (a few ms of its CPU per link), so this grows with the
/// state.
fn settle(interfaces: usize) -> Duration {
    Duration::from_secs(15) + Duration::from_millis(30) * interfaces as u32
}

/// How often to read everything again; each read costs, so larger states
/// look less often.
fn poll(interfaces: usize) -> Duration {
    Duration::from_millis(20) + Duration::from_micros(500) * interfaces as u32
}

/// The pause between two questions to networkd whether it is still busy.
/// Asking costs networkd nothing (no D-Bus call) but costs us a read per
/// link; pausing nine times as long as the last ask took keeps that
/// under a tenth of a core beside networkd, at any size.
fn busy_pause(ask: Duration) -> Duration {
    (ask * 9).max(Duration::from_millis(10))
}

/// networkd's view of each link, by name.
fn by_name(networkd: &[LinkState]) -> HashMap<&str, &LinkState> {
    networkd.iter().map(|l| (l.name.as_str(), l)).collect()
}

/// The links `desired` declares present whose setup state `is`.
fn declared_in<'a>(
    desired: &'a NetState,
    networkd: &[LinkState],
    is: impl Fn(&Interface, &str) -> bool,
) -> Vec<&'a str> {
    let networkd = by_name(networkd);
    desired
        .interfaces
        .iter()
        .filter(|d| d.state != Some(State::Absent) && networkd.get(d.name.as_str()).is_some_and(|l| is(d, &l.setup)))
        .map(|d| d.name.as_str())
        .collect()
}

/// Links of `desired` networkd gave up on.
fn failed<'a>(desired: &'a NetState, networkd: &[LinkState]) -> Vec<&'a str> {
    declared_in(desired, networkd, |_, s| s == "failed")
}

/// Links of `desired` networkd is still working on, and whose
/// verification waits for it: the ones with something only networkd sets
/// (the others the kernel shows; see kernel.rs).
fn busy(desired: &NetState, networkd: &[LinkState]) -> usize {
    declared_in(desired, networkd, |d, s| matches!(s, "pending" | "initialized" | "configuring") && !kernel::settles(d))
        .len()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One comparison of `desired` with the live state (and networkd's view:
/// a link still being configured is not verified yet).
pub fn mismatches(desired: &NetState, live: &Live, networkd: Option<&[LinkState]>) -> Vec<Mismatch> {
    // What the last restore left to the actors that changed it since the
    // checkpoint (kept.rs): not this verify's to judge.
    let kept = crate::kept::names();
    let mut current = live.state();
    if !kept.is_empty() {
        for c in &mut current.interfaces {
            if let Some(ports) = &mut c.ports {
                ports.retain(|p| !kept.contains(p.name()));
            }
        }
    }
    let current = current.by_name();
    let networkd_of = by_name(networkd.unwrap_or_default());
    let mut out = Vec::new();
    let mismatch = |resource: &str, field: &str, expected: String, actual: String| Mismatch {
        resource: resource.into(),
        field: field.into(),
        expected,
        actual,
    };
    for d in desired.interfaces.iter().filter(|d| !kept.contains(&d.name)) {
        let cur = current.get(d.name.as_str()).copied();
        if d.dynamic == Some(true) {
            // The port agent's: attached if its link is (still) there and
            // was free, detached if it was the agent's (see diff).
            let bridge = live.ovs.bridge_of(&d.name);
            let dynamic = bridge.and_then(|b| b.port(&d.name)).is_some_and(|p| p.dynamic);
            match (d.state == Some(State::Absent), bridge) {
                (true, Some(b)) if dynamic => out.push(mismatch(&d.name, "controller", "none".into(), b.name.clone())),
                (false, None) if cur.is_some_and(|c| c.kind == Kind::Ethernet) => {
                    out.push(mismatch(&d.name, "controller", d.controller.clone().unwrap_or_default(), "none".into()))
                }
                (false, None)
                    if cur.is_none() && d.rename_from.as_ref().is_some_and(|r| current.contains_key(r.as_str())) =>
                {
                    out.push(mismatch(&d.name, "name", d.name.clone(), d.rename_from.clone().unwrap_or_default()))
                }
                _ => {}
            }
            continue;
        }
        if d.state == Some(State::Absent) {
            let present = match d.kind {
                Kind::Ethernet => live.files.contains_key(&d.name),
                _ => cur.is_some(),
            };
            if present {
                out.push(mismatch(&d.name, "state", "absent".into(), "present".into()));
            }
            continue;
        }
        let Some(c) = cur else {
            out.push(mismatch(&d.name, "state", "present".into(), "absent".into()));
            continue;
        };
        if let (Some(_), Some(file), Some(_)) = (networkd, live.files.get(&d.name), live.link(&d.name)) {
            let link = networkd_of.get(d.name.as_str());
            let setup = link.map_or("unknown", |l| l.setup.as_str());
            // Where the kernel shows all networkd would set, by the file it
            // reads (and by what is declared), networkd need only not have
            // given up on the link: it may still be working through a
            // reload of a thousand links (and writing down that it has
            // taken them lags seconds behind).
            let kernel_settles = kernel::settles(d) && file.declared.as_ref().is_some_and(kernel::settles);
            if setup != "configured" && !(kernel_settles && setup != "failed") {
                out.push(mismatch(&d.name, "networkd", "configured".into(), setup.into()));
            }
            // Another file that matches the link first wins in networkd
            // (and would undo what the kernel shows now, or at boot).
            let ours = networkd::path(&d.name);
            if let Some(theirs) = link.map(|l| l.network_file.as_str()).filter(|f| !f.is_empty() && *f != ours) {
                out.push(mismatch(&d.name, "networkd.file", ours, theirs.to_string()));
            }
        }
        // ovs-vswitchd carries an OVS bridge's and internal port's link:
        // with it gone (killed, crashed mid-apply) the userspace links lose
        // their carrier though they stay up, and nothing is forwarded.
        if matches!(d.kind, Kind::OvsBridge | Kind::OvsInterface)
            && d.state != Some(State::Down)
            && live.link(&d.name).is_some_and(|l| l.up && l.oper_state == "down")
        {
            out.push(mismatch(
                &d.name,
                "carrier",
                "up (ovs-vswitchd carries the link)".into(),
                "no carrier: is ovs-vswitchd running?".into(),
            ));
        }
        let mut ports = if d.kind == Kind::OvsBridge { wanted_ports(desired, d, Some(c)) } else { None };
        if let Some(ports) = &mut ports {
            ports.retain(|p| !kept.contains(p.name()));
        }
        let actual = serde_json::to_value(c).expect("interface serializes");
        for (field, expected) in changes(d, ports.as_ref(), c) {
            let got = field.split('.').fold(&actual, |v, k| &v[k]);
            out.push(mismatch(&d.name, &field, text(&expected), text(got)));
        }
        // Every port must really be attached: a missing device, a patch
        // port without its peer, shows up as an Interface error in OVSDB.
        let bridge = live.ovs.bridge(&d.name);
        // The agent's ports come and go with their guests: not this file's.
        for p in ports.iter().flatten().filter(|p| !p.is_dynamic()) {
            let ifaces = bridge.and_then(|b| b.port(p.name())).map(|p| p.interfaces.as_slice()).unwrap_or_default();
            for i in ifaces {
                if i.error.is_some() || i.ofport == Some(-1) {
                    let why = i.error.clone().unwrap_or_else(|| "no OpenFlow port".into());
                    out.push(mismatch(&i.name, "ovs", format!("attached to {}", d.name), why));
                }
            }
        }
    }
    out
}

pub fn verify(desired: &NetState) -> Result<Vec<Mismatch>, PluginError> {
    let n = desired.interfaces.len();
    let deadline = Instant::now() + settle(n);
    let mut retried: HashSet<String> = HashSet::new();
    loop {
        // While networkd is still configuring links, reading everything
        // would only compete with it for the CPU.
        let ask = || {
            let t = Instant::now();
            portagent_sdk::networkd::link_states().map(|states| (states, t.elapsed()))
        };
        let (mut networkd, mut took) = ask()?;
        loop {
            // networkd does not retry a link it failed to configure, and
            // some failures are passing (seen: a bridge configured while
            // ovs-vswitchd was still setting it up, its default route
            // refused), so ask once more, as an admin would with
            // `networkctl reconfigure`. Once per link: a second failure is
            // real, and is reported.
            let mut asked = false;
            for link in failed(desired, &networkd) {
                if retried.insert(link.to_string()) {
                    portagent_sdk::log::info(&format!("networkd failed to configure {link}; reconfiguring it once"));
                    portagent_sdk::networkd::reconfigure(link)?;
                    asked = true;
                }
            }
            if (!asked && busy(desired, &networkd) == 0) || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(busy_pause(took));
            (networkd, took) = ask()?;
        }
        let live = Live::read()?;
        let mut found = mismatches(desired, &live, Some(&networkd));
        for (link, what, before, now) in crate::guard::changes(&live) {
            found.push(Mismatch {
                resource: link,
                field: format!("{what} (not in the state file)"),
                expected: before,
                actual: now,
            });
        }
        if found.is_empty() || Instant::now() >= deadline {
            return Ok(found);
        }
        std::thread::sleep(poll(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_networkd_configures_from_another_file_is_a_mismatch() {
        let live = crate::live::tests::live(3);
        let desired = live.state();
        let state = |name: &str, setup: &str, file: &str| LinkState { network_file: file.into(), ..link(name, setup) };
        let states = [
            state("p0", "configured", &networkd::path("p0")),
            state("p1", "configured", "/etc/systemd/network/05-all.network"),
            state("p2", "configuring", ""),
        ];
        let found = mismatches(&desired, &live, Some(&states));
        let found: Vec<(&str, &str, &str, &str)> = found
            .iter()
            .map(|m| (m.resource.as_str(), m.field.as_str(), m.expected.as_str(), m.actual.as_str()))
            .collect();
        let ours = networkd::path("p1");
        assert_eq!(found, [("p1", "networkd.file", ours.as_str(), "/etc/systemd/network/05-all.network")]);
    }

    #[test]
    fn an_ovs_link_without_carrier_is_a_mismatch() {
        let mut live = crate::live::tests::live(2);
        let desired = live.state();
        assert!(mismatches(&desired, &live, None).is_empty());
        // ovs-vswitchd killed: its taps stay up, without carrier.
        for l in live.links.iter_mut().filter(|l| l.name == "p1") {
            l.oper_state = "down".into();
        }
        let found = mismatches(&desired, &live, None);
        let found: Vec<(&str, &str)> = found.iter().map(|m| (m.resource.as_str(), m.field.as_str())).collect();
        assert_eq!(found, [("p1", "carrier")]);
        // A link the file takes down has no carrier by its own doing.
        let mut down = desired.clone();
        for i in down.interfaces.iter_mut().filter(|i| i.name == "p1") {
            i.state = Some(State::Down);
        }
        assert!(!mismatches(&down, &live, None).iter().any(|m| m.field == "carrier"));
    }

    fn link(name: &str, setup: &str) -> LinkState {
        LinkState {
            name: name.into(),
            operational: "routable".into(),
            setup: setup.into(),
            network_file: String::new(),
            dns: vec![],
            domains: vec![],
        }
    }

    #[test]
    fn only_declared_links_networkd_gave_up_on_are_retried() {
        let mut gone = Interface::new("p1", Kind::OvsInterface);
        gone.state = Some(State::Absent);
        let mut dhcp = Interface::new("p2", Kind::OvsInterface);
        dhcp.ipv4 = serde_json::from_str(r#"{"dhcp": true}"#).unwrap();
        let desired = NetState { interfaces: vec![Interface::new("ovsbr0", Kind::OvsBridge), gone, dhcp] };
        let states =
            [link("ovsbr0", "failed"), link("p1", "failed"), link("p2", "initialized"), link("eth9", "failed")];
        assert_eq!(failed(&desired, &states), ["ovsbr0"]);
        assert_eq!(busy(&desired, &states), 1, "networkd has not started on p2");
    }

    #[test]
    fn configuring_is_busy_only_for_what_networkd_alone_sets() {
        let mut gw = Interface::new("ovsbr0", Kind::OvsBridge);
        gw.ipv4 = serde_json::from_str(r#"{"address": [{"ip": "10.0.0.1", "prefix": 24}], "gateway": "10.0.0.254"}"#)
            .unwrap();
        let plain = Interface::new("p0", Kind::OvsInterface);
        let desired = NetState { interfaces: vec![gw, plain] };
        let states = |bridge: &str, port: &str| [link("ovsbr0", bridge), link("p0", port)];
        assert_eq!(busy(&desired, &states("configuring", "configuring")), 1, "the gateway is networkd's");
        assert_eq!(busy(&desired, &states("configured", "configuring")), 0, "the kernel shows p0");
        assert_eq!(busy(&desired, &states("configured", "initialized")), 0, "nor before networkd starts on it");
        assert_eq!(busy(&desired, &states("initialized", "configured")), 1);
    }
}
