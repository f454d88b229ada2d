//! `networkd`: reload and reconfigure through `networkctl` (which speaks
//! D-Bus to `org.freedesktop.network1`). The config dir itself is a WASI
//! preopen, set up in [`sandbox`](crate::plugin::sandbox).

use super::{Capability, run_command, valid_ifname};
use crate::plugin::bindings::CapError;
use crate::plugin::bindings::portagent::plugin::networkd::{Host, LinkState};
use crate::plugin::sandbox::HostState;
use std::process::Command;

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

impl Host for HostState {
    fn link_states(&mut self) -> wasmtime::Result<Result<Vec<LinkState>, CapError>> {
        if let Err(e) = self.caps.grants.require(&self.caps.plugin, Capability::Networkd, "read") {
            return Ok(Err(e));
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
    #[test]
    fn networkctl_list_is_parsed() {
        let out = "  1 lo         loopback carrier  unmanaged\n  5 ovsbr1     ether    routable configuring\n";
        let v = super::parse_list(out);
        assert_eq!(v.len(), 2);
        assert_eq!((v[1].name.as_str(), v[1].operational.as_str(), v[1].setup.as_str()), ("ovsbr1", "routable", "configuring"));
    }
}
