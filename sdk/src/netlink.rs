//! Kernel links, addresses, routes and routing policy rules (the
//! `netlink` capability: `read` for the lists, `write` for changes).

pub use crate::bindings::portagent::plugin::netlink::{Address, Link, LinkSetup, Route, RouteKind, Rule};
use crate::{CapError, host};

pub fn list_links() -> Result<Vec<Link>, CapError> {
    host::with(|h| h.list_links())
}
pub fn list_addresses() -> Result<Vec<Address>, CapError> {
    host::with(|h| h.list_addresses())
}
pub fn list_routes() -> Result<Vec<Route>, CapError> {
    host::with(|h| h.list_routes())
}
pub fn set_link_up(link: &str, up: bool) -> Result<(), CapError> {
    host::with(|h| h.set_link_up(link, up))
}
pub fn set_link_mtu(link: &str, mtu: u32) -> Result<(), CapError> {
    host::with(|h| h.set_link_mtu(link, mtu))
}
/// Renames `link` (scope `rename`); an up link comes back up.
pub fn rename_link(link: &str, new_name: &str) -> Result<(), CapError> {
    host::with(|h| h.rename_link(link, new_name))
}
pub fn add_address(address: &Address) -> Result<(), CapError> {
    host::with(|h| h.add_address(address))
}
pub fn del_address(address: &Address) -> Result<(), CapError> {
    host::with(|h| h.del_address(address))
}
pub fn add_route(route: &Route) -> Result<(), CapError> {
    host::with(|h| h.add_route(route))
}
pub fn del_route(route: &Route) -> Result<(), CapError> {
    host::with(|h| h.del_route(route))
}
/// Sets up many links at once (one socket on the host, the requests in
/// flight together); every entry is checked before anything changes.
pub fn set_up_links(links: &[LinkSetup]) -> Result<(), CapError> {
    host::with(|h| h.set_up_links(links))
}
/// Deletes `delete` then adds (or replaces) `add`, in one call: one socket
/// on the host, the requests in flight together, every entry checked
/// before anything changes; a route already gone, or already there, is
/// no error.
pub fn change_routes(delete: &[Route], add: &[Route]) -> Result<(), CapError> {
    host::with(|h| h.change_routes(delete, add))
}
pub fn list_rules() -> Result<Vec<Rule>, CapError> {
    host::with(|h| h.list_rules())
}
/// Deletes then adds rules, as [`change_routes`] does routes.
pub fn change_rules(delete: &[Rule], add: &[Rule]) -> Result<(), CapError> {
    host::with(|h| h.change_rules(delete, add))
}
