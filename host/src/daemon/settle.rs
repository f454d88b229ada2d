//! The daemon's part in settling changes: a confirm timer for each change
//! awaiting confirmation, and a watcher that retries whatever is left
//! unfinished (a rollback that failed, an outcome not yet recorded, an
//! expiry that could not be carried out) with backoff, and at once when
//! OVSDB and networkd answer again after being away. What settles is
//! sent to an [`Announcer`]; the service says it on the bus.

use crate::state::{Caller, Manager, Settled};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::spawn_blocking as blocking;
use zbus::Connection;

/// Where settled changes go, to be announced on the bus.
pub type Announcer = tokio::sync::mpsc::UnboundedSender<Settled>;

/// How often the watcher looks whether anything is unfinished.
const LOOK: Duration = Duration::from_secs(1);
/// The longest pause between two retries.
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// The confirm timer inside the daemon: rolls change `id` back at its
/// deadline unless it was committed. If that cannot be done now, the
/// watcher ([`spawn_retry`]) keeps trying.
pub fn spawn_timer(manager: Arc<Manager>, id: String, announcer: Announcer) {
    tokio::spawn(async move {
        let m = manager.clone();
        let who = id.clone();
        match blocking(move || m.expire_when_due(&who, Caller { uid: 0 })).await {
            Ok(Ok(Some(s))) => {
                if s.unfinished() {
                    log::error!(
                        "change {} not confirmed in time: {} ({}); retrying",
                        s.checkpoint,
                        s.result,
                        s.errors.join("; ")
                    );
                } else {
                    log::warn!("change {} was not confirmed in time: {}", s.checkpoint, s.result);
                }
                let _ = announcer.send(s);
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => log::error!("confirm timer of change {id}: {e}; retrying"),
            Err(e) => log::error!("confirm timer of change {id}: {e:?}; retrying"),
        }
    });
}

/// At start: a change that awaits confirmation gets its timer here.
pub fn watch_pending(manager: Arc<Manager>, announcer: Announcer) {
    if let Ok(Some(j)) = manager.pending() {
        spawn_timer(manager, j.id, announcer);
    }
}

/// Whether OVSDB and networkd answer: the socket accepts a connection and
/// networkd owns its name on the bus.
async fn backends_answer(conn: &Connection, manager: &Manager) -> bool {
    let ovsdb = tokio::net::UnixStream::connect(&manager.config().ovsdb_socket).await.is_ok();
    let networkd = async {
        let dbus = zbus::fdo::DBusProxy::new(conn).await.ok()?;
        dbus.name_has_owner(zbus::names::BusName::try_from("org.freedesktop.network1").ok()?).await.ok()
    };
    ovsdb && networkd.await.unwrap_or(false)
}

/// Retries unfinished changes until they are settled: after 1 s, then
/// twice as long each time up to [`MAX_PAUSE`], and at once when the
/// backends answer again.
pub fn spawn_retry(conn: Connection, manager: Arc<Manager>, announcer: Announcer) {
    tokio::spawn(async move {
        let mut pause = LOOK;
        let mut next = Instant::now();
        let mut were_up = true;
        loop {
            tokio::time::sleep(LOOK).await;
            let m = manager.clone();
            if !blocking(move || m.unfinished()).await.unwrap_or(false) {
                pause = LOOK;
                continue;
            }
            let up = backends_answer(&conn, &manager).await;
            let came_back = up && !were_up;
            were_up = up;
            if Instant::now() < next && !came_back {
                continue;
            }
            let m = manager.clone();
            match blocking(move || m.recover(Caller { uid: 0 })).await {
                Ok(Ok(Some(s))) => {
                    if s.unfinished() {
                        log::error!(
                            "change {} is still unfinished ({}): {}",
                            s.checkpoint,
                            s.result,
                            s.errors.join("; ")
                        );
                        pause = (pause * 2).min(MAX_PAUSE);
                    } else {
                        log::warn!("change {} settled: {} ({})", s.checkpoint, s.result, s.reason);
                        pause = LOOK;
                    }
                    let _ = announcer.send(s);
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    log::error!("settling an unfinished change: {e}");
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                Err(e) => log::error!("settling an unfinished change: {e:?}"),
            }
            next = Instant::now() + pause;
        }
    });
}
