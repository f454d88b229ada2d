//! Serving `portagent:plugin@0.1.0`'s capability imports: each call goes to
//! the current (0.2) implementation on [`CapContext`], with the same grant
//! checks; only the types are converted. Where 0.2 changed what a call
//! means, a 0.1 call gets the 0.2 meaning: `replace-flows` replaces the
//! plugin's own flows (its cookie's), never another's.

use super::{CapContext, Caps};
use crate::plugin::bindings::v0_1::portagent;
use crate::plugin::bindings::v0_1::portagent::plugin::types as wit;
use crate::plugin::bindings::v0_2::portagent::plugin as now;
use wasmtime::component::{HasSelf, Linker};

type Res<T> = wasmtime::Result<Result<T, wit::CapError>>;

/// 0.1 has two variants: every refusal by the backend is `failed` there.
fn cap(e: now::types::CapError) -> wit::CapError {
    use now::types::CapError as Now;
    match e {
        Now::Denied(m) => wit::CapError::Denied(m),
        Now::Failed(m) | Now::NotFound(m) | Now::InvalidArgument(m) | Now::Conflict(m) | Now::Timeout(m) => {
            wit::CapError::Failed(m)
        }
    }
}

/// A current call's answer, as 0.1 has it.
fn back<A, B>(r: wasmtime::Result<Result<A, now::types::CapError>>, f: impl FnOnce(A) -> B) -> Res<B> {
    Ok(r?.map(f).map_err(cap))
}

impl portagent::plugin::types::Host for CapContext {}

impl portagent::plugin::log::Host for CapContext {
    async fn log(&mut self, level: portagent::plugin::log::Level, message: String) -> wasmtime::Result<()> {
        use now::log::Level as L;
        use portagent::plugin::log::Level as Old;
        let level = match level {
            Old::Error => L::Error,
            Old::Warn => L::Warn,
            Old::Info => L::Info,
            Old::Debug => L::Debug,
            Old::Trace => L::Trace,
        };
        now::log::Host::log(self, level, message).await
    }
}

impl portagent::plugin::settings::Host for CapContext {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        now::settings::Host::get(self, key).await
    }
}

impl portagent::plugin::ovsdb::Host for CapContext {
    async fn transact(&mut self, database: String, operations: String) -> Res<String> {
        back(now::ovsdb::Host::transact(self, database, operations).await, |r| r)
    }
}

mod netlink_types {
    //! 0.1's netlink records and 0.2's.
    pub use super::now::netlink as now;
    pub use super::portagent::plugin::netlink as old;

    pub fn link(l: now::Link) -> old::Link {
        old::Link {
            index: l.index,
            name: l.name,
            kind: l.kind,
            mtu: l.mtu,
            up: l.up,
            oper_state: l.oper_state,
            mac: l.mac,
        }
    }
    pub fn address(a: old::Address) -> now::Address {
        now::Address { link: a.link, ip: a.ip, prefix: a.prefix }
    }
    pub fn address_back(a: now::Address) -> old::Address {
        old::Address { link: a.link, ip: a.ip, prefix: a.prefix }
    }
    /// 0.1 routes are plain unicast routes without a preferred source.
    pub fn route(r: old::Route) -> now::Route {
        now::Route {
            destination: r.destination,
            gateway: r.gateway,
            link: r.link,
            metric: r.metric,
            table: r.table,
            protocol: r.protocol,
            kind: now::RouteKind::Unicast,
            source: None,
        }
    }
    pub fn route_back(r: now::Route) -> old::Route {
        old::Route {
            destination: r.destination,
            gateway: r.gateway,
            link: r.link,
            metric: r.metric,
            table: r.table,
            protocol: r.protocol,
        }
    }
    pub fn setup(s: old::LinkSetup) -> now::LinkSetup {
        now::LinkSetup {
            link: s.link,
            addresses: s.addresses.into_iter().map(address).collect(),
            no_link_local: s.no_link_local,
        }
    }
}

impl portagent::plugin::netlink::Host for CapContext {
    async fn list_links(&mut self) -> Res<Vec<netlink_types::old::Link>> {
        back(now::netlink::Host::list_links(self).await, |v| v.into_iter().map(netlink_types::link).collect())
    }
    async fn list_addresses(&mut self) -> Res<Vec<netlink_types::old::Address>> {
        back(now::netlink::Host::list_addresses(self).await, |v| {
            v.into_iter().map(netlink_types::address_back).collect()
        })
    }
    async fn list_routes(&mut self) -> Res<Vec<netlink_types::old::Route>> {
        back(now::netlink::Host::list_routes(self).await, |v| v.into_iter().map(netlink_types::route_back).collect())
    }
    async fn set_link_up(&mut self, link: String, up: bool) -> Res<()> {
        back(now::netlink::Host::set_link_up(self, link, up).await, |r| r)
    }
    async fn set_link_mtu(&mut self, link: String, mtu: u32) -> Res<()> {
        back(now::netlink::Host::set_link_mtu(self, link, mtu).await, |r| r)
    }
    async fn add_address(&mut self, address: netlink_types::old::Address) -> Res<()> {
        back(now::netlink::Host::add_address(self, netlink_types::address(address)).await, |r| r)
    }
    async fn del_address(&mut self, address: netlink_types::old::Address) -> Res<()> {
        back(now::netlink::Host::del_address(self, netlink_types::address(address)).await, |r| r)
    }
    async fn add_route(&mut self, route: netlink_types::old::Route) -> Res<()> {
        back(now::netlink::Host::add_route(self, netlink_types::route(route)).await, |r| r)
    }
    async fn del_route(&mut self, route: netlink_types::old::Route) -> Res<()> {
        back(now::netlink::Host::del_route(self, netlink_types::route(route)).await, |r| r)
    }
    async fn set_up_links(&mut self, links: Vec<netlink_types::old::LinkSetup>) -> Res<()> {
        let links = links.into_iter().map(netlink_types::setup).collect();
        back(now::netlink::Host::set_up_links(self, links).await, |r| r)
    }
}

impl portagent::plugin::networkd::Host for CapContext {
    async fn link_states(&mut self) -> Res<Vec<portagent::plugin::networkd::LinkState>> {
        back(now::networkd::Host::link_states(self).await, |v| {
            v.into_iter()
                .map(|s| portagent::plugin::networkd::LinkState {
                    name: s.name,
                    operational: s.operational,
                    setup: s.setup,
                    network_file: s.network_file,
                })
                .collect()
        })
    }
    async fn reload(&mut self) -> Res<()> {
        back(now::networkd::Host::reload(self).await, |r| r)
    }
    async fn reconfigure(&mut self, link: String) -> Res<()> {
        back(now::networkd::Host::reconfigure(self, link).await, |r| r)
    }
}

impl portagent::plugin::openflow::Host for CapContext {
    async fn dump_flows(&mut self, bridge: String) -> Res<Vec<String>> {
        back(now::openflow::Host::dump_flows(self, bridge).await, |r| r)
    }
    async fn replace_flows(&mut self, bridge: String, flows: Vec<String>) -> Res<()> {
        back(now::openflow::Host::replace_flows(self, bridge, flows).await, |r| r)
    }
}

/// Links 0.1's imports (every one a 0.1 component may have) onto the
/// store's [`CapContext`].
pub fn link<T: Caps>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    use portagent::plugin as old;
    old::types::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)?;
    old::settings::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)?;
    old::log::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)?;
    old::ovsdb::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)?;
    old::netlink::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)?;
    old::networkd::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)?;
    old::openflow::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)
}
