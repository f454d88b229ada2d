//! systemd-networkd through the `networkd` capability: link states, reload
//! and reconfigure; and the files a plugin keeps in networkd's config dir
//! (a WASI preopen at [`NETWORKD_DIR`]): whole `.network` files it owns
//! ([`ManagedFiles`]) and drop-ins it adds to files it does not
//! ([`DropIns`]). Every such file starts with the plugin's marker line, is
//! written atomically, and one without the marker is someone else's: never
//! written over, never removed.

pub use crate::bindings::portagent::plugin::networkd::LinkState;
use crate::{CapError, PluginError, host};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::host::NETWORKD_DIR;

/// The line after the marker that records what was declared (JSON).
pub const RECORD: &str = "# portagent: ";

/// networkd's config dir as this plugin sees it: the preopen in a
/// component, the fake host's dir in a native test.
pub fn dir() -> PathBuf {
    host::with(|h| h.networkd_dir())
}

/// Every link networkd knows, with its states (needs `read`).
pub fn link_states() -> Result<Vec<LinkState>, CapError> {
    host::with(|h| h.link_states())
}

/// Re-reads every config file (`networkctl reload`); networkd reconfigures
/// the links whose file was added, changed or removed (needs `write`).
pub fn reload() -> Result<(), CapError> {
    host::with(|h| h.networkd_reload())
}

/// Re-applies config to one link (`networkctl reconfigure LINK`).
pub fn reconfigure(link: &str) -> Result<(), CapError> {
    host::with(|h| h.networkd_reconfigure(link))
}

/// Sets a link's DNS servers and search domains at run time, without
/// reconfiguring it; they stand until networkd restarts or
/// [`revert_link_dns`] (needs `write`).
pub fn set_link_dns(link: &str, servers: &[String], domains: &[String]) -> Result<(), CapError> {
    host::with(|h| h.set_link_dns(link, servers, domains))
}

/// Drops a link's run-time DNS settings: its files decide again.
pub fn revert_link_dns(link: &str) -> Result<(), CapError> {
    host::with(|h| h.revert_link_dns(link))
}

fn io_failed(what: &Path, e: std::io::Error) -> PluginError {
    PluginError::Failed(format!("{}: {e}", what.display()))
}

/// What is said of a look-alike file a plugin refuses to touch.
pub fn foreign_message(path: &Path) -> String {
    format!(
        "{} exists and is not portagent's (it lacks the marker line); portagent never overwrites it: move it away, or rename it",
        path.display()
    )
}

/// Writes `content` to `path` through a temporary file and a rename: the
/// file is the old one or the new one, never half; true if it changed.
fn write_atomically(path: &Path, content: &str) -> Result<bool, PluginError> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(content) {
        return Ok(false);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, content).map_err(|e| io_failed(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_failed(path, e))?;
    Ok(true)
}

/// Whether the file at `path` is there without `marker` (someone else's).
fn foreign_at(path: &Path, marker: &str) -> bool {
    std::fs::read(path).is_ok_and(|c| !c.starts_with(marker.as_bytes()))
}

/// A file of a plugin's, read back: its text and the record of what was
/// declared (when it parses as `T`).
#[derive(Debug, Clone, PartialEq)]
pub struct Managed<T> {
    pub content: String,
    pub declared: Option<T>,
}

/// The `.network` files a plugin owns whole, one per name:
/// `<prefix><name><suffix>`, each starting with `marker` and a record.
#[derive(Debug, Clone, Copy)]
pub struct ManagedFiles {
    pub prefix: &'static str,
    pub suffix: &'static str,
    /// The first line of every file the plugin owns.
    pub marker: &'static str,
}

impl ManagedFiles {
    pub fn file_name(&self, name: &str) -> String {
        format!("{}{name}{}", self.prefix, self.suffix)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        dir().join(self.file_name(name))
    }

    /// The first lines of a file: the marker and the record of `declared`.
    pub fn header<T: Serialize>(&self, declared: &T) -> String {
        format!("{}\n{RECORD}{}\n", self.marker, serde_json::to_string(declared).expect("the record serializes"))
    }

    /// The file named like this plugin's for `name` if one is there
    /// without its marker: someone else's.
    pub fn foreign(&self, name: &str) -> Option<PathBuf> {
        let p = self.path(name);
        foreign_at(&p, self.marker).then_some(p)
    }

    /// Writes `content` as the file for `name` if it differs; true if
    /// written. A look-alike without the marker is refused, never written.
    pub fn write(&self, name: &str, content: &str) -> Result<bool, PluginError> {
        if let Some(p) = self.foreign(name) {
            return Err(PluginError::Failed(foreign_message(&p)));
        }
        self.write_raw(name, content)
    }

    /// Writes the file for `name` as given, whoever's it was (a restore
    /// puts back exactly what it saw).
    pub fn write_raw(&self, name: &str, content: &str) -> Result<bool, PluginError> {
        write_atomically(&self.path(name), content)
    }

    /// Removes this plugin's file for `name`; true if there was one. A
    /// look-alike without the marker is left alone.
    pub fn remove(&self, name: &str) -> Result<bool, PluginError> {
        if self.foreign(name).is_some() {
            return Ok(false);
        }
        match std::fs::remove_file(self.path(name)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_failed(&self.path(name), e)),
        }
    }

    /// Every file named like this plugin's, with or without the marker,
    /// by name, exactly as it is (what a checkpoint keeps).
    pub fn read_lookalikes(&self) -> Result<BTreeMap<String, String>, PluginError> {
        let mut out = BTreeMap::new();
        for (fname, entry) in entries()? {
            let Some(name) = fname.strip_prefix(self.prefix).and_then(|n| n.strip_suffix(self.suffix)) else {
                continue;
            };
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let content = std::fs::read_to_string(entry.path()).map_err(|e| io_failed(&entry.path(), e))?;
            out.insert(name.to_string(), content);
        }
        Ok(out)
    }

    /// This plugin's files, by name (look-alikes without the marker are
    /// someone else's and left out), with their records.
    pub fn read_all<T: DeserializeOwned>(&self) -> Result<BTreeMap<String, Managed<T>>, PluginError> {
        Ok(self
            .read_lookalikes()?
            .into_iter()
            .filter(|(_, content)| content.starts_with(self.marker))
            .map(|(name, content)| {
                let declared =
                    content.lines().find_map(|l| l.strip_prefix(RECORD)).and_then(|j| serde_json::from_str(j).ok());
                (name, Managed { content, declared })
            })
            .collect())
    }
}

/// A drop-in a plugin adds to `.network` files it does not own:
/// `<file>.network.d/<name>`, starting with `marker`. networkd reads it
/// with the file, at boot and at every reload; the file itself is never
/// edited, so two plugins never fight over one file.
#[derive(Debug, Clone, Copy)]
pub struct DropIns {
    /// The drop-in's file name, e.g. `50-portagent-netcfg.conf`.
    pub name: &'static str,
    pub marker: &'static str,
}

impl DropIns {
    /// The drop-in for the `.network` file `network_file` (a path as
    /// networkd reports it, or just the file's name).
    pub fn path_for(&self, network_file: &str) -> PathBuf {
        let file = Path::new(network_file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        dir().join(format!("{file}.d")).join(self.name)
    }

    /// Writes the drop-in for `network_file` if it differs; true if
    /// written. One there without the marker is refused.
    pub fn write(&self, network_file: &str, content: &str) -> Result<bool, PluginError> {
        let p = self.path_for(network_file);
        if foreign_at(&p, self.marker) {
            return Err(PluginError::Failed(foreign_message(&p)));
        }
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_failed(parent, e))?;
        }
        write_atomically(&p, content)
    }

    /// Writes the drop-in for `network_file` as given (a restore).
    pub fn write_raw(&self, network_file: &str, content: &str) -> Result<bool, PluginError> {
        let p = self.path_for(network_file);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_failed(parent, e))?;
        }
        write_atomically(&p, content)
    }

    /// Removes this plugin's drop-in for `network_file` (and its dir, once
    /// empty); true if there was one. One without the marker stays.
    pub fn remove(&self, network_file: &str) -> Result<bool, PluginError> {
        let p = self.path_for(network_file);
        if foreign_at(&p, self.marker) {
            return Ok(false);
        }
        match std::fs::remove_file(&p) {
            Ok(()) => {
                if let Some(parent) = p.parent() {
                    let _ = std::fs::remove_dir(parent); // only if empty
                }
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_failed(&p, e)),
        }
    }

    /// Every drop-in of this name, with or without the marker, by the
    /// `.network` file it belongs to (its name), exactly as it is.
    pub fn read_all(&self) -> Result<BTreeMap<String, String>, PluginError> {
        let mut out = BTreeMap::new();
        for (fname, entry) in entries()? {
            let Some(file) = fname.strip_suffix(".d") else { continue };
            let p = entry.path().join(self.name);
            match std::fs::read_to_string(&p) {
                Ok(content) => {
                    out.insert(file.to_string(), content);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_failed(&p, e)),
            }
        }
        Ok(out)
    }

    /// Whether `content` is this plugin's (starts with its marker).
    pub fn is_ours(&self, content: &str) -> bool {
        content.starts_with(self.marker)
    }
}

/// The entries of the networkd dir, with their names.
fn entries() -> Result<Vec<(String, std::fs::DirEntry)>, PluginError> {
    let d = dir();
    let entries = std::fs::read_dir(&d).map_err(|e| io_failed(&d, e))?;
    entries
        .map(|entry| {
            let entry = entry.map_err(|e| io_failed(&d, e))?;
            Ok((entry.file_name().to_string_lossy().into_owned(), entry))
        })
        .collect()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    const FILES: ManagedFiles = ManagedFiles { prefix: "10-x-", suffix: ".network", marker: "# Managed by x." };
    const DROPINS: DropIns = DropIns { name: "50-x.conf", marker: "# Managed by x." };

    #[test]
    fn managed_files_round_trip_and_look_alikes_are_left_alone() {
        crate::testing::run(crate::testing::Fake::new(), || {
            let content = format!("{}[Match]\nName=a\n", FILES.header(&serde_json::json!({"name": "a"})));
            assert!(FILES.write("a", &content).unwrap());
            assert!(!FILES.write("a", &content).unwrap(), "unchanged: not written again");
            let all: BTreeMap<String, Managed<serde_json::Value>> = FILES.read_all().unwrap();
            assert_eq!(all["a"].declared, Some(serde_json::json!({"name": "a"})));
            std::fs::write(FILES.path("b"), "[Match]\nName=b\n").unwrap();
            assert!(FILES.write("b", "x").unwrap_err().to_string().contains("not portagent's"));
            assert!(!FILES.remove("b").unwrap(), "someone else's stays");
            assert!(FILES.path("b").exists());
            assert_eq!(FILES.read_lookalikes().unwrap().len(), 2);
            assert_eq!(FILES.read_all::<serde_json::Value>().unwrap().len(), 1);
            assert!(FILES.remove("a").unwrap());
        });
    }

    #[test]
    fn drop_ins_sit_beside_files_they_do_not_own() {
        crate::testing::run(crate::testing::Fake::new(), || {
            let content = format!("{}\n[Route]\nDestination=10.0.0.0/8\n", DROPINS.marker);
            assert!(DROPINS.write("/etc/systemd/network/10-portagent-ovsbr0.network", &content).unwrap());
            assert!(dir().join("10-portagent-ovsbr0.network.d/50-x.conf").exists());
            assert_eq!(DROPINS.read_all().unwrap()["10-portagent-ovsbr0.network"], content);
            assert!(DROPINS.remove("10-portagent-ovsbr0.network").unwrap());
            assert!(!dir().join("10-portagent-ovsbr0.network.d").exists(), "the empty dir goes too");
        });
    }
}
