//! `create-interface RAW CONTAINER VMID` and `remove-interface NAME`: a
//! guest's link named by `naming_template` and attached to `bridge_name`,
//! or taken off it. Through the daemon when it runs, else in-process.

use super::remote::Remote;
use super::{Failure, exit};
use crate::config::Config;
use crate::daemon::ports::{self, Created};
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

pub fn create(config: Config, raw: &str, container: &str, vmid: u32) -> Result<(), Failure> {
    let created: Created = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("CreateContainerInterface", &(raw, container, vmid))?,
        None => {
            let manager = Manager::open(config).map_err(failure)?;
            ports::create_interface(&manager, raw, container, vmid, Caller::current()).map_err(failure)?
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
            ports::remove_interface(&manager, name, Caller::current()).map_err(failure)?
        }
    };
    println!("{}", serde_json::to_string_pretty(&report).expect("serializable"));
    outcome(&report)
}
