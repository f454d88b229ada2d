//! `openflow`: dump a granted bridge's flows, and replace the calling
//! plugin's own (those with its cookie) atomically in one bundle, with
//! `ovs-ofctl` (flows are not in OVSDB); flows in OVS's normal form.

use super::{CapContext, Spec};
use super::{Capability, run_command, valid_ifname};
use crate::plugin::bindings::current::CapError;
use crate::plugin::bindings::current::portagent::plugin::openflow::Host;
use std::io::Write;
use std::process::Command;

impl CapContext {
    fn ofctl(&self, bridge: &str) -> wasmtime::Result<Result<(Command, std::time::Duration), CapError>> {
        if let Err(e) = self.grants.require(&self.plugin, Capability::OPENFLOW, bridge) {
            return Ok(Err(e));
        }
        if !valid_ifname(bridge) {
            return Ok(Err(CapError::InvalidArgument(format!("{bridge:?} is not a bridge name"))));
        }
        let timeout = self.remaining(Capability::OPENFLOW)?;
        let mut cmd = Command::new("ovs-ofctl");
        cmd.env("OVS_RUNDIR", &self.backends.ovs_rundir);
        Ok(Ok((cmd, timeout)))
    }
}

/// The cookie of `plugin`'s flows: `port` in the high 32 bits, a hash
/// of the plugin's name (FNV-1a) in the low 32, so every plugin has its
/// own and an admin can tell portagent's flows at a glance.
pub fn cookie_of(plugin: &str) -> u64 {
    let hash = plugin.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    0x706f_7274_0000_0000 | u64::from(hash)
}

/// A dumped flow without its `cookie=0x..., ` (and the leading space
/// `--no-stats` leaves).
fn without_cookie(line: &str) -> &str {
    let line = line.trim();
    match line.strip_prefix("cookie=") {
        Some(rest) => rest.split_once(", ").map_or(rest, |(_, flow)| flow),
        None => line,
    }
}

/// A line of `ovs-ofctl parse-flows` (`OFPT_FLOW_MOD (OF1.4) (xid=0x1):
/// ADD table:1 priority=5,... actions=...`) in the form `dump-flows`
/// prints (`table=1, priority=5,... actions=...`).
fn parsed_as_dumped(line: &str) -> Option<String> {
    let flow = line.split_once("): ADD ")?.1.trim();
    Some(match flow.strip_prefix("table:").and_then(|t| t.split_once(' ')) {
        Some(("0", rest)) => rest.to_string(),
        Some((table, rest)) => format!("table={table}, {rest}"),
        None => flow.to_string(),
    })
}

/// The most flows one call may give: a million made ovs-vswitchd grow to
/// 1.2 GB; a hundred thousand is far beyond any host's own.
pub const MAX_FLOWS: usize = 100_000;
/// The longest flow text.
pub const MAX_FLOW_BYTES: usize = 4096;

/// Flows as `ovs-ofctl` reads them from a file: one a line, none naming
/// its own cookie (the host sets it).
fn check_flows(flows: &[String]) -> Result<(), CapError> {
    if flows.len() > MAX_FLOWS {
        return Err(CapError::InvalidArgument(format!(
            "{} flows in one call; at most {MAX_FLOWS}",
            flows.len()
        )));
    }
    for (i, f) in flows.iter().enumerate() {
        if f.len() > MAX_FLOW_BYTES {
            return Err(CapError::InvalidArgument(format!("flow {i} is {} bytes; at most {MAX_FLOW_BYTES}", f.len())));
        }
        if f.contains('\n') || f.contains('\r') {
            return Err(CapError::InvalidArgument(format!("flow {i}: {f:?} spans lines")));
        }
        if f.to_ascii_lowercase().contains("cookie") {
            return Err(CapError::InvalidArgument(format!("flow {i}: {f:?} sets a cookie; the host sets the plugin's own")));
        }
        if f.trim().is_empty() {
            return Err(CapError::InvalidArgument(format!("flow {i} is empty")));
        }
    }
    Ok(())
}

/// `ovs-ofctl: FILE:N: message` as `flow N-1: message`, an invalid
/// argument; a bridge OVS does not have as `not-found`.
fn name_the_flow(e: CapError, file: &std::path::Path) -> CapError {
    match e {
        CapError::Failed(m) => {
            let at = format!("{}:", file.display());
            match m.split_once(&at).and_then(|(_, rest)| rest.split_once(": ")) {
                Some((line, why)) if line.parse::<usize>().is_ok() => {
                    let n: usize = line.parse().unwrap_or(1);
                    CapError::InvalidArgument(format!("flow {}: OVS refused it: {}", n.saturating_sub(1), why.trim()))
                }
                _ => no_such_bridge(CapError::Failed(m)),
            }
        }
        other => other,
    }
}

/// `ovs-ofctl: br9 is not a bridge or a socket` as `not-found`.
fn no_such_bridge(e: CapError) -> CapError {
    match e {
        CapError::Failed(m) if m.contains("is not a bridge or a socket") => CapError::NotFound(m),
        other => other,
    }
}

/// Writes `lines` to a private temporary file for `ovs-ofctl`.
fn flow_file(lines: impl Iterator<Item = String>) -> Result<std::path::PathBuf, CapError> {
    let (path, mut file) =
        tempfile_in_tmp().map_err(|e| CapError::Failed(format!("temporary flow file: {e}")))?;
    let written = lines.into_iter().try_for_each(|l| writeln!(file, "{l}")).and_then(|_| file.flush());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(CapError::Failed(format!("temporary flow file: {e}")));
    }
    Ok(path)
}

impl Host for CapContext {
    async fn dump_flows(&mut self, bridge: String) -> wasmtime::Result<Result<Vec<String>, CapError>> {
        let (cmd, timeout) = match self.ofctl(&bridge)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        Ok(every_flow(cmd, &bridge, timeout).await)
    }

    async fn list_bridges(&mut self) -> wasmtime::Result<Result<Vec<String>, CapError>> {
        let scope = match self.grants.scope(&self.plugin, Capability::OPENFLOW) {
            Ok(s) => s.to_vec(),
            Err(e) => return Ok(Err(e)),
        };
        let timeout = self.remaining(Capability::OPENFLOW)?;
        // Straight from OVSDB: an `ovs-vsctl list-br` costs a process.
        let select = r#"[{"op": "select", "table": "Bridge", "where": [], "columns": ["name"]}]"#;
        let reply = super::ovsdb::transact(&self.backends.ovsdb_socket, "Open_vSwitch", select, timeout);
        Ok(reply.map(|text| {
            let reply: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let mut names: Vec<String> = reply[0]["rows"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|row| row["name"].as_str())
                .filter(|b| scope.iter().any(|s| s == "*" || s == b))
                .map(String::from)
                .collect();
            names.sort();
            names
        }))
    }

    async fn cookie(&mut self) -> wasmtime::Result<u64> {
        Ok(cookie_of(&self.plugin))
    }

    async fn own_flows(&mut self, bridge: String) -> wasmtime::Result<Result<Vec<String>, CapError>> {
        let (mut cmd, timeout) = match self.ofctl(&bridge)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        cmd.args(["--no-stats", "dump-flows", &bridge, &format!("cookie={:#x}/-1", cookie_of(&self.plugin))]);
        Ok(run_command(cmd, timeout)
            .await
            .map(|out| out.lines().map(without_cookie).filter(|l| !l.is_empty()).map(String::from).collect())
            .map_err(no_such_bridge))
    }

    async fn replace_flows(&mut self, bridge: String, flows: Vec<String>) -> wasmtime::Result<Result<(), CapError>> {
        let (mut cmd, timeout) = match self.ofctl(&bridge)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = check_flows(&flows) {
            return Ok(Err(e));
        }
        let cookie = cookie_of(&self.plugin);
        // Read, compared and replaced under one lock: no other plugin's
        // replace comes in between.
        let _held = REPLACING.lock().await;
        let (dump, _) = match self.ofctl(&bridge)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = refuse_others_matches(dump, &bridge, &flows, cookie, timeout).await {
            return Ok(Err(e));
        }
        let lines = std::iter::once(format!("delete cookie={cookie:#x}/-1"))
            .chain(flows.iter().map(|f| format!("add cookie={cookie:#x},{}", f.trim())));
        let path = match flow_file(lines) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        cmd.args(["-O", "OpenFlow14", "--bundle", "add-flows", &bridge]).arg(&path);
        // Line 1 is the delete: a refused flow `i` is on line i + 2.
        let result = run_command(cmd, timeout).await.map(drop).map_err(|e| match name_the_flow(e, &path) {
            CapError::InvalidArgument(m) => CapError::InvalidArgument(shift_flow_number(&m)),
            other => other,
        });
        let _ = std::fs::remove_file(&path);
        Ok(result)
    }

    async fn normalize(&mut self, flows: Vec<String>) -> wasmtime::Result<Result<Vec<String>, CapError>> {
        if let Err(e) = self.grants.scope(&self.plugin, Capability::OPENFLOW) {
            return Ok(Err(e));
        }
        if let Err(e) = check_flows(&flows) {
            return Ok(Err(e));
        }
        if flows.is_empty() {
            return Ok(Ok(vec![]));
        }
        let timeout = self.remaining(Capability::OPENFLOW)?;
        Ok(parse_flows(&flows, timeout).await)
    }
}

/// Every flow of `bridge` as `dump-flows --no-stats` prints it, a line
/// each; `cmd` runs `ovs-ofctl` for the bridge.
async fn every_flow(mut cmd: Command, bridge: &str, timeout: std::time::Duration) -> Result<Vec<String>, CapError> {
    cmd.args(["--no-stats", "dump-flows", bridge]);
    run_command(cmd, timeout)
        .await
        .map(|out| out.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect())
        .map_err(no_such_bridge)
}

/// One replace of flows at a time, host-wide (see `replace_flows`).
static REPLACING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `flows` as `ovs-ofctl parse-flows` reads them, in `dump-flows`' form.
async fn parse_flows(flows: &[String], timeout: std::time::Duration) -> Result<Vec<String>, CapError> {
    let path = flow_file(flows.iter().map(|f| f.trim().to_string()))?;
    let mut cmd = Command::new("ovs-ofctl");
    cmd.args(["-O", "OpenFlow14", "parse-flows"]).arg(&path);
    let result = run_command(cmd, timeout).await.map_err(|e| name_the_flow(e, &path)).and_then(|out| {
        let parsed: Vec<String> = out.lines().filter_map(parsed_as_dumped).collect();
        if parsed.len() == flows.len() {
            Ok(parsed)
        } else {
            Err(CapError::Failed(format!("ovs-ofctl parse-flows gave {} flows for {}", parsed.len(), flows.len())))
        }
    });
    let _ = std::fs::remove_file(&path);
    result
}

/// What OpenFlow tells flows apart by, in `dump-flows`' form without the
/// cookie: table, priority and match (the text before ` actions=`).
fn flow_key(dumped: &str) -> &str {
    dumped.split_once(" actions=").map_or(dumped, |(key, _)| key).trim()
}

/// The cookie of a dumped line (`dump-flows` leaves out a cookie of 0).
fn cookie_in(line: &str) -> u64 {
    line.trim()
        .strip_prefix("cookie=0x")
        .and_then(|r| r.split(',').next())
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or(0)
}

/// Refuses `flows` when one has the table, priority and match of a flow
/// on `bridge` that is not the plugin's (`cookie`): OpenFlow's add would
/// replace that flow, stamped with the plugin's cookie, and the plugin's
/// next replace would delete it. `dump` runs `ovs-ofctl` for the bridge.
async fn refuse_others_matches(
    dump: Command,
    bridge: &str,
    flows: &[String],
    cookie: u64,
    timeout: std::time::Duration,
) -> Result<(), CapError> {
    if flows.is_empty() {
        return Ok(());
    }
    let others: std::collections::HashMap<String, u64> = every_flow(dump, bridge, timeout)
        .await?
        .iter()
        .filter(|l| cookie_in(l) != cookie)
        .map(|l| (flow_key(without_cookie(l)).to_string(), cookie_in(l)))
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let parsed = parse_flows(flows, timeout).await?;
    match parsed.iter().enumerate().find_map(|(i, p)| others.get(flow_key(p)).map(|c| (i, *c))) {
        Some((i, theirs)) => Err(CapError::Denied(format!(
            "flow {i}: {:?} has the table, priority and match of a flow on {bridge} that is not this plugin's \
             (cookie {theirs:#x}); OpenFlow would replace it",
            flows[i].trim()
        ))),
        None => Ok(()),
    }
}

/// `flow N` counted from the bundle's first line (the delete) to the
/// caller's flow index.
fn shift_flow_number(message: &str) -> String {
    match message.strip_prefix("flow ").and_then(|r| r.split_once(':')) {
        Some((n, rest)) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => format!("flow {}:{rest}", n - 1),
            _ => message.to_string(),
        },
        None => message.to_string(),
    }
}

/// `openflow`: the flow tables of the bridges the scope names (or `*`).
pub const CAPABILITY: Capability = Capability("openflow");

pub static SPEC: Spec = Spec {
    capability: CAPABILITY,
    scope_item: |item| item == "*" || valid_ifname(item),
    scope_expected: || "`*` or bridge names (at most 15 bytes)".into(),
    empty_scope_grants: false,
};

/// A private file for `ovs-ofctl`; removed by the caller.
fn tempfile_in_tmp() -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("portagent-flows-{}-{n}", std::process::id()));
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plugin_has_its_own_cookie() {
        assert_eq!(cookie_of("netcfg") >> 32, 0x706f_7274);
        assert_ne!(cookie_of("netcfg"), cookie_of("net"));
        assert_eq!(cookie_of("netcfg"), cookie_of("netcfg"));
    }

    #[test]
    fn dumped_and_parsed_flows_come_to_one_form() {
        assert_eq!(
            without_cookie(" cookie=0x706f727400000001, table=1, priority=5,in_port=2 actions=resubmit(,2)"),
            "table=1, priority=5,in_port=2 actions=resubmit(,2)"
        );
        assert_eq!(without_cookie(" priority=0 actions=NORMAL"), "priority=0 actions=NORMAL");
        assert_eq!(
            parsed_as_dumped("OFPT_FLOW_MOD (OF1.4) (xid=0x1): ADD table:1 priority=5,in_port=2 actions=resubmit(,2)")
                .unwrap(),
            "table=1, priority=5,in_port=2 actions=resubmit(,2)"
        );
        assert_eq!(
            parsed_as_dumped("OFPT_FLOW_MOD (OF1.4) (xid=0x2): ADD priority=7,arp actions=NORMAL").unwrap(),
            "priority=7,arp actions=NORMAL"
        );
        assert!(parsed_as_dumped("usable protocols: any").is_none());
    }

    #[test]
    fn flows_that_set_a_cookie_or_span_lines_are_refused() {
        assert!(check_flows(&["priority=1,actions=drop".into()]).is_ok());
        assert!(check_flows(&["cookie=0x1,priority=1,actions=drop".into()]).is_err());
        assert!(check_flows(&["priority=1,actions=drop\ndelete".into()]).is_err());
        assert!(check_flows(&[" ".into()]).is_err());
        assert!(check_flows(&vec!["actions=drop".to_string(); MAX_FLOWS + 1]).is_err(), "too many");
        assert!(check_flows(&[format!("priority=1,actions={}", "drop,".repeat(MAX_FLOW_BYTES))]).is_err(), "too long");
    }

    #[test]
    fn flows_are_told_apart_by_table_priority_and_match() {
        let dumped = " cookie=0x5, table=1, priority=5,ip,nw_dst=10.0.0.0/8 actions=drop";
        assert_eq!(cookie_in(dumped), 5);
        assert_eq!(cookie_in(" priority=0 actions=NORMAL"), 0, "dump-flows leaves a cookie of 0 out");
        let parsed = parsed_as_dumped(
            "OFPT_FLOW_MOD (OF1.4) (xid=0x2): ADD table:1 priority=5,ip,nw_dst=10.0.0.0/8 actions=NORMAL",
        )
        .unwrap();
        assert_eq!(flow_key(without_cookie(dumped)), flow_key(&parsed), "the same flow, other actions");
        assert_ne!(flow_key(" priority=0 actions=NORMAL"), flow_key(&parsed));
    }

    #[test]
    fn refused_flows_are_named_by_index() {
        let path = std::path::Path::new("/tmp/portagent-flows-1-0");
        let e = CapError::Failed("\"ovs-ofctl\" failed (exit status: 1): ovs-ofctl: /tmp/portagent-flows-1-0:3: unknown action bogus".into());
        let CapError::InvalidArgument(m) = name_the_flow(e, path) else { panic!() };
        assert_eq!(m, "flow 2: OVS refused it: unknown action bogus");
        assert_eq!(shift_flow_number(&m), "flow 1: OVS refused it: unknown action bogus");
    }
}
