//! Checks of what a state file says, shared by every plugin and by the
//! host (its capabilities and the daemon's `add_port` use the same
//! interface-name rule): interface names, and parsing a section with the
//! path of any bad field named.

/// The longest interface name the kernel takes (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// [`ifname`]'s rule as a JSON Schema (ECMA 262) pattern, for the
/// sections' schemas: the same bytes, the same length.
pub const IFNAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$";

/// Whether `name` is an interface name portagent will use, or why not.
///
/// One rule everywhere: 1 to 15 bytes of ASCII letters, digits, `_`, `.`
/// and `-`, starting with a letter or digit. That is narrower than the
/// kernel (which refuses only `/`, `:`, whitespace, `.` and `..`) on
/// purpose: systemd-networkd reads `[Match] Name=` as a list of glob
/// patterns (`*`, `?`, `[`, and a leading `!` that negates; whitespace
/// separates them), and OVS's and iproute2's tools read a leading `-` as
/// an option. A name that could be read as a pattern or an option could
/// match, or change, links it does not name.
pub fn ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an interface name cannot be empty".into());
    }
    if name.len() > IFNAME_MAX {
        return Err(format!("{name:?} is longer than {IFNAME_MAX} bytes (the kernel's limit)"));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(format!(
            "{name:?} has {bad:?}: interface names are letters, digits, '_', '.' and '-' (networkd reads '*?[!' as patterns)"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{name:?} must start with a letter or digit (a leading '-' or '.' reads as an option or a hidden file)"
        ));
    }
    Ok(())
}

/// [`ifname`] as a yes or no.
pub fn is_ifname(name: &str) -> bool {
    ifname(name).is_ok()
}

/// The longest hostname Linux takes (HOST_NAME_MAX).
pub const HOSTNAME_MAX: usize = 64;

/// Whether `name` is a hostname portagent will set, or why not: one or
/// more DNS labels (letters, digits and `-`, not at either end, 1 to 63
/// bytes) joined by `.`, at most 64 bytes in all. The host's `hostname`
/// capability and the plugins check the same rule.
pub fn hostname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a hostname cannot be empty".into());
    }
    if name.len() > HOSTNAME_MAX {
        return Err(format!("{name:?} is longer than {HOSTNAME_MAX} bytes (the kernel's limit)"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("{name:?} has an empty label (a leading, trailing or double '.')"));
        }
        if label.len() > 63 {
            return Err(format!("{name:?}: the label {label:?} is longer than 63 bytes"));
        }
        if let Some(bad) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(format!("{name:?} has {bad:?}: a DNS label is letters, digits and '-'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("{name:?}: the label {label:?} starts or ends with '-'"));
        }
    }
    Ok(())
}

/// What is wrong with a section: the path of the field (e.g.
/// `interfaces[1].ipv4.address[0].prefix`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid { field: field.into(), message: message.into() }
    }
}

/// Parses a section's JSON into `T`, naming the field of any error by its
/// path. The message leaves out serde_json's position (`at line 1 column
/// 24`): that is a place in the JSON the host handed over, not in the
/// user's file (the host says the file's line itself).
pub fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, Invalid> {
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        let message = e.into_inner().to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        Invalid { field, message: in_words(&message) }
    })
}

/// A serde message in the words of a YAML file: Rust's type names
/// (`expected u32`, `expected a sequence`, `invalid type: map`) become
/// what the file should hold.
pub fn in_words(message: &str) -> String {
    const TYPES: &[(&str, &str)] = &[
        ("u8", "a whole number from 0 to 255"),
        ("u16", "a whole number from 0 to 65535"),
        ("u32", "a whole number from 0 to 4294967295"),
        ("u64", "a whole number from 0 up"),
        ("usize", "a whole number from 0 up"),
        ("i8", "a whole number from -128 to 127"),
        ("i16", "a whole number from -32768 to 32767"),
        ("i32", "a whole number"),
        ("i64", "a whole number"),
        ("f32", "a number"),
        ("f64", "a number"),
        ("a sequence", "a list"),
        ("a map", "a mapping"),
        ("a boolean", "true or false"),
    ];
    let mut out = message.to_string();
    for (rust, yaml) in TYPES {
        for lead in ["expected ", "invalid type: "] {
            let from = format!("{lead}{rust}");
            // Whole words only: `u8` but not `u80`, `a map` but not `a mapping`.
            let mut at = 0;
            while let Some(i) = out[at..].find(&from).map(|i| i + at) {
                let end = i + from.len();
                if out[end..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    at = end;
                    continue;
                }
                out.replace_range(i..end, &format!("{lead}{yaml}"));
                at = i + lead.len() + yaml.len();
            }
        }
    }
    // `expected struct PortConfig`, `expected enum Kind`: a Rust type's name.
    for kind in ["struct ", "enum "] {
        let from = format!("expected {kind}");
        while let Some(i) = out.find(&from) {
            let name = i + from.len();
            let end = out[name..].find(|c: char| !c.is_alphanumeric() && c != '_').map_or(out.len(), |e| name + e);
            let what =
                if kind == "struct " { "expected a mapping" } else { "expected one of the names this field takes" };
            out.replace_range(i..end, what);
        }
    }
    out.replace("invalid type: map", "invalid type: a mapping")
        .replace("invalid type: sequence", "invalid type: a list")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_the_field_without_a_json_position() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            items: Vec<Item>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Item {
            n: u8,
        }
        let e = parse::<S>(r#"{"items": [{"n": 1}, {"n": 300}]}"#).unwrap_err();
        assert_eq!(e.field, "items[1].n");
        assert!(!e.message.contains("line 1"), "{}", e.message);
        assert_eq!(parse::<S>(r#"{"items": [{"x": 1}]}"#).unwrap_err().field, "items[0].x");
    }

    #[test]
    fn serde_types_are_said_in_yaml_words() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            n: u32,
            l: Vec<u8>,
            b: bool,
        }
        for (json, says) in [
            (r#"{"n": -1, "l": [], "b": true}"#, "expected a whole number from 0 to 4294967295"),
            (r#"{"n": "x", "l": [], "b": true}"#, "expected a whole number from 0 to 4294967295"),
            (r#"{"n": 1, "l": {}, "b": true}"#, "invalid type: a mapping, expected a list"),
            (r#"{"n": 1, "l": [300], "b": true}"#, "expected a whole number from 0 to 255"),
            (r#"{"n": 1, "l": [], "b": 1}"#, "expected true or false"),
        ] {
            let e = parse::<S>(json).unwrap_err();
            assert!(e.message.contains(says), "{json}: {}", e.message);
            for jargon in ["u32", "u8", "sequence", "boolean"] {
                assert!(!e.message.split(|c: char| !c.is_alphanumeric()).any(|w| w == jargon), "{json}: {}", e.message);
            }
        }
        assert_eq!(in_words("expected u80 or a mapping"), "expected u80 or a mapping");
        assert_eq!(
            in_words("invalid type: string \"x\", expected struct PortConfig"),
            "invalid type: string \"x\", expected a mapping"
        );
    }

    #[test]
    fn hostnames_are_dns_labels_of_at_most_64_bytes() {
        for ok in ["netmaker-server", "a", "host1.example.com", "0x", &"a".repeat(63)] {
            hostname(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let long = format!("{}.{}", "a".repeat(32), "b".repeat(32));
        for bad in ["", "-a", "a-", "a..b", ".a", "a.", "a_b", "a b", "höst", &"a".repeat(64), &long] {
            assert!(hostname(bad).is_err(), "{bad:?}");
        }
        assert!(hostname(&"a".repeat(65)).unwrap_err().contains("64 bytes"));
    }

    #[test]
    fn names_that_could_be_patterns_or_options_are_refused() {
        for ok in [
            "eth0",
            "ovsbr0",
            "veth-123-eth0",
            "vlan10",
            "bond0.100",
            "tap100i0",
            "fwpr100p0",
            "br_int",
            "abcdefghijklmno",
            "0x",
        ] {
            ifname(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "!lo",
            "eth*",
            "eth?",
            "br[0]",
            "a b",
            "a\tb",
            "a/b",
            "a:b",
            "..",
            ".",
            "-br",
            ".hidden",
            "abcdefghijklmnop",
            "ä0",
            "x\u{0}",
        ] {
            assert!(ifname(bad).is_err(), "{bad:?}");
        }
        assert!(ifname("!lo").unwrap_err().contains("patterns"), "says why");
    }
}
