//! What the host's port agent and the `net` plugin say to each other, as
//! types both build against (this module is built without the `guest`
//! feature too): the entry of `net`'s `interfaces:` that one port change
//! is ([`PortRequest`]), and `net`'s live state as far as the host reads
//! it ([`LiveNet`]). `net`'s model uses [`Kind`] and [`State`] itself, and
//! its tests check that every request parses as its own `Interface` and
//! that its live state parses as [`LiveNet`]: a field renamed on one side
//! fails a build or a test, never the agent at run time.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What an interface of `net`'s section is (`type:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "guest", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An OVS bridge (and its internal interface of the same name).
    OvsBridge,
    /// An OVS internal port: a kernel interface living on a bridge.
    OvsInterface,
    /// A kernel NIC (physical, veth, ...): it cannot be created, only
    /// configured or attached to a bridge.
    Ethernet,
}

/// An interface's `state:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "guest", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum State {
    Up,
    Down,
    Absent,
}

/// One port change of a bridge, as the entry of `net`'s `interfaces:`
/// that makes it (and nothing else: `net` reads the bridge's other ports
/// under the apply lock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRequest {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// The bridge to attach it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// The port agent's (`external_ids:portagent=dynamic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    /// The link's name now: renamed to `name` before it is attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename_from: Option<String>,
    /// Its name by `naming_template`, when the link keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

impl PortRequest {
    fn link(name: &str) -> PortRequest {
        PortRequest {
            name: name.into(),
            kind: Kind::Ethernet,
            state: None,
            controller: None,
            dynamic: None,
            rename_from: None,
            alias: None,
        }
    }

    /// Attach link `name` to `bridge` as a dynamic port.
    pub fn attach(name: &str, bridge: &str) -> PortRequest {
        PortRequest { controller: Some(bridge.into()), dynamic: Some(true), ..PortRequest::link(name) }
    }

    /// Detach port `name`, whoever attached it.
    pub fn detach(name: &str) -> PortRequest {
        PortRequest { state: Some(State::Absent), ..PortRequest::link(name) }
    }

    /// Detach port `name` only if it is a dynamic one.
    pub fn detach_dynamic(name: &str) -> PortRequest {
        PortRequest { dynamic: Some(true), ..PortRequest::detach(name) }
    }

    /// Attach link `raw` renamed to `name`.
    pub fn attach_renamed(raw: &str, name: &str, bridge: &str) -> PortRequest {
        PortRequest { rename_from: Some(raw.into()), ..PortRequest::attach(name, bridge) }
    }

    /// Attach link `raw` under its own name, `name` kept as its alias.
    pub fn attach_aliased(raw: &str, name: &str, bridge: &str) -> PortRequest {
        PortRequest { alias: Some(name.into()), ..PortRequest::attach(raw, bridge) }
    }
}

/// A change as `net` reports it in an action (`changes` of a `Modify`, or
/// `config` of a `Create`), as far as the host reads it: which bridge an
/// interface was attached to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ChangedInterface {
    #[serde(default)]
    pub controller: Option<String>,
}

/// A bridge's port in `net`'s live state: a bare name, or a mapping with
/// its settings (of which the host reads these; the rest is `net`'s).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum BridgePort {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        dynamic: Option<bool>,
        #[serde(default)]
        alias: Option<String>,
    },
}

impl BridgePort {
    pub fn name(&self) -> &str {
        match self {
            BridgePort::Name(n) | BridgePort::Full { name: n, .. } => n,
        }
    }

    /// The port agent's (or `add_port`'s).
    pub fn dynamic(&self) -> bool {
        matches!(self, BridgePort::Full { dynamic: Some(true), .. })
    }

    pub fn alias(&self) -> Option<&str> {
        match self {
            BridgePort::Full { alias, .. } => alias.as_deref(),
            BridgePort::Name(_) => None,
        }
    }
}

/// An interface of `net`'s live state, as far as the host reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LiveInterface {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(default)]
    pub ports: Option<Vec<BridgePort>>,
}

/// `net`'s live section (what its `query` returns), as far as the host
/// reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LiveNet {
    #[serde(default)]
    pub interfaces: Vec<LiveInterface>,
}

impl LiveNet {
    /// The OVS bridge named `name`, if there is one.
    pub fn bridge(&self, name: &str) -> Option<&LiveInterface> {
        self.interfaces.iter().find(|i| i.name == name && i.kind == Kind::OvsBridge)
    }

    /// The ports of bridge `name` (None: no such bridge).
    pub fn ports_of(&self, name: &str) -> Option<&[BridgePort]> {
        self.bridge(name).map(|b| b.ports.as_deref().unwrap_or_default())
    }

    /// The names of the OVS internal ports.
    pub fn internal(&self) -> BTreeSet<&str> {
        self.interfaces.iter().filter(|i| i.kind == Kind::OvsInterface).map(|i| i.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_say_what_net_reads() {
        let j = |r: PortRequest| serde_json::to_value(r).unwrap();
        assert_eq!(
            j(PortRequest::attach("veth1", "ovsbr0")),
            json!({"name": "veth1", "type": "ethernet", "controller": "ovsbr0", "dynamic": true})
        );
        assert_eq!(j(PortRequest::detach("x")), json!({"name": "x", "type": "ethernet", "state": "absent"}));
        assert_eq!(j(PortRequest::detach_dynamic("x"))["dynamic"], true);
        assert_eq!(j(PortRequest::attach_renamed("veth9", "vi9", "b"))["rename_from"], "veth9");
        assert_eq!(j(PortRequest::attach_aliased("veth9", "vi9", "b"))["alias"], "vi9");
    }

    #[test]
    fn the_live_state_is_read_with_what_it_does_not_say() {
        let live: LiveNet = serde_json::from_value(json!({"interfaces": [
            {"name": "ovsbr0", "type": "ovs-bridge", "mtu": 1500, "ports": [
                "eth0", {"name": "tap1i0", "dynamic": true, "alias": "vm1", "vlan": {"mode": "access", "tag": 5}}]},
            {"name": "ovs1", "type": "ovs-interface", "controller": "ovsbr0"},
            {"name": "eth0", "type": "ethernet", "controller": "ovsbr0", "ipv4": {"enabled": false}},
        ]}))
        .unwrap();
        let ports = live.ports_of("ovsbr0").unwrap();
        assert_eq!(ports.iter().map(BridgePort::name).collect::<Vec<_>>(), ["eth0", "tap1i0"]);
        assert_eq!((ports[0].dynamic(), ports[1].dynamic(), ports[1].alias()), (false, true, Some("vm1")));
        assert_eq!(live.internal(), BTreeSet::from(["ovs1"]));
        assert_eq!(live.ports_of("eth0"), None, "not a bridge");
    }
}
