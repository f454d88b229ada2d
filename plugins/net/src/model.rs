//! The `net` section of a state file: the deployment guide's schema plus
//! what nmstate users expect, and its validation. Every error names the
//! field as a path, e.g. `interfaces[1].ipv4.address[0].prefix`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The whole section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetState {
    #[serde(default)]
    pub interfaces: Vec<Interface>,
}

/// `type:` and `state:`, shared with the host's port agent.
pub use portagent_sdk::ports::{Kind, State};

/// One entry of a bridge's `ports:`: a name, or a mapping with per-port
/// settings (VLAN, bond, patch).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum PortSpec {
    Name(#[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))] String),
    Full(PortConfig),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<Vlan>,
    /// The port is a bond of these NICs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bond: Option<Bond>,
    /// The port is one end of a patch cable to another bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Patch>,
    /// Attached by the port agent or `add_port` (tagged
    /// `external_ids:portagent=dynamic`): a bridge's `ports:` that does not
    /// name it leaves it attached. Naming it plainly makes it the file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    /// A dynamic port's name by `naming_template`, when its link keeps its
    /// own (`enable_rename = false`): `external_ids:portagent-name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub alias: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VlanMode {
    Access,
    Trunk,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vlan {
    pub mode: VlanMode,
    /// Access: the VLAN of untagged traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = VLAN_MIN, max = VLAN_MAX))]
    pub tag: Option<u16>,
    /// Trunk: the VLANs carried (empty = all), a set: their order does
    /// not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(range(min = VLAN_MIN, max = VLAN_MAX)))]
    pub trunks: Option<Vec<u16>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BondMode {
    ActiveBackup,
    BalanceSlb,
    BalanceTcp,
}

impl BondMode {
    pub fn ovs(self) -> &'static str {
        match self {
            BondMode::ActiveBackup => "active-backup",
            BondMode::BalanceSlb => "balance-slb",
            BondMode::BalanceTcp => "balance-tcp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bond {
    pub mode: BondMode,
    /// The bonded NICs (at least two), a set: their order does not matter.
    #[schemars(length(min = 2), inner(pattern(portagent_sdk::validate::IFNAME_PATTERN)))]
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// The patch port on the other bridge.
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub peer: String,
}

impl PortConfig {
    /// Sorts what OVS keeps as sets: a bond's members and the trunks
    /// (trunks said twice are one).
    pub fn normalize(&mut self) {
        if let Some(b) = &mut self.bond {
            b.ports.sort();
        }
        if let Some(t) = self.vlan.as_mut().and_then(|v| v.trunks.as_mut()) {
            t.sort_unstable();
            t.dedup();
        }
    }

    /// Its OVSDB Interface rows: the bond's NICs, or the port itself.
    pub fn interface_names(&self) -> Vec<String> {
        match &self.bond {
            Some(b) => b.ports.clone(),
            None => vec![self.name.clone()],
        }
    }
}

impl PortSpec {
    pub fn name(&self) -> &str {
        match self {
            PortSpec::Name(n) => n,
            PortSpec::Full(c) => &c.name,
        }
    }

    /// The same port as a full config.
    pub fn config(&self) -> PortConfig {
        match self {
            PortSpec::Name(n) => PortConfig { name: n.clone(), ..Default::default() },
            PortSpec::Full(c) => c.clone(),
        }
    }

    /// The NICs inside this port when it is a bond.
    pub fn bond_members(&self) -> &[String] {
        match self {
            PortSpec::Full(PortConfig { bond: Some(b), .. }) => &b.ports,
            _ => &[],
        }
    }

    /// Whether the port agent attached it (see [`PortConfig::dynamic`]).
    pub fn is_dynamic(&self) -> bool {
        matches!(self, PortSpec::Full(PortConfig { dynamic: Some(true), .. }))
    }

    /// The shortest form: a plain name when there is nothing else
    /// (`dynamic: false` is the default, said or not).
    /// Sets come out sorted (bond members, trunks: OVS keeps them as sets,
    /// so their order in a file means nothing).
    pub fn from_config(mut c: PortConfig) -> PortSpec {
        c.dynamic = c.dynamic.filter(|d| *d);
        c.normalize();
        if c.vlan.is_none() && c.bond.is_none() && c.patch.is_none() && c.dynamic.is_none() && c.alias.is_none() {
            PortSpec::Name(c.name)
        } else {
            PortSpec::Full(c)
        }
    }
}

/// A name or a mapping; a mapping's own errors keep their field paths
/// (an untagged enum would only say "did not match any variant").
impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PortSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a port name or a mapping with `name`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortSpec, E> {
                Ok(PortSpec::Name(v.into()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<PortSpec, A::Error> {
                PortConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(PortSpec::Full)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    Standalone,
    Secure,
}

/// One interface. Unset fields mean "whatever it is now".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// Bridge only: the complete list of its ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<PortSpec>>,
    /// Non-bridges: the bridge this interface is a port of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub controller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MTU_MIN, max = MTU_MAX))]
    pub mtu: Option<u32>,
    /// Bridge only: `system` or `netdev` (default from config.toml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern("^(system|netdev)$"))]
    pub datapath_type: Option<String>,
    /// Bridge only: spanning tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stp: Option<bool>,
    /// Bridge only: rapid spanning tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rstp: Option<bool>,
    /// Bridge only: what the bridge does without a controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_mode: Option<FailMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "ipv4_schema")]
    pub ipv4: Option<IpConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "ipv6_schema")]
    pub ipv6: Option<IpConfig>,
    /// With `state: absent`: delete it even though portagent did not
    /// create it (like `ovs-vsctl del-br`; the checkpoint can bring it back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Ethernet only: a port the port agent attached to `controller` (a
    /// container's veth, a VM's tap). Only attached or detached: portagent
    /// writes it no networkd file and leaves its link state to its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    /// A dynamic port: the link's name now; it is renamed to `name`
    /// before it is attached (`enable_rename`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub rename_from: Option<String>,
    /// A dynamic port: its name by `naming_template`, kept in OVSDB when
    /// the link keeps its own (see [`PortConfig::alias`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(portagent_sdk::validate::IFNAME_PATTERN))]
    pub alias: Option<String>,
}

impl Interface {
    /// An interface with nothing but its name and type set.
    pub fn new(name: &str, kind: Kind) -> Interface {
        Interface {
            name: name.into(),
            kind,
            state: None,
            ports: None,
            controller: None,
            mtu: None,
            datapath_type: None,
            stp: None,
            rstp: None,
            fail_mode: None,
            ipv4: None,
            ipv6: None,
            force: None,
            dynamic: None,
            rename_from: None,
            alias: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Vec<Address>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The gateway is reachable on the link although no address of it is
    /// in the gateway's subnet (networkd's `GatewayOnLink=`, as netplan's
    /// `on-link: true`). Without it such a gateway is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_on_link: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// The schema of `ipv4:`: [`IpConfig`]'s, with IPv4 addresses (gateway
/// and DNS too) and prefixes of 1 to 32.
fn ipv4_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    ip_schema(generator, "ipv4", 32)
}

/// The schema of `ipv6:`: IPv6 addresses, prefixes of 1 to 128.
fn ipv6_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    ip_schema(generator, "ipv6", 128)
}

/// [`IpConfig`]'s schema for one family (`format`, `max_prefix`); the
/// bounds [`check_ip_config`] enforces, as JSON Schema says them.
fn ip_schema(generator: &mut schemars::SchemaGenerator, format: &str, max_prefix: u8) -> schemars::Schema {
    use schemars::JsonSchema;
    let mut address: serde_json::Value = Address::json_schema(generator).into();
    address["properties"]["ip"]["format"] = format.into();
    address["properties"]["prefix"]["minimum"] = 1.into();
    address["properties"]["prefix"]["maximum"] = max_prefix.into();
    let mut config: serde_json::Value = IpConfig::json_schema(generator).into();
    let properties = &mut config["properties"];
    properties["address"]["items"] = address;
    properties["gateway"]["format"] = format.into();
    properties["dns"]["items"]["format"] = format.into();
    config["type"] = serde_json::json!(["object", "null"]);
    schemars::Schema::try_from(config).expect("an object schema")
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub ip: String,
    pub prefix: u8,
}

impl Address {
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.ip, self.prefix)
    }

    /// Whether `ip` is in this address's subnet.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.ip.parse::<IpAddr>(), ip) {
            (Ok(IpAddr::V4(a)), IpAddr::V4(b)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix.min(32))).unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (Ok(IpAddr::V6(a)), IpAddr::V6(b)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix.min(128))).unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// A validation failure: the field path and what is wrong with it.
pub use portagent_sdk::validate::Invalid;

/// The MTUs an interface may be given (IPv4's minimum, the kernel's
/// largest for these devices); the schema says the same.
pub const MTU_MIN: u32 = 68;
pub const MTU_MAX: u32 = 65535;
/// The VLAN IDs a port may carry (0 and 4095 are reserved).
pub const VLAN_MIN: u16 = 1;
pub const VLAN_MAX: u16 = 4094;

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid::new(field, message)
}

/// Parses the section's JSON text, naming the field of any type error.
pub fn parse(json: &str) -> Result<NetState, Invalid> {
    portagent_sdk::validate::parse(json)
}

fn check_ip(field: &str, text: &str, v6: bool) -> Result<IpAddr, Invalid> {
    let ip: IpAddr = text.parse().map_err(|_| invalid(field, format!("{text:?} is not an IP address")))?;
    if ip.is_ipv6() != v6 {
        let family = if v6 { "IPv6" } else { "IPv4" };
        return Err(invalid(field, format!("{text} is not an {family} address")));
    }
    Ok(ip)
}

fn check_port(at: &str, bridge: &str, p: &PortConfig) -> Result<(), Invalid> {
    let name_ok = |field: String, n: &str| portagent_sdk::validate::ifname(n).map_err(|why| invalid(field, why));
    name_ok(
        if at.ends_with(']') && p.vlan.is_none() && p.bond.is_none() && p.patch.is_none() && p.dynamic.is_none() {
            at.to_string()
        } else {
            format!("{at}.name")
        },
        &p.name,
    )?;
    if p.name == bridge {
        return Err(invalid(at, "a bridge's own interface is not listed as a port"));
    }
    if p.bond.is_some() && p.patch.is_some() {
        return Err(invalid(at, "a port is a bond or a patch port, not both"));
    }
    if let Some(v) = &p.vlan {
        let tag_ok = |t: u16| (VLAN_MIN..=VLAN_MAX).contains(&t);
        match v.mode {
            VlanMode::Access => match v.tag {
                None => return Err(invalid(format!("{at}.vlan.tag"), "an access port needs its VLAN tag")),
                Some(t) if !tag_ok(t) => {
                    return Err(invalid(format!("{at}.vlan.tag"), format!("{t} is outside {VLAN_MIN}..={VLAN_MAX}")));
                }
                Some(_) if v.trunks.is_some() => {
                    return Err(invalid(format!("{at}.vlan.trunks"), "an access port has no trunks"));
                }
                Some(_) => {}
            },
            VlanMode::Trunk => {
                if v.tag.is_some() {
                    return Err(invalid(format!("{at}.vlan.tag"), "a trunk port has no access tag (use trunks)"));
                }
                if let Some((k, t)) = v.trunks.iter().flatten().enumerate().find(|(_, t)| !tag_ok(**t)) {
                    return Err(invalid(
                        format!("{at}.vlan.trunks[{k}]"),
                        format!("{t} is outside {VLAN_MIN}..={VLAN_MAX}"),
                    ));
                }
            }
        }
    }
    if let Some(b) = &p.bond {
        if b.ports.len() < 2 {
            return Err(invalid(format!("{at}.bond.ports"), "a bond needs at least two NICs"));
        }
        for (k, n) in b.ports.iter().enumerate() {
            name_ok(format!("{at}.bond.ports[{k}]"), n)?;
        }
    }
    if let Some(patch) = &p.patch {
        name_ok(format!("{at}.patch.peer"), &patch.peer)?;
    }
    Ok(())
}

fn check_ip_config(field: &str, c: &IpConfig, v6: bool, enslaved: bool) -> Result<(), Invalid> {
    let max = if v6 { 128 } else { 32 };
    for (i, a) in c.address.iter().flatten().enumerate() {
        check_ip(&format!("{field}.address[{i}].ip"), &a.ip, v6)?;
        // prefix 0 would make every address on-link: networkd never
        // finishes configuring such a link.
        if !(1..=max).contains(&a.prefix) {
            return Err(invalid(format!("{field}.address[{i}].prefix"), format!("{} is outside 1..={max}", a.prefix)));
        }
    }
    if let Some(gw) = &c.gateway {
        let ip = check_ip(&format!("{field}.gateway"), gw, v6)?;
        let addresses: Vec<&Address> = c.address.iter().flatten().collect();
        if let Some(own) = addresses.iter().find(|a| a.ip.parse::<IpAddr>().is_ok_and(|a| a == ip)) {
            return Err(invalid(
                format!("{field}.gateway"),
                format!("{gw} is the interface's own address ({}); the gateway is another host", own.cidr()),
            ));
        }
        let static_only = c.dhcp != Some(true) && !addresses.is_empty();
        if static_only && c.gateway_on_link != Some(true) && !addresses.iter().any(|a| a.contains(ip)) {
            let nets: Vec<String> = addresses.iter().map(|a| a.cidr()).collect();
            return Err(invalid(
                format!("{field}.gateway"),
                format!(
                    "{gw} is outside every address of the interface ({}): the kernel would refuse the route; \
                     set gateway_on_link: true if it is reachable on the link anyway",
                    nets.join(", ")
                ),
            ));
        }
    } else if c.gateway_on_link.is_some() {
        return Err(invalid(format!("{field}.gateway_on_link"), "only means something with a gateway"));
    }
    for (i, d) in c.dns.iter().flatten().enumerate() {
        d.parse::<IpAddr>().map_err(|_| invalid(format!("{field}.dns[{i}]"), format!("{d:?} is not an IP address")))?;
    }
    let configured = c.dhcp == Some(true) || c.address.as_ref().is_some_and(|a| !a.is_empty()) || c.gateway.is_some();
    if !c.enabled && configured {
        return Err(invalid(format!("{field}.enabled"), "is false, but addresses, DHCP or a gateway are set"));
    }
    if enslaved && configured {
        return Err(invalid(
            field,
            "a port of an OVS bridge carries no IP configuration; configure the bridge instead",
        ));
    }
    Ok(())
}

impl NetState {
    /// Checks everything that can be checked without looking at the system.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut names = BTreeMap::new();
        // Ports by `controller:` or by a bridge's `ports:`.
        let owners = self.port_owners();
        for (i, iface) in self.interfaces.iter().enumerate() {
            let at = format!("interfaces[{i}]");
            portagent_sdk::validate::ifname(&iface.name).map_err(|why| invalid(format!("{at}.name"), why))?;
            if let Some(first) = names.insert(iface.name.as_str(), i) {
                return Err(invalid(format!("{at}.name"), format!("{} is also interfaces[{first}]", iface.name)));
            }
            let bridge = iface.kind == Kind::OvsBridge;
            if iface.dynamic.is_some() && iface.kind != Kind::Ethernet {
                return Err(invalid(format!("{at}.dynamic"), "only an ethernet (a veth, a tap) is a dynamic port"));
            }
            for (field, name) in [("rename_from", &iface.rename_from), ("alias", &iface.alias)] {
                let Some(name) = name else { continue };
                if iface.dynamic != Some(true) {
                    return Err(invalid(format!("{at}.{field}"), "only a dynamic port has one"));
                }
                portagent_sdk::validate::ifname(name).map_err(|why| invalid(format!("{at}.{field}"), why))?;
            }
            if iface.dynamic == Some(true) && iface.controller.is_none() && iface.state != Some(State::Absent) {
                return Err(invalid(format!("{at}.controller"), "a dynamic port needs the bridge it is attached to"));
            }
            if iface.dynamic == Some(true) {
                let owners = [
                    ("mtu", iface.mtu.is_some()),
                    ("state", matches!(iface.state, Some(State::Up | State::Down))),
                    ("ipv4", iface.ipv4.as_ref().is_some_and(|c| c.enabled)),
                    ("ipv6", iface.ipv6.as_ref().is_some_and(|c| c.enabled)),
                ];
                if let Some((field, _)) = owners.iter().find(|(_, set)| *set) {
                    return Err(invalid(
                        format!("{at}.{field}"),
                        "a dynamic port is only attached or detached; its link is its owner's (the container's, the VM's)",
                    ));
                }
            }
            if iface.force == Some(true) && iface.state != Some(State::Absent) {
                return Err(invalid(format!("{at}.force"), "only means something with state: absent"));
            }
            if iface.ports.is_some() && !bridge {
                return Err(invalid(format!("{at}.ports"), "only an ovs-bridge has ports"));
            }
            if iface.controller.is_some() && bridge {
                return Err(invalid(format!("{at}.controller"), "an ovs-bridge cannot be a port of another bridge"));
            }
            if let Some(c) = &iface.controller {
                portagent_sdk::validate::ifname(c).map_err(|why| invalid(format!("{at}.controller"), why))?;
            }
            if let Some(dp) = &iface.datapath_type {
                if !bridge {
                    return Err(invalid(format!("{at}.datapath_type"), "only an ovs-bridge has a datapath type"));
                }
                if dp != "system" && dp != "netdev" {
                    return Err(invalid(
                        format!("{at}.datapath_type"),
                        format!("expected system or netdev, got {dp:?}"),
                    ));
                }
            }
            if let Some(mtu) = iface.mtu
                && !(MTU_MIN..=MTU_MAX).contains(&mtu)
            {
                return Err(invalid(format!("{at}.mtu"), format!("{mtu} is outside {MTU_MIN}..={MTU_MAX}")));
            }
            for (k, field) in
                [(iface.stp.is_some(), "stp"), (iface.rstp.is_some(), "rstp"), (iface.fail_mode.is_some(), "fail_mode")]
            {
                if k && !bridge {
                    return Err(invalid(format!("{at}.{field}"), "only an ovs-bridge has this setting"));
                }
            }
            for (j, p) in iface.ports.iter().flatten().enumerate() {
                check_port(&format!("{at}.ports[{j}]"), &iface.name, &p.config())?;
            }
            // A NIC given to a bridge is L2 only; an OVS internal port on
            // the bridge is an L3 interface and does carry addresses.
            let enslaved = iface.kind == Kind::Ethernet && owners.contains_key(&iface.name);
            if let Some(c) = &iface.ipv4 {
                check_ip_config(&format!("{at}.ipv4"), c, false, enslaved)?;
            }
            if let Some(c) = &iface.ipv6 {
                check_ip_config(&format!("{at}.ipv6"), c, true, enslaved)?;
            }
        }
        // Ports and controllers must tell one consistent story. A bond's
        // NICs count as listed on its bridge.
        let mut owner: BTreeMap<String, &str> = BTreeMap::new();
        for (i, iface) in self.interfaces.iter().enumerate() {
            for (j, p) in iface.ports.iter().flatten().enumerate() {
                let mut names = vec![p.name().to_string()];
                if let PortSpec::Full(PortConfig { bond: Some(b), .. }) = p {
                    names.extend(b.ports.iter().cloned());
                }
                for n in names {
                    if let Some(other) = owner.insert(n.clone(), &iface.name) {
                        return Err(invalid(
                            format!("interfaces[{i}].ports[{j}]"),
                            format!("{n} is already a port of {other}; a port belongs to one bridge"),
                        ));
                    }
                }
            }
        }
        // A bridge is never a port (OVS would take its internal interface
        // out of it; link bridges with a patch port instead).
        for (i, iface) in self.interfaces.iter().enumerate() {
            for (j, p) in iface.ports.iter().flatten().enumerate() {
                for n in std::iter::once(p.name()).chain(p.bond_members().iter().map(String::as_str)) {
                    if names.get(n).is_some_and(|&k| self.interfaces[k].kind == Kind::OvsBridge) {
                        return Err(invalid(
                            format!("interfaces[{i}].ports[{j}]"),
                            format!(
                                "{n} is an ovs-bridge in this file, and a bridge cannot be a port of another (use a patch port)"
                            ),
                        ));
                    }
                }
            }
        }
        for (i, iface) in self.interfaces.iter().enumerate() {
            let Some(ctrl) = &iface.controller else { continue };
            if let Some(&j) = names.get(ctrl.as_str())
                && self.interfaces[j].kind != Kind::OvsBridge
            {
                return Err(invalid(format!("interfaces[{i}].controller"), format!("{ctrl} is not an ovs-bridge")));
            }
            if let Some(bridge) = owner.get(&iface.name) {
                if bridge != ctrl {
                    return Err(invalid(
                        format!("interfaces[{i}].controller"),
                        format!("says {ctrl}, but {} is listed in the ports of {bridge}", iface.name),
                    ));
                }
            } else if let Some(&j) = names.get(ctrl.as_str())
                && self.interfaces[j].ports.is_some()
            {
                return Err(invalid(
                    format!("interfaces[{i}].controller"),
                    format!("says {ctrl}, but {ctrl}'s ports do not list {}", iface.name),
                ));
            }
        }
        Ok(())
    }

    /// The bridge each port belongs to, from `ports:` and `controller:`.
    pub fn port_owners(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for iface in &self.interfaces {
            for p in iface.ports.iter().flatten() {
                match p {
                    // A bond's NICs are what the kernel sees.
                    PortSpec::Full(PortConfig { bond: Some(b), .. }) => {
                        for m in &b.ports {
                            out.insert(m.clone(), iface.name.clone());
                        }
                    }
                    PortSpec::Full(PortConfig { patch: Some(_), .. }) => {}
                    _ => {
                        out.insert(p.name().to_string(), iface.name.clone());
                    }
                }
            }
            if let Some(c) = &iface.controller {
                out.insert(iface.name.clone(), c.clone());
            }
        }
        out
    }

    /// The field that names interface `name`: its entry, or the `ports:`
    /// entry that lists it.
    pub fn field_naming(&self, name: &str) -> String {
        if let Some(i) = self.interfaces.iter().position(|i| i.name == name) {
            return format!("interfaces[{i}].name");
        }
        for (i, iface) in self.interfaces.iter().enumerate() {
            if let Some(j) = iface
                .ports
                .iter()
                .flatten()
                .position(|p| p.name() == name || p.bond_members().iter().any(|m| m == name))
            {
                return format!("interfaces[{i}].ports[{j}]");
            }
        }
        String::new()
    }

    pub fn get(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// Its interfaces by name (the first of a name), for lookups in loops.
    pub fn by_name(&self) -> std::collections::HashMap<&str, &Interface> {
        let mut by = std::collections::HashMap::new();
        for i in &self.interfaces {
            by.entry(i.name.as_str()).or_insert(i);
        }
        by
    }

    /// Names of the section's interfaces, in order.
    pub fn names(&self) -> BTreeSet<&str> {
        self.interfaces.iter().map(|i| i.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml_as_json: serde_json::Value) -> Result<NetState, Invalid> {
        let s = parse(&yaml_as_json.to_string())?;
        s.validate()?;
        Ok(s)
    }

    fn err(v: serde_json::Value) -> (String, String) {
        let e = check(v).unwrap_err();
        (e.field, e.message)
    }

    /// The host's port agent builds these (SDK `ports`): each is one of
    /// net's interfaces, field for field, and a section of them is valid.
    #[test]
    fn the_port_agents_requests_are_nets_interfaces() {
        use portagent_sdk::ports::PortRequest;
        let requests = [
            PortRequest::attach("veth1", "ovsbr0"),
            PortRequest::detach("veth2"),
            PortRequest::detach_dynamic("veth3"),
            PortRequest::attach_renamed("veth900i0", "vi900", "ovsbr0"),
            PortRequest::attach_aliased("veth900i1", "vi900i1", "ovsbr0"),
        ];
        for r in &requests {
            let i: Interface = serde_json::from_value(serde_json::to_value(r).unwrap()).unwrap();
            assert_eq!(
                (&i.name, i.kind, i.state, &i.controller, i.dynamic, &i.rename_from, &i.alias),
                (&r.name, r.kind, r.state, &r.controller, r.dynamic, &r.rename_from, &r.alias),
            );
        }
        check(serde_json::json!({"interfaces": requests})).unwrap();
    }

    /// And net's live state reads as the host's view of it.
    #[test]
    fn nets_live_state_reads_as_the_hosts_view() {
        use portagent_sdk::ports::LiveNet;
        let mut bridge = Interface::new("ovsbr0", Kind::OvsBridge);
        let tap =
            PortConfig { name: "tap1i0".into(), dynamic: Some(true), alias: Some("vm1".into()), ..Default::default() };
        bridge.ports = Some(vec![PortSpec::Name("eth0".into()), PortSpec::Full(tap), PortSpec::Name("ovs1".into())]);
        let mut internal = Interface::new("ovs1", Kind::OvsInterface);
        internal.controller = Some("ovsbr0".into());
        let state = NetState { interfaces: vec![bridge, internal] };
        let live: LiveNet = serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
        let ports = live.ports_of("ovsbr0").unwrap();
        let seen: Vec<_> = ports.iter().map(|p| (p.name(), p.dynamic(), p.alias())).collect();
        assert_eq!(seen, [("eth0", false, None), ("tap1i0", true, Some("vm1")), ("ovs1", false, None)]);
        assert!(live.internal().contains("ovs1"));
    }

    #[test]
    fn guide_example_is_valid() {
        let s = check(serde_json::json!({"interfaces": [
            {"name": "ovsbr0", "type": "ovs-bridge", "ports": ["eth0"],
             "ipv4": {"enabled": true, "dhcp": false, "address": [{"ip": "192.168.1.100", "prefix": 24}],
                      "gateway": "192.168.1.1", "dns": ["8.8.8.8", "8.8.4.4"]}},
            {"name": "eth0", "type": "ethernet", "controller": "ovsbr0", "ipv4": {"enabled": false}},
            {"name": "ovsbr1", "type": "ovs-bridge", "ipv4": {"enabled": true, "dhcp": false,
             "address": [{"ip": "10.0.100.1", "prefix": 24}]}}
        ]}))
        .unwrap();
        assert_eq!(s.port_owners()["eth0"], "ovsbr0");
    }

    #[test]
    fn ports_are_names_or_mappings() {
        let s = check(serde_json::json!({"interfaces": [{"name": "br", "type": "ovs-bridge", "ports": [
            "eth0",
            {"name": "vm1", "vlan": {"mode": "access", "tag": 10}},
            {"name": "bond0", "bond": {"mode": "balance-slb", "ports": ["eth1", "eth2"]}},
            {"name": "patch-a", "patch": {"peer": "patch-b"}}
        ]}]}))
        .unwrap();
        let owners = s.port_owners();
        assert_eq!(
            owners.keys().collect::<Vec<_>>(),
            ["eth0", "eth1", "eth2", "vm1"],
            "bond NICs, not the bond; no patch"
        );
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["interfaces"][0]["ports"][0], "eth0", "plain ports stay plain");
        assert_eq!(back["interfaces"][0]["ports"][1]["vlan"]["tag"], 10);
    }

    #[test]
    fn gateways_in_the_subnet_or_marked_on_the_link() {
        use serde_json::json;
        let v4 = |extra: serde_json::Value| {
            let mut c = json!({"address": [{"ip": "10.0.100.1", "prefix": 24}, {"ip": "192.168.7.2", "prefix": 30}]});
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            check(json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv4": c}]}))
        };
        v4(json!({"gateway": "10.0.100.254"})).unwrap();
        v4(json!({"gateway": "192.168.7.1"})).unwrap();
        let e = v4(json!({"gateway": "192.168.7.5"})).unwrap_err();
        assert!(e.message.contains("outside every address") && e.message.contains("192.168.7.2/30"), "{}", e.message);
        v4(json!({"gateway": "172.16.5.1", "gateway_on_link": true})).unwrap();
        v4(json!({"gateway": "172.16.5.1", "dhcp": true})).unwrap();
        check(json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv6": {"address": [{"ip": "2001:db8::1", "prefix": 64}], "gateway": "2001:db8::ff"}}]})).unwrap();
    }

    #[test]
    fn internal_ports_carry_addresses() {
        check(serde_json::json!({"interfaces": [
            {"name": "vlan10", "type": "ovs-interface", "controller": "ovsbr0",
             "ipv4": {"address": [{"ip": "10.0.10.1", "prefix": 24}]}}
        ]}))
        .unwrap();
    }

    #[test]
    fn errors_name_the_field() {
        use serde_json::json;
        let cases = [
            (json!({"interfaces": [{"name": "x", "type": "ovs-bridge", "colour": 1}]}), "interfaces[0].colour"),
            (json!({"interfaces": [{"name": "x", "type": "switch"}]}), "interfaces[0].type"),
            (json!({"interfaces": [{"name": "abcdefghijklmnop", "type": "ovs-bridge"}]}), "interfaces[0].name"),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge"}, {"name": "b", "type": "ovs-bridge"}]}),
                "interfaces[1].name",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv4": {"address": [{"ip": "10.0.0.1", "prefix": 33}]}}]}),
                "interfaces[0].ipv4.address[0].prefix",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv4": {"address": [{"ip": "10.0.0.300", "prefix": 24}]}}]}),
                "interfaces[0].ipv4.address[0].ip",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv6": {"address": [{"ip": "10.0.0.1", "prefix": 64}]}}]}),
                "interfaces[0].ipv6.address[0].ip",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv4": {"gateway": "fe80::1"}}]}),
                "interfaces[0].ipv4.gateway",
            ),
            (
                json!({"interfaces": [{"name": "a", "type": "ovs-bridge", "ports": ["eth0"]}, {"name": "b", "type": "ovs-bridge", "ports": ["eth0"]}]}),
                "interfaces[1].ports[0]",
            ),
            (
                json!({"interfaces": [{"name": "a", "type": "ovs-bridge", "ports": ["eth0"]}, {"name": "eth0", "type": "ethernet", "controller": "b"}]}),
                "interfaces[1].controller",
            ),
            (
                json!({"interfaces": [{"name": "a", "type": "ovs-bridge", "ports": []}, {"name": "eth0", "type": "ethernet", "controller": "a"}]}),
                "interfaces[1].controller",
            ),
            (
                json!({"interfaces": [{"name": "eth0", "type": "ethernet", "controller": "a", "ipv4": {"address": [{"ip": "10.0.0.1", "prefix": 8}]}}]}),
                "interfaces[0].ipv4",
            ),
            (json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "mtu": 20}]}), "interfaces[0].mtu"),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "datapath_type": "dpdk"}]}),
                "interfaces[0].datapath_type",
            ),
            (json!({"interfaces": [{"name": "e", "type": "ethernet", "ports": ["x"]}]}), "interfaces[0].ports"),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv4": {"enabled": false, "dhcp": true}}]}),
                "interfaces[0].ipv4.enabled",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": [{"name": "p", "vlan": {"mode": "access"}}]}]}),
                "interfaces[0].ports[0].vlan.tag",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": [{"name": "p", "vlan": {"mode": "access", "tag": 5000}}]}]}),
                "interfaces[0].ports[0].vlan.tag",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": [{"name": "p", "vlan": {"mode": "trunk", "trunks": [10, 0]}}]}]}),
                "interfaces[0].ports[0].vlan.trunks[1]",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": [{"name": "p", "vlan": {"mode": "hybrid"}}]}]}),
                "interfaces[0].ports[0].vlan.mode",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": [{"name": "p", "colour": 1}]}]}),
                "interfaces[0].ports[0].colour",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": [{"name": "bond0", "bond": {"mode": "active-backup", "ports": ["eth1"]}}]}]}),
                "interfaces[0].ports[0].bond.ports",
            ),
            (json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": ["a/b"]}]}), "interfaces[0].ports[0]"),
            (json!({"interfaces": [{"name": "e", "type": "ethernet", "stp": true}]}), "interfaces[0].stp"),
            (json!({"interfaces": [{"name": "!lo", "type": "ovs-bridge"}]}), "interfaces[0].name"),
            (json!({"interfaces": [{"name": "br*", "type": "ovs-bridge"}]}), "interfaces[0].name"),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": ["eth[0]"]}]}),
                "interfaces[0].ports[0]",
            ),
            (
                json!({"interfaces": [{"name": "e", "type": "ethernet", "controller": "-br"}]}),
                "interfaces[0].controller",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv4": {"address": [{"ip": "10.0.0.1", "prefix": 0}]}}]}),
                "interfaces[0].ipv4.address[0].prefix",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv4": {"address": [{"ip": "10.0.0.1", "prefix": 24}], "gateway": "10.0.0.1"}}]}),
                "interfaces[0].ipv4.gateway",
            ),
            // A port by the bridge's `ports:` is as much a port as by `controller:`.
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": ["eth1"]}, {"name": "eth1", "type": "ethernet", "ipv4": {"dhcp": true}}]}),
                "interfaces[1].ipv4",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ports": [{"name": "bd", "bond": {"mode": "active-backup", "ports": ["eth1", "eth2"]}}]}, {"name": "eth2", "type": "ethernet", "ipv4": {"address": [{"ip": "10.0.0.1", "prefix": 24}]}}]}),
                "interfaces[1].ipv4",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv4": {"address": [{"ip": "10.0.100.1", "prefix": 24}], "gateway": "172.16.5.1"}}]}),
                "interfaces[0].ipv4.gateway",
            ),
            (
                json!({"interfaces": [{"name": "b", "type": "ovs-bridge", "ipv4": {"address": [{"ip": "10.0.100.1", "prefix": 24}], "gateway_on_link": true}}]}),
                "interfaces[0].ipv4.gateway_on_link",
            ),
            (
                json!({"interfaces": [{"name": "a", "type": "ovs-bridge", "ports": ["b"]}, {"name": "b", "type": "ovs-bridge"}]}),
                "interfaces[0].ports[0]",
            ),
        ];
        for (input, field) in cases {
            let (got, message) = err(input.clone());
            assert_eq!(got, field, "{input}: {message}");
        }
    }
}

/// Fuzzing the section's parsing, validation and diff within a fixed
/// budget (run by `cargo test -p net --lib`): nothing panics.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (0u64..70000).prop_map(Value::from),
            prop::sample::select(vec![
                "ovsbr0",
                "eth0",
                "br*",
                "!lo",
                "",
                "a/b",
                "ovs-bridge",
                "ovs-interface",
                "ethernet",
                "up",
                "down",
                "absent",
                "10.0.0.1",
                "192.168.1.1",
                "fe80::1",
                "300",
                "access",
                "trunk",
                "active-backup",
                "system",
                "netdev",
                "x".repeat(20).leak(),
            ])
            .prop_map(Value::from),
        ]
    }

    const KEYS: &[&str] = &[
        "name",
        "type",
        "state",
        "ports",
        "controller",
        "mtu",
        "datapath_type",
        "stp",
        "rstp",
        "fail_mode",
        "ipv4",
        "ipv6",
        "force",
        "enabled",
        "dhcp",
        "address",
        "gateway",
        "gateway_on_link",
        "dns",
        "ip",
        "prefix",
        "vlan",
        "mode",
        "tag",
        "trunks",
        "bond",
        "patch",
        "peer",
        "interfaces",
    ];

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
                prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            ]
        })
    }

    /// An interface-shaped entry: a name and a type from small pools (so
    /// entries meet each other as ports and controllers), and any other
    /// fields with any values.
    fn interface() -> impl Strategy<Value = Value> {
        let names = prop::sample::select(vec!["ovsbr0", "ovsbr1", "eth0", "eth1", "p0", "bond0"]);
        let kinds = prop::sample::select(vec!["ovs-bridge", "ovs-interface", "ethernet"]);
        let ip = prop::sample::select(vec!["10.0.0.1", "10.0.0.254", "192.168.1.1", "2001:db8::1", "fe80::1"]);
        let address = (ip.clone(), 0u8..130).prop_map(|(ip, prefix)| json!({"ip": ip, "prefix": prefix}));
        let ipcfg = (any::<bool>(), prop::option::of(any::<bool>()), prop::collection::vec(address, 0..3), prop::option::of(ip.clone()))
            .prop_map(|(enabled, dhcp, address, gateway)| json!({"enabled": enabled, "dhcp": dhcp, "address": address, "gateway": gateway}));
        let port = prop_oneof![
            names.clone().prop_map(Value::from),
            (names.clone(), 0u16..5000).prop_map(|(n, tag)| json!({"name": n, "vlan": {"mode": "access", "tag": tag}})),
            (names.clone(), names.clone(), names.clone())
                .prop_map(|(n, a, b)| json!({"name": n, "bond": {"mode": "balance-slb", "ports": [a, b]}})),
        ];
        (
            names.clone(),
            kinds,
            prop::option::of(prop::sample::select(vec!["up", "down", "absent"])),
            prop::option::of(prop::collection::vec(port, 0..4)),
            prop::option::of(names),
            prop::option::of(ipcfg),
            prop::option::of(0u32..70000),
            prop::collection::btree_map(prop::sample::select(KEYS), value(), 0..2),
        )
            .prop_map(|(name, kind, state, ports, controller, ipv4, mtu, extra)| {
                let mut v = json!({"name": name, "type": kind});
                for (k, x) in [
                    ("state", json!(state)),
                    ("ports", json!(ports)),
                    ("controller", json!(controller)),
                    ("ipv4", json!(ipv4)),
                    ("mtu", json!(mtu)),
                ] {
                    if !x.is_null() {
                        v[k] = x;
                    }
                }
                for (k, x) in extra {
                    v[k] = x;
                }
                v
            })
    }

    fn section() -> impl Strategy<Value = Value> {
        prop_oneof![
            1 => prop::collection::vec(value(), 0..6).prop_map(|interfaces| json!({"interfaces": interfaces})),
            4 => prop::collection::vec(interface(), 0..6).prop_map(|interfaces| json!({"interfaces": interfaces})),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

        #[test]
        fn parse_validate_and_diff_never_panic(desired in section(), current in section()) {
            let Ok(d) = parse(&desired.to_string()) else { return Ok(()) };
            let valid = d.validate().is_ok();
            if let (true, Ok(c)) = (valid, parse(&current.to_string())) {
                let _ = crate::diff::diff(&c, &d, "system", &|_| false);
                let _ = crate::diff::diff(&c, &d, "netdev", &|_| true);
                for i in &d.interfaces {
                    let _ = crate::networkd::render(i);
                    let _ = crate::kernel::setup(i);
                }
            }
        }
    }
}
