//! The `dev.ovs.PortAgent1` interface. Every method name of the deployment
//! guide answers as spelled there (`ping`, `get_blockchain_stats`, ...) and
//! also under its conventional PascalCase name. Results are JSON strings in
//! the guide's shapes; errors are typed (`dev.ovs.PortAgent1.Error.*`) and
//! name the field.
//!
//! The bus thread only parses arguments and hands work on: parsing a
//! state, planning and everything that reads the system or the ledger run
//! on blocking threads, a state is at most `max_state_bytes`, each
//! caller (by uid) has at most [`READS_PER_CALLER`] read-only requests
//! running and all unprivileged callers together [`UNPRIVILEGED_READS`],
//! and those run on threads of their own at the lowest priority (nice
//! 19), their results encoded there too, so no one can stall `ping` or
//! root's `Commit`.

use super::access::{self, MANAGE, PLUGINS};
use super::error::{Error, Result};
use super::{OBJECT_PATH, networkd, settle};
use crate::ledger::store;
use crate::ports;
use crate::state::{ApplyOptions, ApplyReport, Caller, Manager, Settled, StateFile};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, interface};

/// Read-only requests one uid may have running at once.
pub const READS_PER_CALLER: usize = 4;
/// Read-only requests of callers other than root running at once, all
/// uids together.
pub const UNPRIVILEGED_READS: usize = 4;

/// Progress lines of an apply, as `ApplyProgress` signals to `caller`
/// alone, in order: what the apply is given, and the task sending them
/// (done once the apply drops its end).
fn progress_to(
    conn: &Connection,
    caller: String,
) -> Result<(crate::state::pipeline::Progress, tokio::task::JoinHandle<()>)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let destination = zbus::names::BusName::try_from(caller).map_err(|e| Error::Failed(format!("caller: {e}")))?;
    let emitter = SignalEmitter::new(conn, OBJECT_PATH)?.set_destination(destination).into_owned();
    let told = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if let Err(e) = Service::apply_progress(&emitter, &line).await {
                log::debug!("ApplyProgress to the caller: {e}");
            }
        }
    });
    Ok((crate::state::pipeline::Progress::new(move |line: &str| drop(tx.send(line.to_string()))), told))
}

/// Runs blocking work off the bus's thread.
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Failed(format!("worker: {e}")))
}

pub(super) fn to_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).expect("serializable")
}

/// The most bytes of one reply's JSON. The system bus carries messages of
/// at most 32 MiB (dbus-daemon's `max_message_size`); a bigger reply is
/// refused by the bus, which then drops the sender's connection, and with
/// it the daemon's name. Room is left for the message's own framing.
pub const MAX_REPLY_BYTES: usize = 20 << 20;

/// `text` as the reply about `what`, or a refusal that says why (logged:
/// the caller may not be reading).
pub(super) fn carried(text: String, what: &str) -> Result<String> {
    carried_within(text, what, MAX_REPLY_BYTES)
}

fn carried_within(text: String, what: &str, max: usize) -> Result<String> {
    if text.len() <= max {
        return Ok(text);
    }
    let why = format!(
        "{what} is {:.1} MiB, more than the {} MiB one reply on the system bus may carry; run the command as root \
         with PORTAGENT_NO_DAEMON=1 to have it in-process",
        text.len() as f64 / f64::from(1 << 20),
        max >> 20
    );
    log::warn!("not sent: {why}");
    Err(Error::Failed(why))
}

/// An apply's report as its reply: whole when the bus can carry it, or
/// with each plugin's planned actions left out and counted (the ledger
/// entry has them): the change itself happened, and saying so matters more.
pub(super) fn report_reply(report: &ApplyReport) -> Result<String> {
    report_reply_within(report, MAX_REPLY_BYTES)
}

fn report_reply_within(report: &ApplyReport, max: usize) -> Result<String> {
    let text = to_json(report);
    if text.len() <= max {
        return Ok(text);
    }
    let mut short = report.clone();
    for p in &mut short.plugins {
        let n = p.actions.len();
        p.actions =
            vec![json!({"omitted": n, "why": "too many to carry on the bus; `portagent ledger show` has them"})];
    }
    carried_within(to_json(&short), "the apply's report, without its actions,", max)
}

/// Says on the bus that a change was settled: `RolledBack` (or, for a
/// commit, nothing) and the `PendingConfirmation` property.
async fn announce_settled(conn: &Connection, s: &Settled) {
    if s.result != "committed"
        && let Ok(emitter) = SignalEmitter::new(conn, OBJECT_PATH)
    {
        let _ = Service::rolled_back(&emitter, &to_json(s)).await;
    }
    if let Ok(iface) = conn.object_server().interface::<_, Service>(OBJECT_PATH).await {
        let _ = iface.get().await.pending_confirmation_changed(iface.signal_emitter()).await;
    }
}

/// Announces every change [`settle`] reports settled, until the daemon stops.
pub async fn announce_settled_changes(conn: Connection, mut settled: tokio::sync::mpsc::UnboundedReceiver<Settled>) {
    while let Some(s) = settled.recv().await {
        announce_settled(&conn, &s).await;
    }
}

/// Whether `net`'s change of an interface (its JSON Merge Patch) attaches
/// it to a bridge (the SDK's shared reading of it).
fn attaches(changes: &serde_json::Value) -> bool {
    portagent_sdk::ports::ChangedInterface::deserialize(changes).is_ok_and(|c| c.controller.is_some())
}

/// Says on the bus what a change of ports did: `StateApplied` (or
/// `RolledBack`), then `PortAdded`/`PortRemoved` for each port attached
/// or detached. A signal that cannot be sent is logged.
pub async fn announce_port_changes(conn: &Connection, report: &ApplyReport) {
    let sent = async {
        if report.plugins.is_empty() {
            return Ok(());
        }
        let emitter = SignalEmitter::new(conn, OBJECT_PATH)?;
        if !report.success {
            return Service::rolled_back(&emitter, &to_json(report)).await;
        }
        Service::state_applied(&emitter, &to_json(report)).await?;
        for a in report.plugins.iter().filter(|p| p.plugin == "net").flat_map(|p| &p.actions) {
            let name = a["resource"].as_str().unwrap_or_default();
            match a["type"].as_str() {
                Some("Delete") => Service::port_removed(&emitter, name).await?,
                Some(_) if attaches(&a["changes"]) => Service::port_added(&emitter, name).await?,
                _ => {}
            }
        }
        zbus::Result::Ok(())
    };
    if let Err(e) = sent.await {
        log::warn!("signals for a change of ports: {e}");
    }
}

/// Categories that record network state changes (the guide's `network`).
const NETWORK_CATEGORIES: &[&str] = &["apply_state", "rollback", "commit", "recovery", "interfaces_file"];

/// Read-only requests running, per uid.
#[derive(Default)]
struct Readers(Mutex<HashMap<u32, usize>>);

/// One running read-only request; its slot is given back on drop.
struct Reading {
    readers: Arc<Readers>,
    uid: u32,
}

impl Reading {
    /// Runs `f` off the bus thread: for root on the blocking pool, for
    /// anyone else on a thread of its own at nice 19, so another user's
    /// `ShowDiff` of a huge file takes only CPU nobody else wants.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        if self.uid == 0 {
            return blocking(f).await;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("portagent-read".into())
            .spawn(move || {
                // SAFETY: setpriority of this thread alone (its kernel tid).
                if unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19) } != 0 {
                    log::debug!("nice 19 for an unprivileged read: {}", std::io::Error::last_os_error());
                }
                let _ = tx.send(f());
            })
            .map_err(|e| Error::Failed(format!("worker: {e}")))?;
        rx.await.map_err(|_| Error::Failed("worker: the read failed".into()))
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        let mut running = self.readers.0.lock().unwrap();
        if let Some(n) = running.get_mut(&self.uid) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.uid);
            }
        }
    }
}

pub struct Service {
    manager: Arc<Manager>,
    readers: Arc<Readers>,
    announcer: settle::Announcer,
}

impl Service {
    pub fn new(manager: Arc<Manager>, announcer: settle::Announcer) -> Service {
        Service { manager, readers: Arc::default(), announcer }
    }

    /// A slot for one read-only request of the caller, or `Busy`.
    async fn reading(&self, conn: &Connection, hdr: &Header<'_>) -> Result<Reading> {
        let uid = access::caller(conn, hdr).await?.uid;
        let mut running = self.readers.0.lock().unwrap();
        let unprivileged: usize = running.iter().filter(|(u, _)| **u != 0).map(|(_, n)| *n).sum();
        if uid != 0 && unprivileged >= UNPRIVILEGED_READS {
            return Err(Error::Busy(format!(
                "{UNPRIVILEGED_READS} read-only requests of unprivileged callers are running; try again when one is done"
            )));
        }
        let n = running.entry(uid).or_default();
        if *n >= READS_PER_CALLER {
            return Err(Error::Busy(format!(
                "uid {uid} already has {READS_PER_CALLER} requests running; try again when one is done"
            )));
        }
        *n += 1;
        Ok(Reading { readers: self.readers.clone(), uid })
    }

    /// Parses a state off the bus thread (at `slot`'s priority, for a
    /// read-only request), refusing one over `max_state_bytes`.
    async fn parse(&self, slot: Option<&Reading>, yaml: String) -> Result<StateFile> {
        let limit = self.manager.config().max_state_bytes;
        crate::state::file::check_size(yaml.len() as u64, limit).map_err(|e| Error::InvalidState(e.to_string()))?;
        let parse = move || StateFile::parse(&yaml);
        // A read-only request's parse runs at its priority.
        let parsed = match slot {
            Some(slot) => slot.run(parse).await?,
            None => blocking(parse).await?,
        };
        parsed.map_err(|e| Error::InvalidState(e.to_string()))
    }

    /// Applies for the authorized caller, with `opts` (whose caller is
    /// set here); the report, also when the apply was rolled back. If the
    /// caller leaves the bus before the apply starts, it never does.
    async fn apply_report(
        &self,
        conn: &Connection,
        hdr: &Header<'_>,
        yaml: String,
        opts: ApplyOptions,
    ) -> Result<ApplyReport> {
        let caller = access::authorize(conn, hdr, MANAGE).await?;
        let file = self.parse(None, yaml).await?;
        let sender = access::sender(hdr)?;
        let (gone, watch) = watch_departure(conn, &sender).await?;
        let (progress, told) = progress_to(conn, sender)?;
        let manager = self.manager.clone();
        let opts =
            ApplyOptions { caller, cancelled: Some(gone), progress: Some(progress), interfaces_block: true, ..opts };
        let report = blocking(move || manager.apply(&file, &opts)).await;
        // Every line is out before the reply (the sender went with `opts`).
        let _ = told.await;
        watch.abort();
        let report = report??;
        self.announce(conn, &report).await?;
        if let Some(p) = &report.pending_confirmation {
            settle::spawn_timer(self.manager.clone(), p.checkpoint.clone(), self.announcer.clone());
        }
        Ok(report)
    }

    /// Applies; a rolled-back apply is the `RolledBack` error (or
    /// `RollbackFailed`, when the rollback failed too).
    async fn apply(
        &self,
        conn: &Connection,
        hdr: &Header<'_>,
        yaml: String,
        confirm: Option<Duration>,
    ) -> Result<String> {
        let opts = ApplyOptions { confirm_timeout: confirm, ..ApplyOptions::new(Caller::NOBODY) };
        let report = self.apply_report(conn, hdr, yaml, opts).await?;
        if report.rollback_failed {
            return Err(Error::RollbackFailed(format!(
                "apply failed and its rollback failed too (the restore is retried): {}",
                report.errors.join("; ")
            )));
        }
        if !report.success {
            return Err(Error::RolledBack(format!("apply failed and was rolled back: {}", report.errors.join("; "))));
        }
        report_reply(&report)
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

    async fn query(&self, conn: &Connection, hdr: &Header<'_>, plugin: String) -> Result<String> {
        let slot = self.reading(conn, hdr).await?;
        let manager = self.manager.clone();
        let only = (!plugin.is_empty()).then_some(plugin);
        let text = slot.run(move || manager.query(only.as_deref()).map(|s| to_json(&s.to_state_file()))).await??;
        carried(text, "the live state")
    }

    /// The ledger's entries given to `answer`, all at the request's
    /// priority off the bus thread.
    async fn answer_from_ledger(
        &self,
        conn: &Connection,
        hdr: &Header<'_>,
        answer: impl FnOnce(Vec<crate::ledger::entry::Entry>) -> Result<String> + Send + 'static,
    ) -> Result<String> {
        let slot = self.reading(conn, hdr).await?;
        let path = self.manager.config().ledger_path.clone();
        let text = slot.run(move || answer(store::entries(&path)?)).await??;
        carried(text, "the ledger entries asked for")
    }

    async fn stats(&self, conn: &Connection, hdr: &Header<'_>) -> Result<String> {
        self.answer_from_ledger(conn, hdr, |all| Ok(to_json(&store::stats(&all)))).await
    }

    async fn by_category(&self, conn: &Connection, hdr: &Header<'_>, category: String) -> Result<String> {
        self.answer_from_ledger(conn, hdr, move |all| {
            let matches = |c: &str| c == category || (category == "network" && NETWORK_CATEGORIES.contains(&c));
            Ok(to_json(&all.iter().filter(|e| matches(&e.category)).collect::<Vec<_>>()))
        })
        .await
    }

    async fn verify(&self, conn: &Connection, hdr: &Header<'_>) -> Result<String> {
        let slot = self.reading(conn, hdr).await?;
        let options = crate::ledger::Options::from_config(self.manager.config());
        let path = self.manager.config().ledger_path.clone();
        let report = slot.run(move || store::verify(&path, &options, &[])).await??;
        Ok(report.to_string())
    }

    async fn by_hash(&self, conn: &Connection, hdr: &Header<'_>, hash: String) -> Result<String> {
        self.answer_from_ledger(conn, hdr, move |all| {
            all.iter()
                .find(|e| e.hash == hash)
                .map(to_json)
                .ok_or_else(|| Error::NotFound(format!("hash: no ledger entry {hash:?}")))
        })
        .await
    }

    async fn list_ports_json(&self, conn: &Connection, hdr: &Header<'_>) -> Result<String> {
        let slot = self.reading(conn, hdr).await?;
        let manager = self.manager.clone();
        Ok(slot.run(move || ports::list(&manager).map(|p| to_json(&p))).await??)
    }

    async fn port(&self, conn: &Connection, hdr: &Header<'_>, name: String, add: bool) -> Result<String> {
        let caller = access::authorize(conn, hdr, MANAGE).await?;
        let manager = self.manager.clone();
        let n = name.clone();
        let m = manager.clone();
        let report = blocking(move || ports::change(&m, &n, add, caller)).await??;
        self.port_changed(conn, manager, caller, &report).await?;
        Ok(to_json(&report))
    }

    /// After a change of ports: the signals, the managed block; a failed
    /// apply as the `RolledBack` error.
    async fn port_changed(
        &self,
        conn: &Connection,
        manager: Arc<Manager>,
        caller: Caller,
        report: &ApplyReport,
    ) -> Result<()> {
        announce_port_changes(conn, report).await;
        let r = report.clone();
        blocking(move || ports::mirror(&manager, caller, &r)).await?;
        if !report.success {
            return Err(Error::RolledBack(report.errors.join("; ")));
        }
        Ok(())
    }

    async fn introspect(&self, conn: &Connection, hdr: &Header<'_>) -> Result<String> {
        let _slot = self.reading(conn, hdr).await?;
        Ok(to_json(&networkd::introspect(conn).await?))
    }
}

/// A flag set once `sender` leaves the bus (its connection closed), and
/// the task watching for that, to abort when no longer needed.
async fn watch_departure(conn: &Connection, sender: &str) -> Result<(Arc<AtomicBool>, tokio::task::JoinHandle<()>)> {
    let gone = Arc::new(AtomicBool::new(false));
    let dbus = zbus::fdo::DBusProxy::new(conn).await?;
    let mut changes = dbus.receive_name_owner_changed_with_args(&[(0, sender)]).await?;
    // It may have left before anyone listened.
    let name = zbus::names::BusName::try_from(sender).map_err(|e| Error::Failed(e.to_string()))?;
    if !dbus.name_has_owner(name).await.map_err(|e| Error::Failed(e.to_string()))? {
        gone.store(true, Ordering::SeqCst);
    }
    let flag = gone.clone();
    let task = tokio::spawn(async move {
        while let Some(signal) = changes.next().await {
            if signal.args().is_ok_and(|a| a.new_owner().is_none()) {
                flag.store(true, Ordering::SeqCst);
                break;
            }
        }
    });
    Ok((gone, task))
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
    async fn apply_state(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        state_yaml: String,
    ) -> Result<String> {
        self.apply(conn, &hdr, state_yaml, None).await
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
        self.apply(conn, &hdr, state_yaml, Some(Duration::from_secs(seconds.into()))).await
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
            confirm_timeout: (confirm_timeout > 0).then(|| Duration::from_secs(confirm_timeout.into())),
            probe,
            ..ApplyOptions::new(Caller::NOBODY)
        };
        report_reply(&self.apply_report(conn, &hdr, state_yaml, opts).await?)
    }

    /// What applying a state file would change, per plugin (JSON array).
    async fn show_diff(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        state_yaml: String,
    ) -> Result<String> {
        let slot = self.reading(conn, &hdr).await?;
        let file = self.parse(Some(&slot), state_yaml).await?;
        let manager = self.manager.clone();
        let text = slot.run(move || manager.show_diff(&file).map(|d| to_json(&d))).await??;
        carried(text, "the plan")
    }

    /// The live state of one plugin's section (empty: all), as a state file.
    async fn query_state(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        plugin: String,
    ) -> Result<String> {
        self.query(conn, &hdr, plugin).await
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
    async fn get_system_network_state(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String> {
        let slot = self.reading(conn, &hdr).await?;
        let manager = self.manager.clone();
        let state = slot.run(move || manager.query(None)).await??;
        let networkd = networkd::introspect(conn).await.unwrap_or_else(|e| json!({"error": e.to_string()}));
        let mut out = json!({"plugins": state.plugins, "systemd_networkd": networkd});
        if !state.errors.is_empty() {
            out["errors"] = json!(state.errors);
        }
        carried(to_json(&out), "the live state")
    }

    /// systemd-networkd's manager and link states, over its D-Bus API.
    async fn introspect_systemd_networkd(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String> {
        self.introspect(conn, &hdr).await
    }

    #[zbus(name = "get_blockchain_stats")]
    async fn get_blockchain_stats_guide(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String> {
        self.stats(conn, &hdr).await
    }

    /// Ledger counts by category, first and last time.
    async fn get_blockchain_stats(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String> {
        self.stats(conn, &hdr).await
    }

    #[zbus(name = "get_blocks_by_category")]
    async fn get_blocks_by_category_guide(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        category: String,
    ) -> Result<String> {
        self.by_category(conn, &hdr, category).await
    }

    /// Ledger entries of one category (`network`: every state change).
    async fn get_blocks_by_category(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        category: String,
    ) -> Result<String> {
        self.by_category(conn, &hdr, category).await
    }

    #[zbus(name = "verify_blockchain_integrity")]
    async fn verify_blockchain_integrity_guide(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String> {
        self.verify(conn, &hdr).await
    }

    /// `VALID: ...` or `INVALID: reason`.
    async fn verify_blockchain_integrity(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String> {
        self.verify(conn, &hdr).await
    }

    #[zbus(name = "get_block_by_hash")]
    async fn get_block_by_hash_guide(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        hash: String,
    ) -> Result<String> {
        self.by_hash(conn, &hdr, hash).await
    }

    /// The ledger entry with this hash.
    async fn get_block_by_hash(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        hash: String,
    ) -> Result<String> {
        self.by_hash(conn, &hdr, hash).await
    }

    /// Ledger entries with heights from..=to.
    async fn get_blocks_by_height(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        from: u64,
        to: u64,
    ) -> Result<String> {
        self.answer_from_ledger(conn, &hdr, move |all| {
            Ok(to_json(&all.iter().filter(|e| e.height >= from && e.height <= to).collect::<Vec<_>>()))
        })
        .await
    }

    #[zbus(name = "list_ports")]
    async fn list_ports_guide(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String> {
        self.list_ports_json(conn, &hdr).await
    }

    /// Ports of the configured bridge (`bridge_name`), as a JSON array.
    async fn list_ports(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String> {
        self.list_ports_json(conn, &hdr).await
    }

    #[zbus(name = "add_port")]
    async fn add_port_guide(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        name: String,
    ) -> Result<String> {
        self.port(conn, &hdr, name, true).await
    }

    /// Adds an existing interface to the configured bridge, as an apply.
    async fn add_port(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        name: String,
    ) -> Result<String> {
        self.port(conn, &hdr, name, true).await
    }

    /// `create-interface`: attaches `raw` named by `naming_template`
    /// (renamed when `enable_rename`); returns what it did.
    async fn create_container_interface(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        raw: String,
        container: String,
        vmid: u32,
    ) -> Result<String> {
        let caller = access::authorize(conn, &hdr, MANAGE).await?;
        let manager = self.manager.clone();
        let m = manager.clone();
        let created = blocking(move || ports::create_interface(&m, &raw, &container, vmid, caller)).await??;
        self.port_changed(conn, manager, caller, &created.report).await?;
        Ok(to_json(&created))
    }

    #[zbus(name = "create_container_interface")]
    async fn create_container_interface_guide(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        raw: String,
        container: String,
        vmid: u32,
    ) -> Result<String> {
        self.create_container_interface(conn, hdr, raw, container, vmid).await
    }

    /// `remove-interface`: takes the guest's port (by its name or its
    /// template name) off the bridge.
    async fn remove_container_interface(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        name: String,
    ) -> Result<String> {
        let caller = access::authorize(conn, &hdr, MANAGE).await?;
        let manager = self.manager.clone();
        let m = manager.clone();
        let report = blocking(move || ports::remove_interface(&m, &name, caller)).await??;
        self.port_changed(conn, manager, caller, &report).await?;
        Ok(to_json(&report))
    }

    #[zbus(name = "remove_container_interface")]
    async fn remove_container_interface_guide(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        name: String,
    ) -> Result<String> {
        self.remove_container_interface(conn, hdr, name).await
    }

    #[zbus(name = "del_port")]
    async fn del_port_guide(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        name: String,
    ) -> Result<String> {
        self.port(conn, &hdr, name, false).await
    }

    /// Removes a port from the configured bridge, as an apply.
    async fn del_port(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        name: String,
    ) -> Result<String> {
        self.port(conn, &hdr, name, false).await
    }

    /// Settles a change left unsettled now (a failed rollback tried again,
    /// however often it failed before); with `abandon`, settles it by hand
    /// instead, recording `reason` (`portagent recover --abandon`). Root
    /// only: the bus policy stops everyone else, and so does this.
    async fn recover(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        abandon: bool,
        reason: String,
    ) -> Result<String> {
        let caller = access::caller(conn, &hdr).await?;
        if caller.uid != 0 {
            return Err(Error::AccessDenied(format!("{} may not recover: root only", caller.describe())));
        }
        let manager = self.manager.clone();
        let s = blocking(move || if abandon { manager.abandon(caller, &reason) } else { manager.recover_now(caller) })
            .await??;
        self.pending_confirmation_changed(&SignalEmitter::new(conn, OBJECT_PATH)?).await?;
        Ok(to_json(&s))
    }

    /// Built-in and installed plugins (JSON).
    async fn list_plugins(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String> {
        let slot = self.reading(conn, &hdr).await?;
        let manager = self.manager.clone();
        Ok(slot.run(move || manager.plugins().map(|p| to_json(&p))).await??)
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
        let caller = access::authorize(conn, &hdr, PLUGINS).await?;
        let manager = self.manager.clone();
        Ok(to_json(&blocking(move || manager.install_plugin(std::path::Path::new(&path), &grants, caller)).await??))
    }

    async fn remove_plugin(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: Header<'_>,
        name: String,
    ) -> Result<String> {
        let caller = access::authorize(conn, &hdr, PLUGINS).await?;
        let manager = self.manager.clone();
        Ok(to_json(&blocking(move || manager.remove_plugin(&name, caller)).await??))
    }

    #[zbus(property)]
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    /// Whether a change awaits `Commit`; the journal is read off the bus
    /// thread, and a journal that cannot be read is an error, not "no".
    #[zbus(property)]
    async fn pending_confirmation(&self) -> zbus::fdo::Result<bool> {
        let manager = self.manager.clone();
        tokio::task::spawn_blocking(move || manager.pending())
            .await
            .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?
            .map(|p| p.is_some())
            .map_err(|e| zbus::fdo::Error::Failed(format!("reading the pending change: {e}")))
    }

    #[zbus(signal)]
    pub async fn state_applied(emitter: &SignalEmitter<'_>, report: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    pub async fn rolled_back(emitter: &SignalEmitter<'_>, report: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    pub async fn port_added(emitter: &SignalEmitter<'_>, name: &str) -> zbus::Result<()>;

    #[zbus(signal)]
    pub async fn port_removed(emitter: &SignalEmitter<'_>, name: &str) -> zbus::Result<()>;

    /// A phase of the caller's apply ended (`checkpointed 2 plugin(s) as
    /// ...`); sent to the caller alone, before the method's reply.
    #[zbus(signal)]
    pub async fn apply_progress(emitter: &SignalEmitter<'_>, line: &str) -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::report::PluginReport;

    #[test]
    fn a_reply_the_bus_cannot_carry_is_refused_in_words() {
        assert_eq!(carried_within("x".repeat(10), "the plan", 10).unwrap(), "x".repeat(10));
        let e = carried_within("x".repeat(3 << 20), "the plan", 2 << 20).unwrap_err().to_string();
        assert!(e.contains("the plan is 3.0 MiB, more than the 2 MiB") && e.contains("PORTAGENT_NO_DAEMON=1"), "{e}");
    }

    #[test]
    fn an_apply_report_too_big_for_the_bus_keeps_all_but_its_actions() {
        let actions: Vec<serde_json::Value> = (0..1000).map(|i| json!({"resource": format!("port{i:04}")})).collect();
        let report = ApplyReport {
            success: true,
            plugins: vec![PluginReport { plugin: "net".into(), actions, verified: true, ..Default::default() }],
            ..Default::default()
        };
        let whole = report_reply_within(&report, 1 << 20).unwrap();
        assert!(whole.contains("port0999"));
        let short: serde_json::Value = serde_json::from_str(&report_reply_within(&report, 4096).unwrap()).unwrap();
        assert_eq!(short["success"], true);
        assert_eq!(short["plugins"][0]["verified"], true);
        assert_eq!(short["plugins"][0]["actions"][0]["omitted"], 1000, "{short}");
    }

    #[test]
    fn a_port_is_added_where_nets_change_names_a_bridge() {
        assert!(attaches(&json!({"controller": "ovsbr0", "dynamic": true})));
        assert!(!attaches(&json!({"controller": null})), "detached");
        assert!(!attaches(&json!({"mtu": 1400})));
        assert!(!attaches(&serde_json::Value::Null));
    }
}
