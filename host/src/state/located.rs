//! Where things are in a state file's YAML: a field path as plugins and
//! serde name it (`plugins.net.interfaces[1].ipv4.address[0].prefix`)
//! looked up to the line it was written on, and parse errors said in words
//! with their line and column (not the position in some JSON the plugin
//! was handed, nor a snippet's own column, nor Rust's debug formatting).

use serde::de::{Deserialize, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// At most this many YAML nodes in a state file (sequences, mappings and
/// scalars).
pub const MAX_NODES: usize = 250_000;
/// At most this deep.
pub const MAX_DEPTH: usize = 64;

/// How portagent reads YAML: its own limits, set here (not whatever the
/// library defaults to), a key given twice is an error.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_nodes = MAX_NODES;
    budget.max_depth = MAX_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::Error;
    options
}

/// Parses YAML `text` with portagent's [`options`].
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, options())
}

/// A YAML node with the location of each child.
#[derive(Debug)]
enum Node {
    Leaf,
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(String, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Node>>()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<serde_json::Value>()? {
                    let key = match key {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    entries.push((key, map.next_value::<Spanned<Node>>()?));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// One step of a field path: a key or an index.
#[derive(Debug, PartialEq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `a.b[1].c` -> [a, b, 1, c].
fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        while let Some((n, after)) = rest.split_once(']') {
            if let Ok(i) = n.parse() {
                out.push(Step::Index(i));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

/// The line of the deepest node of `path` that `yaml` has (the field
/// itself, or, for one that is missing, the nearest enclosing one).
pub fn line_of(yaml: &str, path: &str) -> Option<u32> {
    let root: Spanned<Node> = from_str(yaml).ok()?;
    let mut at = &root;
    let mut line = None;
    for step in steps(path) {
        let next = match (&at.value, step) {
            (Node::Map(entries), Step::Key(k)) => entries.iter().find(|(key, _)| key == k).map(|(_, v)| v),
            (Node::Seq(items), Step::Index(i)) => items.get(i),
            _ => None,
        };
        match next {
            Some(n) => {
                at = n;
                line = u32::try_from(n.referenced.line()).ok().filter(|l| *l > 0).or(line);
            }
            None => break,
        }
    }
    line
}

/// A budget breach (serde-saphyr's limits against alias bombs and
/// oversized input), named as serde-saphyr debug-prints it, in words.
fn budget_in_words(breach: &str) -> String {
    let kind = breach.split([' ', '{']).next().unwrap_or("");
    match kind {
        "Nodes" => format!("the file has more than {} YAML nodes (the limit)", thousands(MAX_NODES)),
        "Events" => "the file has more than 1,000,000 YAML events (the limit)".into(),
        "Depth" => format!("the file nests deeper than {MAX_DEPTH} levels (the limit)"),
        "Aliases" => "the file has more than 50,000 aliases (the limit)".into(),
        "Anchors" => "the file has more than 50,000 anchors (the limit)".into(),
        "AliasAnchorRatio" => "the file's aliases expand far beyond its anchors (an alias bomb)".into(),
        "Documents" => "the file has more than 1,024 YAML documents (the limit)".into(),
        "ScalarBytes" => "the file's values add up to more than 64 MiB (the limit)".into(),
        "CommentBytes" => "the file's comments add up to more than 64 MiB (the limit)".into(),
        "MergeKeys" => "the file has more than 10,000 merge keys (the limit)".into(),
        "InputBytes" => "the file is larger than 256 MiB (the limit)".into(),
        _ => format!("the file exceeds a YAML size limit ({breach})"),
    }
}

/// `250000` as `250,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The library's advice to its caller (which option to set, which
/// function to use), said as what is wrong with the file.
fn without_library_advice(what: &str) -> String {
    if let Some(rest) = what.strip_prefix("duplicate mapping key") {
        let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or("").trim_start_matches(": ");
        return if key.is_empty() {
            "a key is given twice in one mapping".into()
        } else {
            format!("{key} is given twice in one mapping")
        };
    }
    if what.starts_with("multiple YAML documents") || what.contains("multiple found") {
        return "the file holds more than one YAML document (a `---` line); a state file is one document".into();
    }
    portagent_sdk::validate::in_words(what)
}

/// A YAML parse error in words, with its line and column once.
pub fn parse_error(e: &serde_saphyr::Error) -> String {
    let at = e
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| format!("line {} column {}: ", l.line(), l.column()))
        .unwrap_or_default();
    let text = e.without_snippet().to_string();
    // The message, without the position it also appends.
    let what = match text.rfind(" at line ") {
        Some(i) if !at.is_empty() => &text[..i],
        _ => text.as_str(),
    };
    let what = match what.strip_prefix("budget breached: ") {
        Some(breach) => budget_in_words(breach),
        None => without_library_advice(what),
    };
    format!("{at}{what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "version: 1\nplugins:\n  net:\n    interfaces:\n      - name: ovsbr0\n        type: ovs-bridge\n        ipv4:\n          address:\n            - ip: 10.0.0.1\n              prefix: 33\n      - {name: eth0, type: ethernet, mtu: 20}\n";

    #[test]
    fn paths_are_found_to_their_line() {
        assert_eq!(
            steps("plugins.net.interfaces[1].ipv4.address[0].prefix"),
            [
                Step::Key("plugins"),
                Step::Key("net"),
                Step::Key("interfaces"),
                Step::Index(1),
                Step::Key("ipv4"),
                Step::Key("address"),
                Step::Index(0),
                Step::Key("prefix")
            ]
        );
        assert_eq!(line_of(FILE, "plugins.net.interfaces[0].ipv4.address[0].prefix"), Some(10));
        assert_eq!(line_of(FILE, "plugins.net.interfaces[1].mtu"), Some(11));
        assert_eq!(line_of(FILE, "plugins.net.interfaces[0].colour"), Some(5), "a missing field: its entry");
        assert_eq!(line_of(FILE, "plugins.net"), Some(4));
        assert_eq!(line_of("not: [yaml", "plugins"), None);
    }

    #[test]
    fn parse_errors_are_words_with_one_position() {
        let e = |text: &str| parse_error(&from_str::<serde_json::Value>(text).unwrap_err());
        let deep = e(&format!("version: 1\nplugins:\n  net:\n    x: {}\n", "[".repeat(100)));
        assert!(deep.starts_with("line 4 column ") && !deep.contains("-->"), "{deep}");
        let many = e(&format!("x: [{}]\n", "1,".repeat(300_000)));
        assert!(many.ends_with("the file has more than 250,000 YAML nodes (the limit)"), "{many}");
        let open = e("version: 1\nplugins:\n  net: [\n");
        assert_eq!(open, "line 3 column 8: unclosed bracket '['");
        let twice = e("version: 1\nplugins:\n  net: {}\n  net: {}\n");
        assert!(twice.starts_with("line 4 column ") && twice.ends_with("net is given twice in one mapping"), "{twice}");
        let two = e("version: 1\n---\nversion: 1\n");
        assert!(two.contains("more than one YAML document"), "{two}");
        for jargon in ["DuplicateKeyPolicy", "Options", "from_str"] {
            assert!(!twice.contains(jargon) && !two.contains(jargon), "{twice} / {two}");
        }
    }
}
