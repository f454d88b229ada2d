//! `ovsdb`: RFC 7047 `transact` against the OVSDB server's unix socket,
//! allowed only on the tables the plugin was granted.

use super::{CapContext, Capability, Spec};
use crate::plugin::bindings::current::CapError;
use crate::plugin::bindings::current::portagent::plugin::ovsdb::{Host};
use serde_json::{Value, json};
use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Operations that name no table and read or write nothing.
const TABLELESS_OPS: &[&str] = &["commit", "abort", "comment", "assert"];

impl Host for CapContext {
    async fn transact(&mut self, database: String, operations: String) -> wasmtime::Result<Result<String, CapError>> {
        let caps = &*self;
        if let Err(e) = check(caps, &database, &operations) {
            return Ok(Err(e));
        }
        let timeout = caps.remaining(Capability::OVSDB)?;
        Ok(transact(&caps.backends.ovsdb_socket, &database, &operations, timeout))
    }
}

/// Refuses a transaction outside the grant before anything is sent.
fn check(caps: &CapContext, database: &str, operations: &str) -> Result<(), CapError> {
    caps.grants.scope(&caps.plugin, Capability::OVSDB)?;
    if database != "Open_vSwitch" {
        return Err(CapError::Denied(format!("only the Open_vSwitch database is proxied, not {database:?}")));
    }
    let ops: Vec<Value> = serde_json::from_str(operations)
        .map_err(|e| CapError::Failed(format!("operations are not a JSON array: {e}")))?;
    for (i, op) in ops.iter().enumerate() {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("");
        match op.get("table").and_then(Value::as_str) {
            Some(table) => caps.grants.require(&caps.plugin, Capability::OVSDB, table)?,
            None if TABLELESS_OPS.contains(&name) => {}
            None => return Err(CapError::Failed(format!("operation {i} ({name:?}) has no table"))),
        }
    }
    Ok(())
}

/// Sends one `transact` and waits for its reply.
pub(crate) fn transact(
    socket: &std::path::Path,
    database: &str,
    operations: &str,
    timeout: Duration,
) -> Result<String, CapError> {
    let failed =
        |what: &str, e: &dyn std::fmt::Display| CapError::Failed(format!("OVSDB at {}: {what}: {e}", socket.display()));
    let ops: Value = serde_json::from_str(operations).map_err(|e| failed("bad operations", &e))?;
    let mut params = vec![json!(database)];
    params.extend(ops.as_array().cloned().unwrap_or_default());
    let request = json!({"method": "transact", "params": params, "id": 1});

    let stream = UnixStream::connect(socket).map_err(|e| failed("connect", &e))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| failed("socket", &e))?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| failed("socket", &e))?;
    (&stream).write_all(request.to_string().as_bytes()).map_err(|e| failed("send", &e))?;

    // ovsdb-server sends one JSON object per message and no framing; it
    // also sends no newline, so read with a streaming deserializer.
    let reader = BufReader::new(&stream);
    let mut replies = serde_json::Deserializer::from_reader(reader).into_iter::<Value>();
    loop {
        let reply = match replies.next() {
            Some(Ok(v)) => v,
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
    scope_item: |item| item == "*" || super::OVSDB_TABLES.contains(&item),
    scope_expected: || format!("`*` or tables of Open_vSwitch ({})", super::OVSDB_TABLES.join(", ")),
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
        assert!(matches!(check(&c, "Open_vSwitch", tableless), Err(CapError::Failed(_))));
    }
}
