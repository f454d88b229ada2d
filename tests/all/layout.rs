//! The module layout of the host, the SDK and the plugins: no two files
//! import each other (in no circle at all), and the host's ledger does
//! not depend on its plugin host. Reads the sources as text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside the `portagent` library, e.g. `["plugin", "caps"]`.
type Module = Vec<String>;

/// The host's library sources.
fn host() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The crates checked: the host, the SDK, every plugin.
fn crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut out = vec![host(), root.join("sdk/src")];
    let mut plugins: Vec<PathBuf> =
        std::fs::read_dir(root.join("plugins")).unwrap().map(|e| e.unwrap().path().join("src")).collect();
    plugins.sort();
    out.extend(plugins.into_iter().filter(|p| p.is_dir()));
    out
}

/// Every library source file under `root` and the module it is.
fn modules(root: &Path) -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap();
        // `main.rs` and `bin/` are crates of their own that use the library.
        if rel == Path::new("main.rs") || rel.starts_with("bin") {
            continue;
        }
        let mut m: Module = rel.with_extension("").iter().map(|s| s.to_string_lossy().into_owned()).collect();
        if m.last().is_some_and(|l| l == "mod" || l == "lib") {
            m.pop();
        }
        out.insert(m, f);
    }
    out
}

/// The code of a file without comments and its unit-test module (a
/// `mod` under a `#[cfg(...test...)]`, which comes last).
fn code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| {
            let attr = w[0].trim();
            attr.starts_with("#[cfg(") && attr.contains("test") && w[1].trim_start().contains("mod ")
        })
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands one `use` tree (`a::{b, c::d}`) into its paths.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = format!("{prefix}{}", &tree[..open]);
        let inner = &tree[open + 1..tree.rfind('}').unwrap()];
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&head, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&head, &inner[start..], out);
    } else if !tree.is_empty() {
        out.push(format!("{prefix}{}", tree.split(" as ").next().unwrap().trim()));
    }
}

/// Every path a file names (in `use` items and inline), as written.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut statement: Option<String> = None;
    for line in code.lines() {
        let t = line.trim_start();
        let t = ["pub use ", "pub(crate) use ", "pub(super) use ", "use "]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .map_or_else(|| statement.as_ref().map(|_| t), Some);
        let Some(t) = t else { continue };
        let s = statement.get_or_insert_with(String::new);
        s.push_str(t);
        if let Some(end) = s.find(';') {
            expand("", &s[..end], &mut out);
            statement = None;
        }
    }
    // Inline paths: `crate::a::b` and `super::a` outside `use`.
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let i = from + i;
            from = i + start.len();
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':') {
                continue;
            }
            let end = code[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| i + e);
            out.push(code[i..end].trim_end_matches(':').to_string());
        }
    }
    out
}

/// The library module a path written in `from` refers to (the longest
/// prefix that is a file), if it is one of ours.
fn resolve(from: &Module, path: &str, known: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let mut segs = path.split("::").map(str::trim).filter(|s| !s.is_empty());
    let mut m: Module = match segs.next()? {
        "crate" => Vec::new(),
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        "self" => from.clone(),
        _ => return None,
    };
    for s in segs {
        if s == "super" {
            m.pop();
            continue;
        }
        m.push(s.to_string());
        if !known.contains_key(&m) {
            m.pop();
            break;
        }
    }
    Some(m)
}

/// Which modules of its crate each file under `root` uses.
fn imports(root: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let known = modules(root);
    let mut graph = BTreeMap::new();
    for (m, file) in &known {
        let text = std::fs::read_to_string(file).unwrap();
        let uses: BTreeSet<Module> =
            paths(&code(&text)).iter().filter_map(|p| resolve(m, p, &known)).filter(|target| target != m).collect();
        graph.insert(m.clone(), uses);
    }
    graph
}

fn name(m: &Module) -> String {
    if m.is_empty() { "crate".into() } else { m.join("::") }
}

#[test]
fn no_two_files_import_each_other() {
    assert!(imports(&host()).len() > 30, "the scan found the host's files");
    let mut circles = Vec::new();
    for root in crates() {
        let graph = imports(&root);
        circles.extend(two_file_circles(&graph).into_iter().map(|c| format!("{}: {c}", root.display())));
    }
    assert!(circles.is_empty(), "files that import each other: {circles:#?}");
}

fn two_file_circles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let mut circles = Vec::new();
    for (a, uses) in graph {
        for b in uses {
            // A module and its own submodules (`mod.rs` re-exporting a
            // child that uses its parent's items) are one unit.
            if a.starts_with(b) || b.starts_with(a) {
                continue;
            }
            if a < b && graph.get(b).is_some_and(|u| u.contains(a)) {
                circles.push(format!("{} <-> {}", name(a), name(b)));
            }
        }
    }
    circles
}

#[test]
fn the_ledger_does_not_depend_on_the_plugin_host() {
    let graph = imports(&host());
    let wrong: Vec<String> = graph
        .iter()
        .filter(|(m, _)| m.first().is_some_and(|s| s == "ledger"))
        .flat_map(|(m, uses)| {
            uses.iter()
                .filter(|u| u.first().is_some_and(|s| s == "plugin"))
                .map(move |u| format!("{} uses {}", name(m), name(u)))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_scanner_sees_use_trees_and_inline_paths() {
    let mut out = Vec::new();
    expand("", "super::{a, b::{C, D as E}}", &mut out);
    assert_eq!(out, ["super::a", "super::b::C", "super::b::D"]);
    let p = paths("use crate::x::{y, z};\nfn f() { crate::w::g(); let _ = super::v::V; }\n");
    assert!(p.contains(&"crate::x::y".to_string()) && p.contains(&"crate::w::g".to_string()), "{p:?}");
    assert!(p.contains(&"super::v::V".to_string()), "{p:?}");
    let c = code(
        "use crate::a::X; // crate::z\n#[cfg(all(test, unix))]\npub(crate) mod tests {\n    use crate::b::Y;\n}\n",
    );
    assert!(c.contains("crate::a") && !c.contains("crate::b") && !c.contains("crate::z"), "{c}");
    let graph = imports(&host());
    let caps = graph.get(&vec!["plugin".to_string(), "caps".to_string()]).unwrap();
    assert!(caps.contains(&vec!["plugin".to_string(), "bindings".to_string()]), "{caps:?}");
}

#[test]
fn no_circles_of_any_length() {
    let mut circles = Vec::new();
    for root in crates() {
        circles.extend(circles_in(&imports(&root)).into_iter().map(|c| format!("{}: {c}", root.display())));
    }
    assert!(circles.is_empty(), "{circles:#?}");
}

fn circles_in(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    // Edges between modules that are not one another's ancestors.
    let edges = |a: &Module| -> Vec<Module> {
        graph[a].iter().filter(|b| !a.starts_with(b) && !b.starts_with(a) && graph.contains_key(*b)).cloned().collect()
    };
    // A depth-first search that reports a path back to where it started.
    fn back_to(
        start: &Module,
        at: &Module,
        edges: &dyn Fn(&Module) -> Vec<Module>,
        path: &mut Vec<Module>,
        seen: &mut BTreeSet<Module>,
    ) -> bool {
        for next in edges(at) {
            if &next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if back_to(start, &next, edges, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut circles = Vec::new();
    for m in graph.keys() {
        let mut path = vec![m.clone()];
        if back_to(m, m, &edges, &mut path, &mut BTreeSet::new()) {
            circles.push(path.iter().map(name).collect::<Vec<_>>().join(" -> "));
        }
    }
    circles
}
