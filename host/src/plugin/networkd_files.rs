//! What a plugin keeps in the networkd dir: its own files (by name, as
//! [`file_names`](super::file_names) decides), the links each could configure
//! (`[Match] Name=` of a `.network` file and its drop-ins, `[NetDev]
//! Name=` of a `.netdev`), checked against the `links:` items of its
//! grant, and how many files and bytes they take (its quota).
//!
//! networkd applies a `.network` file to every link its `[Match]` section
//! matches, and a file without `Name=` to every link (that is how a
//! plugin could take over the uplink with a file of its own name). With
//! `links:PATTERN` items a plugin's files must name their links, and every
//! name must be inside a pattern; without any, its files may configure no
//! link at all. `links:*` is every link (net and netcfg).

use super::file_names;
use std::io;
use std::path::Path;

/// The scope item naming the links a plugin's files may configure.
pub const LINKS_ITEM: &str = "links:";
pub use file_names::DROP_INS_ITEM;

/// A regular file in the dir whose name is the plugin's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnFile {
    /// Relative to the dir: `NAME` or `DIR.network.d/NAME`.
    pub path: String,
    pub len: u64,
}

/// The plugin's files: at the top, and in the drop-in dirs at the top.
/// Symlinks and other kinds are never anyone's (the guard makes none).
pub fn own_files(dir: &Path, plugin: &str, scope: &[String]) -> io::Result<Vec<OwnFile>> {
    let mut out = Vec::new();
    let mut add = |path: String, meta: std::fs::Metadata| {
        if meta.is_file() && file_names::refusal(plugin, scope, &path).is_none() {
            out.push(OwnFile { path, len: meta.len() });
        }
    };
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.path().symlink_metadata()?;
        if meta.is_dir() && file_names::is_drop_in_dir(&name) {
            for inner in std::fs::read_dir(entry.path())? {
                let inner = inner?;
                let meta = inner.path().symlink_metadata()?;
                add(format!("{name}/{}", inner.file_name().to_string_lossy()), meta);
            }
        } else {
            add(name, meta);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The `links:` patterns of a scope; `None` when it has `links:*`.
fn link_patterns(scope: &[String]) -> Option<Vec<&str>> {
    let patterns: Vec<&str> = scope.iter().filter_map(|s| s.strip_prefix(LINKS_ITEM)).collect();
    (!patterns.contains(&"*")).then_some(patterns)
}

/// Whether the scope's `links:` cover every link (nothing to check).
pub fn every_link(scope: &[String]) -> bool {
    link_patterns(scope).is_none()
}

/// Why the plugin's file `path` (relative to `dir`) could configure a
/// link outside its `links:` items; `None` when it cannot, or when
/// networkd does not read such a file.
pub fn links_refusal(dir: &Path, scope: &[String], path: &str) -> Option<String> {
    let patterns = link_patterns(scope)?;
    let scope_text =
        if patterns.is_empty() { "no links".to_string() } else { format!("links [{}]", patterns.join(", ")) };
    let read = |p: &str| std::fs::read_to_string(dir.join(p));
    let (names, what) = match path.split_once('/') {
        None if path.ends_with(".network") => match read(path) {
            Ok(text) => (match_names(&[&text]), "its [Match] Name="),
            Err(e) => return Some(format!("{path}: cannot be read: {e}")),
        },
        None if path.ends_with(".netdev") => match read(path) {
            Ok(text) => (netdev_names(&[&text]), "its [NetDev] Name="),
            Err(e) => return Some(format!("{path}: cannot be read: {e}")),
        },
        None if path.ends_with(".link") => {
            return Some(format!(
                "{path}: a .link file can rename and configure any device; it needs links:*, and its grant covers {scope_text}"
            ));
        }
        None => return None,
        Some((drop_in_dir, file)) => {
            if !file.ends_with(".conf") {
                return None;
            }
            let parent = drop_in_dir.strip_suffix(".d")?;
            if parent.ends_with(".link") {
                return Some(format!(
                    "{path}: a drop-in of a .link file needs links:*, and its grant covers {scope_text}"
                ));
            }
            let Ok(parent_text) = read(parent) else {
                return Some(format!(
                    "{path}: {parent} is not in the dir, so the links this drop-in configures cannot be checked"
                ));
            };
            // Every drop-in of that file, in networkd's order, after it.
            let mut texts = vec![parent_text];
            let mut drop_ins: Vec<String> = std::fs::read_dir(dir.join(drop_in_dir))
                .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            drop_ins.retain(|n| n.ends_with(".conf"));
            drop_ins.sort();
            for n in drop_ins {
                match read(&format!("{drop_in_dir}/{n}")) {
                    Ok(t) => texts.push(t),
                    Err(e) => return Some(format!("{drop_in_dir}/{n}: cannot be read: {e}")),
                }
            }
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            if parent.ends_with(".netdev") {
                (netdev_names(&texts), "its .netdev's [NetDev] Name=")
            } else {
                (match_names(&texts), "its .network's [Match] Name=")
            }
        }
    };
    let outside = |why: String| Some(format!("{path}: {why}, and its grant covers {scope_text}"));
    if names.is_empty() {
        return outside(format!("{what} is empty, so it matches every link"));
    }
    if let Some(n) = names.iter().find(|n| n.starts_with('!')) {
        return outside(format!("{what}{n} matches every other link"));
    }
    if let Some(n) = names.iter().find(|n| n.contains(['"', '\'', '%', '\\', '$'])) {
        return outside(format!("{what}{n} uses quoting or specifiers portagent does not check"));
    }
    match names.iter().find(|n| !covered(n, &patterns)) {
        Some(n) => outside(format!("{what}{n} names a link outside it")),
        None => None,
    }
}

/// Whether every name glob `entry` matches also matches one of
/// `patterns` (a name, or a prefix ending in `*`).
fn covered(entry: &str, patterns: &[&str]) -> bool {
    let literal = &entry[..entry.find(['*', '?', '[']).unwrap_or(entry.len())];
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => literal.starts_with(prefix),
        None => literal == entry && entry == *p,
    })
}

/// `(section, key, value)` of a unit-style file, as systemd reads it:
/// comments and blank lines skipped, a trailing `\` continues the line.
fn assignments(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with(['#', ';'])) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let whole = std::mem::take(&mut pending);
        let whole = whole.trim();
        if let Some(name) = whole.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((k, v)) = whole.split_once('=') {
            out.push((section.clone(), k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// The `Name=` list of `section` over `texts` in order (a file, then its
/// drop-ins): each assignment adds its words, an empty one clears it.
fn names_in(texts: &[&str], section: &str, replace: bool) -> Vec<String> {
    let mut names = Vec::new();
    for text in texts {
        for (s, k, v) in assignments(text) {
            if s == section && k == "Name" {
                if v.is_empty() || replace {
                    names.clear();
                }
                names.extend(v.split_whitespace().map(String::from));
            }
        }
    }
    names
}

fn match_names(texts: &[&str]) -> Vec<String> {
    names_in(texts, "Match", false)
}

/// A `.netdev` makes the one link `[NetDev] Name=` names (the last one
/// set wins).
fn netdev_names(texts: &[&str]) -> Vec<String> {
    names_in(texts, "NetDev", true)
}

/// Those of `paths` (the plugin's, relative to `dir`) that are there and
/// could configure a link outside its grant, and why.
pub fn written_outside_scope(dir: &Path, plugin: &str, scope: &[String], paths: &[String]) -> Vec<(String, String)> {
    if every_link(scope) {
        return vec![];
    }
    paths
        .iter()
        .filter(|p| file_names::refusal(plugin, scope, p).is_none() && dir.join(p).is_file())
        .filter_map(|p| links_refusal(dir, scope, p).map(|why| (p.clone(), why)))
        .collect()
}

/// Each of the plugin's files in `dir` that could configure a link
/// outside its grant, and why (none when the grant covers every link).
pub fn outside_scope(dir: &Path, plugin: &str, scope: &[String]) -> Result<Vec<(String, String)>, String> {
    if every_link(scope) {
        return Ok(vec![]);
    }
    let files =
        own_files(dir, plugin, scope).map_err(|e| format!("its files in {} cannot be listed: {e}", dir.display()))?;
    Ok(files.into_iter().filter_map(|f| links_refusal(dir, scope, &f.path).map(|why| (f.path, why))).collect())
}

/// Whether `item` is a valid `links:` item of a networkd scope.
pub fn valid_links_item(item: &str) -> bool {
    item.strip_prefix(LINKS_ITEM).is_some_and(|p| {
        let name = p.strip_suffix('*').unwrap_or(p);
        p == "*" || (!name.is_empty() && portagent_sdk::validate::is_ifname(name))
    })
}

/// Whether `item` is a valid `drop-ins:` item (a file-name prefix).
pub fn valid_drop_ins_item(item: &str) -> bool {
    item.strip_prefix(DROP_INS_ITEM).is_some_and(|p| {
        !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    })
}

/// How many files and bytes a plugin's files in the networkd dir may
/// take (`[plugins] networkd_max_files`, `networkd_max_mb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub files: u64,
    pub bytes: u64,
}

/// The plugin's use of the dir, counted once per call when first needed
/// and kept up to date by the guard: files it creates or removes, bytes it
/// writes (a rewrite counts again: the count errs on the side of the disk).
#[derive(Debug)]
pub struct Usage {
    dir: std::path::PathBuf,
    plugin: String,
    scope: Vec<String>,
    pub quota: Quota,
    counted: std::sync::Mutex<Option<(u64, u64)>>,
    /// The paths it opened for writing or renamed to since last taken.
    written: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Usage {
    pub fn new(dir: &Path, plugin: &str, scope: &[String], quota: Quota) -> Usage {
        Usage {
            dir: dir.to_path_buf(),
            plugin: plugin.into(),
            scope: scope.to_vec(),
            quota,
            counted: std::sync::Mutex::new(None),
            written: Default::default(),
        }
    }

    /// The plugin opened `path` for writing, or renamed a file to it.
    pub fn wrote(&self, path: &str) {
        self.written.lock().expect("usage lock").insert(path.trim_start_matches("./").to_string());
    }

    /// The paths it wrote since the last call to this.
    pub fn take_written(&self) -> Vec<String> {
        std::mem::take(&mut *self.written.lock().expect("usage lock")).into_iter().collect()
    }

    /// Forgets the count (a new call: others may have changed the dir).
    pub fn reset(&self) {
        *self.counted.lock().expect("usage lock") = None;
    }

    fn with<T>(&self, f: impl FnOnce(&mut (u64, u64)) -> T) -> Result<T, String> {
        let mut counted = self.counted.lock().expect("usage lock");
        if counted.is_none() {
            let files = own_files(&self.dir, &self.plugin, &self.scope)
                .map_err(|e| format!("its files in the networkd dir cannot be counted: {e}"))?;
            *counted = Some((files.len() as u64, files.iter().map(|f| f.len).sum()));
        }
        Ok(f(counted.as_mut().expect("just counted")))
    }

    /// Counts one more file, or says why it would be one too many.
    pub fn add_file(&self) -> Result<(), String> {
        let max = self.quota.files;
        self.with(|(files, _)| {
            if *files >= max {
                return Err(format!("its files in the networkd dir would be more than {max} (networkd_max_files)"));
            }
            *files += 1;
            Ok(())
        })?
    }

    /// One of its files is gone.
    pub fn removed_file(&self) {
        if let Some((files, _)) = self.counted.lock().expect("usage lock").as_mut() {
            *files = files.saturating_sub(1);
        }
    }

    /// Counts `n` more bytes, or says why they would be too many.
    pub fn add_bytes(&self, n: u64) -> Result<(), String> {
        let max = self.quota.bytes;
        self.with(|(_, bytes)| {
            if bytes.saturating_add(n) > max {
                return Err(format!(
                    "its files in the networkd dir would take more than {} MiB (networkd_max_mb)",
                    max >> 20
                ));
            }
            *bytes += n;
            Ok(())
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            if let Some((d, _)) = name.split_once('/') {
                std::fs::create_dir_all(dir.path().join(d)).unwrap();
            }
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_file_may_configure_only_the_links_its_grant_names() {
        let d = dir_with(&[
            ("10-hl-ok.network", "[Match]\nName=hl0 hl-*\n[Network]\nAddress=10.0.0.1/24\n"),
            ("10-hl-none.network", "[Network]\nAddress=10.67.0.1/24\n"),
            ("10-hl-uplink.network", "[Match]\nName=ovsbr0\n"),
            ("10-hl-wide.network", "[Match]\nName=hl*\n"),
            ("10-hl-not.network", "[Match]\nName=!hl0\n"),
            ("10-hl-reset.network", "[Match]\nName=hl0\nName=\nType=ether\n"),
            ("10-hl-cont.network", "[Match]\nName=hl0 \\\n  ovsbr0\n"),
            ("10-hl-quoted.network", "[Match]\nName=\"ovsbr0\"\n"),
            ("10-hl-dev.netdev", "[NetDev]\nName=hl-br\nKind=bridge\n"),
            ("10-hl-evil.netdev", "[NetDev]\nName=eth0\nKind=bridge\n"),
            ("10-hl.link", "[Match]\nOriginalName=*\n[Link]\nName=eth0\n"),
            ("hl-notes.txt", "[Match]\n"),
        ]);
        let hl = scope(&["write", "links:hl-*", "links:hl0"]);
        let ok = ["10-hl-ok.network", "10-hl-dev.netdev", "hl-notes.txt"];
        for p in ok {
            assert_eq!(links_refusal(d.path(), &hl, p), None, "{p}");
        }
        for (p, says) in [
            ("10-hl-none.network", "matches every link"),
            ("10-hl-uplink.network", "Name=ovsbr0 names a link outside it"),
            ("10-hl-wide.network", "Name=hl* names a link outside it"),
            ("10-hl-not.network", "matches every other link"),
            ("10-hl-reset.network", "matches every link"),
            ("10-hl-cont.network", "Name=ovsbr0"),
            ("10-hl-quoted.network", "quoting"),
            ("10-hl-evil.netdev", "[NetDev] Name=eth0"),
            ("10-hl.link", "needs links:*"),
        ] {
            let why = links_refusal(d.path(), &hl, p).unwrap_or_else(|| panic!("{p} must be refused"));
            assert!(why.contains(says) && why.contains("links [hl-*, hl0]"), "{p}: {why}");
        }
        // No links: items at all: no file may configure any link.
        let why = links_refusal(d.path(), &scope(&["write"]), "10-hl-ok.network").unwrap();
        assert!(why.contains("covers no links"), "{why}");
        // links:* is every link.
        let all = scope(&["write", "links:*"]);
        for p in ["10-hl-none.network", "10-hl.link", "10-hl-evil.netdev"] {
            assert_eq!(links_refusal(d.path(), &all, p), None, "{p}");
        }
    }

    #[test]
    fn a_drop_in_configures_the_links_of_its_file() {
        let d = dir_with(&[
            ("10-hl-a.network", "[Match]\nName=hl0\n"),
            ("10-hl-a.network.d/50-hl.conf", "[Network]\nDNS=9.9.9.9\n"),
            ("10-hl-b.network", "[Match]\nName=hl1\n"),
            ("10-hl-b.network.d/50-hl.conf", "[Match]\nName=ovsbr0\n"),
            ("10-hl-c.network", "[Match]\nName=hl2\n"),
            ("10-hl-c.network.d/50-hl.conf", "[Match]\nName=\n"),
            ("10-hl-lost.network.d/50-hl.conf", "[Network]\nDNS=9.9.9.9\n"),
        ]);
        let hl = scope(&["write", "links:hl*"]);
        assert_eq!(links_refusal(d.path(), &hl, "10-hl-a.network.d/50-hl.conf"), None);
        let why = links_refusal(d.path(), &hl, "10-hl-b.network.d/50-hl.conf").unwrap();
        assert!(why.contains("Name=ovsbr0"), "{why}");
        let why = links_refusal(d.path(), &hl, "10-hl-c.network.d/50-hl.conf").unwrap();
        assert!(why.contains("matches every link"), "{why}");
        let why = links_refusal(d.path(), &hl, "10-hl-lost.network.d/50-hl.conf").unwrap();
        assert!(why.contains("is not in the dir"), "{why}");
    }

    #[test]
    fn names_are_covered_by_prefix_or_exactly() {
        assert!(covered("hl0", &["hl0"]));
        assert!(covered("hl-x?", &["hl-*"]));
        assert!(covered("anything*", &["*"]));
        assert!(!covered("hl*", &["hl0"]));
        assert!(!covered("h*", &["hl*"]));
        assert!(!covered("hl0", &[]));
    }

    #[test]
    fn own_files_and_quota() {
        let d = dir_with(&[
            ("10-acme-a.network", "12345"),
            ("10-acme-a.network.d/50-acme.conf", "123"),
            ("10-acme2-a.network", "123456789"),
            ("10-portagent-br0.network", "1"),
        ]);
        let s = scope(&["write"]);
        let own = own_files(d.path(), "acme", &s).unwrap();
        let paths: Vec<&str> = own.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["10-acme-a.network", "10-acme-a.network.d/50-acme.conf"]);
        let usage = Usage::new(d.path(), "acme", &s, Quota { files: 3, bytes: 10 });
        assert_eq!(usage.add_file(), Ok(()));
        assert!(usage.add_file().unwrap_err().contains("more than 3"));
        usage.removed_file();
        assert_eq!(usage.add_file(), Ok(()));
        assert_eq!(usage.add_bytes(2), Ok(()));
        assert!(usage.add_bytes(1).is_err(), "8 + 2 + 1 > 10");
        usage.reset();
        assert_eq!(usage.add_bytes(2), Ok(()), "counted afresh: 8 + 2");
    }
}
