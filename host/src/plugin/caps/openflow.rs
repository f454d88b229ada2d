//! `openflow`: dump and atomically replace a granted bridge's flow table
//! with `ovs-ofctl` (flows are not in OVSDB).

use super::{CapContext, Spec};
use super::{Capability, run_command, valid_ifname};
use crate::plugin::bindings::current::CapError;
use crate::plugin::bindings::current::portagent::plugin::openflow::{Host};
use std::io::Write;
use std::process::Command;

impl CapContext {
    fn ofctl(&self, bridge: &str) -> wasmtime::Result<Result<(Command, std::time::Duration), CapError>> {
        if let Err(e) = self.grants.require(&self.plugin, Capability::OPENFLOW, bridge) {
            return Ok(Err(e));
        }
        if !valid_ifname(bridge) {
            return Ok(Err(CapError::Failed(format!("{bridge:?} is not a bridge name"))));
        }
        let timeout = self.remaining(Capability::OPENFLOW)?;
        let mut cmd = Command::new("ovs-ofctl");
        cmd.env("OVS_RUNDIR", &self.backends.ovs_rundir);
        Ok(Ok((cmd, timeout)))
    }
}

impl Host for CapContext {
    async fn dump_flows(&mut self, bridge: String) -> wasmtime::Result<Result<Vec<String>, CapError>> {
        let (mut cmd, timeout) = match self.ofctl(&bridge)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        cmd.args(["--no-stats", "dump-flows", &bridge]);
        Ok(run_command(cmd, timeout)
            .await
            .map(|out| out.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()))
    }

    async fn replace_flows(&mut self, bridge: String, flows: Vec<String>) -> wasmtime::Result<Result<(), CapError>> {
        let (mut cmd, timeout) = match self.ofctl(&bridge)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(bad) = flows.iter().find(|f| f.contains('\n')) {
            return Ok(Err(CapError::Failed(format!("flow {bad:?} spans lines"))));
        }
        let mut file = match tempfile_in_tmp() {
            Ok(f) => f,
            Err(e) => return Ok(Err(CapError::Failed(format!("temporary flow file: {e}")))),
        };
        let written = flows.iter().try_for_each(|f| writeln!(file.1, "{f}")).and_then(|_| file.1.flush());
        if let Err(e) = written {
            return Ok(Err(CapError::Failed(format!("temporary flow file: {e}"))));
        }
        cmd.args(["--bundle", "replace-flows", &bridge]).arg(&file.0);
        let result = run_command(cmd, timeout).await.map(drop);
        let _ = std::fs::remove_file(&file.0);
        Ok(result)
    }
}

/// `openflow`: the flow tables of the bridges the scope names (or `*`).
pub const CAPABILITY: Capability = Capability("openflow");

pub static SPEC: Spec = Spec {
    capability: CAPABILITY,
    scope_item: |item| item == "*" || valid_ifname(item),
    scope_expected: || "`*` or bridge names (at most 15 bytes)".into(),
    empty_scope_grants: false,
};

/// A private file for `replace-flows`; removed by the caller.
fn tempfile_in_tmp() -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("portagent-flows-{}-{n}", std::process::id()));
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
    Ok((path, file))
}
