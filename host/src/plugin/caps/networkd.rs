//! `networkd`: reload and reconfigure through `networkctl` (which speaks
//! D-Bus to `org.freedesktop.network1`). The config dir itself is a WASI
//! preopen, set up in [`sandbox`](crate::plugin::sandbox).

use super::{Capability, run_command, valid_ifname};
use crate::plugin::bindings::CapError;
use crate::plugin::bindings::portagent::plugin::networkd::Host;
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

impl Host for HostState {
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
