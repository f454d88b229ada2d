//! What a restore changes in OVSDB: it undoes what portagent did since the
//! checkpoint and leaves what another actor did (a hypervisor plugging,
//! unplugging or re-tagging a VM's tap) as that actor left it.
//!
//! Whose a change is, is told by the rows themselves: every port `net`
//! creates or changes carries `external_ids:portagent` (`owned`, or the
//! port agent's `dynamic`), and while a change awaits confirmation no
//! other portagent change runs. So, per port:
//! - there now, not at the checkpoint: taken away if it is portagent's,
//!   else someone else plugged it and it stays;
//! - at the checkpoint, gone now: put back if its name is free and its
//!   link is still there, else someone else moved or unplugged it;
//! - on both, different: made as saved if it is (or was) portagent's,
//!   else someone else changed it and it stays.
//!
//! A bridge portagent created since goes with what is on it (logged).

use crate::live::Live;
use crate::ovs::OvsPort;
use crate::saved::{Backend, SavedBridge, SavedPort};
use std::collections::{BTreeMap, BTreeSet};

/// The OVSDB part of a restore, decided before any of it is done.
#[derive(Debug, Default, PartialEq)]
pub struct Undo {
    /// Bridges portagent made since: (uuid, name).
    pub delete_bridges: Vec<(String, String)>,
    /// Saved bridges that are gone, with the ports that can come back.
    pub create_bridges: Vec<SavedBridge>,
    /// (bridge, port) to put back on a bridge that is there.
    pub add: Vec<(String, SavedPort)>,
    /// (bridge, port) to make as saved again, in place.
    pub update: Vec<(String, SavedPort)>,
    /// (bridge, port uuid, port name) to take away.
    pub remove: Vec<(String, String, String)>,
    /// Ports left as another actor made them since, by name: what the
    /// restore's verify leaves out.
    pub kept: BTreeSet<String>,
    /// Ports of other actors that go with a bridge portagent made, by
    /// bridge.
    pub lost_with_bridge: BTreeMap<String, Vec<String>>,
}

/// Whether a live port row is portagent's (`net`'s or the port agent's).
fn ours(p: &OvsPort) -> bool {
    p.owned || p.dynamic
}

/// Whether a saved port was portagent's.
fn saved_ours(p: &SavedPort) -> bool {
    p.owned || p.config.dynamic == Some(true)
}

pub fn plan(saved: &Backend, live: &Live) -> Undo {
    let mut undo = Undo::default();
    let saved_bridge = |name: &str| saved.ovs_database.iter().find(|s| s.name == name);

    // First what goes: then a name it frees can come back elsewhere.
    let mut going: BTreeSet<&str> = BTreeSet::new();
    for b in &live.ovs.bridges {
        let own_ports = b.ports.iter().filter(|p| p.name != b.name);
        match saved_bridge(&b.name) {
            None if b.owned => {
                undo.delete_bridges.push((b.uuid.clone(), b.name.clone()));
                for p in own_ports {
                    going.extend(p.interfaces.iter().map(|i| i.name.as_str()));
                    going.insert(&p.name);
                    if !ours(p) {
                        undo.lost_with_bridge.entry(b.name.clone()).or_default().push(p.name.clone());
                    }
                }
            }
            None => {}
            Some(s) => {
                for p in own_ports.filter(|p| !s.ports.iter().any(|sp| sp.config.name == p.name)) {
                    if ours(p) {
                        // A bond's NICs go with it.
                        going.extend(p.interfaces.iter().map(|i| i.name.as_str()));
                        going.insert(&p.name);
                        undo.remove.push((b.name.clone(), p.uuid.clone(), p.name.clone()));
                    } else {
                        undo.kept.insert(p.name.clone());
                    }
                }
            }
        }
    }

    // A saved port comes back where its name is free (on no bridge, or
    // only where it goes now) and, for a NIC, its link is still there: a
    // link renamed since is renamed back after OVS, one deleted since is
    // someone else's doing (a VM stopped).
    let on_a_bridge = |name: &str| live.ovs.bridge_of(name).is_some() && !going.contains(name);
    let link_gone = |name: &str| {
        saved.link_names.iter().any(|(index, n)| n == name && !live.links.iter().any(|l| l.index == *index))
    };
    let can_come_back = |p: &SavedPort| {
        let names = p.config.interface_names();
        let taken = names.iter().any(|n| on_a_bridge(n));
        let unplugged = p.kind.is_empty() && names.iter().any(|n| link_gone(n));
        !taken && !unplugged
    };
    for s in &saved.ovs_database {
        match live.ovs.bridge(&s.name) {
            None => {
                let (back, left): (Vec<&SavedPort>, Vec<&SavedPort>) = s.ports.iter().partition(|p| can_come_back(p));
                undo.kept.extend(left.into_iter().map(|p| p.config.name.clone()));
                undo.create_bridges.push(SavedBridge { ports: back.into_iter().cloned().collect(), ..s.clone() });
            }
            Some(b) => {
                for p in &s.ports {
                    match b.port(&p.config.name) {
                        None if can_come_back(p) => undo.add.push((s.name.clone(), p.clone())),
                        None => {
                            undo.kept.insert(p.config.name.clone());
                        }
                        Some(row) if row.config() == p.config && row.kind() == p.kind && ours(row) == saved_ours(p) => {
                        }
                        Some(row) if ours(row) || saved_ours(p) => undo.update.push((s.name.clone(), p.clone())),
                        Some(_) => {
                            undo.kept.insert(p.config.name.clone());
                        }
                    }
                }
            }
        }
    }
    undo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::live;
    use crate::model::{PortConfig, Vlan, VlanMode};
    use crate::ovs::OvsView;
    use crate::saved::SavedBridge;

    fn saved_port(name: &str, tag: Option<u16>, owned: bool) -> SavedPort {
        let vlan = tag.map(|t| Vlan { mode: VlanMode::Access, tag: Some(t), trunks: None });
        SavedPort { config: PortConfig { name: name.into(), vlan, ..Default::default() }, kind: String::new(), owned }
    }

    /// The fixture's bridge (`ovsbr0`, ports p0.. internal and owned) with
    /// `extra` system ports as `(name, tag, owned)`, each with its link.
    fn with_ports(n: usize, extra: &[(&str, Option<u16>, bool)]) -> Live {
        let l = live(n);
        let mut bridges = l.ovs.bridges.clone();
        let mut links = l.links.clone();
        for (i, (name, tag, owned)) in extra.iter().enumerate() {
            let mut p = bridges[0].ports[0].clone();
            p.name = name.to_string();
            p.uuid = format!("p-{name}");
            p.interfaces[0].name = name.to_string();
            p.interfaces[0].kind = String::new();
            p.tag = *tag;
            p.owned = *owned;
            bridges[0].ports.push(p);
            let mut link = links[0].clone();
            (link.index, link.name) = (100 + i as u32, name.to_string());
            links.push(link);
        }
        Live::new(
            OvsView::new(l.ovs.root.clone(), bridges),
            links,
            l.addresses.clone(),
            l.routes.clone(),
            l.files.clone(),
        )
    }

    /// `live` without the link `name`.
    fn without_link(l: Live, name: &str) -> Live {
        let links = l.links.iter().filter(|k| k.name != name).cloned().collect();
        Live::new(l.ovs.clone(), links, l.addresses.clone(), l.routes.clone(), l.files.clone())
    }

    fn backend(of: &Live) -> Backend {
        let b = &of.ovs.bridges[0];
        Backend {
            systemd_files: Default::default(),
            ovs_database: vec![SavedBridge {
                name: b.name.clone(),
                datapath_type: b.datapath_type.clone(),
                owned: b.owned,
                stp: false,
                rstp: false,
                fail_mode: None,
                ports: b
                    .ports
                    .iter()
                    .filter(|p| p.name != b.name)
                    .map(|p| SavedPort { config: p.config(), kind: p.kind().into(), owned: p.owned })
                    .collect(),
            }],
            kernel_addresses: vec![],
            link_names: of.links.iter().map(|l| (l.index, l.name.clone())).collect(),
            mtu_requests: Default::default(),
            link_mtus: Default::default(),
            primary_addresses: Default::default(),
        }
    }

    #[test]
    fn nothing_changed_is_nothing_to_undo() {
        let l = with_ports(2, &[("tap1", Some(20), false)]);
        assert_eq!(plan(&backend(&l), &l), Undo::default());
    }

    #[test]
    fn a_port_someone_else_plugged_since_stays_and_ours_goes() {
        let before = with_ports(1, &[]);
        let now = with_ports(1, &[("tap110i0", Some(20), false), ("eth5", None, true)]);
        let undo = plan(&backend(&before), &now);
        assert_eq!(undo.remove, [("ovsbr0".to_string(), "p-eth5".to_string(), "eth5".to_string())]);
        assert_eq!(undo.kept, BTreeSet::from(["tap110i0".to_string()]));
        assert!(undo.add.is_empty() && undo.update.is_empty());
    }

    #[test]
    fn a_foreign_port_changed_since_stays_and_one_portagent_changed_is_put_back() {
        let before = with_ports(0, &[("tap1", Some(20), false), ("eth2", Some(5), false)]);
        let mut saved = backend(&before);
        // Someone re-tagged tap1; the apply re-tagged eth2 (and so owns it).
        let now = with_ports(0, &[("tap1", Some(30), false), ("eth2", Some(10), true)]);
        let undo = plan(&saved, &now);
        assert_eq!(undo.kept, BTreeSet::from(["tap1".to_string()]));
        assert_eq!(undo.update, [("ovsbr0".to_string(), saved_port("eth2", Some(5), false))]);
        // A port portagent had (and someone else changed) is put back.
        saved.ovs_database[0].ports[0].owned = true;
        let undo = plan(&saved, &now);
        assert_eq!(undo.update.len(), 2, "{undo:?}");
        assert!(undo.kept.is_empty());
    }

    #[test]
    fn a_removed_port_comes_back_only_where_its_name_and_link_are_free() {
        let three = || with_ports(0, &[("eth2", None, false), ("tap1", Some(20), false), ("tap2", None, false)]);
        let saved = backend(&three());
        // The apply removed eth2; a VM stop unplugged tap1 and deleted its
        // link; tap2 was moved to another bridge by someone else.
        let mut now = without_link(three(), "tap1");
        let mut main = now.ovs.bridges[0].clone();
        let mut other = main.clone();
        (other.name, other.uuid, other.owned) = ("br-vm".into(), "b2".into(), false);
        other.ports.retain(|p| p.name == "tap2");
        main.ports.retain(|p| !["eth2", "tap1", "tap2"].contains(&p.name.as_str()));
        now.ovs = OvsView::new(now.ovs.root.clone(), vec![main, other]);
        let undo = plan(&saved, &now);
        let added: Vec<&str> = undo.add.iter().map(|(_, p)| p.config.name.as_str()).collect();
        assert_eq!(added, ["eth2"], "{undo:?}");
        assert_eq!(undo.kept, BTreeSet::from(["tap1".to_string(), "tap2".to_string()]));
    }

    #[test]
    fn a_nic_portagent_put_in_a_bond_comes_back_as_a_port() {
        let before = with_ports(0, &[("eth1", None, true), ("eth2", None, true)]);
        let saved = backend(&before);
        let mut now = with_ports(0, &[("eth1", None, true), ("eth2", None, true)]);
        let mut main = now.ovs.bridges[0].clone();
        let mut bond = main.ports.iter().find(|p| p.name == "eth1").unwrap().clone();
        let eth2 = main.ports.iter().find(|p| p.name == "eth2").unwrap().interfaces[0].clone();
        (bond.name, bond.uuid) = ("bond0".into(), "p-bond0".into());
        bond.interfaces.push(eth2);
        main.ports.retain(|p| !p.name.starts_with("eth"));
        main.ports.push(bond);
        now.ovs = OvsView::new(now.ovs.root.clone(), vec![main]);
        let undo = plan(&saved, &now);
        let added: Vec<&str> = undo.add.iter().map(|(_, p)| p.config.name.as_str()).collect();
        assert_eq!(added, ["eth1", "eth2"], "{undo:?}");
        assert_eq!(undo.remove.len(), 1);
        assert!(undo.kept.is_empty());
    }

    #[test]
    fn a_port_moved_by_portagent_goes_back() {
        let before = with_ports(0, &[("eth2", None, false)]);
        let saved = backend(&before);
        // The apply moved eth2 to a bridge it made.
        let mut now = with_ports(0, &[("eth2", None, true)]);
        let mut main = now.ovs.bridges[0].clone();
        let mut made = main.clone();
        (made.name, made.uuid) = ("br-new".into(), "b2".into());
        made.ports.retain(|p| p.name == "eth2");
        main.ports.retain(|p| p.name != "eth2");
        now.ovs = OvsView::new(now.ovs.root.clone(), vec![main, made]);
        let undo = plan(&saved, &now);
        assert_eq!(undo.delete_bridges, [("b2".to_string(), "br-new".to_string())]);
        assert_eq!(undo.add.len(), 1);
        assert!(undo.kept.is_empty() && undo.lost_with_bridge.is_empty(), "{undo:?}");
    }
}
