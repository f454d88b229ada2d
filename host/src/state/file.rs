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
        let raw: Raw = serde_saphyr::from_str(text).map_err(|e| error("", super::located::parse_error(&e)))?;
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
pub fn read_text(path: &std::path::Path, limit: u64) -> Result<String, FileError> {
    use std::io::Read;
    let cannot = |e: std::io::Error| error("", format!("cannot read {}: {e}", path.display()));
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(cannot)?)
    };
    let mut bytes = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(cannot)?;
    check_size(bytes.len() as u64, limit)?;
    String::from_utf8(bytes)
        .map_err(|e| error("", format!("{} is not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to())))
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
        let e = read_text(std::path::Path::new("/dev/zero"), 4096).unwrap_err();
        assert!(e.message.contains("larger than max_state_bytes (4096 bytes"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.yaml");
        std::fs::write(&p, "version: 1\n").unwrap();
        assert_eq!(read_text(&p, 11).unwrap(), "version: 1\n");
        assert!(read_text(&p, 10).is_err());
        assert!(read_text(&dir.path().join("missing"), 10).unwrap_err().message.contains("cannot read"));
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
