//! The state file: `version: 1`, `plugins:` (one section per plugin) and an
//! optional `probe: {ping: [HOST, ...]}` that must answer after an apply.
//! YAML is parsed with serde-saphyr (maintained, panic-free, with budgets
//! against alias bombs), since state files also arrive over D-Bus.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The state file versions this portagent reads.
pub const VERSION: u64 = 1;

/// A parsed state file: each plugin's section as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct StateFile {
    pub sections: BTreeMap<String, Value>,
    /// Hosts that must answer a ping after the apply, else it is undone.
    pub probe: Vec<String>,
    /// The YAML it was parsed from, to say on which line a field is.
    pub source: Option<std::sync::Arc<str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    version: Option<Value>,
    plugins: Option<BTreeMap<String, Value>>,
    probe: Option<RawProbe>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    #[serde(default)]
    ping: Vec<String>,
}

/// What is wrong with a state file: the field (or line) and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct FileError {
    pub field: String,
    pub message: String,
}

fn error(field: &str, message: impl Into<String>) -> FileError {
    FileError { field: field.into(), message: message.into() }
}

impl StateFile {
    pub fn parse(text: &str) -> Result<StateFile, FileError> {
        let raw: Raw = super::located::from_str(text).map_err(|e| error("", super::located::parse_error(&e)))?;
        match raw.version {
            None => return Err(error("version", format!("missing; this portagent reads version {VERSION}"))),
            Some(Value::Number(n)) if n.as_u64() == Some(VERSION) => {}
            Some(v) => {
                return Err(error("version", format!("{v} is not supported; this portagent reads version {VERSION}")));
            }
        }
        let sections = raw.plugins.unwrap_or_default();
        if sections.is_empty() {
            return Err(error("plugins", "no plugin sections; nothing to do"));
        }
        for (name, section) in &sections {
            if !section.is_object() {
                return Err(error(&format!("plugins.{name}"), "must be a mapping"));
            }
        }
        let probe = raw.probe.map(|p| p.ping).unwrap_or_default();
        for (i, host) in probe.iter().enumerate() {
            super::probe::check_target(host).map_err(|m| error(&format!("probe.ping[{i}]"), m))?;
        }
        Ok(StateFile { sections, probe, source: Some(text.into()) })
    }

    /// The line of the state file `field` (a path such as
    /// `plugins.net.interfaces[1].mtu`) is on, if the file came from text.
    pub fn line_of(&self, field: &str) -> Option<u32> {
        super::located::line_of(self.source.as_deref()?, field)
    }

    /// `e`, with the line of its field when it is invalid input.
    pub fn locate(&self, e: super::StateError) -> super::StateError {
        match e {
            super::StateError::Invalid { field, message, line: None } => {
                let line = self.line_of(&field);
                super::StateError::Invalid { field, message, line }
            }
            other => other,
        }
    }

    /// SHA-256 of the sections in canonical JSON (keys sorted, compact).
    pub fn hash(&self) -> String {
        crate::util::hash::sha256_hex(serde_json::to_string(&self.sections).expect("json").as_bytes())
    }
}

/// Reads a state file's text: at most `limit` bytes (`max_state_bytes`),
/// so `/dev/zero` or a runaway pipe cannot exhaust memory. `-` is stdin.
pub fn read_text(path: &std::path::Path, limit: u64) -> Result<Source, FileError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let cannot = |e: std::io::Error| error("", format!("cannot read {}: {e}", path.display()));
    let (reader, quotable): (Box<dyn Read>, Quotable) = if path.as_os_str() == "-" {
        (Box::new(std::io::stdin()), Quotable::Yes)
    } else {
        // Non-blocking: a FIFO without a writer would block the open.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(cannot)?;
        let meta = file.metadata().map_err(cannot)?;
        if !meta.is_file() {
            return Err(error(
                "",
                format!(
                    "{} is not a regular file (a FIFO, a device or a directory); give a state file, or - for stdin",
                    path.display()
                ),
            ));
        }
        let quotable = quotable(path, &meta);
        (Box::new(file), quotable)
    };
    let mut bytes = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(cannot)?;
    check_size(bytes.len() as u64, limit)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        error("", format!("{} is not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to()))
    })?;
    Ok(Source { text, quotable })
}

/// A state file's text, and whether errors may quote what it holds.
#[derive(Debug)]
pub struct Source {
    pub text: String,
    pub quotable: Quotable,
}

/// Whether an error may quote a file's content to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quotable {
    Yes,
    /// Run through sudo for a user who could not read the file, or through
    /// a symlink to it: the caller learns where it is wrong, not what it
    /// says (else `show-diff /etc/shadow` would print its first line).
    NotThroughSymlink,
    NotReadableByCaller,
}

/// Who runs this: the user sudo ran it for, if it did (`SUDO_UID`,
/// `SUDO_GID`), `None` when that is root or there was no sudo.
fn sudo_caller() -> Option<(u32, u32)> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let uid: u32 = std::env::var("SUDO_UID").ok()?.parse().ok()?;
    let gid: u32 = std::env::var("SUDO_GID").ok().and_then(|g| g.parse().ok()).unwrap_or(u32::MAX);
    (uid != 0).then_some((uid, gid))
}

/// Whether errors about `path` (opened, `meta` its file) may quote it: a
/// caller without sudo read it with their own rights; one through sudo
/// must have been able to read the file itself, not through a symlink.
fn quotable(path: &std::path::Path, meta: &std::fs::Metadata) -> Quotable {
    use std::os::unix::fs::MetadataExt;
    let symlink = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    quotable_for(sudo_caller(), symlink, (meta.uid(), meta.gid(), meta.mode()))
}

/// [`quotable`] for `caller` (sudo's user), a path that is a `symlink` or
/// not, and the file's (uid, gid, mode).
fn quotable_for(caller: Option<(u32, u32)>, symlink: bool, (uid, gid, mode): (u32, u32, u32)) -> Quotable {
    let Some((caller_uid, caller_gid)) = caller else { return Quotable::Yes };
    if symlink {
        return Quotable::NotThroughSymlink;
    }
    let readable = if uid == caller_uid {
        mode & 0o400 != 0
    } else if gid == caller_gid {
        mode & 0o040 != 0
    } else {
        mode & 0o004 != 0
    };
    if readable { Quotable::Yes } else { Quotable::NotReadableByCaller }
}

/// Refuses a state of more than `limit` bytes, saying which limit.
pub fn check_size(len: u64, limit: u64) -> Result<(), FileError> {
    if len > limit {
        return Err(error(
            "",
            format!(
                "the state is larger than max_state_bytes ({limit} bytes; set in config.toml); nothing was read further"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_file_parses() {
        let f = StateFile::parse("version: 1\nplugins:\n  net:\n    interfaces:\n      - name: ovsbr0\n        type: ovs-bridge\n        ports: [eth0]\n").unwrap();
        assert_eq!(f.sections["net"]["interfaces"][0]["ports"][0], "eth0");
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.yaml");
        std::fs::write(&p, "version: 1\n").unwrap();
        assert_eq!(read_text(&p, 11).unwrap().text, "version: 1\n");
        let e = read_text(&p, 10).unwrap_err();
        assert!(e.message.contains("larger than max_state_bytes (10 bytes"), "{e}");
        assert!(read_text(&dir.path().join("missing"), 10).unwrap_err().message.contains("cannot read"));
    }

    #[test]
    fn only_regular_files_are_read_and_a_fifo_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("s.yaml");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for p in [fifo.as_path(), dir.path(), std::path::Path::new("/dev/zero")] {
            let e = read_text(p, 4096).unwrap_err();
            assert!(e.message.contains("is not a regular file"), "{}: {e}", p.display());
        }
    }

    #[test]
    fn a_sudo_caller_sees_the_content_only_of_files_they_could_read() {
        let shadow = (0, 42, 0o640);
        assert_eq!(quotable_for(None, true, shadow), Quotable::Yes, "root itself, or no sudo: the kernel checked");
        let alice = Some((1000, 1000));
        assert_eq!(quotable_for(alice, false, shadow), Quotable::NotReadableByCaller);
        assert_eq!(quotable_for(Some((1000, 42)), false, shadow), Quotable::Yes, "in the file's group");
        assert_eq!(quotable_for(alice, false, (1000, 1000, 0o600)), Quotable::Yes, "their own");
        assert_eq!(quotable_for(alice, false, (0, 0, 0o644)), Quotable::Yes, "world-readable");
        assert_eq!(quotable_for(alice, true, (0, 0, 0o644)), Quotable::NotThroughSymlink);
    }

    #[test]
    fn errors_name_field_or_line() {
        let e = StateFile::parse("version: 1\nplugins:\n  net: [\n").unwrap_err();
        assert!(e.message.starts_with("line 3 column 8: "), "{e}");
        assert_eq!(StateFile::parse("plugins: {net: {}}").unwrap_err().field, "version");
        assert_eq!(StateFile::parse("version: 2\nplugins: {net: {}}").unwrap_err().field, "version");
        assert_eq!(StateFile::parse("version: 1\n").unwrap_err().field, "plugins");
        assert_eq!(StateFile::parse("version: 1\nplugins: {net: 3}").unwrap_err().field, "plugins.net");
        assert!(StateFile::parse("version: 1\nplugns: {}").unwrap_err().message.contains("plugns"));
        let bad_probe =
            StateFile::parse("version: 1\nplugins: {net: {}}\nprobe: {ping: [192.168.1.1, '-f']}").unwrap_err();
        assert_eq!(bad_probe.field, "probe.ping[1]");
        let probe = StateFile::parse("version: 1\nplugins: {net: {}}\nprobe: {ping: [192.168.1.1]}").unwrap();
        assert_eq!(probe.probe, ["192.168.1.1"]);
    }
}

/// Fuzzing the parser within a fixed budget (run by `cargo test`): random
/// text and random edits of the guide's file never panic, and every error
/// says where it is.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const GUIDE: &str = "version: 1\nplugins:\n  net:\n    interfaces:\n      - name: ovsbr0\n        type: ovs-bridge\n        ports: [eth0]\n        ipv4: {enabled: true, address: [{ip: 192.168.1.100, prefix: 24}], gateway: 192.168.1.1}\n      - {name: eth0, type: ethernet, controller: ovsbr0}\nprobe: {ping: [192.168.1.1]}\n";

    /// An edit: replace `len` bytes at `at` (both taken modulo the text) with `with`.
    fn edited(at: usize, len: usize, with: &str) -> String {
        let mut s = GUIDE.to_string();
        let mut start = at % s.len();
        while !s.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + len % 12).min(s.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.replace_range(start..end, with);
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn random_text_never_panics(text in "\\PC{0,300}") {
            let _ = StateFile::parse(&text);
        }

        #[test]
        fn edits_of_a_good_file_never_panic_and_errors_say_where(
            at in 0usize..400, len in 0usize..12, with in "[\\[\\]{}:,&*!|>\\-\"' \\n\\ta-z0-9]{0,8}"
        ) {
            let text = edited(at, len, &with);
            let t = std::time::Instant::now();
            if let Err(e) = StateFile::parse(&text) {
                prop_assert!(!e.field.is_empty() || e.message.starts_with("line ") || e.message.contains('`'), "{e}");
            }
            prop_assert!(t.elapsed() < std::time::Duration::from_secs(1));
            for path in ["plugins.net.interfaces[0].ipv4.address[0].prefix", "probe.ping[0]", "x[9].y"] {
                let _ = super::super::located::line_of(&text, path);
            }
        }
    }
}
