//! `apply-state`, `show-diff`, `query-state`, `commit`, `rollback`: the
//! deployment guide's commands, over the state manager.

use super::remote::Remote;
use super::{Failure, Output, exit};
use crate::config::Config;
use crate::state::file::Quotable;
use crate::state::lock::Wait;
use crate::state::{ApplyOptions, ApplyReport, Caller, Manager, PluginDiff, Settled, StateError, StateFile};
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// Keep the change only if `portagent commit` follows within SECONDS;
    /// otherwise it is rolled back by itself (like `netplan try`).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    confirm_timeout: Option<u64>,
    /// A host that must answer a ping after the apply, else it is rolled
    /// back (repeatable; adds to the file's `probe: {ping: [...]}`).
    #[arg(long, value_name = "HOST")]
    probe: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The state file (YAML).
    file: PathBuf,
    /// `json` (default: the guide's shape, one object per plugin), `yaml`,
    /// or `text` (a plan to read, like `terraform plan`: each resource
    /// created, changed or deleted with its settings, then a count;
    /// coloured on a terminal unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = Output::Json)]
    output: Output,
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

#[derive(Args)]
pub struct SettleArgs {
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Args)]
pub struct RecoverArgs {
    /// Settle it by hand: record it as abandoned instead of restoring.
    #[arg(long, requires = "reason")]
    abandon: bool,
    /// Why it is abandoned (kept in the ledger entry).
    #[arg(long)]
    reason: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

fn failure(e: StateError) -> Failure {
    Failure { code: exit::of(e.kind()), error: e.into() }
}

/// The file's text (`-`: stdin), at most `max_state_bytes` of it, checked:
/// errors name the file and the field or line.
fn read(path: &Path, config: &Config) -> Result<(String, StateFile, Quotable), Failure> {
    let error = |e: &dyn std::fmt::Display| Failure::invalid(anyhow::anyhow!("{}: {e}", path.display()));
    let source = crate::state::file::read_text(path, config.max_state_bytes).map_err(|e| error(&e))?;
    let file = StateFile::parse(&source.text).map_err(|e| withheld(path, source.quotable, error(&e)))?;
    Ok((source.text, file, source.quotable))
}

/// `failure` as it may be told about the file at `path`: an error about
/// its content (exit 2) keeps only the line it names when the caller may
/// not read the file (see [`Quotable`]).
fn withheld(path: &Path, quotable: Quotable, failure: Failure) -> Failure {
    let why = match quotable {
        Quotable::Yes => return failure,
        _ if failure.code != exit::INVALID => return failure,
        Quotable::NotThroughSymlink => "it was named through a symlink; name the file itself",
        Quotable::NotReadableByCaller => "the user sudo runs this for cannot read it",
    };
    let message = failure.error.to_string();
    let line = message
        .split("line ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .filter(|n| !n.is_empty())
        .map(|n| format!(" at line {n}"))
        .unwrap_or_default();
    Failure::invalid(anyhow::anyhow!(
        "{}: not a valid state file{line}; what it says is not shown, because {why}",
        path.display()
    ))
}

/// Opens the manager and settles what an interrupted earlier run left.
fn open(config: Config) -> Result<Manager, Failure> {
    let manager = Manager::open(config).map_err(failure)?;
    if let Some(s) = manager.recover(Caller::current()).map_err(failure)? {
        eprintln!("{}", describe_settled(&s));
        if s.unfinished() {
            return Err(settled_failure(&s));
        }
    }
    Ok(manager)
}

/// The error (and exit code) of a settling that needs attention.
fn settled_failure(s: &Settled) -> Failure {
    match &s.unrecorded {
        _ if s.result == "rollback_failed" => Failure {
            code: exit::ROLLBACK_FAILED,
            error: if s.gave_up {
                anyhow::anyhow!(
                    "change {} could not be rolled back and is no longer retried by itself: `portagent recover` \
                     tries again, `portagent recover --abandon --reason TEXT` settles it by hand",
                    s.checkpoint
                )
            } else {
                anyhow::anyhow!(
                    "change {} could not be rolled back; its checkpoints are kept and the restore is retried",
                    s.checkpoint
                )
            },
        },
        Some(why) => Failure {
            code: exit::FAILED,
            error: anyhow::anyhow!(
                "NOT RECORDED: the outcome of change {} is kept in the journal until the ledger can be written: {why}",
                s.checkpoint
            ),
        },
        None => Failure::from(anyhow::anyhow!("change {} is unfinished", s.checkpoint)),
    }
}

fn describe_settled(s: &Settled) -> String {
    let what = match s.result.as_str() {
        "committed" => "kept",
        "rolled_back" => "rolled back",
        "abandoned" => "abandoned (settled by hand, the system left as it is)",
        _ => "ROLLBACK FAILED for",
    };
    let mut line = format!("{what} change {} ({}; plugins: {})", s.checkpoint, s.reason, s.plugins.join(", "));
    for e in &s.errors {
        line.push_str(&format!("\nerror: {e}"));
    }
    if let Some(why) = &s.unrecorded {
        line.push_str(&format!("\nNOT RECORDED in the ledger yet (kept in the journal): {why}"));
    }
    line
}

fn write_value(out: &mut impl Write, output: Output, value: &impl serde::Serialize) -> Result<(), Failure> {
    match output {
        Output::Yaml => out.write_all(serde_saphyr::to_string(value)?.as_bytes())?,
        _ => {
            serde_json::to_writer_pretty(&mut *out, value)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// What applying the file would change: JSON (one object per plugin),
/// YAML, or a plan to read (`cli/plan.rs`).
pub fn show_diff(config: Config, args: DiffArgs) -> Result<(), Failure> {
    let (text, file, quotable) = read(&args.file, &config)?;
    let diffs: Vec<PluginDiff> = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("ShowDiff", &(text,)),
        None => open(config)?.show_diff(&file).map_err(failure),
    }
    .map_err(|f| withheld(&args.file, quotable, f))?;
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Text => {
            let colour = out.is_terminal() && std::env::var_os("NO_COLOR").is_none();
            super::plan::write(&mut out, &diffs, colour)?
        }
        Output::Yaml => write_value(&mut out, Output::Yaml, &diffs)?,
        // One object per plugin (a JSON stream): the guide's shape for each.
        Output::Json => {
            for d in diffs {
                write_value(&mut out, Output::Json, &d)?;
            }
        }
    }
    Ok(())
}

/// The live state as a state file; with every plugin asked, one that
/// cannot be read is named (exit 1) and the others printed all the same.
pub fn query(config: Config, args: QueryArgs) -> Result<(), Failure> {
    let queried: crate::state::Queried = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("QueryState", &(args.plugin.unwrap_or_default(),))?,
        None => open(config)?.query(args.plugin.as_deref()).map_err(failure)?,
    };
    let output = if args.output == Output::Json { Output::Json } else { Output::Yaml };
    let file = serde_json::json!({"version": crate::state::file::VERSION, "plugins": queried.plugins});
    write_value(&mut std::io::stdout().lock(), output, &file)?;
    if queried.errors.is_empty() {
        return Ok(());
    }
    for (plugin, e) in &queried.errors {
        eprintln!("error: plugin {plugin}: {e}");
    }
    let names: Vec<&str> = queried.errors.keys().map(String::as_str).collect();
    Err(Failure::from(anyhow::anyhow!("could not read the state of: {}", names.join(", "))))
}

/// Prints the state file's JSON Schema (or one section's). Read-only:
/// it loads the plugins and asks each for its schema, nothing else.
/// A plugin whose schema cannot be had is left out and named (exit 1),
/// the others printed all the same.
pub fn schema(config: Config, plugin: Option<&str>) -> Result<(), Failure> {
    let (schema, failed) = Manager::open(config).and_then(|m| m.schema(plugin)).map_err(failure)?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &schema)?;
    writeln!(out)?;
    if failed.is_empty() {
        return Ok(());
    }
    for (name, e) in &failed {
        eprintln!("error: plugin {name}: {e}");
    }
    let names: Vec<&str> = failed.keys().map(String::as_str).collect();
    Err(Failure::from(anyhow::anyhow!("left out of the schema: {} (its schema() failed)", names.join(", "))))
}

fn print_text(out: &mut impl Write, r: &ApplyReport) -> std::io::Result<()> {
    if let Some(s) = &r.recovered {
        writeln!(out, "first {}", describe_settled(s))?;
    }
    if r.success && r.changes_applied.is_empty() {
        return writeln!(out, "nothing to do: the system already matches the state file");
    }
    for p in &r.plugins {
        let verified = if p.verified { "verified" } else { "not verified" };
        writeln!(
            out,
            "{}: {} action(s), changed [{}], {verified}",
            p.plugin,
            p.actions.len(),
            p.changes_applied.join(", ")
        )?;
    }
    let checkpoint = r.checkpoint.as_deref().unwrap_or("-");
    if let Some(p) = &r.pending_confirmation {
        let me = std::env::args().next().map(PathBuf::from);
        let me = me.as_ref().and_then(|p| p.file_name()).map_or("portagent".into(), |n| n.to_string_lossy());
        return writeln!(
            out,
            "applied; checkpoint {checkpoint}\nrun `{me} commit` by {} ({} s) to keep it, or it is rolled back",
            p.deadline, p.seconds
        );
    }
    if r.success {
        return writeln!(out, "applied; checkpoint {checkpoint}");
    }
    for e in &r.errors {
        writeln!(out, "error: {e}")?;
    }
    if r.rollback_failed {
        writeln!(
            out,
            "ROLLBACK FAILED: the system may be partly changed; checkpoint {checkpoint} is kept in the journal and the restore is retried"
        )?;
    } else {
        writeln!(out, "rolled back to checkpoint {checkpoint}")?;
    }
    if let Some(why) = &r.unrecorded {
        writeln!(out, "NOT RECORDED in the ledger yet (kept in the journal, recorded when it can be written): {why}")?;
    }
    Ok(())
}

/// Starts the confirm timer as its own session, so that it survives the
/// terminal (the lost SSH session it guards against).
fn spawn_confirm_timer(config_path: &Path, id: &str) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("--config")
        .arg(config_path)
        .args(["confirm-watch", id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn().map(drop)
}

/// Progress of a long apply on a terminal: a line per phase on stderr,
/// with the time since the command started (none when stderr is not a
/// terminal: logs and pipes get the report alone).
fn progress_lines() -> Option<crate::state::pipeline::Progress> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let started = std::time::Instant::now();
    Some(crate::state::pipeline::Progress::new(move |line: &str| {
        eprintln!("[{:>7.2}s] {line}", started.elapsed().as_secs_f64())
    }))
}

pub fn apply(config: Config, config_path: &Path, args: ApplyArgs) -> Result<(), Failure> {
    let (text, file, quotable) = read(&args.file, &config)?;
    let progress = progress_lines();
    let report: ApplyReport = match Remote::find(&config.state_dir) {
        // The daemon runs its own confirm timer.
        Some(daemon) => {
            let timeout = args.confirm_timeout.unwrap_or(0) as u32;
            let body = (text, timeout, args.probe.clone(), args.no_wait);
            match &progress {
                Some(p) => daemon.call_with_progress("ApplyStateWithOptions", &body, |l| p.tell(l)),
                None => daemon.call("ApplyStateWithOptions", &body),
            }
            .map_err(|f| withheld(&args.file, quotable, f))?
        }
        None => {
            let opts = ApplyOptions {
                wait: if args.no_wait { Wait::NoWait } else { Wait::Block },
                confirm_timeout: args.confirm_timeout.map(Duration::from_secs),
                probe: args.probe.clone(),
                progress,
                interfaces_block: true,
                ..ApplyOptions::new(Caller::current())
            };
            let manager = Manager::open(config).map_err(failure)?;
            let report = manager.apply(&file, &opts).map_err(|e| withheld(&args.file, quotable, failure(e)))?;
            if let Some(p) = &report.pending_confirmation {
                spawn_confirm_timer(config_path, &p.checkpoint)?;
            }
            report
        }
    };
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Text => print_text(&mut out, &report)?,
        other => write_value(&mut out, other, &report)?,
    }
    if report.rollback_failed {
        return Err(Failure {
            code: exit::ROLLBACK_FAILED,
            error: anyhow::anyhow!("apply failed and its rollback failed too; the restore is retried"),
        });
    }
    if !report.success {
        let unrecorded = if report.unrecorded.is_some() { " (NOT RECORDED in the ledger yet)" } else { "" };
        return Err(Failure {
            code: exit::ROLLED_BACK,
            error: anyhow::anyhow!("apply failed and was rolled back{unrecorded}"),
        });
    }
    if args.detailed_exitcode && report.changed() {
        return Err(Failure { code: exit::CHANGED, error: anyhow::anyhow!("changes were applied") });
    }
    Ok(())
}

fn print_settled(output: Output, s: &Settled) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match output {
        Output::Text => writeln!(out, "{}", describe_settled(s))?,
        other => write_value(&mut out, other, s)?,
    }
    if s.unfinished() {
        return Err(settled_failure(s));
    }
    Ok(())
}

pub fn commit(config: Config, args: SettleArgs) -> Result<(), Failure> {
    let s = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("Commit", &())?,
        None => Manager::open(config).map_err(failure)?.commit(Caller::current()).map_err(failure)?,
    };
    print_settled(args.output, &s)
}

pub fn rollback(config: Config, args: SettleArgs) -> Result<(), Failure> {
    let s = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("Rollback", &())?,
        None => Manager::open(config).map_err(failure)?.rollback(Caller::current()).map_err(failure)?,
    };
    print_settled(args.output, &s)
}

pub fn recover(config: Config, args: RecoverArgs) -> Result<(), Failure> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Failure { code: exit::FAILED, error: anyhow::anyhow!("recover: root only") });
    }
    let reason = args.reason.unwrap_or_default();
    let s = match Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("Recover", &(args.abandon, reason.as_str()))?,
        None => {
            let manager = Manager::open(config).map_err(failure)?;
            if args.abandon {
                manager.abandon(Caller::current(), &reason)
            } else {
                manager.recover_now(Caller::current())
            }
            .map_err(failure)?
        }
    };
    print_settled(args.output, &s)
}

/// The confirm timer without a daemon: rolls the change back at its
/// deadline, and, if that fails (OVS down, the ledger unwritable), tries
/// again with backoff until it is settled.
pub fn confirm_watch(config: Config, id: &str) -> Result<(), Failure> {
    let manager = Manager::open(config).map_err(failure)?;
    let mut result = manager.expire_when_due(id, Caller::current());
    let mut pause = Duration::from_secs(1);
    let give_up = std::time::Instant::now() + Duration::from_secs(24 * 3600);
    loop {
        match &result {
            Ok(Some(s)) => log::warn!("{}", describe_settled(s)),
            Ok(None) => return Ok(()),
            Err(e) => log::error!("settling change {id}: {e}"),
        }
        if !manager.unfinished() || std::time::Instant::now() > give_up {
            return result.map(drop).map_err(failure);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(60));
        result = manager.recover(Caller::current());
    }
}
