//! The managed block of Proxmox's interfaces file (`interfaces_path`):
//! between `# BEGIN <managed_block_tag>` and `# END <managed_block_tag>`,
//! the bridge and every port it has, in ifupdown2's OVS syntax, so that
//! Proxmox's GUI shows them. Not a byte outside the block is changed; a
//! malformed or duplicated block is reported, never overwritten.

use portagent_sdk::ports::LiveNet;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One port of the bridge, as the block lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Port {
    pub name: String,
    /// An OVS internal port (`OVSIntPort`), else a device (`OVSPort`).
    pub internal: bool,
    /// A guest's port (the agent's or `add_port`'s): its link exists only
    /// while the guest runs.
    pub dynamic: bool,
}

/// Why the block was not written.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The file's block markers are not one BEGIN followed by one END.
    #[error("{path}: line {line}: {why}; the managed block is left as it is (fix it by hand)")]
    Malformed { path: String, line: usize, why: String },
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
}

/// The block: its markers, the bridge and its ports (sorted by name).
pub fn render(tag: &str, bridge: &str, ports: &[Port]) -> String {
    let mut ports = ports.to_vec();
    ports.sort();
    // The bridge's own ports are brought up with it, as Proxmox writes
    // them; a guest's port is listed for the GUI but never `auto` nor in
    // `ovs_ports`, so `ifup -a`/`ifreload -a` at boot does not act on a
    // link that does not exist yet (the agent attaches it when it appears).
    let names: Vec<&str> = ports.iter().filter(|p| !p.dynamic).map(|p| p.name.as_str()).collect();
    let (begin, end) = markers(tag);
    let mut b = format!(
        "{begin}\n# Written by ovs-port-agent: OVS is configured by it, not by ifupdown; changes here are overwritten.\n"
    );
    b.push_str(&format!("auto {bridge}\niface {bridge} inet manual\n\tovs_type OVSBridge\n"));
    if !names.is_empty() {
        b.push_str(&format!("\tovs_ports {}\n", names.join(" ")));
    }
    for p in &ports {
        let kind = if p.internal { "OVSIntPort" } else { "OVSPort" };
        let auto = if p.dynamic {
            "# a guest's port, attached when the guest starts\n".to_string()
        } else {
            format!("auto {}\n", p.name)
        };
        b.push_str(&format!("\n{auto}iface {0} inet manual\n\tovs_type {kind}\n\tovs_bridge {bridge}\n", p.name));
    }
    b.push_str(&format!("{end}\n"));
    b
}

/// The block's first and last lines.
fn markers(tag: &str) -> (String, String) {
    (format!("# BEGIN {tag}"), format!("# END {tag}"))
}

/// Whether the file at `path` has a block of `tag` (a first line of one).
pub fn is_kept(path: &Path, tag: &str) -> bool {
    let (begin, _) = markers(tag);
    std::fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| l.trim_end() == begin))
}

/// `text` with its block replaced by `block` (or `block` appended when
/// there is none). Everything outside the block stays byte for byte.
pub fn splice(path: &str, text: &str, tag: &str, block: &str) -> Result<String, BlockError> {
    let malformed = |line: usize, why: String| BlockError::Malformed { path: path.into(), line, why };
    let (begin, end) = markers(tag);
    // (line number, byte offset of the line, byte offset after it)
    let mut begins = Vec::new();
    let mut ends = Vec::new();
    let mut at = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let marker = line.trim_end();
        if marker == begin {
            begins.push((i + 1, at, at + line.len()));
        } else if marker == end {
            ends.push((i + 1, at, at + line.len()));
        }
        at += line.len();
    }
    match (begins.as_slice(), ends.as_slice()) {
        ([], []) => {
            let mut out = text.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(block);
            Ok(out)
        }
        ([b], [e]) if b.0 < e.0 => Ok(format!("{}{block}{}", &text[..b.1], &text[e.2..])),
        ([b], [e]) => Err(malformed(e.0, format!("`{end}` comes before `{begin}` (line {})", b.0))),
        ([_, second, ..], _) => Err(malformed(second.0, format!("a second `{begin}`"))),
        (_, [_, second, ..]) => Err(malformed(second.0, format!("a second `{end}`"))),
        ([b], []) => Err(malformed(b.0, format!("`{begin}` without `{end}`"))),
        ([], [e]) => Err(malformed(e.0, format!("`{end}` without `{begin}`"))),
    }
}

/// A rewrite of the interfaces file, worked out and not yet made.
#[derive(Debug)]
pub struct Rewrite {
    pub path: PathBuf,
    /// The file as it is (`None`: there is none).
    pub before: Option<String>,
    pub after: String,
    mode: u32,
    owner: Option<(u32, u32)>,
}

/// The rewrite that makes the block of `path` list `bridge` and `ports`,
/// or None when it already does.
pub fn rewrite(path: &Path, tag: &str, bridge: &str, ports: &[Port]) -> Result<Option<Rewrite>, BlockError> {
    let shown = path.display().to_string();
    let io = |error| BlockError::Io { path: shown.clone(), error };
    let (text, meta) = match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|e| io(std::io::Error::other(e)))?;
            (Some(text), Some(std::fs::metadata(path).map_err(io)?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
        Err(e) => return Err(io(e)),
    };
    let old = text.as_deref().unwrap_or_default();
    let new = splice(&shown, old, tag, &render(tag, bridge, ports))?;
    if text.as_deref() == Some(new.as_str()) {
        return Ok(None);
    }
    use std::os::unix::fs::MetadataExt;
    let (mode, owner) = meta.map_or((0o644, None), |m| (m.mode() & 0o7777, Some((m.uid(), m.gid()))));
    Ok(Some(Rewrite { path: path.to_path_buf(), before: text, after: new, mode, owner }))
}

impl Rewrite {
    /// Makes it: atomically (a temp file in the same dir, fsynced,
    /// renamed), with the file's mode and owner (a new file: 0644).
    pub fn write(&self) -> Result<(), BlockError> {
        crate::util::fs::write_atomically_as(&self.path, self.after.as_bytes(), self.mode, self.owner)
            .map_err(|error| BlockError::Io { path: self.path.display().to_string(), error })
    }

    /// The file's sha256 before and after.
    pub fn hashes(&self) -> (String, String) {
        let sha = |t: &str| crate::util::hash::sha256_hex(t.as_bytes());
        (sha(self.before.as_deref().unwrap_or_default()), sha(&self.after))
    }

    /// What a checkpoint keeps of it, to undo it.
    pub fn saved(&self) -> Written {
        Written { path: self.path.clone(), before: self.before.clone(), after: self.after.clone() }
    }
}

/// Writes the block for `bridge` and `ports` into `path`, if it differs
/// (see [`Rewrite::write`]). Returns the file's sha256 before and after,
/// or None when it already said so.
pub fn update(path: &Path, tag: &str, bridge: &str, ports: &[Port]) -> Result<Option<(String, String)>, BlockError> {
    let Some(r) = rewrite(path, tag, bridge, ports)? else { return Ok(None) };
    r.write()?;
    Ok(Some(r.hashes()))
}

/// A rewrite an apply made, as its checkpoint keeps it: enough to put the
/// file back, and to tell whether anyone changed it since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub path: PathBuf,
    /// `None`: the apply created the file.
    pub before: Option<String>,
    pub after: String,
}

/// What undoing a [`Written`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Undone {
    /// The file was as the apply left it, and is as it was before again.
    PutBack,
    /// The file was as it was before already (the apply stopped before
    /// its write, or the undo ran twice).
    AsBefore,
    /// Someone changed the file since the apply wrote it: it is theirs
    /// now, and left as it is.
    ChangedSince,
}

impl Written {
    /// Puts the file back as it was before the apply, if it is still as
    /// the apply left it (compare-and-restore: never over a later edit).
    pub fn undo(&self) -> Result<Undone, BlockError> {
        let io = |error| BlockError::Io { path: self.path.display().to_string(), error };
        let now = match std::fs::read(&self.path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        let before = self.before.as_ref().map(|b| b.as_bytes());
        if now.as_deref() == before {
            return Ok(Undone::AsBefore);
        }
        if now.as_deref() != Some(self.after.as_bytes()) {
            return Ok(Undone::ChangedSince);
        }
        match &self.before {
            None => std::fs::remove_file(&self.path).map_err(io)?,
            Some(text) => {
                use std::os::unix::fs::MetadataExt;
                let m = std::fs::metadata(&self.path).map_err(io)?;
                crate::util::fs::write_atomically_as(
                    &self.path,
                    text.as_bytes(),
                    m.mode() & 0o7777,
                    Some((m.uid(), m.gid())),
                )
                .map_err(io)?
            }
        }
        Ok(Undone::PutBack)
    }
}

/// The ports of `bridge` in `net`'s live section, as the block lists them
/// (None when there is no such bridge).
pub fn ports_of(net: &LiveNet, bridge: &str) -> Option<Vec<Port>> {
    let internal = net.internal();
    Some(
        net.ports_of(bridge)?
            .iter()
            .map(|p| Port { name: p.name().to_string(), internal: internal.contains(p.name()), dynamic: p.dynamic() })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "ovs-port-agent";

    fn ports() -> Vec<Port> {
        vec![
            Port { name: "veth100i0".into(), internal: false, dynamic: true },
            Port { name: "eth0".into(), internal: false, dynamic: false },
        ]
    }

    #[test]
    fn the_block_is_ifupdown2s_ovs_syntax() {
        let b = render(TAG, "ovsbr0", &ports());
        assert!(b.starts_with("# BEGIN ovs-port-agent\n") && b.ends_with("# END ovs-port-agent\n"), "{b}");
        assert!(b.contains("auto ovsbr0\niface ovsbr0 inet manual\n\tovs_type OVSBridge\n\tovs_ports eth0\n"));
        assert!(b.contains("\nauto eth0\niface eth0 inet manual\n\tovs_type OVSPort\n\tovs_bridge ovsbr0\n"), "{b}");
        // A guest's port: shown, never brought up at boot.
        assert!(b.contains("\niface veth100i0 inet manual\n\tovs_type OVSPort\n\tovs_bridge ovsbr0\n"), "{b}");
        assert!(!b.contains("auto veth100i0"), "{b}");
    }

    #[test]
    fn only_the_block_changes() {
        let before = "# mine\nauto lo\niface lo inet loopback\n\n# BEGIN ovs-port-agent\nold\n# END ovs-port-agent\n\nauto  eth9   \n# tail without newline";
        let out = splice("f", before, TAG, "# BEGIN ovs-port-agent\nnew\n# END ovs-port-agent\n").unwrap();
        assert_eq!(
            out,
            "# mine\nauto lo\niface lo inet loopback\n\n# BEGIN ovs-port-agent\nnew\n# END ovs-port-agent\n\nauto  eth9   \n# tail without newline"
        );
        // None yet: appended after a blank line; an empty file holds only the block.
        assert_eq!(splice("f", "auto lo", TAG, "B\n").unwrap(), "auto lo\n\nB\n");
        assert_eq!(splice("f", "", TAG, "B\n").unwrap(), "B\n");
    }

    #[test]
    fn malformed_or_duplicated_blocks_are_refused_with_the_line() {
        let cases = [
            ("# BEGIN ovs-port-agent\nx\n", 1, "without"),
            ("x\n# END ovs-port-agent\n", 2, "without"),
            ("# END ovs-port-agent\n# BEGIN ovs-port-agent\n", 1, "comes before"),
            (
                "# BEGIN ovs-port-agent\n# END ovs-port-agent\n# BEGIN ovs-port-agent\n# END ovs-port-agent\n",
                3,
                "second",
            ),
        ];
        for (text, line, why) in cases {
            match splice("f", text, TAG, "B\n") {
                Err(BlockError::Malformed { line: l, why: w, .. }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(w.contains(why), "{w}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn update_keeps_mode_and_writes_only_on_change() {
        let dir = std::env::temp_dir().join(format!("portagent-block-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("interfaces");
        let _ = std::fs::remove_file(&path);
        assert!(update(&path, TAG, "ovsbr0", &ports()).unwrap().is_some(), "created");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(update(&path, TAG, "ovsbr0", &ports()).unwrap().is_none(), "no change, no write");
        assert!(update(&path, TAG, "ovsbr0", &ports()[..1]).unwrap().is_some());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "mode kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_undo_puts_back_only_what_the_apply_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("interfaces");
        let admins = "auto lo\n\n# BEGIN ovs-port-agent\nold\n# END ovs-port-agent\n";
        std::fs::write(&path, admins).unwrap();
        let r = rewrite(&path, TAG, "ovsbr0", &ports()).unwrap().unwrap();
        let w = r.saved();
        assert_eq!(w.undo().unwrap(), Undone::AsBefore, "not written yet: nothing to undo");
        r.write().unwrap();
        assert_eq!(w.undo().unwrap(), Undone::PutBack);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), admins, "byte for byte");
        assert_eq!(w.undo().unwrap(), Undone::AsBefore, "twice is once");
        // Edited after the apply: the admin's now, left as it is.
        r.write().unwrap();
        let edited = format!("{}auto eth9\n", r.after);
        std::fs::write(&path, &edited).unwrap();
        assert_eq!(w.undo().unwrap(), Undone::ChangedSince);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
        // A file the apply created goes again.
        std::fs::remove_file(&path).unwrap();
        let r = rewrite(&path, TAG, "ovsbr0", &ports()).unwrap().unwrap();
        assert_eq!(r.before, None);
        r.write().unwrap();
        assert_eq!(r.saved().undo().unwrap(), Undone::PutBack);
        assert!(!path.exists());
    }

    #[test]
    fn the_ports_come_from_nets_live_section() {
        let net = serde_json::json!({"interfaces": [
            {"name": "ovsbr0", "type": "ovs-bridge", "ports": ["eth0", "ovs1", {"name": "tap1i0", "dynamic": true}]},
            {"name": "ovs1", "type": "ovs-interface", "controller": "ovsbr0"},
            {"name": "other", "type": "ovs-bridge", "ports": ["x"]},
        ]});
        let net: LiveNet = serde_json::from_value(net).unwrap();
        let got = ports_of(&net, "ovsbr0").unwrap();
        assert_eq!(
            got,
            [
                Port { name: "eth0".into(), internal: false, dynamic: false },
                Port { name: "ovs1".into(), internal: true, dynamic: false },
                Port { name: "tap1i0".into(), internal: false, dynamic: true },
            ]
        );
        assert_eq!(ports_of(&net, "nope"), None);
    }
}
