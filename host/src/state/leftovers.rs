//! What a crash or a refusal leaves behind in the dirs portagent writes,
//! swept at the next start once its writer is gone: the temporary files of
//! atomic writes (`journal.tmp.PID`, `.10-portagent-x.network.tmp`),
//! a plugin install staged or set aside (`plugins/.NAME.new.PID`,
//! `.NAME.old.PID`; an old one whose swap never finished is put back).

use std::path::Path;

/// Whether process `pid` runs (a zombie does not).
pub(super) fn pid_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !matches!(stat.rsplit_once(')').and_then(|(_, r)| r.trim_start().bytes().next()), Some(b'Z' | b'X'))
    })
}

/// The process id a leftover's name ends with (`….tmp.PID`, `….new.PID`).
fn writer(name: &str, marker: &str) -> Option<u32> {
    name.rsplit_once(marker).and_then(|(_, pid)| pid.parse().ok())
}

/// Sweeps `state_dir` and its plugin dir (writers identified by pid), and,
/// when `networkd_dir` is given (the caller holds the apply lock, so no
/// plugin is writing there), its temporary files and those of its
/// drop-in dirs. Each removal is logged; one that fails is only logged.
pub fn sweep(state_dir: &Path, plugin_dir: &Path, networkd_dir: Option<&Path>) {
    let gone = |pid: Option<u32>| pid.is_some_and(|p| !pid_alive(p));
    for entry in read(state_dir) {
        if entry.contains(".tmp.") && gone(writer(&entry, ".tmp.")) {
            remove(&state_dir.join(&entry));
        }
    }
    for entry in read(plugin_dir) {
        let Some(rest) = entry.strip_prefix('.') else { continue };
        if rest.contains(".new.") && gone(writer(rest, ".new.")) {
            remove(&plugin_dir.join(&entry));
        } else if let Some((name, _)) = rest.split_once(".old.").filter(|_| gone(writer(rest, ".old."))) {
            let target = plugin_dir.join(name);
            if target.exists() {
                remove(&plugin_dir.join(&entry));
            } else {
                // The swap stopped half-way: the old install is the one.
                match std::fs::rename(plugin_dir.join(&entry), &target) {
                    Ok(()) => log::warn!("{}: put back (an upgrade was interrupted)", target.display()),
                    Err(e) => log::warn!("{}: {e}", target.display()),
                }
            }
        }
    }
    let Some(networkd) = networkd_dir else { return };
    let mut dirs = vec![networkd.to_path_buf()];
    dirs.extend(read(networkd).into_iter().filter(|e| e.ends_with(".network.d")).map(|e| networkd.join(e)));
    for dir in dirs {
        for entry in read(&dir).into_iter().filter(|e| e.starts_with('.') && e.ends_with(".tmp")) {
            remove(&dir.join(entry));
        }
    }
}

fn read(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).into_iter().flatten().flatten().filter_map(|e| e.file_name().into_string().ok()).collect()
}

fn remove(path: &Path) {
    let removed = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match removed {
        Ok(()) => log::info!("{}: removed (left behind by a process that is gone)", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log::warn!("{}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_dead_writers_go_and_an_interrupted_swap_is_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let (state, plugins, networkd) = (dir.path().join("s"), dir.path().join("s/plugins"), dir.path().join("n"));
        for d in [&plugins, &networkd, &networkd.join("10-portagent-br0.network.d")] {
            std::fs::create_dir_all(d).unwrap();
        }
        let dead = 999_999_999u32;
        let me = std::process::id();
        for f in [format!("journal.tmp.{dead}"), format!("journal.tmp.{me}"), "journal.json".into()] {
            std::fs::write(state.join(f), "x").unwrap();
        }
        std::fs::create_dir(plugins.join(format!(".acme.new.{dead}"))).unwrap();
        std::fs::create_dir(plugins.join(format!(".acme.old.{dead}"))).unwrap();
        std::fs::write(plugins.join(format!(".acme.old.{dead}/plugin.json")), "{}").unwrap();
        std::fs::create_dir(plugins.join("kept")).unwrap();
        std::fs::create_dir(plugins.join(format!(".kept.old.{dead}"))).unwrap();
        std::fs::write(networkd.join(".10-portagent-x.network.tmp"), "x").unwrap();
        std::fs::write(networkd.join("10-portagent-x.network"), "x").unwrap();
        std::fs::write(networkd.join("10-portagent-br0.network.d/.50-portagent-netcfg.conf.tmp"), "x").unwrap();

        sweep(&state, &plugins, None);
        let mut left = read(&state);
        left.sort();
        assert_eq!(left, ["journal.json", format!("journal.tmp.{me}").as_str(), "plugins"], "a live writer's stays");
        let mut left = read(&plugins);
        left.sort();
        assert_eq!(left, ["acme", "kept"], "the interrupted upgrade's old install is back");
        assert!(plugins.join("acme/plugin.json").exists());
        assert_eq!(read(&networkd).len(), 3, "networkd's dir only under the apply lock");

        sweep(&state, &plugins, Some(&networkd));
        let mut left = read(&networkd);
        left.sort();
        assert_eq!(left, ["10-portagent-br0.network.d", "10-portagent-x.network"]);
        assert!(read(&networkd.join("10-portagent-br0.network.d")).is_empty());
    }
}
