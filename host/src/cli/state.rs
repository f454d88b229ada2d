//! `apply-state`, `show-diff`, `query-state`: the deployment guide's
//! commands, over the state manager.

use super::{Failure, Output, exit};
use crate::config::Config;
use crate::state::lock::Wait;
use crate::state::{ApplyReport, Manager, StateError, StateFile};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct ApplyArgs {
    /// The state file (YAML).
    file: PathBuf,
    /// Fail at once (exit 4) if another apply is running, instead of waiting.
    #[arg(long)]
    no_wait: bool,
    /// Exit 5 when changes were made, 0 when there was nothing to do.
    #[arg(long)]
    detailed_exitcode: bool,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The state file (YAML).
    file: PathBuf,
}

#[derive(Args)]
pub struct QueryArgs {
    /// Only this plugin's section (e.g. `net`).
    #[arg(long)]
    plugin: Option<String>,
    /// `yaml` (default: a state file you can apply), or `json`.
    #[arg(long, value_enum, default_value_t = Output::Yaml)]
    output: Output,
}

fn failure(e: StateError) -> Failure {
    let code = match e {
        StateError::Invalid { .. } => exit::INVALID,
        StateError::Busy => exit::BUSY,
        _ => exit::FAILED,
    };
    Failure { code, error: e.into() }
}

fn read(path: &std::path::Path) -> Result<StateFile, Failure> {
    StateFile::read(path).map_err(|e| Failure::invalid(anyhow::anyhow!("{}: {e}", path.display())))
}

pub fn show_diff(config: Config, args: DiffArgs) -> Result<(), Failure> {
    let file = read(&args.file)?;
    let diffs = Manager::open(config).map_err(failure)?.show_diff(&file).map_err(failure)?;
    let mut out = std::io::stdout().lock();
    // One object per plugin (a JSON stream): the guide's shape for each.
    for d in diffs {
        serde_json::to_writer_pretty(&mut out, &d)?;
        writeln!(out)?;
    }
    Ok(())
}

pub fn query(config: Config, args: QueryArgs) -> Result<(), Failure> {
    let state = Manager::open(config).map_err(failure)?.query(args.plugin.as_deref()).map_err(failure)?;
    let file = serde_json::json!({"version": crate::state::file::VERSION, "plugins": state});
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, &file)?;
            writeln!(out)?;
        }
        Output::Yaml | Output::Text => out.write_all(serde_saphyr::to_string(&file)?.as_bytes())?,
    }
    Ok(())
}

fn print_text(out: &mut impl Write, r: &ApplyReport) -> std::io::Result<()> {
    if r.success && r.changes_applied.is_empty() {
        return writeln!(out, "nothing to do: the system already matches the state file");
    }
    for p in &r.plugins {
        let verified = if p.verified { "verified" } else { "not verified" };
        writeln!(out, "{}: {} action(s), changed [{}], {verified}", p.plugin, p.actions.len(), p.changes_applied.join(", "))?;
    }
    if r.success {
        writeln!(out, "applied; checkpoint {}", r.checkpoint.as_deref().unwrap_or("-"))
    } else {
        for e in &r.errors {
            writeln!(out, "error: {e}")?;
        }
        writeln!(out, "rolled back to checkpoint {}", r.checkpoint.as_deref().unwrap_or("-"))
    }
}

pub fn apply(config: Config, args: ApplyArgs) -> Result<(), Failure> {
    let file = read(&args.file)?;
    let wait = if args.no_wait { Wait::NoWait } else { Wait::Block };
    let caller = crate::state::Caller::current();
    let report = Manager::open(config).map_err(failure)?.apply(&file, wait, caller).map_err(failure)?;
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Output::Yaml => out.write_all(serde_saphyr::to_string(&report)?.as_bytes())?,
        Output::Text => print_text(&mut out, &report)?,
    }
    if !report.success {
        return Err(Failure { code: exit::ROLLED_BACK, error: anyhow::anyhow!("apply failed and was rolled back") });
    }
    if args.detailed_exitcode && report.changed() {
        return Err(Failure { code: exit::CHANGED, error: anyhow::anyhow!("changes were applied") });
    }
    Ok(())
}
