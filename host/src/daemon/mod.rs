//! `portagent daemon`: owns `dev.ovs.PortAgent1` on the system bus and
//! serves the deployment guide's methods over the state manager and the
//! ledger. Settles what an interrupted run left before it takes the name
//! (and keeps retrying what it cannot settle yet).
//!
//! - [`service`]: the interface, its signals and properties.
//! - [`error`]: the D-Bus errors, mapped from the state manager's kinds.
//! - [`settle`]: confirm timers, and retries of unfinished changes.
//! - [`access`]: who is calling (uid) and whether polkit allows it.
//! - [`networkd`]: systemd-networkd introspection over its D-Bus API.
//! - [`agent`]: the port agent, attaching guests' links as they appear.

pub mod access;
pub mod agent;
pub mod error;
pub mod networkd;
pub mod service;
pub mod settle;

use crate::config::Config;
use crate::state::{Caller, Manager};
use std::sync::Arc;

/// The well-known name, object path and interface.
pub const BUS_NAME: &str = "dev.ovs.PortAgent1";
pub const OBJECT_PATH: &str = "/dev/ovs/PortAgent1";

/// Why the daemon could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    #[error("{0}")]
    State(#[from] crate::state::StateError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs the daemon until SIGTERM or SIGINT.
/// Rewrites `metrics_textfile`, when configured, every 15 s.
fn spawn_metrics_textfile(config: Config) {
    if config.metrics_textfile.as_os_str().is_empty() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
        loop {
            tick.tick().await;
            let c = config.clone();
            let written =
                tokio::task::spawn_blocking(move || crate::state::metrics::write_textfile(&c, &c.metrics_textfile))
                    .await;
            if let Ok(Err(e)) = written {
                log::warn!("metrics_textfile {}: {e}", config.metrics_textfile.display());
            }
        }
    });
}

pub fn run(config: Config) -> Result<(), DaemonError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(serve(config))
}

async fn serve(config: Config) -> Result<(), DaemonError> {
    let _running = crate::state::lock::DaemonLock::take(&config.state_dir)?.ok_or_else(|| {
        std::io::Error::other(format!("another portagent daemon is running ({})", config.state_dir.display()))
    })?;
    let config_for_metrics = config.clone();
    let manager = Arc::new(Manager::open(config)?);
    // Crash recovery first: no work is accepted before it. What cannot be
    // settled now (OVS down, the ledger unwritable) is retried below.
    let m = manager.clone();
    match tokio::task::spawn_blocking(move || m.recover(Caller::current())).await.expect("recover") {
        Ok(Some(s)) if s.unfinished() => {
            log::error!("at start: change {} is unfinished: {} ({})", s.checkpoint, s.result, s.errors.join("; "))
        }
        Ok(Some(s)) => log::warn!("at start: {} change {} ({})", s.result, s.checkpoint, s.reason),
        Ok(None) => {}
        Err(e) => log::error!("at start: {e}; retrying"),
    }
    let (announcer, settled) = tokio::sync::mpsc::unbounded_channel();
    let service = service::Service::new(manager.clone(), announcer.clone());
    let connection =
        zbus::connection::Builder::system()?.name(BUS_NAME)?.serve_at(OBJECT_PATH, service)?.build().await?;
    tokio::spawn(service::announce_settled_changes(connection.clone(), settled));
    settle::watch_pending(manager.clone(), announcer.clone());
    agent::spawn(connection.clone(), manager.clone())?;
    settle::spawn_retry(connection.clone(), manager, announcer);
    spawn_metrics_textfile(config_for_metrics);
    log::info!("serving {BUS_NAME} at {OBJECT_PATH}");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    log::info!("stopping");
    Ok(())
}
