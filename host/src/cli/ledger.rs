//! `portagent ledger verify | stats | show | proof | checkpoint`.

use super::{Failure, exit};
use crate::config::Config;
use crate::ledger::{Ledger, Options, store};
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Check every hash, link and signed checkpoint: prints VALID or INVALID.
    Verify {
        /// Also check against a checkpoint note kept elsewhere (repeatable).
        #[arg(long, value_name = "FILE")]
        checkpoint: Vec<PathBuf>,
    },
    /// Counts by category, first and last time.
    Stats,
    /// Entries as JSON lines, filtered.
    Show {
        #[arg(long)]
        category: Option<String>,
        /// Entries at or after this RFC 3339 time (or a prefix, e.g. 2025-10-14).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        hash: Option<String>,
        /// Heights from..=to.
        #[arg(long)]
        from: Option<u64>,
        #[arg(long)]
        to: Option<u64>,
        /// Only the last N matches.
        #[arg(long)]
        last: Option<usize>,
    },
    /// Merkle inclusion proof of the entry at HEIGHT.
    Proof {
        height: u64,
        /// In the tree of the first SIZE entries (default: all).
        #[arg(long)]
        size: Option<u64>,
    },
    /// Sign a checkpoint of the ledger now and print it (keep a copy elsewhere).
    Checkpoint,
    /// Accept the ledger as it is now after a loss that `verify` reports
    /// (entries cut at the tail, the signing key replaced): records an
    /// entry that names what was lost, who reset and why, and sets the
    /// earlier signed heads aside as evidence. Until then nothing is
    /// recorded, so nothing is changed.
    Reset {
        /// Why (kept in the entry).
        #[arg(long)]
        reason: String,
    },
}

pub fn run(config: &Config, cmd: LedgerCommand) -> Result<(), Failure> {
    let options = Options::from_config(config);
    let path = &config.ledger_path;
    let mut out = std::io::stdout().lock();
    match cmd {
        LedgerCommand::Verify { checkpoint } => {
            let notes = checkpoint
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p).map_err(|e| Failure::invalid(anyhow::anyhow!("{}: {e}", p.display())))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let report = store::verify(path, &options, &notes)?;
            writeln!(out, "{report}")?;
            if report.problem.is_some() {
                return Err(Failure { code: exit::FAILED, error: anyhow::anyhow!("the ledger does not verify") });
            }
        }
        LedgerCommand::Stats => {
            serde_json::to_writer_pretty(&mut out, &store::stats(&store::entries(path)?))?;
            writeln!(out)?;
        }
        LedgerCommand::Show { category, since, hash, from, to, last } => {
            let all = store::entries(path)?;
            let matching: Vec<_> = all
                .iter()
                .filter(|e| category.as_ref().is_none_or(|c| &e.category == c))
                .filter(|e| since.as_ref().is_none_or(|t| e.timestamp.as_str() >= t.as_str()))
                .filter(|e| hash.as_ref().is_none_or(|h| &e.hash == h))
                .filter(|e| from.is_none_or(|f| e.height >= f) && to.is_none_or(|t| e.height <= t))
                .collect();
            let skip = last.map_or(0, |n| matching.len().saturating_sub(n));
            for e in &matching[skip..] {
                writeln!(out, "{}", serde_json::to_string(e)?)?;
            }
        }
        LedgerCommand::Proof { height, size } => {
            let p = store::proof(path, height, size).map_err(|e| Failure::invalid(anyhow::anyhow!(e)))?;
            serde_json::to_writer_pretty(&mut out, &p)?;
            writeln!(out)?;
        }
        LedgerCommand::Checkpoint => {
            let ledger = Ledger::open(path, options)?;
            write!(out, "{}", ledger.checkpoint()?)?;
        }
        LedgerCommand::Reset { reason } => {
            if reason.trim().is_empty() {
                return Err(Failure::invalid(anyhow::anyhow!("--reason: say why the ledger is reset")));
            }
            let user = crate::state::Caller::current().describe();
            let (_, appended) = Ledger::reset(path, options, reason.trim(), &user)?;
            let entry = store::entries(path)?.into_iter().nth(appended.height as usize);
            let data = entry.map(|e| e.data).unwrap_or_default();
            writeln!(
                out,
                "reset recorded at height {} ({} entries lost at the tail{}); earlier heads kept aside: {}",
                appended.height,
                data["lost_entries"],
                if data["key_replaced"].is_object() { ", the signing key replaced" } else { "" },
                data["previous_heads"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h["moved_to"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
    }
    Ok(())
}
