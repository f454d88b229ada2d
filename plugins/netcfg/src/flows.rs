//! Flows in two forms: as the file says them (`FlowSpec`) and in OVS's
//! normal form (as `dump-flows` prints them: its own field order,
//! `NORMAL`, masks as prefixes). The file's are compared with the live
//! ones in the normal form, which OVS itself computes (`normalize`); a
//! flow's normal form never changes, so each is asked for once per
//! instance.

use crate::model::{DEFAULT_FLOW_PRIORITY, FlowSpec};
use portagent_sdk::CapError;
use portagent_sdk::openflow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

thread_local! {
    static NORMAL: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

/// The normal forms of `texts` (in order), from the cache and one call
/// for the rest.
pub fn normalize(texts: &[String]) -> Result<Vec<String>, CapError> {
    let missing: Vec<String> = NORMAL.with(|n| {
        let n = n.borrow();
        let mut m: Vec<String> = texts.iter().filter(|t| !n.contains_key(*t)).cloned().collect();
        m.sort();
        m.dedup();
        m
    });
    if !missing.is_empty() {
        let normal = openflow::normalize(&missing).map_err(|e| renumbered(e, &missing, texts))?;
        NORMAL.with(|n| n.borrow_mut().extend(missing.into_iter().zip(normal)));
    }
    Ok(NORMAL.with(|n| {
        let n = n.borrow();
        texts.iter().map(|t| n[t].clone()).collect()
    }))
}

/// OVS's `flow N: why` about `asked[N]` as `flow M: why`, M its place in
/// `texts` (only flows not in the cache were asked about).
fn renumbered(e: CapError, asked: &[String], texts: &[String]) -> CapError {
    let CapError::InvalidArgument(message) = &e else { return e };
    let place = message
        .strip_prefix("flow ")
        .and_then(|r| r.split_once(':'))
        .and_then(|(n, why)| Some((asked.get(n.trim().parse::<usize>().ok()?)?, why)))
        .and_then(|(flow, why)| Some((texts.iter().position(|t| t == flow)?, why)));
    match place {
        Some((m, why)) => CapError::InvalidArgument(format!("flow {m}:{why}")),
        None => e,
    }
}

/// A flow in OVS's normal form, e.g. `table=1, priority=5,in_port=2
/// actions=resubmit(,2)`, as the file would say it.
pub fn spec_of(bridge: &str, normal: &str) -> FlowSpec {
    // OVS prints ` actions=`; the text a file gives has `,actions=`.
    let (left, actions) =
        normal.split_once(" actions=").or_else(|| normal.split_once(",actions=")).unwrap_or((normal, ""));
    let (table, left) = match left.strip_prefix("table=").and_then(|r| r.split_once(", ")) {
        Some((t, rest)) => (Some(t), rest),
        None => (None, left),
    };
    let mut priority = DEFAULT_FLOW_PRIORITY;
    let mut fields: Vec<String> = table.map(|t| format!("table={t}")).into_iter().collect();
    for f in left.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match f.strip_prefix("priority=").and_then(|p| p.parse().ok()) {
            Some(p) => priority = p,
            None => fields.push(f.to_string()),
        }
    }
    FlowSpec {
        bridge: bridge.into(),
        priority: Some(priority),
        match_rule: fields.join(","),
        actions: actions.trim().to_string(),
    }
}

/// The file's flows by bridge, each with its index in `ovs_flows`.
pub fn by_bridge(flows: &[FlowSpec]) -> BTreeMap<String, Vec<(usize, String)>> {
    let mut out: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    for (i, f) in flows.iter().enumerate() {
        out.entry(f.bridge.clone()).or_default().push((i, f.text()));
    }
    out
}

/// Whether two lists hold the same flows, whatever their order.
pub fn same(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_flow_by_its_place_in_what_was_given() {
        let texts = ["a".to_string(), "b".to_string(), "c".to_string()];
        let asked = ["c".to_string()];
        let e = renumbered(CapError::InvalidArgument("flow 0: OVS refused it: x".into()), &asked, &texts);
        assert!(matches!(&e, CapError::InvalidArgument(m) if m == "flow 2: OVS refused it: x"), "{e:?}");
        let e = renumbered(CapError::InvalidArgument("flow 9: x".into()), &asked, &texts);
        assert!(matches!(&e, CapError::InvalidArgument(m) if m == "flow 9: x"), "out of range: as it was: {e:?}");
    }

    #[test]
    fn normal_forms_read_back_as_the_file_would_say_them() {
        let f = spec_of("ovsbr0", "priority=200,ip,nw_dst=10.0.0.0/8 actions=NORMAL");
        assert_eq!(
            (f.priority, f.match_rule.as_str(), f.actions.as_str()),
            (Some(200), "ip,nw_dst=10.0.0.0/8", "NORMAL")
        );
        let f = spec_of("br", "table=1, priority=5,in_port=2 actions=resubmit(,2)");
        assert_eq!(f.match_rule, "table=1,in_port=2");
        assert_eq!(f.text(), "priority=5,table=1,in_port=2,actions=resubmit(,2)");
        let f = spec_of("br", "priority=0 actions=drop");
        assert_eq!((f.match_rule.as_str(), f.priority), ("", Some(0)));
        assert_eq!(spec_of("br", "ip actions=drop").priority, Some(32768));
    }

    #[test]
    fn flows_are_compared_as_sets() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same(&s(&["a", "b"]), &s(&["b", "a"])));
        assert!(!same(&s(&["a", "a"]), &s(&["a"])));
    }
}
