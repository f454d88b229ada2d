//! `ovsdb`: RFC 7047 `transact` against the OVSDB server's unix socket,
//! allowed only on the tables the plugin was granted, by effect: writing a
//! column that holds strong references (`Bridge.ports`) or deleting a row
//! that holds them changes the referenced table too (OVSDB deletes rows no
//! longer referenced), so it needs that table's grant as well. Rows are
//! owned besides ([`ovsdb_rows`](super::ovsdb_rows)): a plugin changes
//! only its own unless its scope says `all-rows` (or `*`).

use super::{CapContext, Capability, Spec};
use crate::plugin::bindings::current::CapError;
use crate::plugin::bindings::current::portagent::plugin::ovsdb::{Host};
use serde_json::{Value, json};
use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Operations that name no table and read or write nothing.
const TABLELESS_OPS: &[&str] = &["commit", "abort", "comment", "assert"];

/// The tables whose rows a change of `table`'s `columns` (all of them for
/// a delete) can delete: the ones those columns reference strongly, when
/// they are not roots (OVSDB deletes such a row once nothing references
/// it; see `ovsdb_rows::REFERENCES`). (One level: a
/// grant of the referenced table is a grant of what its rows reference
/// in turn, as `net`'s Port and Interface.)
fn reached(table: &str, columns: Option<&[&str]>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = super::ovsdb_rows::REFERENCES
        .iter()
        .filter(|(t, c, _, deletes)| *deletes && *t == table && columns.is_none_or(|cols| cols.contains(c)))
        .map(|(_, _, r, _)| *r)
        .collect();
    out.dedup();
    out
}

/// The columns operation `op` writes, or None for all (a delete).
fn written_columns(op: &Value) -> Option<Vec<&str>> {
    match op.get("op").and_then(Value::as_str) {
        Some("delete") => None,
        Some("insert" | "update") => {
            Some(op.get("row").and_then(Value::as_object).map(|r| r.keys().map(String::as_str).collect()).unwrap_or_default())
        }
        Some("mutate") => Some(
            op.get("mutations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.get(0).and_then(Value::as_str))
                .collect(),
        ),
        _ => Some(vec![]),
    }
}

impl Host for CapContext {
    async fn transact(&mut self, database: String, operations: String) -> wasmtime::Result<Result<String, CapError>> {
        let caps = &*self;
        // Parsed once: checked, confined to the plugin's rows, sent.
        let mut ops = match check(caps, &database, &operations) {
            Ok(ops) => ops,
            Err(e) => return Ok(Err(e)),
        };
        let timeout = caps.remaining(Capability::OVSDB)?;
        let all_rows = caps.grants.scope(&caps.plugin, Capability::OVSDB).is_ok_and(super::ovsdb_rows::all_rows);
        if !all_rows && let Err(e) = confine(caps, &mut ops, timeout) {
            return Ok(Err(e));
        }
        Ok(send(&caps.backends.ovsdb_socket, &database, ops, timeout))
    }
}

/// Narrows `operations` to the plugin's own rows, and refuses them when
/// a row they would change (or a reference they would drop) is another's:
/// looked at in one read-only transaction before anything is sent.
fn confine(caps: &CapContext, ops: &mut [Value], timeout: Duration) -> Result<(), CapError> {
    use super::ovsdb_rows::{confine, foreign_row, select, select_uuids};
    let pre = confine(&caps.plugin, ops)?;
    let looks: Vec<(usize, &str, Value)> = pre
        .matched
        .iter()
        .map(|(i, t, w)| (*i, t.as_str(), select(t, w.clone())))
        .chain(
            pre.referenced
                .iter()
                .flat_map(|(i, t, u)| select_uuids(t, u).into_iter().map(move |s| (*i, t.as_str(), s))),
        )
        .collect();
    if !looks.is_empty() {
        let selects = looks.iter().map(|(_, _, s)| s.clone()).collect();
        let found = send(&caps.backends.ovsdb_socket, "Open_vSwitch", selects, timeout)?;
        let found: Value = serde_json::from_str(&found).map_err(|e| CapError::Failed(format!("OVSDB reply: {e}")))?;
        for (k, (i, table, _)) in looks.iter().enumerate() {
            if let Some(why) = foreign_row(&caps.plugin, table, &found[k]["rows"]) {
                return Err(CapError::Denied(format!("operation {i}: {why}")));
            }
        }
    }
    Ok(())
}

/// The most operations one `transact` may hold: `net`'s apply of 4,000
/// ports needs about 13,000; a hundred thousand held ovsdb-server for
/// every other client.
pub const MAX_OPERATIONS: usize = 20_000;

/// Refuses a transaction outside the grant before anything is sent;
/// returns its operations, parsed.
fn check(caps: &CapContext, database: &str, operations: &str) -> Result<Vec<Value>, CapError> {
    caps.grants.scope(&caps.plugin, Capability::OVSDB)?;
    if database != "Open_vSwitch" {
        return Err(CapError::Denied(format!("only the Open_vSwitch database is proxied, not {database:?}")));
    }
    let ops: Vec<Value> = serde_json::from_str(operations)
        .map_err(|e| CapError::InvalidArgument(format!("operations are not a JSON array: {e}")))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(CapError::InvalidArgument(format!("{} operations in one transaction; at most {MAX_OPERATIONS}", ops.len())));
    }
    for (i, op) in ops.iter().enumerate() {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("");
        match op.get("table").and_then(Value::as_str) {
            Some(table) => {
                caps.grants.require(&caps.plugin, Capability::OVSDB, table)?;
                let columns = written_columns(op);
                for other in reached(table, columns.as_deref()) {
                    caps.grants.require(&caps.plugin, Capability::OVSDB, other).map_err(|_| {
                        CapError::Denied(format!(
                            "operation {i} ({name} {table}) would also change {other} rows (OVSDB deletes the rows \
                             it no longer references), and ovsdb is not granted for {other}"
                        ))
                    })?;
                }
            }
            None if TABLELESS_OPS.contains(&name) => {}
            None => return Err(CapError::InvalidArgument(format!("operation {i} ({name:?}) has no table"))),
        }
    }
    Ok(ops)
}

fn failed_at(socket: &std::path::Path) -> impl Fn(&str, &dyn std::fmt::Display) -> CapError + '_ {
    move |what, e| CapError::Failed(format!("OVSDB at {}: {what}: {e}", socket.display()))
}

/// A socket error; the read or write deadline passing is `timeout`.
fn io_failed(socket: &std::path::Path, what: &str, e: &std::io::Error) -> CapError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            CapError::Timeout(format!("OVSDB at {}: {what}: no answer in time", socket.display()))
        }
        _ => failed_at(socket)(what, e),
    }
}

/// Sends one `transact` of `operations` (JSON text) and waits for its reply.
pub(crate) fn transact(
    socket: &std::path::Path,
    database: &str,
    operations: &str,
    timeout: Duration,
) -> Result<String, CapError> {
    let ops: Value = serde_json::from_str(operations).map_err(|e| failed_at(socket)("bad operations", &e))?;
    send(socket, database, ops.as_array().cloned().unwrap_or_default(), timeout)
}

/// Sends one `transact` of parsed operations and waits for its reply.
fn send(socket: &std::path::Path, database: &str, ops: Vec<Value>, timeout: Duration) -> Result<String, CapError> {
    let failed = failed_at(socket);
    let mut params = vec![json!(database)];
    params.extend(ops);
    let request = json!({"method": "transact", "params": params, "id": 1});

    let stream = UnixStream::connect(socket).map_err(|e| failed("connect", &e))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| failed("socket", &e))?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| failed("socket", &e))?;
    (&stream).write_all(request.to_string().as_bytes()).map_err(|e| io_failed(socket, "send", &e))?;

    // ovsdb-server sends one JSON object per message and no framing; it
    // also sends no newline, so read with a streaming deserializer.
    let reader = BufReader::new(&stream);
    let mut replies = serde_json::Deserializer::from_reader(reader).into_iter::<Value>();
    loop {
        let reply = match replies.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) if e.is_io() => return Err(io_failed(socket, "reply", &e.into())),
            Some(Err(e)) => return Err(failed("reply", &e)),
            None => return Err(failed("reply", &"connection closed")),
        };
        match reply.get("method").and_then(Value::as_str) {
            // The server may probe us with "echo"; answer and keep waiting.
            Some("echo") => {
                let answer = json!({"result": reply["params"], "id": reply["id"]});
                (&stream).write_all(answer.to_string().as_bytes()).map_err(|e| failed("send", &e))?;
            }
            Some(_) => {}
            None if reply.get("id") == Some(&json!(1)) => {
                if !reply["error"].is_null() {
                    return Err(CapError::Failed(format!("OVSDB transact failed: {}", reply["error"])));
                }
                return Ok(reply["result"].to_string());
            }
            None => {}
        }
    }
}

/// `ovsdb`: RFC 7047 `transact` on the tables the scope names (or `*`).
pub const CAPABILITY: Capability = Capability("ovsdb");

pub static SPEC: Spec = Spec {
    capability: CAPABILITY,
    scope_item: |item| item == "*" || item == super::ovsdb_rows::ALL_ROWS || super::OVSDB_TABLES.contains(&item),
    scope_expected: || {
        format!(
            "`*` (every table and row), tables of Open_vSwitch ({}), and `{}` (rows others made too)",
            super::OVSDB_TABLES.join(", "),
            super::ovsdb_rows::ALL_ROWS
        )
    },
    empty_scope_grants: false,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::caps::{Backends, Grants};

    fn ctx(tables: &[&str]) -> CapContext {
        CapContext {
            plugin: "p".into(),
            grants: Grants::of(&[(Capability::OVSDB, tables)]),
            backends: Backends {
                ovsdb_socket: "/nonexistent".into(),
                ovs_rundir: "/nonexistent".into(),
                networkd_dir: "/nonexistent".into(),
                hostname_file: "/nonexistent".into(),
                datapath_type: "system".into(),
                bridge_name: "ovsbr0".into(),
            },
            clock: crate::plugin::sandbox::CallClock::new(&crate::plugin::sandbox::Limits::from_config(
                &Default::default(),
            )),
        }
    }

    #[test]
    fn every_table_is_checked_before_sending() {
        let c = ctx(&["Bridge"]);
        let ok = r#"[{"op":"select","table":"Bridge","where":[]},{"op":"comment","comment":"x"}]"#;
        assert!(check(&c, "Open_vSwitch", ok).is_ok());
        let bad = r#"[{"op":"select","table":"Bridge","where":[]},{"op":"delete","table":"Port","where":[]}]"#;
        assert!(matches!(check(&c, "Open_vSwitch", bad), Err(CapError::Denied(m)) if m.contains("Port")));
        assert!(matches!(check(&c, "_Server", ok), Err(CapError::Denied(_))));
        let tableless = r#"[{"op":"insert","row":{}}]"#;
        assert!(matches!(check(&c, "Open_vSwitch", tableless), Err(CapError::InvalidArgument(_))));
        let comment = r#"{"op":"comment","comment":"x"}"#;
        let many = format!("[{}]", vec![comment; MAX_OPERATIONS + 1].join(","));
        assert!(matches!(check(&c, "Open_vSwitch", &many), Err(CapError::InvalidArgument(m)) if m.contains("at most")));
    }

    #[test]
    fn a_grant_covers_what_a_change_does_through_references() {
        let bridge_only = ctx(&["Bridge"]);
        let denied = |c: &CapContext, ops: &str, table: &str| {
            matches!(check(c, "Open_vSwitch", ops), Err(CapError::Denied(m)) if m.contains(&format!("also change {table} rows")))
        };
        // Emptying a bridge's ports deletes Port and Interface rows.
        let empty_ports = r#"[{"op":"update","table":"Bridge","where":[],"row":{"ports":["set",[]]}}]"#;
        assert!(denied(&bridge_only, empty_ports, "Port"));
        let mutate = r#"[{"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","delete",["set",[]]]]}]"#;
        assert!(check(&bridge_only, "Open_vSwitch", mutate).is_err());
        let delete = r#"[{"op":"delete","table":"Bridge","where":[]}]"#;
        assert!(check(&bridge_only, "Open_vSwitch", delete).is_err());
        // Columns that reference nothing are the table's own.
        let own = r#"[{"op":"update","table":"Bridge","where":[],"row":{"stp_enable":true,"external_ids":["map",[]]}}]"#;
        assert!(check(&bridge_only, "Open_vSwitch", own).is_ok());
        // With the tables it reaches granted, it is allowed.
        let net = ctx(&["Open_vSwitch", "Bridge", "Port", "Interface"]);
        assert!(check(&net, "Open_vSwitch", empty_ports).is_ok());
        assert!(check(&net, "Open_vSwitch", r#"[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","delete",["set",[]]]]}]"#).is_ok());
        // Deleting a bridge row outright reaches its mirrors, sFlow, ...
        assert!(check(&net, "Open_vSwitch", delete).is_err());
    }
}
