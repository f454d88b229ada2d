//! The `dev.ovs.PortAgent1` interface. Every method name of the deployment
//! guide answers as spelled there (`ping`, `get_blockchain_stats`, ...) and
//! also under its conventional PascalCase name. Results are JSON strings in
//! the guide's shapes; errors are typed (`dev.ovs.PortAgent1.Error.*`) and
//! name the field. Work that takes time runs on blocking threads, so the
//! bus is always served.

use super::access::{self, MANAGE, PLUGINS};
use super::{OBJECT_PATH, networkd, ports};
use crate::ledger::store;
use crate::state::{ApplyOptions, ApplyReport, Caller, Manager, StateError, StateFile};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, interface};

/// The errors a caller sees.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "dev.ovs.PortAgent1.Error")]
pub enum Error {
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The state (or an argument) is invalid; nothing was changed.
    InvalidState(String),
    /// Another apply runs, or a change awaits confirmation.
    Busy(String),
    /// Applied, failed, and rolled back.
    RolledBack(String),
    /// The caller may not do this.
    AccessDenied(String),
    /// No such thing (a ledger entry, a plugin, a pending change).
    NotFound(String),
    Failed(String),
}

impl From<StateError> for Error {
    fn from(e: StateError) -> Error {
        match e {
            StateError::Invalid { .. } => Error::InvalidState(e.to_string()),
            StateError::Busy | StateError::Pending { .. } => Error::Busy(e.to_string()),
            StateError::Expired { .. } => Error::RolledBack(e.to_string()),
            StateError::NothingPending => Error::NotFound(e.to_string()),
            StateError::Registry(crate::plugin::RegistryError::NotInstalled(_)) => Error::NotFound(e.to_string()),
            other => Error::Failed(other.to_string()),
        }
    }
}

impl From<store::LedgerError> for Error {
    fn from(e: store::LedgerError) -> Error {
        Error::Failed(format!("ledger: {e}"))
    }
}

type Result<T> = std::result::Result<T, Error>;

/// Runs blocking work off the bus's thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Failed(format!("worker: {e}")))
}

fn to_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).expect("serializable")
}

/// Categories that record network state changes (the guide's `network`).
const NETWORK_CATEGORIES: &[&str] = &["apply_state", "rollback", "commit", "recovery"];

pub struct Service {
    manager: Arc<Manager>,
}

impl Service {
    pub fn new(manager: Arc<Manager>) -> Service {
        Service { manager }
    }

    fn parse(yaml: &str) -> Result<StateFile> {
        StateFile::parse(yaml).map_err(|e| Error::InvalidState(e.to_string()))
    }

    /// Applies for the authorized caller, with `opts` (whose caller is
    /// set here); the report, also when the apply was rolled back.
    async fn apply_report(&self, conn: &Connection, hdr: &Header<'_>, yaml: &str, opts: ApplyOptions) -> Result<ApplyReport> {
        let caller = access::authorize(conn, hdr, MANAGE).await?;
        let file = Self::parse(yaml)?;
        let manager = self.manager.clone();
        let opts = ApplyOptions { caller, ..opts };
        let report = blocking(move || manager.apply(&file, &opts)).await??;
        self.announce(conn, &report).await?;
        if let Some(p) = &report.pending_confirmation {
            spawn_timer(conn.clone(), self.manager.clone(), p.checkpoint.clone());
        }
        Ok(report)
    }

    /// Applies; a rolled-back apply is the `RolledBack` error.
    async fn apply(&self, conn: &Connection, hdr: &Header<'_>, yaml: &str, confirm: Option<Duration>) -> Result<String> {
        let opts = ApplyOptions { confirm_timeout: confirm, ..ApplyOptions::new(Caller::NOBODY) };
        let report = self.apply_report(conn, hdr, yaml, opts).await?;
        if !report.success {
            return Err(Error::RolledBack(format!("{}: {}", "apply failed and was rolled back", report.errors.join("; "))));
        }
        Ok(to_json(&report))
    }

    /// Emits `StateApplied` or `RolledBack` for a report that did something.
    async fn announce(&self, conn: &Connection, report: &ApplyReport) -> Result<()> {
        if report.plugins.is_empty() && report.recovered.is_none() {
            return Ok(());
        }
        let emitter = SignalEmitter::new(conn, OBJECT_PATH)?;
        if report.success {
            Self::state_applied(&emitter, &to_json(report)).await?;
        } else {
            Self::rolled_back(&emitter, &to_json(report)).await?;
        }
        self.pending_confirmation_changed(&emitter).await?;
        Ok(())
    }

    async fn query(&self, plugin: String) -> Result<String> {
        let manager = self.manager.clone();
        let only = (!plugin.is_empty()).then_some(plugin);
        let state = blocking(move || manager.query(only.as_deref())).await??;
        Ok(to_json(&json!({"version": crate::state::file::VERSION, "plugins": state})))
    }

    async fn ledger_entries(&self) -> Result<Vec<crate::ledger::entry::Entry>> {
        let path = self.manager.config().ledger_path.clone();
        Ok(blocking(move || store::entries(&path)).await??)
    }

    async fn stats(&self) -> Result<String> {
        Ok(to_json(&store::stats(&self.ledger_entries().await?)))
    }

    async fn by_category(&self, category: String) -> Result<String> {
        let all = self.ledger_entries().await?;
        let matches = |c: &str| c == category || (category == "network" && NETWORK_CATEGORIES.contains(&c));
        Ok(to_json(&all.iter().filter(|e| matches(&e.category)).collect::<Vec<_>>()))
    }

    async fn verify(&self) -> Result<String> {
        let options = crate::ledger::Options::from_config(self.manager.config());
        let path = self.manager.config().ledger_path.clone();
        let report = blocking(move || store::verify(&path, &options, &[])).await??;
        Ok(report.to_string())
    }

    async fn by_hash(&self, hash: String) -> Result<String> {
        let all = self.ledger_entries().await?;
        all.iter().find(|e| e.hash == hash).map(to_json).ok_or_else(|| Error::NotFound(format!("hash: no ledger entry {hash:?}")))
    }

    async fn list_ports_json(&self) -> Result<String> {
        let manager = self.manager.clone();
        Ok(to_json(&blocking(move || ports::list(&manager)).await??))
    }

    async fn port(&self, conn: &Connection, hdr: &Header<'_>, name: String, add: bool) -> Result<String> {
        let caller = access::authorize(conn, hdr, MANAGE).await?;
        let manager = self.manager.clone();
        let n = name.clone();
        let report = blocking(move || ports::change(&manager, &n, add, caller)).await??;
        self.announce(conn, &report).await?;
        if !report.success {
            return Err(Error::RolledBack(report.errors.join("; ")));
        }
        let emitter = SignalEmitter::new(conn, OBJECT_PATH)?;
        if add {
            Self::port_added(&emitter, &name).await?;
        } else {
            Self::port_removed(&emitter, &name).await?;
        }
        Ok(to_json(&report))
    }

    async fn introspect(&self, conn: &Connection) -> Result<String> {
        Ok(to_json(&networkd::introspect(conn).await?))
    }
}

/// The confirm timer inside the daemon: rolls change `id` back at its
/// deadline unless it was committed, and says so with `RolledBack`.
fn spawn_timer(conn: Connection, manager: Arc<Manager>, id: String) {
    tokio::spawn(async move {
        let m = manager.clone();
        let settled = tokio::task::spawn_blocking(move || m.expire_when_due(&id, Caller { uid: 0 })).await;
        if let Ok(Ok(Some(s))) = settled {
            log::warn!("change {} was not confirmed in time: {}", s.checkpoint, s.result);
            if let Ok(emitter) = SignalEmitter::new(&conn, OBJECT_PATH) {
                let _ = Service::rolled_back(&emitter, &to_json(&s)).await;
            }
        }
    });
}

/// At start: a change that awaits confirmation gets its timer here.
pub async fn watch_pending(conn: &Connection, manager: Arc<Manager>) {
    if let Ok(Some(j)) = manager.pending() {
        spawn_timer(conn.clone(), manager, j.id);
    }
}

#[interface(name = "dev.ovs.PortAgent1")]
impl Service {
    /// Liveness: returns `pong`.
    #[zbus(name = "ping")]
    fn ping_guide(&self) -> String {
        "pong".into()
    }

    fn ping(&self) -> String {
        "pong".into()
    }

    /// Applies a state file (YAML); returns the apply report (JSON).
    async fn apply_state(&self, #[zbus(connection)] conn: &Connection, #[zbus(header)] hdr: Header<'_>, state_yaml: String) -> Result<String> {
        self.apply(conn, &hdr, &state_yaml, None).await
    }

    /// Applies with confirm-or-revert: kept only if `Commit` follows within
    /// `seconds`, else rolled back by the daemon.
    async fn apply_state_with_timeout(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        state_yaml: String,
        seconds: u32,
    ) -> Result<String> {
        if seconds == 0 {
            return Err(Error::InvalidState("seconds: must be at least 1".into()));
        }
        self.apply(conn, &hdr, &state_yaml, Some(Duration::from_secs(seconds.into()))).await
    }

    /// What the CLI uses: confirm timeout in seconds (0: none), probe
    /// hosts, and whether to fail with `Busy` rather than wait. Returns the
    /// report also when it was rolled back (`success: false`).
    async fn apply_state_with_options(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        state_yaml: String,
        confirm_timeout: u32,
        probe: Vec<String>,
        no_wait: bool,
    ) -> Result<String> {
        let opts = ApplyOptions {
            wait: if no_wait { crate::state::lock::Wait::NoWait } else { crate::state::lock::Wait::Block },
            caller: Caller::NOBODY,
            confirm_timeout: (confirm_timeout > 0).then(|| Duration::from_secs(confirm_timeout.into())),
            probe,
        };
        Ok(to_json(&self.apply_report(conn, &hdr, &state_yaml, opts).await?))
    }

    /// What applying a state file would change, per plugin (JSON array).
    async fn show_diff(&self, state_yaml: String) -> Result<String> {
        let file = Self::parse(&state_yaml)?;
        let manager = self.manager.clone();
        Ok(to_json(&blocking(move || manager.show_diff(&file)).await??))
    }

    /// The live state of one plugin's section (empty: all), as a state file.
    async fn query_state(&self, plugin: String) -> Result<String> {
        self.query(plugin).await
    }

    /// Keeps the change applied with a confirm timeout.
    async fn commit(&self, #[zbus(connection)] conn: &Connection, #[zbus(header)] hdr: Header<'_>) -> Result<String> {
        let caller = access::authorize(conn, &hdr, MANAGE).await?;
        let manager = self.manager.clone();
        let s = blocking(move || manager.commit(caller)).await??;
        self.pending_confirmation_changed(&SignalEmitter::new(conn, OBJECT_PATH)?).await?;
        Ok(to_json(&s))
    }

    /// Undoes the change applied with a confirm timeout.
    async fn rollback(&self, #[zbus(connection)] conn: &Connection, #[zbus(header)] hdr: Header<'_>) -> Result<String> {
        let caller = access::authorize(conn, &hdr, MANAGE).await?;
        let manager = self.manager.clone();
        let s = blocking(move || manager.rollback(caller)).await??;
        let emitter = SignalEmitter::new(conn, OBJECT_PATH)?;
        Self::rolled_back(&emitter, &to_json(&s)).await?;
        self.pending_confirmation_changed(&emitter).await?;
        Ok(to_json(&s))
    }

    /// Every plugin's live state plus systemd-networkd's view.
    async fn get_system_network_state(&self, #[zbus(connection)] conn: &Connection) -> Result<String> {
        let manager = self.manager.clone();
        let plugins = blocking(move || manager.query(None)).await??;
        let networkd = networkd::introspect(conn).await.unwrap_or_else(|e| json!({"error": e.to_string()}));
        Ok(to_json(&json!({"plugins": plugins, "systemd_networkd": networkd})))
    }

    /// systemd-networkd's manager and link states, over its D-Bus API.
    async fn introspect_systemd_networkd(&self, #[zbus(connection)] conn: &Connection) -> Result<String> {
        self.introspect(conn).await
    }

    #[zbus(name = "get_blockchain_stats")]
    async fn get_blockchain_stats_guide(&self) -> Result<String> {
        self.stats().await
    }

    /// Ledger counts by category, first and last time.
    async fn get_blockchain_stats(&self) -> Result<String> {
        self.stats().await
    }

    #[zbus(name = "get_blocks_by_category")]
    async fn get_blocks_by_category_guide(&self, category: String) -> Result<String> {
        self.by_category(category).await
    }

    /// Ledger entries of one category (`network`: every state change).
    async fn get_blocks_by_category(&self, category: String) -> Result<String> {
        self.by_category(category).await
    }

    #[zbus(name = "verify_blockchain_integrity")]
    async fn verify_blockchain_integrity_guide(&self) -> Result<String> {
        self.verify().await
    }

    /// `VALID: ...` or `INVALID: reason`.
    async fn verify_blockchain_integrity(&self) -> Result<String> {
        self.verify().await
    }

    #[zbus(name = "get_block_by_hash")]
    async fn get_block_by_hash_guide(&self, hash: String) -> Result<String> {
        self.by_hash(hash).await
    }

    /// The ledger entry with this hash.
    async fn get_block_by_hash(&self, hash: String) -> Result<String> {
        self.by_hash(hash).await
    }

    /// Ledger entries with heights from..=to.
    async fn get_blocks_by_height(&self, from: u64, to: u64) -> Result<String> {
        let all = self.ledger_entries().await?;
        Ok(to_json(&all.iter().filter(|e| e.height >= from && e.height <= to).collect::<Vec<_>>()))
    }

    #[zbus(name = "list_ports")]
    async fn list_ports_guide(&self) -> Result<String> {
        self.list_ports_json().await
    }

    /// Ports of the configured bridge (`bridge_name`), as a JSON array.
    async fn list_ports(&self) -> Result<String> {
        self.list_ports_json().await
    }

    #[zbus(name = "add_port")]
    async fn add_port_guide(&self, #[zbus(connection)] conn: &Connection, #[zbus(header)] hdr: Header<'_>, name: String) -> Result<String> {
        self.port(conn, &hdr, name, true).await
    }

    /// Adds an existing interface to the configured bridge, as an apply.
    async fn add_port(&self, #[zbus(connection)] conn: &Connection, #[zbus(header)] hdr: Header<'_>, name: String) -> Result<String> {
        self.port(conn, &hdr, name, true).await
    }

    #[zbus(name = "del_port")]
    async fn del_port_guide(&self, #[zbus(connection)] conn: &Connection, #[zbus(header)] hdr: Header<'_>, name: String) -> Result<String> {
        self.port(conn, &hdr, name, false).await
    }

    /// Removes a port from the configured bridge, as an apply.
    async fn del_port(&self, #[zbus(connection)] conn: &Connection, #[zbus(header)] hdr: Header<'_>, name: String) -> Result<String> {
        self.port(conn, &hdr, name, false).await
    }

    /// Built-in and installed plugins (JSON).
    async fn list_plugins(&self) -> Result<String> {
        let manager = self.manager.clone();
        Ok(to_json(&blocking(move || manager.plugins()).await??))
    }

    /// Installs the component at `path` with `grants` (`CAP[=SCOPE]`, or
    /// `all`): the caller's consent.
    async fn install_plugin(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        path: String,
        grants: Vec<String>,
    ) -> Result<String> {
        access::authorize(conn, &hdr, PLUGINS).await?;
        let manager = self.manager.clone();
        Ok(to_json(&blocking(move || manager.install_plugin(std::path::Path::new(&path), &grants)).await??))
    }

    async fn remove_plugin(&self, #[zbus(connection)] conn: &Connection, #[zbus(header)] hdr: Header<'_>, name: String) -> Result<String> {
        access::authorize(conn, &hdr, PLUGINS).await?;
        let manager = self.manager.clone();
        Ok(to_json(&blocking(move || manager.remove_plugin(&name)).await??))
    }

    #[zbus(property)]
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    /// Whether a change awaits `Commit`.
    #[zbus(property)]
    fn pending_confirmation(&self) -> bool {
        self.manager.pending().ok().flatten().is_some()
    }

    #[zbus(signal)]
    async fn state_applied(emitter: &SignalEmitter<'_>, report: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn rolled_back(emitter: &SignalEmitter<'_>, report: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn port_added(emitter: &SignalEmitter<'_>, name: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn port_removed(emitter: &SignalEmitter<'_>, name: &str) -> zbus::Result<()>;
}
