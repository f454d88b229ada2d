//! Open vSwitch's database (RFC 7047) through the `ovsdb` capability:
//! `transact` on JSON values; helpers for OVSDB's encodings (sets, maps,
//! uuids, optional columns); a transaction builder, one transaction per
//! apply, whose `wait` guards make a change someone else made since it
//! was read fail the transaction instead of being overwritten; and the wait
//! for ovs-vswitchd to carry a committed change out.

use crate::{CapError, PluginError};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The database the host proxies.
pub const DATABASE: &str = "Open_vSwitch";
/// The `external_ids` key the host tags every row a plugin inserts with,
/// its value the plugin's name: whose a row is ([`made_by`]). No plugin
/// can set, change or clear it; the host narrows a plugin's changes to the
/// rows that carry its name.
pub const PLUGIN_KEY: &str = "portagent-plugin";
/// `net`'s own mark (`portagent=owned` on what portagent made, `dynamic`
/// on the port agent's ports), older than [`PLUGIN_KEY`] and kept for the
/// rows it marked: net deletes only what carries it. Only net may set it;
/// other plugins read [`PLUGIN_KEY`].
pub const OWNER_KEY: &str = "portagent";

fn failed(e: impl std::fmt::Display) -> PluginError {
    PluginError::Failed(format!("OVSDB: {e}"))
}

/// One `transact` against `Open_vSwitch`; the results, one per operation.
pub fn transact(operations: &Value) -> Result<Vec<Value>, CapError> {
    let text = crate::host::with(|h| h.ovsdb_transact(DATABASE, &operations.to_string()))?;
    match serde_json::from_str(&text) {
        Ok(Value::Array(results)) => Ok(results),
        _ => Err(CapError::Failed(format!("OVSDB returned a non-array result: {text}"))),
    }
}

/// `["set", [a, b]]` or a single atom -> the atoms.
pub fn set_items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) if a.first() == Some(&json!("set")) => {
            a.get(1).and_then(Value::as_array).cloned().unwrap_or_default()
        }
        other => vec![other.clone()],
    }
}

/// The uuid in `["uuid", "..."]`.
pub fn uuid_of(v: &Value) -> String {
    v.get(1).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// The value of `key` in `["map", [[k, v], ...]]`.
pub fn map_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(1)?.as_array()?.iter().find(|kv| kv.get(0).and_then(Value::as_str) == Some(key)).and_then(|kv| kv.get(1))
}

/// An optional scalar column: an empty set means none.
pub fn optional(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(a) if a.first() == Some(&json!("set")) => None,
        other => Some(other),
    }
}

/// The `rows` of a `select` result.
pub fn rows(result: &Value) -> &[Value] {
    result.get("rows").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// `external_ids` tagging a row as portagent's (`tag` says whose), or
/// an empty map.
pub fn owner_ids(tag: Option<&str>) -> Value {
    match tag {
        Some(t) => json!(["map", [[OWNER_KEY, t]]]),
        None => json!(["map", []]),
    }
}

/// net's mark on a row, by its `external_ids` (see [`OWNER_KEY`]).
pub fn owner_of(external_ids: &Value) -> Option<&str> {
    map_get(external_ids, OWNER_KEY).and_then(Value::as_str)
}

/// The plugin that made a row, by its `external_ids` (the host's tag,
/// [`PLUGIN_KEY`]); `None` for a row no plugin made (an admin's, OVS's).
pub fn made_by(external_ids: &Value) -> Option<&str> {
    map_get(external_ids, PLUGIN_KEY).and_then(Value::as_str)
}

/// Builds one OVSDB transaction.
pub struct Txn {
    ops: Vec<Value>,
    next_row: usize,
    root: String,
    comment: String,
}

impl Txn {
    /// A transaction on the database whose `Open_vSwitch` row is `root`;
    /// `comment` names who made it (in ovsdb-server's log).
    pub fn new(root: &str, comment: &str) -> Txn {
        Txn { ops: vec![], next_row: 0, root: root.into(), comment: comment.into() }
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The `Open_vSwitch` row's uuid.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// A fresh `uuid-name` for a row inserted in this transaction.
    pub fn row_name(&mut self) -> String {
        self.next_row += 1;
        format!("row{}", self.next_row)
    }

    /// Adds an operation.
    pub fn push(&mut self, op: Value) {
        self.ops.push(op);
    }

    /// Inserts `row` into `table`; the `named-uuid` that refers to it.
    pub fn insert(&mut self, table: &str, row: Value) -> Value {
        let name = self.row_name();
        self.ops.push(json!({"op": "insert", "table": table, "row": row, "uuid-name": name}));
        json!(["named-uuid", name])
    }

    /// Fails the transaction unless the rows `where` selects in `table`
    /// have exactly `rows` in `columns` (as read): a guard against a
    /// change made since.
    pub fn guard(&mut self, table: &str, r#where: Value, columns: &[&str], rows: Value) {
        self.ops.push(json!({"op": "wait", "timeout": 0, "table": table, "where": r#where,
            "columns": columns, "until": "==", "rows": rows}));
    }

    /// Commits (all or nothing: a guard that no longer holds makes it
    /// fail) and returns what to wait for: ovs-vswitchd carrying it out.
    pub fn commit(mut self) -> Result<Applying, PluginError> {
        if self.ops.is_empty() {
            return Ok(Applying { next_cfg: None });
        }
        let root = json!(["uuid", self.root]);
        self.ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [["_uuid", "==", root]],
            "mutations": [["next_cfg", "+=", 1]]}));
        self.ops.push(
            json!({"op": "select", "table": "Open_vSwitch", "where": [["_uuid", "==", root]], "columns": ["next_cfg"]}),
        );
        self.ops.push(json!({"op": "comment", "comment": self.comment}));
        let n = self.ops.len();
        let results = transact(&Value::Array(self.ops))?;
        // RFC 7047: an error in any operation aborts the whole transaction.
        if let Some((i, e)) = results.iter().enumerate().find(|(_, r)| r.get("error").is_some()) {
            let detail = e.get("details").and_then(Value::as_str).unwrap_or_default();
            let what = if e["error"] == "timed out" { "changed by someone else since it was read" } else { detail };
            return Err(failed(format!("transaction refused at operation {i}: {} {what}", e["error"])));
        }
        if results.len() < n {
            return Err(failed("transaction aborted (a later result is missing)"));
        }
        let next_cfg = rows(&results[n - 2]).first().and_then(|r| r["next_cfg"].as_i64()).unwrap_or(0);
        Ok(Applying { next_cfg: Some(next_cfg) })
    }
}

/// The `Open_vSwitch` row's uuid (`ovs-vsctl init` makes it).
pub fn root() -> Result<String, PluginError> {
    let r = transact(&json!([{"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["_uuid"]}]))?;
    rows(&r[0])
        .first()
        .map(|r| uuid_of(&r["_uuid"]))
        .ok_or_else(|| failed("the Open_vSwitch table has no row (run `ovs-vsctl init`)"))
}

/// A committed transaction ovs-vswitchd may still be carrying out.
#[must_use = "wait until ovs-vswitchd has carried the transaction out"]
pub struct Applying {
    next_cfg: Option<i64>,
}

/// How long ovs-vswitchd may go without visible progress before a wait
/// for it fails.
pub const STALL: Duration = Duration::from_secs(15);
/// How often the kernel's links are looked at for progress.
const LINKS_EVERY: Duration = Duration::from_secs(1);

/// The longest pause between two looks at `cur_cfg`, `waited` into a
/// wait: short while a small change would finish, longer after.
fn pause_cap(waited: Duration) -> Duration {
    if waited < Duration::from_millis(500) { Duration::from_millis(10) } else { Duration::from_millis(100) }
}

/// The kernel's links, in brief (how many, and which by index), when the
/// plugin may read them: what changes as ovs-vswitchd adds or removes
/// interfaces.
fn links_fingerprint() -> Option<(usize, u64)> {
    let links = crate::netlink::list_links().ok()?;
    let which = links.iter().fold(0u64, |h, l| h ^ u64::from(l.index).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    Some((links.len(), which))
}

impl Applying {
    /// Waits until ovs-vswitchd has carried the change out (`cur_cfg`
    /// catches up with the bumped `next_cfg`). A change of thousands of
    /// ports takes it a minute or more, its interfaces coming and going in
    /// the kernel one by one, so there is no fixed deadline: the wait goes
    /// on while ovs-vswitchd makes progress (`cur_cfg` moves, or the
    /// kernel's links change, for a plugin granted `netlink` read) and
    /// fails after [`STALL`] without any. Each look at `cur_cfg` is a
    /// transaction the OVSDB server also has to answer ovs-vswitchd beside,
    /// so the looks thin out while it works: 2 ms up to 10 ms for the
    /// first half second (what a small change takes), then up to 100 ms
    /// (a long wait costs the plugin's CPU budget little: each look is
    /// charged to it).
    pub fn wait(self) -> Result<(), PluginError> {
        let Some(target) = self.next_cfg else { return Ok(()) };
        let started = Instant::now();
        let mut progress = Instant::now();
        let (mut last_cur, mut last_links) = (None, links_fingerprint());
        let mut links_at = Instant::now() + LINKS_EVERY;
        let mut pause = Duration::from_millis(2);
        loop {
            let r = transact(&json!([{"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["cur_cfg"]}]))?;
            let cur = rows(&r[0]).first().and_then(|r| r["cur_cfg"].as_i64()).unwrap_or(0);
            if cur >= target {
                return Ok(());
            }
            if last_cur.replace(cur).is_some_and(|c| c != cur) {
                progress = Instant::now();
            }
            if Instant::now() >= links_at {
                let links = links_fingerprint();
                if links != last_links {
                    progress = Instant::now();
                    last_links = links;
                }
                links_at = Instant::now() + LINKS_EVERY;
            }
            if progress.elapsed() >= STALL {
                return Err(failed(format!(
                    "ovs-vswitchd made no progress on the change for {STALL:?} (cur_cfg {cur}, waiting for {target}; is it running?)"
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 3 / 2).min(pause_cap(started.elapsed()));
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn a_long_wait_looks_less_often() {
        assert_eq!(pause_cap(Duration::from_millis(100)), Duration::from_millis(10));
        assert_eq!(pause_cap(Duration::from_secs(5)), Duration::from_millis(100));
        // However long the wait, progress is still seen well inside STALL.
        assert!(pause_cap(Duration::from_secs(600)) * 10 < STALL && LINKS_EVERY * 10 < STALL);
    }

    #[test]
    fn encodings() {
        assert_eq!(set_items(&json!(["set", [1, 2]])), [json!(1), json!(2)]);
        assert_eq!(set_items(&json!("x")), [json!("x")]);
        assert_eq!(uuid_of(&json!(["uuid", "abc"])), "abc");
        let ids = json!(["map", [["portagent", "owned"], ["x", "y"]]]);
        assert_eq!(map_get(&ids, "x"), Some(&json!("y")));
        assert_eq!(owner_of(&ids), Some("owned"));
        assert_eq!(owner_of(&owner_ids(None)), None);
        assert_eq!(optional(&json!(["set", []])), None);
        assert_eq!(optional(&json!(5)), Some(&json!(5)));
    }

    #[test]
    fn a_transaction_is_committed_whole_and_waited_for() {
        let fake = crate::testing::Fake::new();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let fake = fake.with_ovsdb(move |ops: &Value| {
            log.lock().unwrap().push(ops.clone());
            let ops = ops.as_array().unwrap();
            // Answer each operation; the select of next_cfg says 7, and the
            // select of cur_cfg says ovs-vswitchd is there.
            Ok(Value::Array(
                ops.iter()
                    .map(|op| match op["op"].as_str() {
                        Some("select") => json!({"rows": [{"next_cfg": 7, "cur_cfg": 7}]}),
                        _ => json!({}),
                    })
                    .collect(),
            ))
        });
        crate::testing::run(fake, || {
            let mut txn = Txn::new("root-uuid", "test");
            let row = txn.insert("Bridge", json!({"name": "br0"}));
            assert_eq!(row, json!(["named-uuid", "row1"]));
            txn.guard("Bridge", json!([["name", "==", "br0"]]), &["name"], json!([]));
            txn.commit().unwrap().wait().unwrap();
        });
        let sent = seen.lock().unwrap();
        let first = sent[0].as_array().unwrap();
        assert_eq!(first.len(), 5, "insert, wait, next_cfg bump, its select, the comment");
        assert_eq!(first[4]["comment"], "test");
    }
}
