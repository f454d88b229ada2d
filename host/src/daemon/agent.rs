//! The port agent: links whose names start with one of `include_prefixes`
//! (a container's veth, a VM's tap) are attached to `bridge_name` as they
//! appear and detached as they vanish. It listens to the kernel's link
//! events (netlink multicast, no polling), gathers a burst into one apply
//! of the `net` plugin (lock, checkpoint, verify, ledger, like any other
//! change), and at start reconciles what changed while it was not running.
//! After each change it rewrites the managed block of the interfaces file.

use super::service;
use crate::ports::{self, BlockState, PortChange, refresh_block};
use crate::state::{Caller, ErrorKind, Manager, StateError};
use futures::StreamExt;
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::{MulticastGroup, new_multicast_connection};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use zbus::Connection;

/// A burst ends when no event came for this long...
const QUIET: Duration = Duration::from_millis(3);
/// ...or this long after its first event.
const MAX_GATHER: Duration = Duration::from_millis(30);
/// A change refused because another is unsettled is tried again after this.
const RETRY: Duration = Duration::from_secs(1);

/// What the kernel said about one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEvent {
    pub name: String,
    /// The kernel's ifindex: a link deleted and made again under the same
    /// name gets a new one.
    pub index: u32,
    /// `veth`, `tun`, ... (empty when the kernel did not say).
    pub kind: String,
    /// It exists (a `NEWLINK`), or it is gone (a `DELLINK`).
    pub present: bool,
    /// A veth whose other end is in another network namespace (a
    /// container's): the kernel names that namespace.
    pub peer_elsewhere: bool,
    /// It has a master (`IFLA_MASTER`): enslaved to a Linux bridge (a
    /// Proxmox firewall bridge `fwbrN`), a bond, or OVS's kernel datapath.
    /// Such a link is someone's already: never the agent's to attach.
    pub enslaved: bool,
    /// A `DELLINK` because the link moved to another network namespace
    /// (`IFLA_NEW_NETNSID`): LXC moving a veth's peer into the container.
    /// The host's end changes nothing the kernel reports by itself.
    pub moved_away: bool,
}

/// The link a `NEWLINK`/`DELLINK` message is about.
fn link_event(msg: &LinkMessage, present: bool) -> Option<LinkEvent> {
    let mut event = LinkEvent {
        name: String::new(),
        index: msg.header.index,
        kind: String::new(),
        present,
        peer_elsewhere: false,
        enslaved: false,
        moved_away: false,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => event.name = n.clone(),
            LinkAttribute::LinkNetNsId(_) => event.peer_elsewhere = true,
            LinkAttribute::Controller(master) => event.enslaved = *master != 0,
            LinkAttribute::NewNetnsId(_) if !present => event.moved_away = true,
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(kind) = info {
                        event.kind = match kind {
                            InfoKind::Other(s) => s.clone(),
                            k => k.to_string(),
                        };
                    }
                }
            }
            _ => {}
        }
    }
    (!event.name.is_empty()).then_some(event)
}

/// Which links the agent takes, by name and kind.
#[derive(Debug, Clone)]
pub struct Watched {
    prefixes: Vec<String>,
}

impl Watched {
    pub fn new(prefixes: &[String]) -> Watched {
        Watched { prefixes: prefixes.to_vec() }
    }

    pub fn name(&self, name: &str) -> bool {
        self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }

    /// A link that appeared and is the agent's to attach: a VM's tap, or
    /// the host's end of a container's veth, that nothing has taken (no
    /// master). A veth with both ends here is no guest's (attaching both
    /// ends to one bridge would make a loop).
    pub fn takes(&self, e: &LinkEvent) -> bool {
        self.name(&e.name) && !e.enslaved && (e.kind == "tun" || (e.kind == "veth" && e.peer_elsewhere))
    }
}

/// The changes a burst of events asks for, in order: the last word on
/// each link wins. A link is attached once, when the agent first sees it
/// as a guest's: the kernel's later reports of it (`known`: name and
/// ifindex attached) change nothing, so a port `del_port` took off stays
/// off.
pub fn changes(events: &[LinkEvent], watched: &Watched, known: &HashMap<String, u32>) -> Vec<PortChange> {
    let mut last: BTreeMap<&str, &LinkEvent> = BTreeMap::new();
    for e in events.iter().filter(|e| watched.name(&e.name)) {
        last.insert(&e.name, e);
    }
    last.into_values()
        .filter_map(|e| match e.present {
            true if watched.takes(e) && known.get(&e.name) != Some(&e.index) => {
                Some(PortChange::Attach(e.name.clone()))
            }
            true => None,
            false => Some(PortChange::DetachDynamic(e.name.clone())),
        })
        .collect()
}

/// Listens to link events and keeps the bridge's ports in step; returns
/// at once. Does nothing when `include_prefixes` is empty.
pub fn spawn(conn: Connection, manager: Arc<Manager>) -> std::io::Result<()> {
    let watched = Watched::new(&manager.config().include_prefixes);
    if manager.config().include_prefixes.is_empty() {
        log::info!("port agent: include_prefixes is empty, watching no links");
        return Ok(());
    }
    let (nl, _handle, messages) = new_multicast_connection(&[MulticastGroup::Link])?;
    tokio::spawn(nl);
    let (events, rx) = tokio::sync::mpsc::unbounded_channel();
    // Events are read off the socket at once, whatever the applies do, so
    // the kernel's buffer never overflows during a long apply.
    tokio::spawn(async move {
        let mut messages = messages;
        while let Some((msg, _)) = messages.next().await {
            let event = match &msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => link_event(l, true),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => link_event(l, false),
                _ => None,
            };
            if let Some(e) = event
                && events.send(e).is_err()
            {
                return;
            }
        }
        log::error!("port agent: the kernel's link events stopped");
    });
    tokio::spawn(run(conn, manager, watched, rx));
    Ok(())
}

/// Waits for the first event of a burst, then gathers the rest.
async fn burst(rx: &mut UnboundedReceiver<LinkEvent>) -> Option<Vec<LinkEvent>> {
    let mut events = vec![rx.recv().await?];
    let started = Instant::now();
    while let Some(left) = MAX_GATHER.checked_sub(started.elapsed()) {
        match tokio::time::timeout(QUIET.min(left), rx.recv()).await {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return Some(events),
            Err(_) => break,
        }
    }
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    Some(events)
}

async fn run(conn: Connection, manager: Arc<Manager>, watched: Watched, mut rx: UnboundedReceiver<LinkEvent>) {
    let adopt_after = Duration::from_millis(manager.config().adopt_after_ms);
    let mut known: HashMap<String, u32> = HashMap::new();
    // What appeared or vanished while the daemon was not running.
    // Until that is known nothing is: a failure is retried (links that
    // appear meanwhile are in the next listing, their events queue).
    let mut pending = loop {
        match reconcile(&manager, &watched).await {
            Ok((changes, links)) => {
                known.extend(links.into_iter().filter(|l| watched.takes(l)).map(|l| (l.name, l.index)));
                break changes;
            }
            Err(e) => {
                log::error!("port agent: at start: {e}; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    // The block follows changes (reconciling at start is one, if there is
    // anything to reconcile).
    let mut block = BlockState::default();
    loop {
        if pending.is_empty() {
            let Some(mut events) = burst(&mut rx).await else { return };
            // A veth's peer moved into a container: its host end (now the
            // host's end of a container's veth) says nothing by itself, so
            // ask the kernel how every link stands now.
            if events.iter().any(|e| e.moved_away) {
                match kernel_links().await {
                    Ok(links) => events.extend(links.into_iter().filter(|l| watched.takes(l))),
                    Err(e) => log::warn!("port agent: listing links after a move: {e}"),
                }
            }
            pending = changes(&events, &watched, &known);
            for e in events.iter().filter(|e| !e.present) {
                known.remove(&e.name);
            }
            for e in events.iter().filter(|e| e.present && pending.contains(&PortChange::Attach(e.name.clone()))) {
                known.insert(e.name.clone(), e.index);
            }
            if pending.is_empty() {
                continue;
            }
        }
        let mut batch = std::mem::take(&mut pending);
        if batch.iter().any(|c| matches!(c, PortChange::Attach(_))) {
            batch = adopt(batch, &watched, adopt_after).await;
            if batch.is_empty() {
                continue;
            }
        }
        let m = manager.clone();
        let b = batch.clone();
        let outcome = tokio::task::spawn_blocking(move || apply(&m, b)).await.expect("apply");
        for report in &outcome.reports {
            service::announce_port_changes(&conn, report).await;
        }
        if outcome.reports.iter().any(|r| r.success && !r.changes_applied.is_empty()) {
            let m = manager.clone();
            block =
                tokio::task::spawn_blocking(move || refresh_block(&m, Caller::current(), block)).await.expect("block");
        }
        if !outcome.retry.is_empty() {
            tokio::time::sleep(RETRY).await;
            pending = outcome.retry;
        }
    }
}

/// The batch with its attaches held back `adopt_after` and then asked
/// again of the kernel: a link gone, or taken meanwhile (enslaved to a
/// firewall bridge), is not attached; one a hypervisor plugged into OVS
/// meanwhile `net` leaves where it is (it checks OVSDB at apply, and its
/// transaction asserts the link is still on no bridge).
async fn adopt(batch: Vec<PortChange>, watched: &Watched, adopt_after: Duration) -> Vec<PortChange> {
    tokio::time::sleep(adopt_after).await;
    let links = match kernel_links().await {
        Ok(links) => links,
        Err(e) => {
            log::warn!("port agent: listing links before attaching: {e}; attaching as the events said");
            return batch;
        }
    };
    let free: HashSet<&str> = links.iter().filter(|l| watched.takes(l)).map(|l| l.name.as_str()).collect();
    batch
        .into_iter()
        .filter(|c| match c {
            PortChange::Attach(name) if !free.contains(name.as_str()) => {
                log::info!("port agent: {name} is gone or taken (enslaved) meanwhile; not attached");
                false
            }
            _ => true,
        })
        .collect()
}

/// What a batch came to: the reports of the applies made, and the changes
/// refused for now (another change awaits confirmation or its rollback).
struct Outcome {
    reports: Vec<crate::state::ApplyReport>,
    retry: Vec<PortChange>,
}

/// Applies `batch` as one change; if that fails, each part alone, so one
/// link that cannot be attached does not hold back the others.
fn apply(manager: &Manager, batch: Vec<PortChange>) -> Outcome {
    let mut outcome = Outcome { reports: vec![], retry: vec![] };
    let mut parts = vec![batch];
    while let Some(part) = parts.pop() {
        match ports::apply(manager, &part, Caller::current()) {
            Ok(report) if report.success || part.len() == 1 => {
                if !report.success {
                    log::error!("port agent: {:?}: {}", part[0], report.errors.join("; "));
                }
                outcome.reports.push(report);
            }
            // Refused for now, changing nothing: another change awaits
            // confirmation, or its rollback or record is being retried.
            Err(e)
                if matches!(e.kind(), ErrorKind::Busy | ErrorKind::RollbackFailed)
                    || matches!(e, StateError::Unrecorded { .. }) =>
            {
                log::warn!("port agent: {} change(s) wait: {e}", part.len());
                outcome.retry.extend(part);
            }
            Err(e) if part.len() == 1 => log::error!("port agent: {:?}: {e}", part[0]),
            Ok(report) => {
                outcome.reports.push(report);
                parts.extend(part.into_iter().map(|c| vec![c]));
            }
            Err(_) => parts.extend(part.into_iter().map(|c| vec![c])),
        }
    }
    outcome
}

/// The changes that bring the bridge in step with the links there are
/// now: attach every watched link (`net` leaves alone those that are
/// ports already), detach the agent's ports whose links are gone.
async fn reconcile(manager: &Arc<Manager>, watched: &Watched) -> Result<(Vec<PortChange>, Vec<LinkEvent>), String> {
    let links = kernel_links().await.map_err(|e| format!("listing links: {e}"))?;
    let present: HashSet<String> = links.iter().map(|l| l.name.clone()).collect();
    let m = manager.clone();
    let dynamic = tokio::task::spawn_blocking(move || ports::dynamic(&m))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("reading the bridge's ports: {e}"))?;
    let mut out: Vec<PortChange> =
        links.iter().filter(|l| watched.takes(l)).map(|l| PortChange::Attach(l.name.clone())).collect();
    // No bridge yet: nothing to detach from (attaching says so).
    for port in dynamic.unwrap_or_default() {
        if !present.contains(&port) {
            out.push(PortChange::DetachDynamic(port));
        }
    }
    Ok((out, links))
}

/// Every link of this network namespace, as events of their presence.
async fn kernel_links() -> std::io::Result<Vec<LinkEvent>> {
    let (nl, handle, _) = rtnetlink::new_connection()?;
    let task = tokio::spawn(nl);
    let mut stream = handle.link().get().execute();
    let mut out = Vec::new();
    while let Some(msg) = stream.next().await {
        let msg = msg.map_err(std::io::Error::other)?;
        out.extend(link_event(&msg, true));
    }
    task.abort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, kind: &str, present: bool) -> LinkEvent {
        LinkEvent {
            name: name.into(),
            index: name.len() as u32,
            kind: kind.into(),
            present,
            peer_elsewhere: true,
            enslaved: false,
            moved_away: false,
        }
    }

    #[test]
    fn a_burst_becomes_one_change_per_link_the_last_word_winning() {
        let w = Watched::new(&["veth".into(), "tap".into()]);
        let events = [
            ev("veth1", "veth", true),
            ev("veth1", "veth", true), // the same link changing: once
            ev("tap2", "tun", true),
            ev("veth3", "veth", true),
            ev("veth3", "", false),                                           // came and went
            ev("eth0", "veth", true),                                         // not watched
            ev("tapbr", "bridge", true),                                      // watched name, not a guest's kind
            LinkEvent { peer_elsewhere: false, ..ev("veth4", "veth", true) }, // both ends here
            LinkEvent { enslaved: true, ..ev("tap5", "tun", true) },          // on a firewall bridge
        ];
        let known = HashMap::from([("tap2".to_string(), 4)]);
        assert_eq!(
            changes(&events, &w, &known),
            [PortChange::Attach("veth1".into()), PortChange::DetachDynamic("veth3".into())]
        );
        // tap2 made again: a new ifindex, attached again.
        let known = HashMap::from([("tap2".to_string(), 99)]);
        assert!(changes(&events, &w, &known).contains(&PortChange::Attach("tap2".into())));
        assert!(changes(&events, &Watched::new(&[]), &known).is_empty());
    }
}
