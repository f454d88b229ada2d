//! A fake host for unit tests of a plugin's logic, natively (`cargo test`,
//! no lab, no component): links, addresses, routes, networkd's link states
//! and flows held in memory, OVSDB answered by a closure the test gives,
//! networkd's config dir a fresh temporary dir, and every call recorded.
//!
//! ```ignore
//! let fake = portagent_sdk::testing::Fake::new().with_link("ovsbr0", true);
//! let (result, fake) = portagent_sdk::testing::run(fake, || my_plugin::apply(&actions));
//! assert_eq!(fake.calls, ["networkd.reload"]);
//! ```

use crate::CapError;
use crate::bindings::portagent::plugin::hostname::Hostnames;
use crate::bindings::portagent::plugin::log::Level;
use crate::bindings::portagent::plugin::netlink::{Address, Link, LinkSetup, Route, Rule};
use crate::bindings::portagent::plugin::networkd::LinkState;
use crate::host::{self, Host};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Ovsdb = Box<dyn FnMut(&Value) -> Result<Value, CapError>>;

/// The fake host's state; everything is public for a test to set up and
/// look at.
pub struct Fake {
    pub links: Vec<Link>,
    pub addresses: Vec<Address>,
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
    pub link_states: Vec<LinkState>,
    /// Other flows by bridge, as `dump-flows` prints them.
    pub flows: BTreeMap<String, Vec<String>>,
    /// The OVS bridges there are.
    pub bridges: Vec<String>,
    /// The plugin's own flows by bridge. The fake's normal form is the
    /// flow as given, trimmed (OVS's own is richer).
    pub own_flows: BTreeMap<String, Vec<String>>,
    /// `normalize` and `replace-flows` refuse a flow containing this.
    pub refused_flow: Option<String>,
    /// `change-routes` refuses to add a route to this destination, as the
    /// kernel refuses one whose gateway it cannot reach.
    pub refused_route: Option<String>,
    pub hostnames: Hostnames,
    pub settings: BTreeMap<String, String>,
    /// Every log message, `LEVEL message`.
    pub logs: Vec<String>,
    /// Every capability call that changes something, e.g.
    /// `netlink.add-address ovsbr0 10.0.0.1/24`, `networkd.reload`.
    pub calls: Vec<String>,
    ovsdb: Option<Ovsdb>,
    dir: PathBuf,
}

impl Default for Fake {
    fn default() -> Self {
        Fake::new()
    }
}

impl Fake {
    /// An empty host with a fresh networkd dir of its own.
    pub fn new() -> Fake {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "portagent-sdk-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("a temporary networkd dir");
        Fake {
            links: vec![],
            addresses: vec![],
            routes: vec![],
            rules: vec![],
            link_states: vec![],
            flows: BTreeMap::new(),
            bridges: vec![],
            own_flows: BTreeMap::new(),
            refused_flow: None,
            refused_route: None,
            hostnames: Hostnames { transient: "localhost".into(), configured: String::new() },
            settings: BTreeMap::new(),
            logs: vec![],
            calls: vec![],
            ovsdb: None,
            dir,
        }
    }

    /// OVSDB answered by `f`: the operations (a JSON array) in, the
    /// results out.
    pub fn with_ovsdb(mut self, f: impl FnMut(&Value) -> Result<Value, CapError> + 'static) -> Fake {
        self.ovsdb = Some(Box::new(f));
        self
    }

    /// A link named `name` (index in order of adding), up or not.
    pub fn with_link(mut self, name: &str, up: bool) -> Fake {
        let index = self.links.len() as u32 + 1;
        self.links.push(Link {
            index,
            name: name.into(),
            kind: String::new(),
            mtu: 1500,
            up,
            oper_state: if up { "up" } else { "down" }.into(),
            mac: String::new(),
        });
        self
    }

    /// A setting, as `config.toml` would give it.
    pub fn with_setting(mut self, key: &str, value: &str) -> Fake {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// The fake networkd config dir.
    pub fn networkd_dir(&self) -> &Path {
        &self.dir
    }

    fn link(&mut self, name: &str) -> Result<&mut Link, CapError> {
        self.links
            .iter_mut()
            .find(|l| l.name == name)
            .ok_or_else(|| CapError::NotFound(format!("no link named {name:?}")))
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn same_route(a: &Route, b: &Route) -> bool {
    a.destination == b.destination
        && a.table == b.table
        && a.gateway == b.gateway
        && a.link == b.link
        && a.metric == b.metric
}

/// The kernel's key of a route: another with the same one replaces it.
fn same_route_key(a: &Route, b: &Route) -> bool {
    a.destination == b.destination && a.table == b.table && a.metric == b.metric
}

fn same_rule(a: &Rule, b: &Rule) -> bool {
    a.ipv6 == b.ipv6
        && a.from == b.from
        && a.to == b.to
        && a.iif == b.iif
        && a.fwmark == b.fwmark
        && a.table == b.table
        && (a.priority.is_none() || b.priority.is_none() || a.priority == b.priority)
}

impl Fake {
    fn check_flows(&self, flows: &[String]) -> Result<(), CapError> {
        match (&self.refused_flow, flows.iter().position(|f| self.refused_flow.as_ref().is_some_and(|r| f.contains(r))))
        {
            (Some(r), Some(i)) => {
                Err(CapError::InvalidArgument(format!("flow {i}: OVS refused it: unknown action {r}")))
            }
            _ => Ok(()),
        }
    }
}

impl Host for Fake {
    fn networkd_dir(&self) -> PathBuf {
        self.dir.clone()
    }

    fn log(&mut self, level: Level, message: &str) {
        self.logs.push(format!("{level:?} {message}"));
    }

    fn setting(&mut self, key: &str) -> Option<String> {
        self.settings.get(key).cloned()
    }

    fn ovsdb_transact(&mut self, _database: &str, operations: &str) -> Result<String, CapError> {
        let ops: Value = serde_json::from_str(operations).map_err(|e| CapError::InvalidArgument(e.to_string()))?;
        let f = self
            .ovsdb
            .as_mut()
            .ok_or_else(|| CapError::Denied("the fake host has no OVSDB (Fake::with_ovsdb)".into()))?;
        f(&ops).map(|v| v.to_string())
    }

    fn list_links(&mut self) -> Result<Vec<Link>, CapError> {
        Ok(self.links.clone())
    }

    fn list_addresses(&mut self) -> Result<Vec<Address>, CapError> {
        Ok(self.addresses.clone())
    }

    fn list_routes(&mut self) -> Result<Vec<Route>, CapError> {
        Ok(self.routes.clone())
    }

    fn set_link_up(&mut self, link: &str, up: bool) -> Result<(), CapError> {
        self.calls.push(format!("netlink.set-link-up {link} {up}"));
        self.link(link)?.up = up;
        Ok(())
    }

    fn set_link_mtu(&mut self, link: &str, mtu: u32) -> Result<(), CapError> {
        self.calls.push(format!("netlink.set-link-mtu {link} {mtu}"));
        self.link(link)?.mtu = mtu;
        Ok(())
    }

    fn rename_link(&mut self, link: &str, new_name: &str) -> Result<(), CapError> {
        self.calls.push(format!("netlink.rename-link {link} {new_name}"));
        if self.links.iter().any(|l| l.name == new_name) {
            return Err(CapError::Conflict(format!("netlink rename {link} to {new_name}: File exists")));
        }
        self.link(link)?.name = new_name.into();
        Ok(())
    }

    fn add_address(&mut self, a: &Address) -> Result<(), CapError> {
        self.calls.push(format!("netlink.add-address {} {}/{}", a.link, a.ip, a.prefix));
        self.link(&a.link)?;
        if self.addresses.iter().any(|x| x.link == a.link && x.ip == a.ip && x.prefix == a.prefix) {
            return Err(CapError::Conflict(format!("{}/{} is on {} already", a.ip, a.prefix, a.link)));
        }
        self.addresses.push(a.clone());
        Ok(())
    }

    fn del_address(&mut self, a: &Address) -> Result<(), CapError> {
        self.calls.push(format!("netlink.del-address {} {}/{}", a.link, a.ip, a.prefix));
        let at = self
            .addresses
            .iter()
            .position(|x| x.link == a.link && x.ip == a.ip && x.prefix == a.prefix)
            .ok_or_else(|| CapError::NotFound(format!("{}/{} is not on {}", a.ip, a.prefix, a.link)))?;
        self.addresses.remove(at);
        Ok(())
    }

    fn add_route(&mut self, r: &Route) -> Result<(), CapError> {
        self.calls.push(format!("netlink.add-route {} table {}", r.destination, r.table));
        if self.routes.iter().any(|x| same_route(x, r)) {
            return Err(CapError::Conflict(format!("route {} exists", r.destination)));
        }
        self.routes.push(r.clone());
        Ok(())
    }

    fn del_route(&mut self, r: &Route) -> Result<(), CapError> {
        self.calls.push(format!("netlink.del-route {} table {}", r.destination, r.table));
        let at = self
            .routes
            .iter()
            .position(|x| same_route(x, r))
            .ok_or_else(|| CapError::NotFound(format!("no route {}", r.destination)))?;
        self.routes.remove(at);
        Ok(())
    }

    fn change_routes(&mut self, delete: &[Route], add: &[Route]) -> Result<(), CapError> {
        self.calls.push(format!("netlink.change-routes -{} +{}", delete.len(), add.len()));
        for r in delete {
            self.routes.retain(|x| !same_route_key(x, r));
        }
        for r in add {
            if let Some(link) = &r.link {
                self.link(link)?;
            }
            if self.refused_route.as_deref() == Some(r.destination.as_str()) {
                return Err(CapError::Failed(format!("add route {}: Network is unreachable", r.destination)));
            }
            self.routes.retain(|x| !same_route_key(x, r));
            let mut r = r.clone();
            r.protocol = "static".into();
            if r.table == 0 {
                r.table = 254;
            }
            self.routes.push(r);
        }
        Ok(())
    }

    fn list_rules(&mut self) -> Result<Vec<Rule>, CapError> {
        Ok(self.rules.clone())
    }

    fn change_rules(&mut self, delete: &[Rule], add: &[Rule]) -> Result<(), CapError> {
        self.calls.push(format!("netlink.change-rules -{} +{}", delete.len(), add.len()));
        for r in delete {
            self.rules.retain(|x| !same_rule(x, r));
        }
        for r in add {
            if !self.rules.iter().any(|x| same_rule(x, r)) {
                let mut r = r.clone();
                r.protocol = "static".into();
                self.rules.push(r);
            }
        }
        Ok(())
    }

    fn set_up_links(&mut self, links: &[LinkSetup]) -> Result<(), CapError> {
        for s in links {
            self.calls.push(format!("netlink.set-up-link {}", s.link));
            self.link(&s.link)?.up = true;
            for a in &s.addresses {
                if !self.addresses.iter().any(|x| x.link == a.link && x.ip == a.ip && x.prefix == a.prefix) {
                    self.addresses.push(a.clone());
                }
            }
        }
        Ok(())
    }

    fn link_states(&mut self) -> Result<Vec<LinkState>, CapError> {
        Ok(self.link_states.clone())
    }

    fn networkd_reload(&mut self) -> Result<(), CapError> {
        self.calls.push("networkd.reload".into());
        Ok(())
    }

    fn networkd_reconfigure(&mut self, link: &str) -> Result<(), CapError> {
        self.calls.push(format!("networkd.reconfigure {link}"));
        Ok(())
    }

    fn set_link_dns(&mut self, link: &str, servers: &[String], domains: &[String]) -> Result<(), CapError> {
        self.calls.push(format!("networkd.set-link-dns {link} [{}] [{}]", servers.join(" "), domains.join(" ")));
        let state = self
            .link_states
            .iter_mut()
            .find(|s| s.name == link)
            .ok_or_else(|| CapError::NotFound(format!("networkd knows no link {link:?}")))?;
        state.dns = servers.to_vec();
        state.domains = domains.to_vec();
        Ok(())
    }

    fn revert_link_dns(&mut self, link: &str) -> Result<(), CapError> {
        self.calls.push(format!("networkd.revert-link-dns {link}"));
        Ok(())
    }

    fn dump_flows(&mut self, bridge: &str) -> Result<Vec<String>, CapError> {
        let cookie = self.flow_cookie();
        let own = self.own_flows.get(bridge).into_iter().flatten().map(|f| format!("cookie={cookie:#x}, {f}"));
        Ok(self.flows.get(bridge).cloned().unwrap_or_default().into_iter().chain(own).collect())
    }

    fn list_bridges(&mut self) -> Result<Vec<String>, CapError> {
        Ok(self.bridges.clone())
    }

    fn flow_cookie(&mut self) -> u64 {
        0x706f_7274_0000_0001
    }

    fn own_flows(&mut self, bridge: &str) -> Result<Vec<String>, CapError> {
        Ok(self.own_flows.get(bridge).cloned().unwrap_or_default())
    }

    fn replace_flows(&mut self, bridge: &str, flows: &[String]) -> Result<(), CapError> {
        self.calls.push(format!("openflow.replace-flows {bridge} ({} flows)", flows.len()));
        if !self.bridges.iter().any(|b| b == bridge) {
            return Err(CapError::NotFound(format!("{bridge} is not a bridge")));
        }
        self.check_flows(flows)?;
        self.own_flows.insert(bridge.into(), flows.iter().map(|f| f.trim().to_string()).collect());
        Ok(())
    }

    fn normalize_flows(&mut self, flows: &[String]) -> Result<Vec<String>, CapError> {
        self.check_flows(flows)?;
        Ok(flows.iter().map(|f| f.trim().to_string()).collect())
    }

    fn hostname_get(&mut self) -> Result<Hostnames, CapError> {
        Ok(self.hostnames.clone())
    }

    fn hostname_set(&mut self, name: &str) -> Result<(), CapError> {
        self.calls.push(format!("hostname.set {name}"));
        crate::validate::hostname(name).map_err(CapError::InvalidArgument)?;
        self.hostnames = Hostnames { transient: name.into(), configured: name.into() };
        Ok(())
    }
}

/// Runs `f` with `fake` as the host of this thread (every capability call
/// of this crate goes to it); returns what `f` returned and the fake, to
/// look at what was called.
pub fn run<R>(fake: Fake, f: impl FnOnce() -> R) -> (R, Fake) {
    let before = host::install(Some(Box::new(fake)));
    let result = f();
    let fake = host::install(before).expect("the fake host is still there");
    let fake = (fake as Box<dyn std::any::Any>).downcast::<Fake>().expect("the host installed is the fake");
    (result, *fake)
}
