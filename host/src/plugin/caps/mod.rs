//! Capabilities: what a plugin may reach, what it asked for, what the admin
//! granted, and the checks every host implementation makes before acting.
//!
//! Each capability is one unit in one file, named as its WIT interface:
//! its [`Capability`] name, its [`Spec`] (what its scope may say), and its
//! host trait implemented on [`CapContext`] (the narrow view of a plugin's
//! store a capability sees: not the WASI context). Every call starts by
//! asking `CapContext` whether it is inside the grant. The
//! `capabilities!` line below declares them and links them; adding one
//! is a new file here, one entry in that line, and its WIT interface.

mod ovsdb_rows;
mod settings;
mod wit_v0_1;

use super::bindings::current::CapError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

/// Declares the capability modules (each named as its WIT interface),
/// their [`Capability`] constants, [`ALL`], and the linking of every one
/// onto the store's [`CapContext`].
macro_rules! capabilities {
    ($($cap:ident => $constant:ident),+ $(,)?) => {
        $(mod $cap;)+

        impl Capability {
            $(pub const $constant: Capability = $cap::CAPABILITY;)+
        }

        /// Every capability the host can grant.
        pub static ALL: &[&Spec] = &[$(&$cap::SPEC),+];

        fn link_capabilities<T: Caps>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
            use super::bindings::current::portagent::plugin as wit;
            $(wit::$cap::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)?;)+
            Ok(())
        }
    };
}

capabilities!(
    log => LOG,
    ovsdb => OVSDB,
    netlink => NETLINK,
    networkd => NETWORKD,
    openflow => OPENFLOW,
    hostname => HOSTNAME,
);

pub use self::log::tell_dropped;

/// One capability: its WIT interface's name and what a scope of it may say.
pub struct Spec {
    pub capability: Capability,
    /// Whether an item may stand in a scope of it.
    pub scope_item: fn(&str) -> bool,
    /// What a scope may say, for the error that refuses one.
    pub scope_expected: fn() -> String,
    /// Whether an empty scope still grants something (`log` has none).
    pub empty_scope_grants: bool,
}

impl Spec {
    /// A capability whose scope is `read` and/or `write`.
    pub const fn read_write(capability: Capability) -> Spec {
        Spec {
            capability,
            scope_item: |item| item == "read" || item == "write",
            scope_expected: || "`read` and/or `write`".into(),
            empty_scope_grants: false,
        }
    }
}

/// A store whose data gives capabilities their narrow view.
pub trait Caps: Send + 'static {
    fn caps(&mut self) -> &mut CapContext;
}

/// The `types` interface has no functions; the linker still asks for it.
impl super::bindings::current::portagent::plugin::types::Host for CapContext {}

/// Links every capability, and the interfaces every plugin may use
/// (`types`, `settings`), onto the store's [`CapContext`].
pub fn link<T: Caps>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    use super::bindings::current::portagent::plugin as wit;
    wit::types::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)?;
    wit::settings::add_to_linker::<T, HasSelf<CapContext>>(linker, T::caps)?;
    link_capabilities(linker)?;
    // Plugins built against 0.1.0 get the same capabilities, converted.
    wit_v0_1::link(linker)
}

/// A capability interface of the `state-plugin` world, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(&'static str);

impl Capability {
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The capability named `name`, if the host has it.
    pub fn parse(name: &str) -> Option<Capability> {
        ALL.iter().map(|s| s.capability).find(|c| c.0 == name)
    }

    /// Every capability's name, for messages.
    pub fn names() -> String {
        ALL.iter().map(|s| s.capability.0).collect::<Vec<_>>().join(", ")
    }

    fn spec(self) -> &'static Spec {
        ALL.iter().find(|s| s.capability == self).expect("a Capability is one of ALL")
    }

    /// The interface's name in the component's import list.
    pub fn import_name(self) -> String {
        format!("{}/{}@{}", super::api::WIT_PACKAGE, self.0, super::bindings::current::WIT_VERSION)
    }

    /// Checks that `scope` is meaningful for this capability.
    pub fn check_scope(self, scope: &[String]) -> Result<(), String> {
        let spec = self.spec();
        if let Some(bad) = scope.iter().find(|s| !(spec.scope_item)(s)) {
            return Err(format!("{}: scope {bad:?} cannot be granted; expected {}", self.0, (spec.scope_expected)()));
        }
        if !spec.empty_scope_grants && scope.is_empty() {
            return Err(format!("{}: an empty scope grants nothing", self.0));
        }
        Ok(())
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Capability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Capability, D::Error> {
        let name = String::deserialize(d)?;
        Capability::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!("{name:?} is not a capability this host has ({})", Capability::names()))
        })
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
    /// Grants from literal pairs, e.g. `Grants::of(&[(Capability::OVSDB, &["Bridge"])])`.
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
    pub hostname_file: PathBuf,
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
            hostname_file: config.hostname_file.clone(),
            datapath_type: config.datapath_type.clone(),
            bridge_name: config.bridge_name.clone(),
        }
    }
}

/// What a capability sees of a plugin's store (its narrow view): who is
/// calling, what it may do, where the backends are, and when the current
/// call must be over.
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

/// A backend's refusal with error number `errno`, as the variant a plugin
/// can act on: the resource is missing, is there already (or busy), or
/// the argument is bad; `failed` for the rest.
pub(crate) fn by_errno(errno: i32, message: String) -> CapError {
    match errno {
        libc::ENOENT | libc::ENODEV | libc::ESRCH | libc::ENXIO | libc::EADDRNOTAVAIL => CapError::NotFound(message),
        libc::EEXIST | libc::EBUSY | libc::EADDRINUSE | libc::ENOTEMPTY => CapError::Conflict(message),
        libc::EINVAL | libc::ERANGE | libc::EAFNOSUPPORT | libc::ENAMETOOLONG => CapError::InvalidArgument(message),
        libc::ETIMEDOUT => CapError::Timeout(message),
        _ => CapError::Failed(message),
    }
}

/// Runs `cmd`, killing it when `timeout` passes; stdout on success, a
/// `failed` cap-error naming the command otherwise (`timeout` when it ran
/// out of time).
pub(crate) async fn run_command(cmd: std::process::Command, timeout: std::time::Duration) -> Result<String, CapError> {
    use std::process::Stdio;
    let shown = format!("{cmd:?}");
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| CapError::Failed(format!("cannot run {shown}: {e}")))?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => out.map_err(|e| CapError::Failed(format!("{shown}: {e}")))?,
        Err(_) => return Err(CapError::Timeout(format!("{shown} timed out after {timeout:?}"))),
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
        let g = Grants::of(&[(Capability::LOG, &[])]);
        let err = g.scope("p", Capability::OVSDB).unwrap_err();
        assert!(matches!(err, CapError::Denied(m) if m.contains("ovsdb") && m.contains("'p'")));
    }

    #[test]
    fn scope_items_and_wildcards() {
        let g = Grants::of(&[(Capability::OVSDB, &["Bridge"]), (Capability::OPENFLOW, &["*"])]);
        assert!(g.require("p", Capability::OVSDB, "Bridge").is_ok());
        assert!(
            matches!(g.require("p", Capability::OVSDB, "Port"), Err(CapError::Denied(m)) if m.contains("\"Port\""))
        );
        assert!(g.require("p", Capability::OPENFLOW, "anything").is_ok());
    }

    #[test]
    fn scopes_that_cannot_be_granted() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(Capability::OVSDB.check_scope(&s(&["Bridge", "Port"])).is_ok());
        assert!(Capability::OVSDB.check_scope(&s(&["Passwords"])).unwrap_err().contains("\"Passwords\""));
        assert!(Capability::NETLINK.check_scope(&s(&["admin"])).is_err());
        assert!(Capability::NETWORKD.check_scope(&s(&[])).is_err());
        assert!(Capability::OPENFLOW.check_scope(&s(&["a-very-long-bridge-name"])).is_err());
        assert!(Capability::LOG.check_scope(&s(&[])).is_ok());
        assert!(Capability::LOG.check_scope(&s(&["x"])).is_err());
    }

    #[test]
    fn a_backend_command_out_of_time_is_a_timeout() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut sleep = std::process::Command::new("sleep");
        sleep.arg("5");
        let e = rt.block_on(run_command(sleep, std::time::Duration::from_millis(50))).unwrap_err();
        assert!(matches!(e, CapError::Timeout(m) if m.contains("sleep") && m.contains("timed out")));
        let e = rt.block_on(run_command(std::process::Command::new("false"), std::time::Duration::from_secs(5)));
        assert!(matches!(e, Err(CapError::Failed(_))));
    }

    #[test]
    fn refusals_by_errno() {
        let kind = |errno| match by_errno(errno, String::new()) {
            CapError::NotFound(_) => "not-found",
            CapError::Conflict(_) => "conflict",
            CapError::InvalidArgument(_) => "invalid-argument",
            CapError::Timeout(_) => "timeout",
            CapError::Failed(_) => "failed",
            CapError::Denied(_) => "denied",
        };
        assert_eq!(kind(libc::ENODEV), "not-found");
        assert_eq!(kind(libc::EEXIST), "conflict");
        assert_eq!(kind(libc::EINVAL), "invalid-argument");
        assert_eq!(kind(libc::ETIMEDOUT), "timeout");
        assert_eq!(kind(libc::EPERM), "failed", "the host's own lack of rights is not the plugin's denial");
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
