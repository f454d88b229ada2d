//! One ledger entry and its canonical form.
//!
//! A line is compact JSON with the members in a fixed order: `height`,
//! `prev_hash`, `timestamp`, `category`, `action`, `metadata` (`user`,
//! `host`, `plugin`), `data` (object keys sorted, integers exact, never
//! through f64), then `hash` last. `hash` is the SHA-256 of the line with
//! its `,"hash":"…"` member removed, so verification hashes bytes and never
//! re-serializes: any byte changed anywhere changes a hash.

use crate::util::hash::{hex32, sha256_hex};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// `,"hash":"` + 64 hex digits + `"}`.
const HASH_SUFFIX: usize = 9 + 64 + 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The caller, e.g. `root (uid 0)`.
    pub user: String,
    pub host: String,
    #[serde(default)]
    pub plugin: String,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub height: u64,
    pub prev_hash: String,
    pub timestamp: String,
    pub category: String,
    pub action: String,
    pub metadata: Metadata,
    pub data: Value,
    pub hash: String,
}

/// What a caller records; the ledger adds height, links and hash.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub category: String,
    pub action: String,
    pub metadata: Metadata,
    pub data: Value,
}

#[derive(Serialize)]
struct Unhashed<'a> {
    height: u64,
    prev_hash: &'a str,
    timestamp: &'a str,
    category: &'a str,
    action: &'a str,
    metadata: &'a Metadata,
    data: &'a Value,
}

/// The canonical line (no newline) and hash of `e` at `height`.
pub fn seal(e: &NewEntry, height: u64, prev_hash: &str, timestamp: &str) -> (String, String) {
    let body = serde_json::to_string(&Unhashed {
        height,
        prev_hash,
        timestamp,
        category: &e.category,
        action: &e.action,
        metadata: &e.metadata,
        data: &e.data,
    })
    .expect("entry serializes");
    let hash = sha256_hex(body.as_bytes());
    let line = format!("{},\"hash\":\"{hash}\"}}", &body[..body.len() - 1]);
    (line, hash)
}

/// The parts of a line verification needs, taken without a JSON parse.
#[derive(Debug, PartialEq)]
pub struct Head<'a> {
    pub height: u64,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// Splits a line into height, prev_hash and hash, and checks that the hash
/// covers the line. The error says what is wrong with it.
pub fn check_line(line: &str) -> Result<Head<'_>, String> {
    let rest = line.strip_prefix("{\"height\":").ok_or("does not start with {\"height\":")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let height: u64 = rest[..digits].parse().map_err(|_| "height is not a number")?;
    let rest = rest[digits..].strip_prefix(",\"prev_hash\":\"").ok_or("prev_hash does not follow height")?;
    let prev_hash = rest.get(..64).ok_or("prev_hash is cut short")?;
    if line.len() < HASH_SUFFIX + 20 || !line.is_char_boundary(line.len() - HASH_SUFFIX) {
        return Err("line too short to hold a hash".into());
    }
    let (body, suffix) = line.split_at(line.len() - HASH_SUFFIX);
    let hash = suffix
        .strip_prefix(",\"hash\":\"")
        .and_then(|s| s.strip_suffix("\"}"))
        .ok_or("does not end with its hash member")?;
    let mut hasher = Sha256::new();
    hasher.update(body.as_bytes());
    hasher.update(b"}");
    if hex32(&hasher.finalize()) != hash.as_bytes() {
        return Err("hash does not match the entry (the entry was edited)".into());
    }
    Ok(Head { height, prev_hash, hash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry() -> NewEntry {
        NewEntry {
            category: "apply_state".into(),
            action: "net".into(),
            metadata: Metadata { user: "root (uid 0)".into(), host: "server01".into(), plugin: "net".into() },
            data: json!({"result": "success", "big": 18446744073709551615u64, "actions": [1, 2]}),
        }
    }

    #[test]
    fn sealed_lines_check_and_keep_integers_exact() {
        let (line, hash) = seal(&entry(), 7, GENESIS, "2025-10-14T12:00:00.000Z");
        assert!(line.starts_with("{\"height\":7,\"prev_hash\":\"0000"), "{line}");
        assert!(line.contains("\"big\":18446744073709551615"), "{line}");
        let head = check_line(&line).unwrap();
        assert_eq!((head.height, head.prev_hash, head.hash), (7, GENESIS, hash.as_str()));
        let parsed: Entry = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed.hash, hash);
    }

    #[test]
    fn every_single_byte_change_is_caught() {
        let (line, _) = seal(&entry(), 3, GENESIS, "2025-10-14T12:00:00.000Z");
        let bytes = line.as_bytes();
        for i in 0..bytes.len() {
            let mut m = bytes.to_vec();
            m[i] ^= 0x01;
            let Ok(m) = String::from_utf8(m) else { continue };
            let head = check_line(&m);
            // Either the line no longer checks, or (a change inside
            // height/prev_hash) it names a different place in the chain.
            assert!(head.as_ref().map_or(true, |h| h.height != 3 || h.prev_hash != GENESIS), "byte {i}: {m}");
        }
    }
}
