//! The command line of `portagent` (also installed as `ovs-port-agent`):
//! parses flags, calls the library, maps errors to exit codes.

mod docs;
mod ledger;
mod logging;
mod plan;
mod plugin;
mod ports;
mod remote;
mod scaffold;
mod state;

use crate::config::{Config, DEFAULT_CONFIG_PATH};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes scripts can rely on.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    /// Bad input: nothing was changed.
    pub const INVALID: u8 = 2;
    /// Applied, failed, and rolled back to the state before.
    pub const ROLLED_BACK: u8 = 3;
    /// Another apply is running (with `--no-wait`).
    pub const BUSY: u8 = 4;
    /// With `--detailed-exitcode`: applied, and something changed.
    pub const CHANGED: u8 = 5;
    /// Applied, failed, and the rollback failed too: the system may be
    /// partly changed. The journal keeps the checkpoints; the next command
    /// (or the daemon, with backoff) retries the restore until it works.
    pub const ROLLBACK_FAILED: u8 = 6;
    /// The daemon did not answer a change (it died mid-apply, or left the
    /// bus): it may have been made and recorded; the ledger says.
    pub const OUTCOME_UNKNOWN: u8 = 7;

    /// The exit code of an error of `kind`.
    pub fn of(kind: crate::state::ErrorKind) -> u8 {
        use crate::state::ErrorKind;
        match kind {
            ErrorKind::Invalid => INVALID,
            ErrorKind::Busy => BUSY,
            ErrorKind::RolledBack => ROLLED_BACK,
            ErrorKind::RollbackFailed => ROLLBACK_FAILED,
            ErrorKind::NotFound | ErrorKind::Failed => FAILED,
        }
    }
}

/// An error at the edge, with the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn invalid(error: impl Into<anyhow::Error>) -> Failure {
        Failure { code: exit::INVALID, error: error.into() }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure { code: exit::FAILED, error: error.into() }
    }
}

/// `--version`: the program's, and the WIT versions plugins may be built against.
fn version_text() -> &'static str {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{} (plugins: WIT portagent:plugin@{})",
            env!("CARGO_PKG_VERSION"),
            crate::plugin::bindings::SUPPORTED.join(", @")
        )
    });
    &TEXT
}

#[derive(Parser)]
#[command(
    name = "portagent",
    version = version_text(),
    about = "portagent, the OVS Port Agent: declarative network state for Open vSwitch hosts"
)]
pub struct Cli {
    /// Configuration file.
    #[arg(long, global = true, env = "PORTAGENT_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply a state file: diff, checkpoint, apply, verify, roll back on failure.
    ApplyState(state::ApplyArgs),
    /// Show what applying a state file would change (nothing is changed).
    ShowDiff(state::DiffArgs),
    /// Show the live state, as a state file would describe it.
    QueryState(state::QueryArgs),
    /// Keep the change applied with `--confirm-timeout`.
    Commit(state::SettleArgs),
    /// Undo the change applied with `--confirm-timeout`.
    Rollback(state::SettleArgs),
    /// Settle a change left unsettled now: a rollback that failed is tried
    /// again, however often it failed before. With `--abandon`, settle it
    /// by hand instead: the journal goes, the ledger records what was
    /// abandoned and why, and the system stays as it is. Root only.
    Recover(state::RecoverArgs),
    /// The confirm timer: rolls change ID back at its deadline unless it
    /// was committed (started by `apply-state --confirm-timeout`).
    #[command(hide = true)]
    ConfirmWatch { id: String },
    /// Run the daemon: serve `dev.ovs.PortAgent1` on the system bus.
    Daemon,
    /// systemd-networkd's manager and link states, over its D-Bus API.
    IntrospectSystemd,
    /// The ports of the configured bridge (`bridge_name`).
    ListPorts,
    /// Attach an existing link to the configured bridge (a dynamic port).
    AddPort { name: String },
    /// Take a port off the configured bridge.
    DelPort { name: String },
    /// Attach a guest's link to the bridge, named by `naming_template`
    /// (renamed when `enable_rename`).
    CreateInterface {
        /// The link as the container runtime made it, e.g. veth-123-eth0.
        raw: String,
        /// The container, for `{container}` in the template.
        container: String,
        /// The VM or container id, for `{vmid}`.
        vmid: u32,
    },
    /// Take a guest's port (by its name or its template name) off the bridge.
    RemoveInterface { name: String },
    /// Print the JSON Schema (draft-07) of a state file, with the section
    /// of every installed plugin; point an editor's YAML language server
    /// at it.
    Schema {
        /// Only this plugin's section (e.g. `net`), as a schema of its own.
        #[arg(long)]
        plugin: Option<String>,
    },
    /// Prometheus text exposition: applies, rollbacks, failures by plugin,
    /// apply durations, ledger height and head age, a pending confirmation.
    Metrics {
        /// Write it atomically here (node_exporter's textfile collector)
        /// instead of printing it.
        #[arg(long)]
        textfile: Option<PathBuf>,
    },
    /// Print the shell completion script (bash, zsh, fish).
    Completions {
        #[arg(value_enum)]
        shell: docs::Shell,
        /// The program name to complete.
        #[arg(long, default_value = "ovs-port-agent", value_parser = ["ovs-port-agent", "portagent"])]
        name: String,
    },
    /// Write the man pages (one per command) into a directory.
    Man {
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
    /// The audit ledger: verify, stats, show, proof, checkpoint.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Install, list, inspect and remove sandboxed plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
}

/// How results are printed.
#[derive(Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum Output {
    #[default]
    Text,
    Json,
    Yaml,
}

/// An error and its causes, `: `-separated, each said once: a cause whose
/// text its error already says (an `io::Error` wrapped as `{0}`) is not
/// repeated.
fn in_one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// Entry point of both binaries.
pub fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            // "Changed" is a result, not an error.
            if failure.code != exit::CHANGED {
                eprintln!("error: {}", in_one_line(&failure.error));
            }
            ExitCode::from(failure.code)
        }
    }
}

fn introspect_systemd() -> Result<(), Failure> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let value = rt.block_on(async {
        let conn = zbus::Connection::system().await?;
        crate::daemon::networkd::introspect(&conn).await
    })?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn run(cli: Cli) -> Result<(), Failure> {
    let config = Config::load(&cli.config).map_err(Failure::invalid)?;
    for key in config.ignored_keys() {
        log::warn!("{}: {key} is ignored (every ledger commit is followed by a signed head now)", cli.config.display());
    }
    match cli.command {
        Command::Completions { shell, name } => {
            docs::completions(shell, if name == "portagent" { "portagent" } else { "ovs-port-agent" })
        }
        Command::Man { out_dir } => docs::man(&out_dir),
        Command::Metrics { textfile: Some(path) } => {
            crate::state::metrics::write_textfile(&config, &path).map_err(|e| Failure::from(anyhow::Error::from(e)))
        }
        Command::Metrics { textfile: None } => {
            let text = crate::state::metrics::collect(&config).map_err(|e| Failure::from(anyhow::Error::from(e)))?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())?;
            Ok(())
        }
        Command::Plugin(cmd) => plugin::run(&config, cmd),
        Command::Ledger(cmd) => ledger::run(&config, cmd),
        Command::ApplyState(args) => state::apply(config, &cli.config, args),
        Command::ShowDiff(args) => state::show_diff(config, args),
        Command::QueryState(args) => state::query(config, args),
        Command::Commit(args) => state::commit(config, args),
        Command::Rollback(args) => state::rollback(config, args),
        Command::Recover(args) => state::recover(config, args),
        Command::ConfirmWatch { id } => state::confirm_watch(config, &id),
        Command::Daemon => crate::daemon::run(config).map_err(Failure::from),
        Command::IntrospectSystemd => introspect_systemd(),
        Command::ListPorts => ports::list(config),
        Command::AddPort { name } => ports::change(config, &name, true),
        Command::DelPort { name } => ports::change(config, &name, false),
        Command::CreateInterface { raw, container, vmid } => ports::create(config, &raw, &container, vmid),
        Command::RemoveInterface { name } => ports::remove(config, &name),
        Command::Schema { plugin } => state::schema(config, plugin.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_said_once() {
        #[derive(Debug, thiserror::Error)]
        enum E {
            #[error("{0}")]
            Io(#[from] std::io::Error),
        }
        let io = std::io::Error::from_raw_os_error(28);
        let e = anyhow::Error::from(E::from(io)).context("plugin install x.wasm");
        assert_eq!(in_one_line(&e), format!("plugin install x.wasm: {}", std::io::Error::from_raw_os_error(28)));
        let e = anyhow::anyhow!("outer").context("top");
        assert_eq!(in_one_line(&e), "top: outer");
    }
}
