//! Checks of what a state file names, shared by every plugin and by the
//! host (its capabilities and the daemon's `add_port` use the same rule).

/// The longest interface name the kernel takes (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

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

#[cfg(test)]
mod tests {
    use super::*;

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
