//! Capabilities: what a plugin may reach, what it asked for, what the admin
//! granted, and the checks every host implementation makes before acting.
//!
//! One file per capability interface of the WIT world implements its host
//! trait on [`HostState`](super::sandbox::HostState); each starts by asking
//! [`CapContext`] whether the call is inside the grant.

mod log;
mod netlink;
mod networkd;
mod openflow;
mod ovsdb;
mod settings;

use super::bindings::CapError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The `types` interface has no functions; the linker still asks for it.
impl super::bindings::portagent::plugin::types::Host for super::sandbox::HostState {}

/// A capability interface of the `state-plugin` world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Log,
    Ovsdb,
    Netlink,
    Networkd,
    Openflow,
}

impl Capability {
    pub const ALL: [Capability; 5] =
        [Capability::Log, Capability::Ovsdb, Capability::Netlink, Capability::Networkd, Capability::Openflow];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Log => "log",
            Capability::Ovsdb => "ovsdb",
            Capability::Netlink => "netlink",
            Capability::Networkd => "networkd",
            Capability::Openflow => "openflow",
        }
    }

    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The interface's name in the component's import list.
    pub fn import_name(self) -> String {
        format!("{}/{}@{}", super::bindings::WIT_PACKAGE, self.as_str(), super::bindings::WIT_VERSION)
    }

    /// Checks that `scope` is meaningful for this capability.
    pub fn check_scope(self, scope: &[String]) -> Result<(), String> {
        let allowed: &dyn Fn(&str) -> bool = match self {
            Capability::Log => &|_| false,
            Capability::Ovsdb => &|s| s == "*" || OVSDB_TABLES.contains(&s),
            Capability::Netlink | Capability::Networkd => &|s| s == "read" || s == "write",
            Capability::Openflow => &|s| s == "*" || valid_ifname(s),
        };
        if let Some(bad) = scope.iter().find(|s| !allowed(s)) {
            let expected = match self {
                Capability::Log => "no scope".to_string(),
                Capability::Ovsdb => format!("`*` or tables of Open_vSwitch ({})", OVSDB_TABLES.join(", ")),
                Capability::Netlink | Capability::Networkd => "`read` and/or `write`".into(),
                Capability::Openflow => "`*` or bridge names (at most 15 bytes)".into(),
            };
            return Err(format!("{}: scope {bad:?} cannot be granted; expected {expected}", self.as_str()));
        }
        if self != Capability::Log && scope.is_empty() {
            return Err(format!("{}: an empty scope grants nothing", self.as_str()));
        }
        Ok(())
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tables of the `Open_vSwitch` schema (vswitch.ovsschema).
pub const OVSDB_TABLES: &[&str] = &[
    "Open_vSwitch",
    "Bridge",
    "Port",
    "Interface",
    "Flow_Table",
    "QoS",
    "Queue",
    "Mirror",
    "Controller",
    "Manager",
    "NetFlow",
    "SSL",
    "sFlow",
    "IPFIX",
    "Flow_Sample_Collector_Set",
    "AutoAttach",
    "Datapath",
    "CT_Zone",
    "CT_Timeout_Policy",
];

/// Whether `name` is an interface name portagent uses: the one rule, the
/// SDK's (no pattern or option characters; see
/// [`portagent_sdk::validate::ifname`]).
pub use portagent_sdk::validate::is_ifname as valid_ifname;

/// What the admin granted a plugin: capability -> scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grants(pub BTreeMap<Capability, Vec<String>>);

impl Grants {
    /// Grants from literal pairs, e.g. `Grants::of(&[(Capability::Ovsdb, &["Bridge"])])`.
    pub fn of(pairs: &[(Capability, &[&str])]) -> Grants {
        Grants(pairs.iter().map(|(c, s)| (*c, s.iter().map(|x| x.to_string()).collect())).collect())
    }

    /// The granted scope of `cap`, or why the call is refused.
    pub fn scope(&self, plugin: &str, cap: Capability) -> Result<&[String], CapError> {
        self.0
            .get(&cap)
            .map(Vec::as_slice)
            .ok_or_else(|| CapError::Denied(format!("plugin '{plugin}' was not granted the {cap} capability")))
    }

    /// Refuses unless `item` (or `*`) is in the granted scope of `cap`.
    pub fn require(&self, plugin: &str, cap: Capability, item: &str) -> Result<(), CapError> {
        let scope = self.scope(plugin, cap)?;
        if scope.iter().any(|s| s == item || s == "*") {
            Ok(())
        } else {
            Err(CapError::Denied(format!(
                "plugin '{plugin}' was granted {cap} for [{}], not for {item:?}",
                scope.join(", ")
            )))
        }
    }
}

/// Where the backends behind the capabilities are.
#[derive(Debug, Clone)]
pub struct Backends {
    pub ovsdb_socket: PathBuf,
    pub ovs_rundir: PathBuf,
    pub networkd_dir: PathBuf,
    /// Settings plugins may read (see the WIT `settings` interface).
    pub datapath_type: String,
    pub bridge_name: String,
}

impl Backends {
    pub fn from_config(config: &crate::config::Config) -> Backends {
        Backends {
            ovsdb_socket: config.ovsdb_socket.clone(),
            ovs_rundir: config.ovs_rundir.clone(),
            networkd_dir: config.networkd_dir.clone(),
            datapath_type: config.datapath_type.clone(),
            bridge_name: config.bridge_name.clone(),
        }
    }
}

/// Per-store capability context: who is calling, what it may do, where the
/// backends are, and when the current call must be over.
pub struct CapContext {
    pub plugin: String,
    pub grants: Grants,
    pub backends: Backends,
    /// The current call's wall clock.
    pub clock: Arc<super::sandbox::CallClock>,
}

/// A capability call that outlived the plugin call's deadline: the host
/// turns it into a trap and the caller sees a timeout.
#[derive(Debug, thiserror::Error)]
#[error("plugin call exceeded its wall-clock limit inside the {0} capability")]
pub struct DeadlineExceeded(pub Capability);

impl CapContext {
    /// A backend call starts: the guest is getting on with its work, so
    /// the call's deadline moves (see `CallClock`); the time the backend
    /// call may take, or a trap if the call is out of time.
    pub fn remaining(&self, cap: Capability) -> wasmtime::Result<std::time::Duration> {
        if self.clock.remaining().is_zero() {
            return Err(wasmtime::Error::new(DeadlineExceeded(cap)));
        }
        self.clock.progressed();
        Ok(self.clock.remaining())
    }
}

/// Runs `cmd`, killing it when `timeout` passes; stdout on success, a
/// `failed` cap-error naming the command otherwise.
pub(crate) async fn run_command(cmd: std::process::Command, timeout: std::time::Duration) -> Result<String, CapError> {
    use std::process::Stdio;
    let shown = format!("{cmd:?}");
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| CapError::Failed(format!("cannot run {shown}: {e}")))?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => out.map_err(|e| CapError::Failed(format!("{shown}: {e}")))?,
        Err(_) => return Err(CapError::Failed(format!("{shown} timed out after {timeout:?}"))),
    };
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(CapError::Failed(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ungranted_capability_is_denied_by_name() {
        let g = Grants::of(&[(Capability::Log, &[])]);
        let err = g.scope("p", Capability::Ovsdb).unwrap_err();
        assert!(matches!(err, CapError::Denied(m) if m.contains("ovsdb") && m.contains("'p'")));
    }

    #[test]
    fn scope_items_and_wildcards() {
        let g = Grants::of(&[(Capability::Ovsdb, &["Bridge"]), (Capability::Openflow, &["*"])]);
        assert!(g.require("p", Capability::Ovsdb, "Bridge").is_ok());
        assert!(
            matches!(g.require("p", Capability::Ovsdb, "Port"), Err(CapError::Denied(m)) if m.contains("\"Port\""))
        );
        assert!(g.require("p", Capability::Openflow, "anything").is_ok());
    }

    #[test]
    fn scopes_that_cannot_be_granted() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(Capability::Ovsdb.check_scope(&s(&["Bridge", "Port"])).is_ok());
        assert!(Capability::Ovsdb.check_scope(&s(&["Passwords"])).unwrap_err().contains("\"Passwords\""));
        assert!(Capability::Netlink.check_scope(&s(&["admin"])).is_err());
        assert!(Capability::Networkd.check_scope(&s(&[])).is_err());
        assert!(Capability::Openflow.check_scope(&s(&["a-very-long-bridge-name"])).is_err());
        assert!(Capability::Log.check_scope(&s(&[])).is_ok());
        assert!(Capability::Log.check_scope(&s(&["x"])).is_err());
    }

    #[test]
    fn interface_names() {
        assert!(valid_ifname("ovsbr0"));
        assert!(valid_ifname("abcdefghijklmno"));
        assert!(!valid_ifname("abcdefghijklmnop"));
        assert!(!valid_ifname("a/b"));
        assert!(!valid_ifname(".."));
        assert!(!valid_ifname(""));
        assert!(!valid_ifname("!lo"), "networkd would read it as a pattern");
        assert!(!valid_ifname("a:b"), "the same rule as net and add_port");
    }
}
