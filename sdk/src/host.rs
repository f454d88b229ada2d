//! The host a plugin calls: its capability imports, behind one trait. In
//! a component (wasm32) that is the real imports; natively it is the fake
//! host a test installed ([`crate::testing`]), so a plugin's logic is
//! unit-testable without a lab. Every capability function of this crate
//! goes through [`with`].

use crate::CapError;
use crate::bindings::portagent::plugin::hostname::Hostnames;
use crate::bindings::portagent::plugin::log::Level;
use crate::bindings::portagent::plugin::netlink::{Address, Link, LinkSetup, Route, Rule};
use crate::bindings::portagent::plugin::networkd::LinkState;
use std::path::PathBuf;

/// Where a component sees systemd-networkd's config dir when granted
/// `networkd` (a WASI preopen).
pub const NETWORKD_DIR: &str = "/etc/systemd/network";

/// Every capability import of the `state-plugin` world, `settings`, and
/// where the networkd dir is.
pub trait Host: std::any::Any {
    /// networkd's config dir as the plugin sees it.
    fn networkd_dir(&self) -> PathBuf;
    fn log(&mut self, level: Level, message: &str);
    fn setting(&mut self, key: &str) -> Option<String>;
    fn ovsdb_transact(&mut self, database: &str, operations: &str) -> Result<String, CapError>;
    fn list_links(&mut self) -> Result<Vec<Link>, CapError>;
    fn list_addresses(&mut self) -> Result<Vec<Address>, CapError>;
    fn list_routes(&mut self) -> Result<Vec<Route>, CapError>;
    fn set_link_up(&mut self, link: &str, up: bool) -> Result<(), CapError>;
    fn set_link_mtu(&mut self, link: &str, mtu: u32) -> Result<(), CapError>;
    fn rename_link(&mut self, link: &str, new_name: &str) -> Result<(), CapError>;
    fn add_address(&mut self, address: &Address) -> Result<(), CapError>;
    fn del_address(&mut self, address: &Address) -> Result<(), CapError>;
    fn add_route(&mut self, route: &Route) -> Result<(), CapError>;
    fn del_route(&mut self, route: &Route) -> Result<(), CapError>;
    fn change_routes(&mut self, delete: &[Route], add: &[Route]) -> Result<(), CapError>;
    fn list_rules(&mut self) -> Result<Vec<Rule>, CapError>;
    fn change_rules(&mut self, delete: &[Rule], add: &[Rule]) -> Result<(), CapError>;
    fn set_up_links(&mut self, links: &[LinkSetup]) -> Result<(), CapError>;
    fn link_states(&mut self) -> Result<Vec<LinkState>, CapError>;
    fn networkd_reload(&mut self) -> Result<(), CapError>;
    fn networkd_reconfigure(&mut self, link: &str) -> Result<(), CapError>;
    fn set_link_dns(&mut self, link: &str, servers: &[String], domains: &[String]) -> Result<(), CapError>;
    fn revert_link_dns(&mut self, link: &str) -> Result<(), CapError>;
    fn dump_flows(&mut self, bridge: &str) -> Result<Vec<String>, CapError>;
    fn list_bridges(&mut self) -> Result<Vec<String>, CapError>;
    fn flow_cookie(&mut self) -> u64;
    fn own_flows(&mut self, bridge: &str) -> Result<Vec<String>, CapError>;
    fn replace_flows(&mut self, bridge: &str, flows: &[String]) -> Result<(), CapError>;
    fn normalize_flows(&mut self, flows: &[String]) -> Result<Vec<String>, CapError>;
    fn hostname_get(&mut self) -> Result<Hostnames, CapError>;
    fn hostname_set(&mut self, name: &str) -> Result<(), CapError>;
}

/// The real imports.
#[cfg(target_arch = "wasm32")]
mod real {
    use super::*;
    use crate::bindings::portagent::plugin as wit;

    pub struct Imports;

    impl Host for Imports {
        fn networkd_dir(&self) -> PathBuf {
            PathBuf::from(NETWORKD_DIR)
        }
        fn log(&mut self, level: Level, message: &str) {
            wit::log::log(level, message)
        }
        fn setting(&mut self, key: &str) -> Option<String> {
            wit::settings::get(key)
        }
        fn ovsdb_transact(&mut self, database: &str, operations: &str) -> Result<String, CapError> {
            wit::ovsdb::transact(database, operations)
        }
        fn list_links(&mut self) -> Result<Vec<Link>, CapError> {
            wit::netlink::list_links()
        }
        fn list_addresses(&mut self) -> Result<Vec<Address>, CapError> {
            wit::netlink::list_addresses()
        }
        fn list_routes(&mut self) -> Result<Vec<Route>, CapError> {
            wit::netlink::list_routes()
        }
        fn set_link_up(&mut self, link: &str, up: bool) -> Result<(), CapError> {
            wit::netlink::set_link_up(link, up)
        }
        fn set_link_mtu(&mut self, link: &str, mtu: u32) -> Result<(), CapError> {
            wit::netlink::set_link_mtu(link, mtu)
        }
        fn rename_link(&mut self, link: &str, new_name: &str) -> Result<(), CapError> {
            wit::netlink::rename_link(link, new_name)
        }
        fn add_address(&mut self, address: &Address) -> Result<(), CapError> {
            wit::netlink::add_address(address)
        }
        fn del_address(&mut self, address: &Address) -> Result<(), CapError> {
            wit::netlink::del_address(address)
        }
        fn add_route(&mut self, route: &Route) -> Result<(), CapError> {
            wit::netlink::add_route(route)
        }
        fn del_route(&mut self, route: &Route) -> Result<(), CapError> {
            wit::netlink::del_route(route)
        }
        fn change_routes(&mut self, delete: &[Route], add: &[Route]) -> Result<(), CapError> {
            wit::netlink::change_routes(delete, add)
        }
        fn list_rules(&mut self) -> Result<Vec<Rule>, CapError> {
            wit::netlink::list_rules()
        }
        fn change_rules(&mut self, delete: &[Rule], add: &[Rule]) -> Result<(), CapError> {
            wit::netlink::change_rules(delete, add)
        }
        fn set_up_links(&mut self, links: &[LinkSetup]) -> Result<(), CapError> {
            wit::netlink::set_up_links(links)
        }
        fn link_states(&mut self) -> Result<Vec<LinkState>, CapError> {
            wit::networkd::link_states()
        }
        fn networkd_reload(&mut self) -> Result<(), CapError> {
            wit::networkd::reload()
        }
        fn networkd_reconfigure(&mut self, link: &str) -> Result<(), CapError> {
            wit::networkd::reconfigure(link)
        }
        fn set_link_dns(&mut self, link: &str, servers: &[String], domains: &[String]) -> Result<(), CapError> {
            wit::networkd::set_link_dns(link, servers, domains)
        }
        fn revert_link_dns(&mut self, link: &str) -> Result<(), CapError> {
            wit::networkd::revert_link_dns(link)
        }
        fn dump_flows(&mut self, bridge: &str) -> Result<Vec<String>, CapError> {
            wit::openflow::dump_flows(bridge)
        }
        fn list_bridges(&mut self) -> Result<Vec<String>, CapError> {
            wit::openflow::list_bridges()
        }
        fn flow_cookie(&mut self) -> u64 {
            wit::openflow::cookie()
        }
        fn own_flows(&mut self, bridge: &str) -> Result<Vec<String>, CapError> {
            wit::openflow::own_flows(bridge)
        }
        fn replace_flows(&mut self, bridge: &str, flows: &[String]) -> Result<(), CapError> {
            wit::openflow::replace_flows(bridge, flows)
        }
        fn normalize_flows(&mut self, flows: &[String]) -> Result<Vec<String>, CapError> {
            wit::openflow::normalize(flows)
        }
        fn hostname_get(&mut self) -> Result<Hostnames, CapError> {
            wit::hostname::get()
        }
        fn hostname_set(&mut self, name: &str) -> Result<(), CapError> {
            wit::hostname::set(name)
        }
    }
}

/// Runs `f` with the host: the real imports in a component.
#[cfg(target_arch = "wasm32")]
pub fn with<R>(f: impl FnOnce(&mut dyn Host) -> R) -> R {
    f(&mut real::Imports)
}

#[cfg(not(target_arch = "wasm32"))]
std::thread_local! {
    /// Natively: the host a test installed on this thread.
    static CURRENT: std::cell::RefCell<Option<Box<dyn Host>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with the host: natively, the one a test installed
/// ([`crate::testing::run`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn with<R>(f: impl FnOnce(&mut dyn Host) -> R) -> R {
    CURRENT.with(|c| {
        let mut host = c.borrow_mut();
        let host = host.as_mut().expect("no host: natively, run the plugin's code inside portagent_sdk::testing::run");
        f(host.as_mut())
    })
}

/// Natively: makes `host` this thread's host, returning the one before.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn install(host: Option<Box<dyn Host>>) -> Option<Box<dyn Host>> {
    CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), host))
}
