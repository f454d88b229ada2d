//! Logging under systemd: with `JOURNAL_STREAM` naming its stderr,
//! portagent logs to journald's native socket with structured fields
//! (here a socket of the test's own at the lab's private
//! `/run/systemd/journal/socket`); otherwise plain lines on stderr.

use crate::net::net_lab;
use crate::state::{install_probe, two_plugins};
use crate::support::text;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// The fields of one native-protocol datagram (single-line values).
fn fields(datagram: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = datagram;
    while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(&rest[..nl]).into_owned();
        match line.split_once('=') {
            Some((k, v)) => {
                out.push((k.to_string(), v.to_string()));
                rest = &rest[nl + 1..];
            }
            None => {
                // KEY\n<u64 LE length><value>\n
                let len = u64::from_le_bytes(rest[nl + 1..nl + 9].try_into().unwrap()) as usize;
                let value = String::from_utf8_lossy(&rest[nl + 9..nl + 9 + len]).into_owned();
                out.push((line, value));
                rest = &rest[nl + 9 + len + 1..];
            }
        }
    }
    out
}

#[test]
fn under_systemd_logs_go_to_journald_with_structured_fields() {
    let lab = net_lab();
    install_probe(&lab);
    lab.write("/etc/ovs-port-agent/two.yaml", two_plugins("log").as_bytes()).unwrap();
    let socket_path = lab.path("/run/systemd/journal/socket");
    std::fs::create_dir_all(socket_path.parent().unwrap()).unwrap();
    let journal = UnixDatagram::bind(&socket_path).unwrap();
    journal.set_read_timeout(Some(Duration::from_secs(5))).unwrap();

    // stderr is a file; JOURNAL_STREAM names it, as systemd would.
    let stderr_path = lab.path("/run/stderr.log");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let meta = stderr.metadata().unwrap();
    let out = lab
        .command(env!("CARGO_BIN_EXE_portagent"))
        .args(["apply-state", "/etc/ovs-port-agent/two.yaml"])
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .env("RUST_LOG", "info")
        .stderr(stderr)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), std::fs::read_to_string(&stderr_path).unwrap());

    let mut records = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = journal.recv(&mut buf) {
        records.push(fields(&buf[..n]));
        journal.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    }
    let get = |r: &[(String, String)], k: &str| r.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let hello = records
        .iter()
        .find(|r| get(r, "MESSAGE").is_some_and(|m| m.contains("probe says hello")))
        .unwrap_or_else(|| panic!("the plugin's log line: {records:?}"));
    assert_eq!(get(hello, "PORTAGENT_PLUGIN").as_deref(), Some("probe"));
    assert_eq!(get(hello, "PRIORITY").as_deref(), Some("6"));
    assert_eq!(get(hello, "SYSLOG_IDENTIFIER").as_deref(), Some("ovs-port-agent"));
    let recorded = records
        .iter()
        .find(|r| get(r, "MESSAGE").is_some_and(|m| m.starts_with("recorded apply_state success")))
        .unwrap_or_else(|| panic!("the apply's record line: {records:?}"));
    let entries = crate::net::ledger(&lab);
    let last = entries.last().unwrap();
    assert_eq!(get(recorded, "PORTAGENT_LEDGER_HASH"), last["hash"].as_str().map(String::from));
    assert_eq!(get(recorded, "PORTAGENT_CHECKPOINT"), last["data"]["checkpoint_id"].as_str().map(String::from));
    assert_eq!(get(recorded, "PORTAGENT_CALLER_UID").as_deref(), Some("0"));
    assert!(std::fs::read_to_string(&stderr_path).unwrap().is_empty(), "nothing on the stream");

    // Without JOURNAL_STREAM: plain lines on stderr, nothing on the socket.
    let out = lab
        .command(env!("CARGO_BIN_EXE_portagent"))
        .args(["apply-state", "/etc/ovs-port-agent/two.yaml"])
        .env_remove("JOURNAL_STREAM")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("[probe] probe says hello"), "{}", text(&out.stderr));
    assert!(journal.recv(&mut buf).is_err(), "nothing sent to the journal");
}
