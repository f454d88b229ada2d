//! The managed block of Proxmox's interfaces file (`interfaces_path`):
//! between `# BEGIN <managed_block_tag>` and `# END <managed_block_tag>`,
//! the bridge and every port it has, in ifupdown2's OVS syntax, so that
//! Proxmox's GUI shows them. Not a byte outside the block is changed; a
//! malformed or duplicated block is reported, never overwritten.

use serde::Serialize;
use std::path::Path;

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

/// Writes the block for `bridge` and `ports` into `path`, if it differs:
/// atomically (a temp file in the same dir, fsynced, renamed), with the
/// file's mode and owner. A missing file is created holding only the
/// block (mode 0644). Returns the file's sha256 before and after, or None
/// when it already said so.
pub fn update(path: &Path, tag: &str, bridge: &str, ports: &[Port]) -> Result<Option<(String, String)>, BlockError> {
    let shown = path.display().to_string();
    let io = |error| BlockError::Io { path: shown.clone(), error };
    let (text, meta) = match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|e| io(std::io::Error::other(e)))?;
            (text, Some(std::fs::metadata(path).map_err(io)?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), None),
        Err(e) => return Err(io(e)),
    };
    let new = splice(&shown, &text, tag, &render(tag, bridge, ports))?;
    if new == text {
        return Ok(None);
    }
    use std::os::unix::fs::MetadataExt;
    let (mode, owner) = meta.map_or((0o644, None), |m| (m.mode() & 0o7777, Some((m.uid(), m.gid()))));
    crate::util::fs::write_atomically_as(path, new.as_bytes(), mode, owner).map_err(io)?;
    let sha = |t: &str| crate::util::hash::sha256_hex(t.as_bytes());
    Ok(Some((sha(&text), sha(&new))))
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
}
