//! Test guest `probe`: each action's resource names one thing to try.
//!
//! `apply` runs the actions in order and returns one line per action, or the
//! first error. Commands: `log`, `flood:N`, `ovsdb:TABLE`, `ovsdb-raw:OPERATIONS`, `ovsdb-try:TABLE` (a
//! transaction whose failure is an answer, not an error), `write:NAME`, `read:PATH`,
//! `networkd-reload`, `netlink-links`, `link-mtu:LINK=MTU`, `flows:BRIDGE`, `loop`, `alloc`,
//! `panic`, `sleep:MS`, `symlink:TARGET=NAME`, `hardlink:OLD=NEW`,
//! `cap:CASE` (a capability refusal, answered as `VARIANT: message`:
//! `no-bridge`, `bad-flow`, `no-table`, `no-link`), `checkpoint-id` (the
//! id the host gave this instance's last `checkpoint`),
//! `rename:OLD=NEW`, `remove:NAME`, `mkdir:NAME`, `write-text:NAME=TEXT`,
//! `fill:NAME=BYTES`, `files:STEM=N`, `write-in:DIR=NAME` (names in the networkd
//! dir), `fail` (an apply error), `restore-fails` (this apply's snapshot
//! says so, and every restore of it fails, in any instance), `hostname` (a capability it imports but does not
//! ask for, as guests built against the whole world do). `query` returns how many calls this instance has served, which
//! shows when the host replaced the instance.

use portagent_sdk::{
    Action, CapabilityRequest, Mismatch, Plugin, PluginError, PluginInfo, Snapshot, netlink, networkd, openflow, ovsdb,
};
use std::sync::atomic::{AtomicU32, Ordering};

static CALLS: AtomicU32 = AtomicU32::new(0);
/// The id of the last `checkpoint`.
static CHECKPOINT_ID: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
/// `diff` saw `checkpoint-wrong-id`: `checkpoint` answers under another id.
static WRONG_ID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// `diff` saw `restore-fails`: the snapshot carries [`RESTORE_FAILS`].
static RESTORE_FAILS_NEXT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The mark in a snapshot whose restore fails.
const RESTORE_FAILS: &str = "restore-fails:";

/// A capability refusal, named by its variant.
fn cap_case(case: &str) -> Result<String, PluginError> {
    use portagent_sdk::CapError;
    let refused = match case {
        "no-bridge" => openflow::dump_flows("br-probe").err(),
        "bad-flow" => openflow::normalize(&["actions=bogus".into()]).err(),
        "no-table" => {
            portagent_sdk::bindings::portagent::plugin::ovsdb::transact("Open_vSwitch", r#"[{"op":"select"}]"#).err()
        }
        "no-link" => networkd::reconfigure("nosuch0").err(),
        other => return Err(PluginError::invalid("resource", format!("unknown cap case {other:?}"))),
    };
    Ok(match refused {
        None => "answered".into(),
        Some(e) => {
            let variant = match &e {
                CapError::Denied(_) => "denied",
                CapError::Failed(_) => "failed",
                CapError::NotFound(_) => "not-found",
                CapError::InvalidArgument(_) => "invalid-argument",
                CapError::Conflict(_) => "conflict",
                CapError::Timeout(_) => "timeout",
            };
            format!("{variant}: {}", e.message())
        }
    })
}

struct Probe;

/// `symlink(2)` as wasi-libc has it (std's is unstable on WASI).
fn symlink(target: &str, name: &str) -> std::io::Result<()> {
    unsafe extern "C" {
        fn symlink(target: *const std::ffi::c_char, name: *const std::ffi::c_char) -> std::ffi::c_int;
    }
    let c = |s: &str| std::ffi::CString::new(s).map_err(std::io::Error::other);
    let (t, n) = (c(target)?, c(name)?);
    // SAFETY: two NUL-terminated strings that outlive the call.
    match unsafe { symlink(t.as_ptr(), n.as_ptr()) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Makes `name` through a descriptor of `dir` (`openat(2)` as wasi-libc
/// has it), the way a guest could name a file in a drop-in dir without
/// naming the dir.
fn write_in(dir: &str, name: &str) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    unsafe extern "C" {
        fn openat(fd: std::ffi::c_int, path: *const std::ffi::c_char, flags: std::ffi::c_int, ...) -> std::ffi::c_int;
        fn close(fd: std::ffi::c_int) -> std::ffi::c_int;
    }
    // wasi-libc's fcntl.h: O_WRONLY, O_CREAT and O_TRUNC.
    const FLAGS: std::ffi::c_int = 0x1000_0000 | (1 << 12) | (8 << 12);
    let d = std::fs::File::open(dir)?;
    let n = std::ffi::CString::new(name).map_err(std::io::Error::other)?;
    // SAFETY: a NUL-terminated string that outlives the call; the fd is closed once.
    match unsafe { openat(d.as_raw_fd(), n.as_ptr(), FLAGS, 0o644) } {
        fd if fd >= 0 => {
            unsafe { close(fd) };
            Ok(())
        }
        _ => Err(std::io::Error::last_os_error()),
    }
}

fn run(command: &str) -> Result<String, PluginError> {
    let (verb, arg) = command.split_once(':').unwrap_or((command, ""));
    match verb {
        "log" => {
            portagent_sdk::log::info("probe says hello");
            Ok("logged".into())
        }
        "flood" => {
            // `flood:N`: N log lines of 200 bytes.
            let n: u64 = arg.parse().map_err(|_| PluginError::invalid("resource", "flood:N"))?;
            let line = "f".repeat(200);
            for i in 0..n {
                portagent_sdk::log::info(&format!("{i} {line}"));
            }
            Ok(format!("logged {n} lines"))
        }
        "ovsdb" => {
            let ops = serde_json::json!([{"op": "select", "table": arg, "where": []}]);
            let results = ovsdb::transact(&ops)?;
            let rows = results[0]["rows"].as_array().map_or(0, |r| r.len());
            Ok(format!("{rows} rows"))
        }
        "ovsdb-raw" => {
            let ops: serde_json::Value =
                serde_json::from_str(arg).map_err(|e| PluginError::invalid("resource", e.to_string()))?;
            ovsdb::transact(&ops)?;
            Ok("done".into())
        }
        "ovsdb-try" => {
            let ops = serde_json::json!([{"op": "select", "table": arg, "where": []}]);
            Ok(match ovsdb::transact(&ops) {
                Ok(_) => "answered".into(),
                Err(e) => format!("refused: {e:?}"),
            })
        }
        "write" => {
            let path = format!("{}/{arg}", portagent_sdk::NETWORKD_DIR);
            std::fs::write(&path, "[Match]\nName=probe0\n")
                .map_err(|e| PluginError::Failed(format!("write {path}: {e}")))?;
            Ok(format!("wrote {path}"))
        }
        "write-text" => {
            // `write-text:NAME=TEXT`, `\n` in TEXT a newline.
            let (name, text) =
                arg.split_once('=').ok_or_else(|| PluginError::invalid("resource", "write-text:NAME=TEXT"))?;
            let path = format!("{}/{name}", portagent_sdk::NETWORKD_DIR);
            std::fs::write(&path, text.replace("\\n", "\n"))
                .map_err(|e| PluginError::Failed(format!("write {path}: {e}")))?;
            Ok(format!("wrote {path}"))
        }
        "fill" => {
            // `fill:NAME=BYTES`, in writes of 64 KiB.
            let (name, n) = arg.split_once('=').ok_or_else(|| PluginError::invalid("resource", "fill:NAME=BYTES"))?;
            let n: usize = n.parse().map_err(|_| PluginError::invalid("resource", "fill:NAME=BYTES"))?;
            let path = format!("{}/{name}", portagent_sdk::NETWORKD_DIR);
            let mut f = std::fs::File::create(&path).map_err(|e| PluginError::Failed(format!("create {path}: {e}")))?;
            let chunk = vec![b'#'; 64 << 10];
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                std::io::Write::write_all(&mut f, &chunk[..k])
                    .map_err(|e| PluginError::Failed(format!("write {path} at {}: {e}", n - left)))?;
                left -= k;
            }
            Ok(format!("filled {path} with {n} bytes"))
        }
        "files" => {
            // `files:STEM=N`: STEM-0.conf ... STEM-(N-1).conf.
            let (stem, n) = arg.split_once('=').ok_or_else(|| PluginError::invalid("resource", "files:STEM=N"))?;
            let n: usize = n.parse().map_err(|_| PluginError::invalid("resource", "files:STEM=N"))?;
            for i in 0..n {
                let path = format!("{}/{stem}-{i}.conf", portagent_sdk::NETWORKD_DIR);
                std::fs::write(&path, "").map_err(|e| PluginError::Failed(format!("file {i}: write {path}: {e}")))?;
            }
            Ok(format!("made {n} files"))
        }
        "write-in" => {
            // `write-in:DIR=NAME`: opens DIR, then makes NAME relative to it.
            let (dir, name) =
                arg.split_once('=').ok_or_else(|| PluginError::invalid("resource", "write-in:DIR=NAME"))?;
            write_in(&format!("{}/{dir}", portagent_sdk::NETWORKD_DIR), name)
                .map(|_| format!("wrote {name} in {dir}"))
                .map_err(|e| PluginError::Failed(format!("write-in {arg}: {e}")))
        }
        "symlink" | "hardlink" | "rename" => {
            let (a, b) = arg.split_once('=').ok_or_else(|| PluginError::invalid("resource", "VERB:A=B"))?;
            let at = |n: &str| format!("{}/{n}", portagent_sdk::NETWORKD_DIR);
            let done = match verb {
                "symlink" => symlink(a, &at(b)),
                "hardlink" => std::fs::hard_link(at(a), at(b)),
                _ => std::fs::rename(at(a), at(b)),
            };
            done.map(|_| format!("{verb} {a} {b}")).map_err(|e| PluginError::Failed(format!("{verb} {arg}: {e}")))
        }
        "remove" | "mkdir" => {
            let path = format!("{}/{arg}", portagent_sdk::NETWORKD_DIR);
            let done = if verb == "remove" { std::fs::remove_file(&path) } else { std::fs::create_dir(&path) };
            done.map(|_| format!("{verb} {path}")).map_err(|e| PluginError::Failed(format!("{verb} {path}: {e}")))
        }
        "read" => std::fs::read_to_string(arg)
            .map(|s| format!("read {} bytes", s.len()))
            .map_err(|e| PluginError::Failed(format!("read {arg}: {e}"))),
        "networkd-reload" => {
            networkd::reload()?;
            Ok("reloaded".into())
        }
        "netlink-links" => {
            let links = netlink::list_links()?;
            Ok(links.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(","))
        }
        "link-mtu" => {
            let (link, mtu) =
                arg.split_once('=').ok_or_else(|| PluginError::invalid("resource", "link-mtu:LINK=MTU"))?;
            let mtu = mtu.parse().map_err(|_| PluginError::invalid("resource", "link-mtu:LINK=MTU"))?;
            netlink::set_link_mtu(link, mtu)?;
            Ok(format!("{link} mtu {mtu}"))
        }
        "flows" => Ok(openflow::dump_flows(arg)?.join("\n")),
        "replace-flows" => {
            // `replace-flows:BRIDGE=FLOW;FLOW...`
            let (bridge, flows) = arg.split_once('=').unwrap_or((arg, ""));
            let flows: Vec<String> = flows.split(';').filter(|f| !f.is_empty()).map(String::from).collect();
            openflow::replace_flows(bridge, &flows)?;
            Ok(format!("replaced {}", flows.len()))
        }
        "hostname" => Ok(portagent_sdk::hostname::get()?.transient),
        "loop" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "alloc" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "panic" => panic!("probe was asked to panic"),
        "cap" => cap_case(arg),
        "checkpoint-id" => Ok(format!("checkpoint {}", CHECKPOINT_ID.lock().unwrap())),
        "checkpoint-wrong-id" => Ok("checkpointed under another id".into()),
        "restore-fails" => Ok("its restore will fail".into()),
        "fail" => Err(PluginError::Failed("probe was asked to fail".into())),
        "sleep" => {
            let ms: u64 = arg.parse().map_err(|_| PluginError::invalid("resource", "sleep:MILLISECONDS"))?;
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(format!("slept {ms} ms"))
        }
        // Read by diff and verify; applying them does nothing.
        "actions" | "mismatches" => Ok(format!("{verb} {arg}")),
        other => Err(PluginError::invalid("resource", format!("unknown probe command {other:?}"))),
    }
}

impl Plugin for Probe {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "probe".into(),
            version: "1.2.3".into(),
            section: "probe".into(),
            capabilities: vec![
                CapabilityRequest::new("log", &[], "to say hello"),
                CapabilityRequest::new("ovsdb", &["Bridge", "Open_vSwitch"], "to read bridges"),
                CapabilityRequest::new("networkd", &["read", "write", "links:probe*"], "to write .network files"),
                CapabilityRequest::new("netlink", &["read"], "to list links"),
                CapabilityRequest::new("openflow", &["br-probe"], "to read flows"),
            ],
            after: vec!["net".into()],
        }
    }

    fn schema() -> String {
        // A test's way to make this export fail (it has no arguments):
        // a file of this name in the networkd dir, when granted.
        if std::path::Path::new(&format!("{}/probe-schema-fails", portagent_sdk::NETWORKD_DIR)).exists() {
            panic!("probe's schema was asked to fail");
        }
        r#"{"type":"object","properties":{"run":{"type":"array","items":{"type":"string"}}}}"#.into()
    }

    fn validate(_desired: String) -> Result<(), PluginError> {
        Ok(())
    }

    fn query() -> Result<String, PluginError> {
        let n = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(format!("{{\"calls\":{n}}}"))
    }

    fn diff(_current: String, desired: String) -> Result<Vec<Action>, PluginError> {
        let desired: serde_json::Value =
            serde_json::from_str(&desired).map_err(|e| PluginError::invalid("", e.to_string()))?;
        let run = desired["run"].as_array().cloned().unwrap_or_default();
        WRONG_ID.store(run.iter().any(|c| c == "checkpoint-wrong-id"), Ordering::SeqCst);
        RESTORE_FAILS_NEXT.store(run.iter().any(|c| c == "restore-fails"), Ordering::SeqCst);
        let mut actions = Vec::new();
        for (i, c) in run.iter().enumerate() {
            let Some(cmd) = c.as_str() else {
                return Err(PluginError::invalid(format!("run[{i}]"), "must be a command string"));
            };
            // `actions:N` (or `actions:N:PADDING`, for size): N actions (to
            // test the host's bounds on a diff and on a reply).
            let copies = cmd.strip_prefix("actions:").and_then(|n| n.split(':').next()?.parse().ok()).unwrap_or(1);
            for _ in 0..copies {
                actions.push(Action {
                    kind: portagent_sdk::ActionKind::Modify,
                    resource: cmd.into(),
                    // `bad-body`: an action whose body is not JSON (the host refuses it).
                    body: if cmd == "bad-body" { "not json".into() } else { "{}".into() },
                });
            }
        }
        Ok(actions)
    }

    fn apply(actions: Vec<Action>) -> Result<Vec<String>, PluginError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        actions.iter().map(|a| run(&a.resource)).collect()
    }

    /// `mismatches:N` in `run`: N mismatches (to test the host's bound).
    fn verify(desired: String) -> Result<Vec<Mismatch>, PluginError> {
        let desired: serde_json::Value = serde_json::from_str(&desired).unwrap_or_default();
        let n: usize = desired["run"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str()?.strip_prefix("mismatches:")?.parse::<usize>().ok())
            .sum();
        Ok((0..n)
            .map(|i| Mismatch {
                resource: format!("r{i}"),
                field: "f".into(),
                expected: "a".into(),
                actual: "b".into(),
            })
            .collect())
    }

    /// The data is the id, so `restore` can tell it got the snapshot back
    /// under the id it was taken under.
    fn checkpoint(id: String) -> Result<Snapshot, PluginError> {
        *CHECKPOINT_ID.lock().unwrap() = id.clone();
        let mark = if RESTORE_FAILS_NEXT.load(Ordering::SeqCst) { RESTORE_FAILS } else { "" };
        let data = format!("{mark}{id}").into_bytes();
        let id = if WRONG_ID.load(Ordering::SeqCst) { format!("{id}-not") } else { id };
        Ok(Snapshot { id, data })
    }

    fn restore(snapshot: Snapshot) -> Result<(), PluginError> {
        if snapshot.data.starts_with(RESTORE_FAILS.as_bytes()) {
            return Err(PluginError::Failed("probe's restore was asked to fail".into()));
        }
        if snapshot.data != snapshot.id.as_bytes() {
            return Err(PluginError::Failed(format!(
                "restore was given id {:?} for the snapshot taken under {:?}",
                snapshot.id,
                String::from_utf8_lossy(&snapshot.data)
            )));
        }
        Ok(())
    }
}

portagent_sdk::export_plugin!(Probe);
