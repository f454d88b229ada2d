//! Which names in the networkd dir are a plugin's. A name is the
//! plugin's when its file name (a leading `.` of a temporary file aside)
//! starts with a `prefix:` item of its `networkd` scope, or with its own
//! name and a separator (`-` or `.`), bare or after networkd's `NN-`
//! ordering digits (`probe.network`, `10-probe-x.network`; not
//! `10-probe2.network`, which would be plugin probe2's). Dirs are only
//! drop-in dirs (`NAME.network.d`, `.netdev.d`, `.link.d`) at the top, of
//! the plugin's own files (or of a built-in's `drop-ins:` item).

/// The scope item naming other files' drop-in dirs a plugin may add to
/// (built-ins only: netcfg's DNS and routes on net's links).
pub const DROP_INS_ITEM: &str = "drop-ins:";

/// The scope item that names a file prefix a plugin may write.
pub const PREFIX_ITEM: &str = "prefix:";

/// Drop-in dir suffixes networkd reads.
const DROP_IN_DIRS: [&str; 3] = [".network.d", ".netdev.d", ".link.d"];

/// Why a name is not the plugin's to make; `None` when it is.
pub fn refusal(plugin: &str, scope: &[String], path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let Some((file, dirs)) = parts.split_last() else {
        return Some(format!("{path:?} names no file"));
    };
    if parts.contains(&"..") {
        return Some(format!("{path:?} leaves its directory"));
    }
    if let Some(d) = dirs.iter().find(|d| !is_drop_in_dir(d)) {
        return Some(format!("{path:?}: files go at the top or in a drop-in dir, and {d:?} is not one"));
    }
    if dirs.len() > 1 {
        return Some(format!("{path:?}: drop-in dirs are not nested"));
    }
    if let Some(d) = dirs.first()
        && let Some(why) = dir_not_owned(plugin, scope, d)
    {
        return Some(why);
    }
    let name = file.strip_prefix('.').unwrap_or(file);
    if owns(plugin, scope, name) {
        return None;
    }
    Some(format!("{file:?} is not plugin '{plugin}''s to write: its files are named {}", prefixes(plugin, scope)))
}

/// Why a dir may not be made or removed there; `None` when it may.
pub fn dir_refusal(plugin: &str, scope: &[String], path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    match parts.as_slice() {
        [d] if is_drop_in_dir(d) => dir_not_owned(plugin, scope, d),
        _ => Some(format!(
            "{path:?}: the only dirs a plugin may make are drop-in dirs at the top ({})",
            DROP_IN_DIRS.map(|s| format!("NAME{s}")).join(", ")
        )),
    }
}

/// Why the drop-in dir `d` is not the plugin's to add to: a drop-in
/// changes whatever its file configures, so it goes only beside the
/// plugin's own files, or those of a `drop-ins:` item (built-ins only:
/// netcfg's DNS and routes in net's files).
fn dir_not_owned(plugin: &str, scope: &[String], d: &str) -> Option<String> {
    let granted = scope.iter().filter_map(|s| s.strip_prefix(DROP_INS_ITEM));
    if owns(plugin, scope, d) || granted.into_iter().any(|p| d.starts_with(p)) {
        return None;
    }
    Some(format!(
        "{d:?} holds drop-ins of a file that is not plugin '{plugin}''s: it adds drop-ins only to its own files ({})",
        prefixes(plugin, scope)
    ))
}

/// Whether `d` is a drop-in dir networkd reads (`NAME.network.d`, ...).
pub fn is_drop_in_dir(d: &str) -> bool {
    DROP_IN_DIRS.iter().any(|s| d.len() > s.len() && d.ends_with(s))
}

/// `name` without networkd's `NN-` ordering digits.
pub fn unnumbered(name: &str) -> &str {
    match name.split_once('-') {
        Some((digits, rest)) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => name,
    }
}

/// Whether `name` is the word `stem` and then a separator (`-` or `.`):
/// `acme-x.network` and `acme.network` are acme's, `acme2.network` and
/// `acmex` are not.
pub fn starts_with_word(name: &str, stem: &str) -> bool {
    name.strip_prefix(stem).is_some_and(|rest| rest.starts_with(['-', '.']))
}

pub fn owns(plugin: &str, scope: &[String], name: &str) -> bool {
    let declared = scope.iter().filter_map(|s| s.strip_prefix(PREFIX_ITEM));
    declared.into_iter().any(|p| name.starts_with(p)) || starts_with_word(unnumbered(name), plugin)
}

fn prefixes(plugin: &str, scope: &[String]) -> String {
    let mut v: Vec<String> =
        scope.iter().filter_map(|s| s.strip_prefix(PREFIX_ITEM)).map(|p| format!("{p}*")).collect();
    v.push(format!("{plugin}-*, {plugin}.*"));
    v.push(format!("NN-{plugin}-*, NN-{plugin}.*"));
    v.join(", ")
}

/// Whether `item` may stand in a `networkd` scope as a prefix.
pub fn valid_prefix_item(item: &str) -> bool {
    item.strip_prefix(PREFIX_ITEM).is_some_and(|p| {
        !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_plugin_writes_only_its_own_names() {
        let none = scope(&["read", "write"]);
        for ok in ["probe.network", "10-probe.network", ".10-probe.network.tmp", "10-probe-x.network.d/50-probe.conf"] {
            assert_eq!(refusal("probe", &none, ok), None, "{ok}");
        }
        for bad in [
            "10-portagent-br0.network",
            "evil",
            "a/b.network",
            "x.network.d/y.network.d/probe",
            "../probe",
            // A file of its own name in another's drop-in dir.
            "10-portagent-br0.network.d/probe.conf",
        ] {
            assert!(refusal("probe", &none, bad).is_some(), "{bad}");
        }
        // The name is a word: acme does not own acme2's files, nor p portagent's.
        for (plugin, theirs) in
            [("acme", "10-acme2-x.network"), ("p", "10-portagent-br0.network"), ("eth", "eth0.network")]
        {
            assert!(refusal(plugin, &none, theirs).is_some(), "{plugin} must not own {theirs}");
        }
        assert_eq!(refusal("acme", &none, "10-acme-x.network"), None);
        let net = scope(&["read", "write", "prefix:10-portagent-"]);
        assert_eq!(refusal("net", &net, "10-portagent-br0.network"), None);
        assert_eq!(refusal("net", &net, ".10-portagent-br0.network.tmp"), None);
        assert!(refusal("net", &net, "50-portagent-netcfg.conf").is_some());
        let netcfg = scope(&["write", "prefix:50-portagent-netcfg", "drop-ins:10-portagent-"]);
        assert_eq!(refusal("netcfg", &netcfg, "10-portagent-br0.network.d/50-portagent-netcfg.conf"), None);
        assert!(refusal("netcfg", &netcfg, "20-admin.network.d/50-portagent-netcfg.conf").is_some());
        assert!(refusal("netcfg", &netcfg, "10-portagent-br0.network").is_some());
        let why = refusal("probe", &none, "evil").unwrap();
        assert!(why.contains("probe-*") && why.contains("NN-probe.*"), "{why}");
    }

    #[test]
    fn only_drop_in_dirs_are_made() {
        let none = scope(&["write"]);
        assert_eq!(dir_refusal("x", &none, "10-x-br0.network.d"), None);
        assert_eq!(dir_refusal("x", &none, "./x.netdev.d/"), None);
        for bad in ["evil", ".network.d", "a.network.d/b.network.d", "../x.network.d", "10-portagent-br0.network.d"] {
            assert!(dir_refusal("x", &none, bad).is_some(), "{bad}");
        }
        let netcfg = scope(&["write", "drop-ins:10-portagent-"]);
        assert_eq!(dir_refusal("netcfg", &netcfg, "10-portagent-br0.network.d"), None);
    }

    #[test]
    fn prefix_items() {
        assert!(valid_prefix_item("prefix:10-portagent-"));
        for bad in ["prefix:", "prefix:a/b", "prefix:*", "prefix", "write"] {
            assert!(!valid_prefix_item(bad), "{bad}");
        }
    }
}
