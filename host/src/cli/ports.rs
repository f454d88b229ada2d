//! `list-ports`, `add-port NAME`, `del-port NAME` (the ports of
//! `bridge_name`), `create-interface RAW CONTAINER VMID` and
//! `remove-interface NAME` (a guest's link named by `naming_template` and
//! attached, or taken off). Through the daemon when it runs, else
//! in-process.

use super::remote::Remote;
use super::{Failure, exit};
use crate::config::Config;
use crate::ports::{self, Created};
use crate::state::{ApplyReport, Caller, Manager, StateError};

fn failure(e: StateError) -> Failure {
    Failure { code: exit::of(e.kind()), error: e.into() }
}

/// The rolled-back exit code when an apply failed.
fn outcome(report: &ApplyReport) -> Result<(), Failure> {
    if report.success {
        return Ok(());
    }
    Err(Failure {
        code: exit::of(crate::state::ErrorKind::RolledBack),
        error: anyhow::anyhow!(report.errors.join("; ")),
    })
}

pub fn list(config: Config) -> Result<(), Failure> {
    let ports: Vec<String> = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("ListPorts", &())?,
        None => ports::list(&Manager::open(config).map_err(failure)?).map_err(failure)?,
    };
    for p in ports {
        println!("{p}");
    }
    Ok(())
}

/// `add-port` (`add`) or `del-port`.
pub fn change(config: Config, name: &str, add: bool) -> Result<(), Failure> {
    let report: ApplyReport = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call(if add { "AddPort" } else { "DelPort" }, &(name,))?,
        None => {
            let manager = Manager::open(config).map_err(failure)?;
            let report = ports::change(&manager, name, add, Caller::current()).map_err(failure)?;
            ports::mirror(&manager, Caller::current(), &report);
            report
        }
    };
    println!("{}", serde_json::to_string_pretty(&report).expect("serializable"));
    outcome(&report)
}

pub fn create(config: Config, raw: &str, container: &str, vmid: u32) -> Result<(), Failure> {
    let created: Created = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("CreateContainerInterface", &(raw, container, vmid))?,
        None => {
            let manager = Manager::open(config).map_err(failure)?;
            let created =
                ports::create_interface(&manager, raw, container, vmid, Caller::current()).map_err(failure)?;
            ports::mirror(&manager, Caller::current(), &created.report);
            created
        }
    };
    println!("{}", serde_json::to_string_pretty(&created).expect("serializable"));
    outcome(&created.report)
}

pub fn remove(config: Config, name: &str) -> Result<(), Failure> {
    let report: ApplyReport = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("RemoveContainerInterface", &(name,))?,
        None => {
            let manager = Manager::open(config).map_err(failure)?;
            let report = ports::remove_interface(&manager, name, Caller::current()).map_err(failure)?;
            ports::mirror(&manager, Caller::current(), &report);
            report
        }
    };
    println!("{}", serde_json::to_string_pretty(&report).expect("serializable"));
    outcome(&report)
}
