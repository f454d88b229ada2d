//! The Debian package: `scripts/package` builds it (lintian reports no
//! error or warning), and `tests/deb/throwaway-install` installs it into a
//! throwaway root (a copy-on-write overlay of this machine in private
//! namespaces), where both names run, the man pages and completions are
//! in place, postinst made the netdev group, the daemon answers ping on
//! that root's own system bus, removal keeps config and ledger, and purge
//! removes the config and says the ledger is kept.

use crate::support::text;
use std::process::Command;

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_package_builds_clean_installs_runs_and_removes_in_a_throwaway_root() {
    let out_dir = tempfile::tempdir().unwrap();
    let built = Command::new(repo("scripts/package"))
        .arg(out_dir.path())
        .env("PORTAGENT_BIN", env!("CARGO_BIN_EXE_portagent"))
        .output()
        .unwrap();
    let said = text(&built.stdout);
    assert!(built.status.success(), "{said}{}", text(&built.stderr));
    let deb = said.lines().last().unwrap().to_string();
    assert!(deb.ends_with(".deb"), "{said}");
    let lintian: Vec<&str> = said.lines().filter(|l| l.starts_with("E: ") || l.starts_with("W: ")).collect();
    assert!(lintian.is_empty(), "lintian: {lintian:#?}");

    let tried = Command::new(repo("tests/deb/throwaway-install")).arg(&deb).output().unwrap();
    let log = format!("{}{}", text(&tried.stdout), text(&tried.stderr));
    assert!(tried.status.success(), "{log}");
    let checks: Vec<&str> = log.lines().filter_map(|l| l.strip_prefix("CHECK ")).collect();
    let version = format!("portagent {}", env!("CARGO_PKG_VERSION"));
    for expected in [
        "installed install ok installed",
        &format!("version {version}"),
        &format!("portagent-name {version}"),
        "man apply-state",
        "file /usr/share/bash-completion/completions/portagent",
        "file /usr/share/zsh/vendor-completions/_ovs-port-agent",
        "file /usr/share/fish/vendor_completions.d/ovs-port-agent.fish",
        "file /lib/systemd/system/ovs-port-agent.service",
        "file /usr/share/dbus-1/system.d/dev.ovs.PortAgent1.conf",
        "file /usr/share/polkit-1/actions/dev.ovs.PortAgent1.policy",
        "file /usr/share/ovs-port-agent/wit/world.wit",
        "file /etc/ovs-port-agent/config.toml",
        "group netdev",
        "state-dir 700",
        "unit-exec ExecStart=/usr/bin/ovs-port-agent daemon",
        "ping s \"pong\"",
        "remove said ledger kept",
        "removed binary",
        "kept config",
        "kept ledger",
        "purged config",
        "purge kept ledger",
        "purge said ledger kept",
    ] {
        assert!(checks.iter().any(|c| c.starts_with(expected)), "missing {expected:?} in {checks:#?}\n{log}");
    }
    assert!(!std::path::Path::new("/usr/bin/ovs-port-agent").exists(), "nothing was installed on the machine");
}
