//! `portagent plugin install | list | info | remove | keygen | sign`.

use super::{Failure, Output};
use crate::config::Config;
use crate::plugin::manifest::Manifest;
use crate::plugin::{Grants, Installed, Registry, RegistryError, Runtime, Trust, signature};
use clap::Subcommand;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Show what a plugin asks for and install it with the admin's consent.
    Install {
        /// The plugin component (`.wasm`).
        file: PathBuf,
        /// Grant everything the plugin asks for.
        #[arg(long, conflicts_with = "grant")]
        yes: bool,
        /// Grant one capability: `CAP` (as asked) or `CAP=SCOPE,...` (narrower).
        #[arg(long, value_name = "CAP[=SCOPE,...]")]
        grant: Vec<String>,
        /// Replace an installed plugin of the same name.
        #[arg(long)]
        upgrade: bool,
        /// The publisher's signature (default: FILE.sig).
        #[arg(long, value_name = "SIG")]
        signature: Option<PathBuf>,
        /// Install a component that is not signed by a trusted publisher
        /// (the ledger records it). A signature that does not match is
        /// still refused.
        #[arg(long)]
        allow_unsigned: bool,
    },
    /// List installed plugins.
    List {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Show one installed plugin: version, WIT version, sha256, size, capabilities.
    Info {
        name: String,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Remove an installed plugin. Plain remove leaves what it made on the
    /// system (its rows, files, flows); `--purge` first applies its
    /// section empty, as one recorded change, so it takes them away.
    Remove {
        name: String,
        /// Apply the plugin's section empty first (what it made is
        /// removed, recorded), then remove it; nothing is removed if that
        /// apply fails.
        #[arg(long)]
        purge: bool,
        /// The plugin's rollback failed and is left unsettled: settle it by
        /// hand first (`portagent recover --abandon`), then remove.
        #[arg(long, requires = "reason")]
        abandon: bool,
        /// Why (with `--abandon`; kept in the ledger entry).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Make a new plugin project: sources, WIT, build script, example state
    /// file and README, ready to build and install.
    New {
        /// The plugin's (and its section's) name.
        name: String,
        #[arg(long, value_enum)]
        lang: super::scaffold::Lang,
        /// Where (default: ./NAME); must not exist or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print the WIT a plugin is built against (the `state-plugin` world
    /// and what it uses), as this portagent serves it.
    Wit {
        /// A version this portagent supports (default: the current one).
        #[arg(long = "version", visible_alias = "wit-version", value_name = "VERSION")]
        version: Option<String>,
    },
    /// Compile every built-in and installed plugin into the cache now (as
    /// `scripts/install.sh` does), and remove artifacts nothing uses.
    Precompile,
    /// Make a publisher signing key; prints the public key an admin adds
    /// to `[plugins.trusted_publishers]`.
    Keygen {
        /// The publisher's name, as admins will trust it ([a-z][a-z0-9-]*).
        publisher: String,
        /// Where to write the secret key (mode 0600; never overwritten).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Sign a plugin component with a publisher key: writes FILE.sig.
    Sign {
        file: PathBuf,
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Where to write the signature (default: FILE.sig).
        #[arg(long, value_name = "SIG")]
        output: Option<PathBuf>,
    },
}

/// Errors the user caused map to the "invalid input" exit code; a file
/// this user may not read is a failure, said so.
fn classify(e: RegistryError) -> Failure {
    // A name that is not installed is the user's mistake here (exit 2).
    let code = match e.kind() {
        crate::state::ErrorKind::NotFound => super::exit::INVALID,
        kind => super::exit::of(kind),
    };
    match &e {
        RegistryError::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
            Failure { code, error: anyhow::anyhow!("{e} (the plugin registry is root's: run this as root)") }
        }
        _ => Failure { code, error: e.into() },
    }
}

pub fn run(config: &Config, cmd: PluginCommand) -> Result<(), Failure> {
    let registry = Registry::new(config.plugin_dir());
    match cmd {
        PluginCommand::Install { file, yes, grant, upgrade, signature, allow_unsigned } => {
            let wasm = std::fs::read(&file)
                .map_err(|e| Failure::invalid(anyhow::anyhow!("cannot read {}: {e}", file.display())))?;
            // Before anything is compiled: a refused file costs nothing.
            let sig = signature.unwrap_or_else(|| signature::sig_path(&file));
            let trust = signature::check(&file, &wasm, &sig, &config.plugins.trusted_publishers, allow_unsigned)
                .map_err(|e| Failure::invalid(anyhow::anyhow!("refused: {e}")))?;
            let runtime = Runtime::from_config(config)?;
            // Compiling a Python or JS plugin takes seconds: say so on a terminal.
            let progress = std::io::stderr().is_terminal();
            let started = std::time::Instant::now();
            if progress {
                eprint!("compiling {} ({:.1} MB) ... ", file.display(), wasm.len() as f64 / 1e6);
            }
            let inspection = registry
                .inspect(&runtime, &wasm, &file)
                .map_err(|e| Failure::invalid(anyhow::anyhow!("{}: refused: {e}", file.display())))?;
            if progress {
                eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
            }
            let mut out = std::io::stdout().lock();
            print_request(&mut out, &inspection.manifest, &inspection.sha256, inspection.size)?;
            writeln!(out, "  {}", trust_text(&trust))?;
            let granted = consent(&inspection.manifest, yes, &grant)?;
            let name = inspection.manifest.name.clone();
            let replaced = match upgrade {
                true => registry.list().map_err(classify)?.into_iter().find(|p| p.manifest.name == name),
                false => None,
            };
            let installed = registry.install(inspection, &wasm, granted, upgrade, trust).map_err(classify)?;
            registry.prune_after_change(&runtime);
            writeln!(
                out,
                "installed {} {} with {}",
                installed.manifest.name,
                installed.manifest.version,
                grant_text(&installed.granted)
            )?;
            recorded(config, if upgrade { "upgrade" } else { "install" }, &installed, replaced.as_ref())
        }
        PluginCommand::List { output } => {
            let runtime = Runtime::from_config(config)?;
            let plugins = registry.all(&runtime).map_err(classify)?;
            let mut out = std::io::stdout().lock();
            if output == Output::Json {
                serde_json::to_writer_pretty(&mut out, &plugins)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "{:<16} {:<10} {:<8} {:<10} {:<10} GRANTED",
                    "NAME", "VERSION", "WIT", "SECTION", "SOURCE"
                )?;
                for p in &plugins {
                    let m = &p.manifest;
                    let source = if p.builtin { "built-in" } else { "installed" };
                    writeln!(
                        out,
                        "{:<16} {:<10} {:<8} {:<10} {:<10} {}",
                        m.name,
                        m.version,
                        m.wit_version,
                        m.section,
                        source,
                        grant_text(&p.granted)
                    )?;
                }
            }
            Ok(())
        }
        PluginCommand::Info { name, output } => {
            let p = if crate::plugin::builtin::find(&name).is_some() {
                let runtime = Runtime::from_config(config)?;
                let builtins = registry.builtins(&runtime).map_err(classify)?;
                builtins.into_iter().find(|p| p.manifest.name == name).expect("built-in is listed")
            } else {
                registry.get(&name).map_err(classify)?
            };
            let mut out = std::io::stdout().lock();
            if output == Output::Json {
                serde_json::to_writer_pretty(&mut out, &p)?;
                writeln!(out)?;
            } else {
                print_info(&mut out, &p)?;
            }
            Ok(())
        }
        PluginCommand::Remove { name, purge, abandon, reason } => {
            let state_failure =
                |e: crate::state::StateError| Failure { code: super::exit::of(e.kind()), error: e.into() };
            let manager = crate::state::Manager::open(config.clone()).map_err(state_failure)?;
            if manager.unsettled_plugins().contains(&name) {
                if !abandon {
                    return Err(Failure::invalid(anyhow::anyhow!(
                        "plugin {name} is part of a change whose rollback is not settled: its checkpoint is \
                         restored through it; `portagent recover` tries again, or `plugin remove {name} --abandon \
                         --reason TEXT` settles it by hand (recorded) and then removes it"
                    )));
                }
                let s = manager
                    .abandon(crate::state::Caller::current(), reason.as_deref().unwrap_or_default())
                    .map_err(state_failure)?;
                println!("abandoned change {} ({})", s.checkpoint, s.reason);
            }
            if purge {
                let section = registry.get(&name).map_err(classify)?.manifest.section;
                purge_section(config, manager, &section)?;
            }
            let p = registry.remove(&name).map_err(classify)?;
            registry.prune_after_change(&Runtime::from_config(config)?);
            println!("removed {} {}", p.manifest.name, p.manifest.version);
            recorded(config, "remove", &p, None)
        }
        PluginCommand::New { name, lang, dir } => super::scaffold::run(&name, lang, dir),
        PluginCommand::Wit { version } => {
            let supported = crate::plugin::bindings::SUPPORTED;
            let version = version.as_deref().unwrap_or(supported[0]);
            match super::scaffold::wit_text(version) {
                Some(text) => {
                    print!("{text}");
                    Ok(())
                }
                None => Err(Failure::invalid(anyhow::anyhow!(
                    "--version: {version:?} is not served by this portagent (supported: {})",
                    supported.join(", ")
                ))),
            }
        }
        PluginCommand::Precompile => {
            let runtime = Runtime::from_config(config)?;
            let (timed, (files, bytes)) = registry.precompile(&runtime).map_err(classify)?;
            for (name, took) in timed {
                println!("{name:<16} ready in {} ms", took.as_millis());
            }
            println!("cache {}: {files} unused artifacts removed ({} KiB)", config.cache_dir().display(), bytes >> 10);
            Ok(())
        }
        PluginCommand::Keygen { publisher, key } => {
            let k =
                signature::SigningKeyFile::generate(&publisher).map_err(|e| Failure::invalid(anyhow::anyhow!(e)))?;
            k.write_new(&key).map_err(|e| Failure::invalid(anyhow::Error::from(e)))?;
            println!("wrote {} (keep it secret); admins trust it with:", key.display());
            println!("[plugins.trusted_publishers]\n{publisher} = \"{}\"", k.public());
            Ok(())
        }
        PluginCommand::Sign { file, key, output } => {
            let k = signature::SigningKeyFile::read(&key).map_err(|e| Failure::invalid(anyhow::Error::from(e)))?;
            let wasm = std::fs::read(&file)
                .map_err(|e| Failure::invalid(anyhow::anyhow!("cannot read {}: {e}", file.display())))?;
            crate::plugin::runtime::check_is_component(&wasm)
                .map_err(|e| Failure::invalid(anyhow::anyhow!("{}: {e}", file.display())))?;
            let sig = k.sign(&wasm);
            let out = output.unwrap_or_else(|| signature::sig_path(&file));
            let text = serde_json::to_vec_pretty(&sig).expect("signature serializes");
            crate::util::fs::write_atomically(&out, &text, 0o644)
                .map_err(|e| Failure { code: 1, error: anyhow::anyhow!("{}: {e}", out.display()) })?;
            println!("signed {} (sha256 {}) as '{}': {}", file.display(), sig.sha256, sig.publisher, out.display());
            Ok(())
        }
    }
}

fn trust_text(t: &Trust) -> String {
    match t {
        Trust::Signed { publisher, key } => format!("signed by '{publisher}' ({key}), a trusted publisher"),
        Trust::AllowedUnsigned { reason } => format!("NOT signed by a trusted publisher ({reason}); --allow-unsigned"),
    }
}

/// Records the change in the ledger; done but not recorded is exit 1.
/// Applies `section` empty, through the daemon when it runs: the plugin
/// takes away what it made, as an ordinary (checkpointed, verified,
/// recorded) change.
fn purge_section(config: &Config, manager: crate::state::Manager, section: &str) -> Result<(), Failure> {
    let yaml = format!("version: 1\nplugins:\n  {section}: {{}}\n");
    let report: crate::state::ApplyReport = match super::remote::Remote::find(&config.state_dir) {
        Some(daemon) => daemon.call("ApplyStateWithOptions", &(yaml, 0u32, Vec::<String>::new(), false))?,
        None => {
            let file = crate::state::StateFile::parse(&yaml).map_err(|e| Failure::invalid(anyhow::anyhow!("{e}")))?;
            let opts = crate::state::ApplyOptions::new(crate::state::Caller::current());
            manager.apply(&file, &opts).map_err(|e| Failure { code: super::exit::of(e.kind()), error: e.into() })?
        }
    };
    if !report.success {
        return Err(Failure {
            code: super::exit::ROLLED_BACK,
            error: anyhow::anyhow!(
                "not removed: applying its section empty failed and was rolled back: {}",
                report.errors.join("; ")
            ),
        });
    }
    println!("purged: {} change(s) applied (section `{section}` applied empty)", report.changes_applied.len());
    Ok(())
}

fn recorded(config: &Config, action: &str, p: &Installed, replaced: Option<&Installed>) -> Result<(), Failure> {
    crate::state::plugins::record_plugin(config, action, p, replaced, crate::state::Caller::current()).map_err(|e| {
        Failure {
            code: 1,
            error: anyhow::anyhow!("{action} of {} done, but NOT RECORDED in the ledger: {e}", p.manifest.name),
        }
    })
}

fn print_request(out: &mut impl Write, m: &Manifest, sha256: &str, size: u64) -> std::io::Result<()> {
    writeln!(
        out,
        "plugin {} {} (portagent:plugin@{}), owns section `{}`",
        m.name, m.version, m.wit_version, m.section
    )?;
    writeln!(out, "  sha256 {sha256}, {size} bytes")?;
    if m.requests.is_empty() {
        return writeln!(out, "  asks for no capabilities");
    }
    writeln!(out, "  asks for:")?;
    for r in &m.requests {
        writeln!(out, "    {:<9} [{}]  {}", r.capability.as_str(), r.scope.join(", "), r.reason)?;
    }
    print_import_notes(out, m)
}

/// What the component imports but did not ask for, and the reverse.
fn print_import_notes(out: &mut impl Write, m: &Manifest) -> std::io::Result<()> {
    let names = |v: Vec<crate::plugin::Capability>| v.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
    let denied = m.denied_imports();
    if !denied.is_empty() {
        writeln!(out, "  imports but does not ask for (every call denied): {}", names(denied))?;
    }
    let unused = m.unused_requests();
    if !unused.is_empty() {
        writeln!(out, "  asks for but does not import (it cannot use them): {}", names(unused))?;
    }
    Ok(())
}

fn print_info(out: &mut impl Write, p: &Installed) -> std::io::Result<()> {
    let m = &p.manifest;
    writeln!(out, "name:        {}", m.name)?;
    writeln!(out, "version:     {}{}", m.version, if p.builtin { " (built-in)" } else { "" })?;
    writeln!(out, "wit:         portagent:plugin@{}", m.wit_version)?;
    writeln!(out, "section:     {}", m.section)?;
    writeln!(out, "sha256:      {}", p.sha256)?;
    writeln!(out, "size:        {} bytes", p.size)?;
    writeln!(out, "after:       [{}]", m.after.join(", "))?;
    if let Some(t) = &p.trust {
        writeln!(out, "trust:       {}", trust_text(t))?;
    }
    writeln!(out, "capabilities:")?;
    for r in &m.requests {
        let granted = match p.granted.0.get(&r.capability) {
            Some(scope) => format!("granted [{}]", scope.join(", ")),
            None => "NOT granted".into(),
        };
        writeln!(out, "  {:<9} asked [{}], {granted}: {}", r.capability.as_str(), r.scope.join(", "), r.reason)?;
    }
    print_import_notes(out, m)
}

fn grant_text(g: &Grants) -> String {
    if g.0.is_empty() {
        return "no capabilities".into();
    }
    g.0.iter()
        .map(|(c, s)| if s.is_empty() { c.to_string() } else { format!("{c}[{}]", s.join(",")) })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The admin's consent: flags for scripts, a prompt on a terminal, and a
/// refusal when neither is there.
fn consent(m: &Manifest, yes: bool, grant: &[String]) -> Result<Grants, Failure> {
    if yes {
        return Ok(m.grant_all());
    }
    if !grant.is_empty() {
        return m.grant_some(grant).map_err(Failure::invalid);
    }
    if m.requests.is_empty() {
        return Ok(Grants::default());
    }
    if std::io::stdin().is_terminal() {
        print!("grant all of these? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(m.grant_all());
        }
    }
    Err(Failure::invalid(anyhow::anyhow!(
        "not installed: no consent given (pass --yes to grant everything asked, or --grant CAP[=SCOPE,...] per capability)"
    )))
}
