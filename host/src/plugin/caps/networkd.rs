//! `networkd`: reload and reconfigure through `networkctl` (which speaks
//! D-Bus to `org.freedesktop.network1`); link states from the state files
//! networkd keeps for `sd-network(3)`. The config dir itself is a WASI
//! preopen, set up in [`sandbox`](crate::plugin::sandbox).

use super::{Capability, run_command, valid_ifname};
use crate::plugin::bindings::CapError;
use crate::plugin::bindings::portagent::plugin::networkd::{Host, LinkState};
use crate::plugin::sandbox::HostState;
use std::path::Path;
use std::process::Command;

/// networkd's per-link state files (`sd_network_link_get_setup_state()`
/// reads them), named by interface index.
const NETIF_LINKS: &str = "/run/systemd/netif/links";
/// The kernel's interfaces, each with its `ifindex`.
const SYS_CLASS_NET: &str = "/sys/class/net";

impl HostState {
    fn networkctl(&mut self, args: &[&str]) -> wasmtime::Result<Result<(), CapError>> {
        if let Err(e) = self.caps.grants.require(&self.caps.plugin, Capability::Networkd, "write") {
            return Ok(Err(e));
        }
        let timeout = self.caps.remaining(Capability::Networkd)?;
        let mut cmd = Command::new("networkctl");
        cmd.args(args);
        Ok(run_command(cmd, timeout).map(drop))
    }
}

/// Parses `networkctl list --no-legend`: `IDX LINK TYPE OPERATIONAL SETUP`.
fn parse_list(out: &str) -> Vec<LinkState> {
    out.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() >= 5).then(|| LinkState {
                name: cols[1].into(),
                operational: cols[3].into(),
                setup: cols[4].into(),
            })
        })
        .collect()
}

/// The value of `KEY=` in a state file.
fn state_value<'a>(file: &'a str, key: &str) -> Option<&'a str> {
    file.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

/// Every kernel link with networkd's states from its state file (what
/// `networkctl list` shows, without a process and a D-Bus call per link,
/// so polling it while networkd works does not slow networkd down). A
/// link networkd has not written a file for yet is `pending`. None when
/// networkd keeps no state files here (not running).
fn read_state_files(links_dir: &Path, sys_net: &Path) -> Option<Vec<LinkState>> {
    if !links_dir.is_dir() {
        return None;
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(sys_net).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(index) = std::fs::read_to_string(entry.path().join("ifindex")) else { continue };
        let file = std::fs::read_to_string(links_dir.join(index.trim())).unwrap_or_default();
        out.push(LinkState {
            operational: state_value(&file, "OPER_STATE").unwrap_or("n/a").into(),
            setup: state_value(&file, "ADMIN_STATE").unwrap_or("pending").into(),
            name,
        });
    }
    Some(out)
}

impl Host for HostState {
    fn link_states(&mut self) -> wasmtime::Result<Result<Vec<LinkState>, CapError>> {
        if let Err(e) = self.caps.grants.require(&self.caps.plugin, Capability::Networkd, "read") {
            return Ok(Err(e));
        }
        if let Some(states) = read_state_files(Path::new(NETIF_LINKS), Path::new(SYS_CLASS_NET)) {
            return Ok(Ok(states));
        }
        let timeout = self.caps.remaining(Capability::Networkd)?;
        let mut cmd = Command::new("networkctl");
        cmd.args(["list", "--no-pager", "--no-legend"]);
        Ok(run_command(cmd, timeout).map(|out| parse_list(&out)))
    }

    fn reload(&mut self) -> wasmtime::Result<Result<(), CapError>> {
        self.networkctl(&["reload"])
    }

    fn reconfigure(&mut self, link: String) -> wasmtime::Result<Result<(), CapError>> {
        if !valid_ifname(&link) {
            return Ok(Err(CapError::Failed(format!("{link:?} is not an interface name"))));
        }
        self.networkctl(&["reconfigure", &link])
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    #[test]
    fn state_files_are_read_by_ifindex() {
        let dir = std::env::temp_dir().join(format!("portagent-netif-{}", std::process::id()));
        let (links, sys) = (dir.join("links"), dir.join("sys"));
        for (name, index) in [("ovsbr0", "7"), ("p1", "9")] {
            fs::create_dir_all(sys.join(name)).unwrap();
            fs::write(sys.join(name).join("ifindex"), format!("{index}\n")).unwrap();
        }
        fs::create_dir_all(&links).unwrap();
        fs::write(links.join("7"), "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\n").unwrap();
        let mut v = super::read_state_files(&links, &sys).unwrap();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        let got: Vec<(&str, &str, &str)> = v.iter().map(|l| (l.name.as_str(), l.operational.as_str(), l.setup.as_str())).collect();
        assert_eq!(got, [("ovsbr0", "routable", "configured"), ("p1", "n/a", "pending")]);
        assert!(super::read_state_files(&dir.join("missing"), &sys).is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn networkctl_list_is_parsed() {
        let out = "  1 lo         loopback carrier  unmanaged\n  5 ovsbr1     ether    routable configuring\n";
        let v = super::parse_list(out);
        assert_eq!(v.len(), 2);
        assert_eq!((v[1].name.as_str(), v[1].operational.as_str(), v[1].setup.as_str()), ("ovsbr1", "routable", "configuring"));
    }
}
