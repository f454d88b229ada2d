//! What an apply must not touch: the addresses and gateway routes of every
//! link that was up before and that no action names. `apply` takes this
//! snapshot before its first change and `verify` (on the same instance,
//! right after) compares: a change there is a mismatch, so an apply that
//! reaches links it did not declare (a networkd file matching more than it
//! should) is rolled back instead of reported verified.

use crate::live::Live;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// One link's addresses (link-local IPv6 left out: the kernel makes and
/// drops those) and gateway routes, as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seen {
    pub addresses: BTreeSet<String>,
    pub routes: BTreeSet<String>,
}

static TAKEN: Mutex<Option<BTreeMap<String, Seen>>> = Mutex::new(None);

/// Every up link's addresses and gateway routes, by name.
pub fn seen(live: &Live) -> BTreeMap<String, Seen> {
    let mut out: BTreeMap<String, Seen> =
        live.links.iter().filter(|l| l.up && l.name != "lo").map(|l| (l.name.clone(), Seen::default())).collect();
    for a in &live.addresses {
        if a.ip.to_ascii_lowercase().starts_with("fe80:") {
            continue;
        }
        if let Some(s) = out.get_mut(&a.link) {
            s.addresses.insert(format!("{}/{}", a.ip, a.prefix));
        }
    }
    for r in live.routes.iter().filter(|r| r.gateway.is_some() && r.table == 254) {
        if let Some(s) = r.link.as_ref().and_then(|l| out.get_mut(l)) {
            s.routes.insert(format!("{} via {}", r.destination, r.gateway.as_deref().unwrap_or_default()));
        }
    }
    out
}

/// Remembers the links an apply must leave alone: up now, named by none
/// of `touched`.
pub fn take(live: &Live, touched: &BTreeSet<&str>) {
    let mut links = seen(live);
    links.retain(|name, _| !touched.contains(name.as_str()));
    *TAKEN.lock().unwrap() = Some(links);
}

/// Forgets the links the last apply had to leave alone: a restore is
/// verified against its checkpoint alone (what it cannot undo, such as a
/// foreign file networkd picked up at the apply's reload, is not its to
/// judge).
pub fn forget() {
    *TAKEN.lock().unwrap() = None;
}

/// What changed on the links the last apply had to leave alone, as
/// (link, what, before, now); nothing when no apply ran on this instance.
pub fn changes(live: &Live) -> Vec<(String, &'static str, String, String)> {
    let Some(before) = TAKEN.lock().unwrap().clone() else { return vec![] };
    let now = seen(live);
    let join = |s: &BTreeSet<String>| {
        if s.is_empty() { "none".to_string() } else { s.iter().cloned().collect::<Vec<_>>().join(", ") }
    };
    let mut out = Vec::new();
    for (link, was) in before {
        // A link that went away (or down) is not this check's business: it
        // was not declared, so nothing could have taken it.
        let Some(is) = now.get(&link) else { continue };
        if is.addresses != was.addresses {
            out.push((link.clone(), "addresses", join(&was.addresses), join(&is.addresses)));
        }
        if is.routes != was.routes {
            out.push((link, "routes", join(&was.routes), join(&is.routes)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_no_action_names_are_watched() {
        let mut live = crate::live::tests::live(3);
        take(&live, &["p0"].into_iter().collect());
        assert!(changes(&live).is_empty());
        // p0 was declared: its change is its own business; p1's is not.
        for a in live.addresses.iter_mut() {
            a.ip = a.ip.replace(".1", ".9");
        }
        let found = changes(&live);
        let links: Vec<&str> = found.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(links, ["p1", "p2"], "{found:?}");
        assert_eq!(found[0].1, "addresses");
    }
}
