//! Checkpoint and restore: everything `apply` could touch (OVSDB bridges
//! and ports, portagent's networkd files, the kernel's addresses), and the
//! way back to exactly that, including deleting bridges created since.
//! The shape follows the deployment guide's checkpoint JSON.

use crate::live::Live;
use crate::networkd;
use crate::ovs::{BridgeTxn, NewPort, Txn, WHO};
pub use crate::saved::{Backend, Checkpoint, SavedBridge, SavedPort};
use crate::undo;
use portagent_sdk::{PluginError, netlink, networkd as nd};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Every kernel address, IPv6 link-local ones included: giving a NIC to a
/// bridge removes its link-local address, and a rollback must bring it back.
fn addresses(live: &Live) -> Vec<String> {
    let mut v: Vec<String> = live.addresses.iter().map(|a| format!("{} {}/{}", a.link, a.ip, a.prefix)).collect();
    v.sort();
    v
}

pub fn take() -> Result<Checkpoint, PluginError> {
    crate::kept::forget();
    let live = Live::read()?;
    let backend = Backend {
        systemd_files: networkd::FILES
            .read_lookalikes()?
            .into_iter()
            .map(|(n, content)| (networkd::path(&n), content))
            .collect(),
        ovs_database: live
            .ovs
            .bridges
            .iter()
            .map(|b| SavedBridge {
                name: b.name.clone(),
                datapath_type: b.datapath_type.clone(),
                owned: b.owned,
                stp: b.stp,
                rstp: b.rstp,
                fail_mode: b.fail_mode,
                ports: b
                    .ports
                    .iter()
                    .filter(|p| p.name != b.name)
                    .map(|p| SavedPort { config: p.config(), kind: p.kind().to_string(), owned: p.owned })
                    .collect(),
            })
            .collect(),
        kernel_addresses: addresses(&live),
        link_names: live.links.iter().map(|l| (l.index, l.name.clone())).collect(),
        mtu_requests: live
            .ovs
            .bridges
            .iter()
            .flat_map(|b| &b.ports)
            .flat_map(|p| &p.interfaces)
            .map(|i| (i.name.clone(), i.mtu_request))
            .collect(),
        link_mtus: live.links.iter().map(|l| (l.name.clone(), l.mtu)).collect(),
        primary_addresses: primaries(&live),
    };
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let body = serde_json::to_string(&backend).expect("checkpoint serializes");
    let hash = body.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3));
    Ok(Checkpoint {
        id: format!("chkpt-{timestamp}-{:08x}", hash as u32),
        plugin: "net".into(),
        timestamp,
        state_snapshot: live.state(),
        backend_checkpoint: backend,
    })
}

/// Each link's first IPv4 address in the kernel's order (its primary).
fn primaries(live: &Live) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for a in live.addresses.iter().filter(|a| !a.ip.contains(':')) {
        out.entry(a.link.clone()).or_insert_with(|| format!("{}/{}", a.ip, a.prefix));
    }
    out
}

/// Links whose primary IPv4 address is not the saved one although the
/// saved one is there: the address now first, as `link ip/prefix`.
fn wrong_primaries(saved: &Backend, live: &Live) -> Vec<String> {
    let now = primaries(live);
    let have: BTreeSet<String> = addresses(live).into_iter().collect();
    saved
        .primary_addresses
        .iter()
        .filter(|(link, want)| have.contains(&format!("{link} {want}")))
        .filter_map(|(link, want)| now.get(link).filter(|first| *first != want).map(|first| format!("{link} {first}")))
        .collect()
}

/// Whether `name` is (or, restored, will be) an OVS internal interface:
/// a bridge's own, or an `ovs-interface` port.
fn internal(saved: &Backend, live: &Live, name: &str) -> bool {
    live.ovs.iface(name).is_some_and(|i| i.kind == "internal")
        || saved
            .ovs_database
            .iter()
            .any(|b| b.name == name || b.ports.iter().any(|p| p.config.name == name && p.kind == "internal"))
}

/// Links of the checkpoint that are there and whose MTU differs: (link,
/// saved MTU, MTU now).
fn mtus_to_restore(saved: &Backend, live: &Live) -> Vec<(String, u32, u32)> {
    saved
        .link_mtus
        .iter()
        .filter_map(|(name, want)| live.link(name).filter(|l| l.mtu != *want).map(|l| (name.clone(), *want, l.mtu)))
        .collect()
}

pub fn restore(cp: &Checkpoint) -> Result<(), PluginError> {
    crate::guard::forget();
    let saved = &cp.backend_checkpoint;
    let live = Live::read()?;

    // OVS: what portagent did since goes back; what another actor did
    // since stays (undo.rs), and the restore's verify leaves it out.
    let plan = undo::plan(saved, &live);
    for name in &plan.kept {
        portagent_sdk::log::warn(&format!(
            "restore: port {name} left as it is: another actor plugged, unplugged or changed it after the \
             checkpoint"
        ));
    }
    for (bridge, ports) in &plan.lost_with_bridge {
        portagent_sdk::log::warn(&format!(
            "restore: {bridge} was made by this change and goes, with ports another actor put on it since: {}",
            ports.join(", ")
        ));
    }
    crate::kept::set(plan.kept.clone());
    let mut txn = Txn::new(&live.ovs.root, WHO);
    for (uuid, _) in &plan.delete_bridges {
        txn.delete_bridge(uuid);
    }
    for s in &plan.create_bridges {
        // MTUs come back with the other interfaces' below.
        let ports: Vec<NewPort> = s
            .ports
            .iter()
            .map(|p| NewPort { config: p.config.clone(), kind: p.kind.clone(), owned: p.owned, mtu: None })
            .collect();
        txn.create_bridge(&s.name, &s.datapath_type, None, s.owned, &ports);
    }
    for (bridge, uuid, _) in &plan.remove {
        txn.remove_port(bridge, uuid);
    }
    for (bridge, p) in &plan.add {
        txn.add_port(bridge, &p.config, &p.kind, None, p.owned);
    }
    for (bridge, p) in &plan.update {
        let row = live.ovs.bridge(bridge).and_then(|b| b.port(&p.config.name)).expect("a port read from this bridge");
        txn.update_port(row, &p.config, &p.kind, p.owned);
    }
    for s in &saved.ovs_database {
        if let Some(b) = live.ovs.bridge(&s.name) {
            if b.owned != s.owned {
                txn.set_bridge_owned(&s.name, s.owned);
            }
            if b.datapath_type != s.datapath_type {
                txn.set_datapath_type(&s.name, &s.datapath_type);
            }
        }
        let (b_stp, b_rstp, b_fail) =
            live.ovs.bridge(&s.name).map_or((false, false, None), |b| (b.stp, b.rstp, b.fail_mode));
        txn.set_bridge_options(
            &s.name,
            (b_stp != s.stp).then_some(s.stp),
            (b_rstp != s.rstp).then_some(s.rstp),
            (b_fail != s.fail_mode).then_some(s.fail_mode),
        );
    }
    // MTU requests as they were, on rows kept and rows made again alike
    // (operations see the inserts before them in one transaction). An
    // internal interface takes its MTU only from OVS (ovs-vswitchd puts
    // back what netlink sets), and keeps the one it has when its request
    // is cleared: one whose MTU must change without a request of its own
    // is asked for that MTU now and has the request cleared once
    // ovs-vswitchd carried it out.
    let mut clear_after = Vec::new();
    for (name, want) in saved.mtu_requests.iter().filter(|(name, _)| !plan.kept.contains(*name)) {
        let kernel_now = live.link(name).map(|l| l.mtu);
        let kernel_then = saved.link_mtus.get(name).copied();
        let request = match (want, kernel_then) {
            (None, Some(then)) if internal(saved, &live, name) && kernel_now != Some(then) => {
                clear_after.push(name.clone());
                Some(then)
            }
            _ => *want,
        };
        if live.ovs.iface(name).map(|i| i.mtu_request) != Some(request) {
            txn.set_mtu_request(name, request);
        }
    }
    // OVS committed; the files written while ovs-vswitchd carries it out;
    // networkd reloaded once it has (see apply.rs).
    let applying = txn.commit()?;

    // Links renamed since (by the port agent) get their names back, now
    // that no port is named after them.
    for l in &live.links {
        if let Some(old) = saved.link_names.get(&l.index).filter(|old| **old != l.name)
            && live.link(old).is_none()
        {
            netlink::rename_link(&l.name, old)?;
        }
    }

    // networkd: exactly the saved files, byte for byte; portagent's own
    // files made since go (a look-alike made since is not its to remove).
    let mut changed = BTreeSet::new();
    for name in live.files.keys() {
        if !saved.systemd_files.contains_key(&networkd::path(name)) && networkd::remove(name)? {
            changed.insert(name.clone());
        }
    }
    for (path, content) in &saved.systemd_files {
        let name = path.rsplit('/').next().unwrap_or_default();
        let Some(name) = name.strip_prefix("10-portagent-").and_then(|n| n.strip_suffix(".network")) else { continue };
        if networkd::FILES.write_raw(name, content)? {
            changed.insert(name.to_string());
        }
    }
    applying.wait()?;
    if !clear_after.is_empty() {
        let mut txn = Txn::new(&live.ovs.root, WHO);
        for name in &clear_after {
            txn.set_mtu_request(name, None);
        }
        txn.commit()?.wait()?;
    }
    if !changed.is_empty() {
        nd::reload()?; // reconfigures exactly the links whose file changed
    }

    // Kernel addresses and MTUs: networkd drops what it configured,
    // eventually, and never lowers an MTU back; take away, put back and
    // set what still differs, until it all agrees.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let live = Live::read()?;
        let now: BTreeSet<String> = addresses(&live).into_iter().collect();
        let want: BTreeSet<String> = saved.kernel_addresses.iter().cloned().collect();
        let links: BTreeSet<&str> = live.links.iter().map(|l| l.name.as_str()).collect();
        // An address the saved primary now sits behind is taken away (the
        // kernel takes the secondaries with it) and comes back after it.
        let demoted = wrong_primaries(saved, &live);
        let mut extra: Vec<&String> = now.difference(&want).collect();
        extra.extend(demoted.iter());
        let mut missing: Vec<&String> =
            want.difference(&now).filter(|a| links.contains(a.split(' ').next().unwrap_or(""))).collect();
        // Each link's primary first.
        let primary =
            |a: &str| a.split_once(' ').is_some_and(|(l, ip)| saved.primary_addresses.get(l).is_some_and(|p| p == ip));
        missing.sort_by_key(|a| !primary(a));
        let mtus = mtus_to_restore(saved, &live);
        if extra.is_empty() && missing.is_empty() && mtus.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let mtus: Vec<String> = mtus.iter().map(|(l, want, now)| format!("{l}: {now} (was {want})")).collect();
            return Err(PluginError::Failed(format!(
                "restore: the links still differ from the checkpoint: extra addresses {extra:?}, missing \
                 addresses {missing:?}, MTUs {mtus:?}"
            )));
        }
        // Re-checked next round, like the addresses. OVS's internal
        // interfaces took theirs from OVSDB above (netlink would be undone).
        for (link, want, _) in mtus.iter().filter(|(l, ..)| !internal(saved, &live, l)) {
            let _ = netlink::set_link_mtu(link, *want);
        }
        for (a, add) in extra.iter().map(|a| (a, false)).chain(missing.iter().map(|a| (a, true))) {
            let (link, cidr) = a.split_once(' ').unwrap_or_default();
            let (ip, prefix) = cidr.split_once('/').unwrap_or_default();
            let address = netlink::Address { link: link.into(), ip: ip.into(), prefix: prefix.parse().unwrap_or(0) };
            // Races with networkd doing the same are harmless: re-checked.
            let _ = if add { netlink::add_address(&address) } else { netlink::del_address(&address) };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
