//! `portagent metrics`: Prometheus text exposition (format 0.0.4) of what
//! the ledger and the journal say: applies by result, rollbacks, failures
//! by plugin, apply durations (a histogram) and time per phase, the ledger's
//! height, the age of its last signed head, and a pending confirmation.

use crate::ledger::entry::Entry;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Upper bounds (seconds) of the apply duration histogram.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// What the metrics are computed from.
pub struct Inputs<'a> {
    pub entries: &'a [Entry],
    /// Seconds since the last signed head was written, if there is one.
    pub checkpoint_age: Option<f64>,
    /// Whether a change waits for `commit` or its rollback deadline.
    pub pending_confirmation: bool,
}

/// The plugin a failed apply's first error names (`plugin 'NAME'`).
fn failed_plugin(entry: &Entry) -> String {
    let errors = entry.data["errors"].to_string();
    errors
        .split("plugin '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .filter(|n| !n.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The exposition text of what `config`'s ledger and journal say now.
pub fn collect(config: &crate::config::Config) -> Result<String, super::StateError> {
    let ledger = &config.ledger_path;
    let entries = match crate::ledger::store::entries(ledger) {
        Ok(e) => e,
        Err(_) if !ledger.exists() => vec![],
        Err(e) => return Err(e.into()),
    };
    let heads = crate::ledger::store::checkpoints_path(ledger);
    let checkpoint_age = std::fs::metadata(&heads)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map(|d| d.as_secs_f64());
    let journal = super::journal::Journal::read(&config.state_dir)
        .map_err(super::StateError::io(super::journal::Journal::path(&config.state_dir).display().to_string()))?;
    let pending_confirmation = journal.is_some_and(|j| j.phase == super::journal::Phase::PendingConfirmation);
    Ok(render(&Inputs { entries: &entries, checkpoint_age, pending_confirmation }))
}

/// Writes the exposition atomically to `path` (a node_exporter textfile).
pub fn write_textfile(config: &crate::config::Config, path: &std::path::Path) -> Result<(), super::StateError> {
    let text = collect(config)?;
    crate::util::fs::write_atomically(path, text.as_bytes(), 0o644)
        .map_err(super::StateError::io(path.display().to_string()))
}

/// The exposition text.
pub fn render(i: &Inputs) -> String {
    let mut results: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    let mut phases: BTreeMap<String, f64> = BTreeMap::new();
    let mut durations: Vec<f64> = Vec::new();
    let mut rollbacks = 0u64;
    for e in i.entries {
        let result = e.data["result"].as_str().unwrap_or("");
        match e.category.as_str() {
            "apply_state" => *results.entry(result.to_string()).or_default() += 1,
            "rollback" => {
                rollbacks += 1;
                // An apply that failed (not a requested or expired rollback).
                if e.data.get("desired_state_hash").is_some() {
                    *results.entry(result.to_string()).or_default() += 1;
                    *failures.entry(failed_plugin(e)).or_default() += 1;
                }
            }
            _ => continue,
        }
        if let Some(t) = e.data.get("timings_ms").and_then(Value::as_object) {
            let mut total = 0.0;
            for (phase, ms) in t {
                let s = ms.as_f64().unwrap_or(0.0) / 1e3;
                *phases.entry(phase.clone()).or_default() += s;
                total += s;
            }
            durations.push(total);
        }
    }
    let mut o = String::new();
    let head = |o: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    head(&mut o, "portagent_applies_total", "counter", "Applies that changed something, by result.");
    for r in ["success", "pending_confirmation", "rolled_back", "rollback_failed"] {
        let _ = writeln!(o, "portagent_applies_total{{result=\"{r}\"}} {}", results.get(r).copied().unwrap_or(0));
    }
    head(&mut o, "portagent_rollbacks_total", "counter", "Rollbacks: failed applies, and requested or expired ones.");
    let _ = writeln!(o, "portagent_rollbacks_total {rollbacks}");
    head(&mut o, "portagent_apply_failures_total", "counter", "Failed applies, by the plugin the error names.");
    for (plugin, n) in &failures {
        let _ = writeln!(o, "portagent_apply_failures_total{{plugin=\"{}\"}} {n}", escape(plugin));
    }
    head(&mut o, "portagent_apply_duration_seconds", "histogram", "Time of recorded applies, up to their record.");
    let mut sum = 0.0;
    for le in BUCKETS {
        let n = durations.iter().filter(|d| **d <= le).count();
        let _ = writeln!(o, "portagent_apply_duration_seconds_bucket{{le=\"{le}\"}} {n}");
    }
    for d in &durations {
        sum += d;
    }
    let _ = writeln!(o, "portagent_apply_duration_seconds_bucket{{le=\"+Inf\"}} {}", durations.len());
    let _ = writeln!(o, "portagent_apply_duration_seconds_sum {sum:.6}");
    let _ = writeln!(o, "portagent_apply_duration_seconds_count {}", durations.len());
    head(
        &mut o,
        "portagent_apply_phase_seconds_total",
        "counter",
        "Time of recorded applies by phase (apply and verify are plugin calls).",
    );
    for (phase, s) in &phases {
        let _ = writeln!(o, "portagent_apply_phase_seconds_total{{phase=\"{}\"}} {s:.6}", escape(phase));
    }
    head(&mut o, "portagent_ledger_height", "gauge", "Entries in the audit ledger.");
    let _ = writeln!(o, "portagent_ledger_height {}", i.entries.len());
    head(&mut o, "portagent_ledger_checkpoint_age_seconds", "gauge", "Seconds since the last signed ledger head.");
    if let Some(age) = i.checkpoint_age {
        let _ = writeln!(o, "portagent_ledger_checkpoint_age_seconds {age:.3}");
    }
    head(&mut o, "portagent_pending_confirmation", "gauge", "1 while a change waits for commit or its deadline.");
    let _ = writeln!(o, "portagent_pending_confirmation {}", u8::from(i.pending_confirmation));
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(category: &str, data: Value) -> Entry {
        Entry {
            height: 0,
            prev_hash: String::new(),
            timestamp: String::new(),
            category: category.into(),
            action: String::new(),
            metadata: crate::ledger::entry::Metadata {
                user: String::new(),
                host: String::new(),
                plugin: String::new(),
            },
            data,
            hash: String::new(),
        }
    }

    #[test]
    fn counts_results_failures_and_durations() {
        let entries = vec![
            entry(
                "apply_state",
                json!({"result": "success", "desired_state_hash": "h", "timings_ms": {"apply": 200.0, "verify": 100.0}}),
            ),
            entry(
                "rollback",
                json!({"result": "rolled_back", "desired_state_hash": "h",
                "errors": ["apply: plugin 'pynote' apply: crashed"], "timings_ms": {"apply": 3000.0}}),
            ),
            entry("rollback", json!({"result": "rolled_back", "reason": "requested"})),
            entry("plugin", json!({"action": "install"})),
        ];
        let text = render(&Inputs { entries: &entries, checkpoint_age: Some(1.5), pending_confirmation: false });
        for line in [
            "portagent_applies_total{result=\"success\"} 1",
            "portagent_applies_total{result=\"rolled_back\"} 1",
            "portagent_rollbacks_total 2",
            "portagent_apply_failures_total{plugin=\"pynote\"} 1",
            "portagent_apply_duration_seconds_bucket{le=\"0.5\"} 1",
            "portagent_apply_duration_seconds_bucket{le=\"5\"} 2",
            "portagent_apply_duration_seconds_count 2",
            "portagent_apply_phase_seconds_total{phase=\"apply\"} 3.200000",
            "portagent_ledger_height 4",
            "portagent_pending_confirmation 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
