//! `portagent metrics`: Prometheus text that a real parser
//! (prometheus_client's, installed by `scripts/toolchains`) reads, with
//! values that follow what happened: an apply, a failed apply.

use crate::net::{GUIDE_NET, apply, net_lab, portagent};
use crate::state::{install_probe, two_plugins};
use crate::support::{text, tools_python};
use std::collections::BTreeMap;

/// `name{labels}` -> value, as prometheus_client's parser reads `exposition`.
fn parsed(exposition: &str) -> BTreeMap<String, f64> {
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value}")
"#;
    let out = tools_python(script, exposition);
    assert!(out.status.success(), "the parser refused it: {}\n{exposition}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

fn metrics(lab: &portagent_lab::Lab) -> BTreeMap<String, f64> {
    let out = portagent(lab, &["metrics"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    parsed(&text(&out.stdout))
}

#[test]
fn metrics_parse_and_follow_applies_and_failures() {
    let lab = net_lab();
    let empty = metrics(&lab);
    assert_eq!(empty["portagent_ledger_height{}"], 0.0);
    assert_eq!(empty["portagent_applies_total{result=\"success\"}"], 0.0);

    assert!(apply(&lab, "net", GUIDE_NET).status.success());
    install_probe(&lab);
    let failed = apply(&lab, "crash", &two_plugins("log, panic"));
    assert_eq!(failed.status.code(), Some(3));

    let m = metrics(&lab);
    assert_eq!(m["portagent_applies_total{result=\"success\"}"], 1.0, "{m:?}");
    assert_eq!(m["portagent_applies_total{result=\"rolled_back\"}"], 1.0, "{m:?}");
    assert_eq!(m["portagent_rollbacks_total{}"], 1.0);
    assert_eq!(m["portagent_apply_failures_total{plugin=\"probe\"}"], 1.0, "{m:?}");
    assert_eq!(m["portagent_apply_duration_seconds_count{}"], 2.0);
    assert_eq!(m["portagent_ledger_height{}"], 3.0, "apply, plugin install, rollback");
    assert!(m["portagent_ledger_checkpoint_age_seconds{}"] < 600.0);
    assert_eq!(m["portagent_pending_confirmation{}"], 0.0);

    // The textfile form: written whole, the same text.
    let out = portagent(&lab, &["metrics", "--textfile", "/run/portagent.prom"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = parsed(&lab.read("/run/portagent.prom").unwrap());
    assert_eq!(written["portagent_ledger_height{}"], 3.0);
}
