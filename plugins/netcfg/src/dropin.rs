//! What netcfg keeps in networkd's config: one drop-in per `.network`
//! file it adds to (`<file>.network.d/50-portagent-netcfg.conf`), never
//! the file itself. Each drop-in holds the routes, rules, DNS servers and
//! search domains netcfg made for that file's link, as networkd sections
//! (so networkd configures them at boot, at every reload, and when it
//! restarts) and as a JSON record (what netcfg owns).

use crate::model::{Route, RouteType, Rule};
use portagent_sdk::PluginError;
use portagent_sdk::networkd::{self, DropIns, RECORD};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The first line of every drop-in netcfg writes.
pub const MARKER: &str =
    "# Managed by portagent (netcfg): routes, rules and DNS it adds to this link. Edits are overwritten.";

pub const DROPINS: DropIns = DropIns { name: "50-portagent-netcfg.conf", marker: MARKER };

/// DNS settings netcfg added to a link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    #[serde(default)]
    pub servers: Vec<String>,
    #[serde(default)]
    pub domains: Vec<String>,
}

/// What netcfg owns in one link's `.network` file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The link the file configures.
    pub link: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsRecord>,
}

impl Record {
    /// Nothing to keep: no routes, no rules, and no DNS servers or search
    /// domains (cleared DNS leaves no drop-in behind, so the link's own
    /// files, and the link itself, can go).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
            && self.rules.is_empty()
            && self.dns.as_ref().is_none_or(|d| d.servers.is_empty() && d.domains.is_empty())
    }
}

/// The records of every drop-in of netcfg's, by `.network` file name.
/// Look-alikes without the marker are someone else's and left out.
pub fn records() -> Result<BTreeMap<String, Record>, PluginError> {
    Ok(DROPINS
        .read_all()?
        .into_iter()
        .filter(|(_, content)| DROPINS.is_ours(content))
        .filter_map(|(file, content)| {
            let record = content.lines().find_map(|l| l.strip_prefix(RECORD))?;
            Some((file, serde_json::from_str(record).ok()?))
        })
        .collect())
}

/// netcfg's drop-ins that are not what it writes for their records
/// (edited behind it: networkd would apply the edit at its next reload),
/// by `.network` file, with why.
pub fn changed_behind() -> Result<Vec<(String, String)>, PluginError> {
    Ok(DROPINS
        .read_all()?
        .into_iter()
        .filter(|(_, content)| DROPINS.is_ours(content))
        .filter_map(|(file, content)| {
            let record: Record = serde_json::from_str(content.lines().find_map(|l| l.strip_prefix(RECORD))?).ok()?;
            (render(&record) != content)
                .then(|| (file.clone(), format!("{} was changed behind portagent", DROPINS.path_for(&file).display())))
        })
        .collect())
}

fn route_section(r: &Route) -> String {
    let mut s = format!("\n[Route]\nDestination={}\n", r.destination);
    if let Some(g) = &r.gateway {
        s.push_str(&format!("Gateway={g}\n"));
    }
    if let Some(m) = r.metric {
        s.push_str(&format!("Metric={m}\n"));
    }
    if r.table != crate::model::MAIN_TABLE {
        s.push_str(&format!("Table={}\n", r.table));
    }
    if let Some(src) = &r.source {
        s.push_str(&format!("PreferredSource={src}\n"));
    }
    match r.kind {
        RouteType::Unicast => {}
        RouteType::Blackhole => s.push_str("Type=blackhole\n"),
        RouteType::Unreachable => s.push_str("Type=unreachable\n"),
        RouteType::Prohibit => s.push_str("Type=prohibit\n"),
    }
    s
}

fn rule_section(r: &Rule) -> String {
    let mut s = format!("\n[RoutingPolicyRule]\nPriority={}\nTable={}\n", r.priority, r.table);
    if let Some(f) = &r.from {
        s.push_str(&format!("From={f}\n"));
    }
    if let Some(t) = &r.to {
        s.push_str(&format!("To={t}\n"));
    }
    if let Some(i) = &r.iif {
        s.push_str(&format!("IncomingInterface={i}\n"));
    }
    if let Some(m) = r.fwmark {
        s.push_str(&format!("FirewallMark={m}\n"));
    }
    if r.ipv6 && r.from.is_none() && r.to.is_none() {
        s.push_str("Family=ipv6\n");
    }
    s
}

/// The drop-in for `record`: the marker, the record, and the sections
/// networkd reads.
pub fn render(record: &Record) -> String {
    let mut s = format!("{MARKER}\n{RECORD}{}\n", serde_json::to_string(record).expect("the record serializes"));
    if let Some(dns) = &record.dns
        && (!dns.servers.is_empty() || !dns.domains.is_empty())
    {
        s.push_str("\n[Network]\n");
        for server in &dns.servers {
            s.push_str(&format!("DNS={server}\n"));
        }
        if !dns.domains.is_empty() {
            s.push_str(&format!("Domains={}\n", dns.domains.join(" ")));
        }
    }
    record.routes.iter().for_each(|r| s.push_str(&route_section(r)));
    record.rules.iter().for_each(|r| s.push_str(&rule_section(r)));
    s
}

/// The `.network` file networkd configures each link from (its name, as
/// the drop-in dir is named), for the links it configures from one.
pub fn network_files() -> Result<BTreeMap<String, String>, PluginError> {
    Ok(networkd::link_states()?
        .into_iter()
        .filter_map(|s| {
            let file = Path::new(&s.network_file).file_name()?.to_string_lossy().into_owned();
            (!file.is_empty()).then_some((s.name, file))
        })
        .collect())
}

/// The `.network` file for `link`, or why netcfg cannot add to it.
pub fn file_of<'a>(files: &'a BTreeMap<String, String>, link: &str, what: &str) -> Result<&'a str, PluginError> {
    files.get(link).map(String::as_str).ok_or_else(|| {
        PluginError::Failed(format!(
            "netcfg keeps {what} in a drop-in of {link}'s .network file, and networkd configures {link} from none \
             (declare {link} in the net section, or give another interface)"
        ))
    })
}

/// The DNS servers and search domains a link's files give it without
/// netcfg: its `.network` file and every other drop-in, in the order
/// networkd reads them (`DNS=`/`Domains=` add to the list; an empty one
/// empties it).
pub fn dns_of_files(network_file: &str) -> DnsRecord {
    let dir = networkd::dir();
    let mut texts: Vec<String> = std::fs::read_to_string(dir.join(network_file)).into_iter().collect();
    let mut dropins: Vec<_> = std::fs::read_dir(dir.join(format!("{network_file}.d")))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf") && n != DROPINS.name)
        .collect();
    dropins.sort();
    for name in dropins {
        if let Ok(t) = std::fs::read_to_string(dir.join(format!("{network_file}.d")).join(name)) {
            texts.push(t);
        }
    }
    let mut out = DnsRecord::default();
    for text in texts {
        let mut section = String::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_string();
                continue;
            }
            if section != "[Network]" {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else { continue };
            let list = match key.trim() {
                "DNS" => &mut out.servers,
                "Domains" => &mut out.domains,
                _ => continue,
            };
            if value.trim().is_empty() {
                list.clear();
            }
            list.extend(value.split_whitespace().map(String::from));
        }
    }
    out
}

/// `base` then `more`, each once, in order.
pub fn merged(base: &[String], more: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for x in base.iter().chain(more) {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use portagent_sdk::testing::{Fake, run};

    #[test]
    fn a_record_round_trips_through_its_drop_in() {
        let record = Record {
            link: "ovsbr0".into(),
            routes: vec![Route {
                destination: "10.0.0.0/8".into(),
                gateway: Some("192.168.1.254".into()),
                interface: Some("ovsbr0".into()),
                metric: Some(100),
                table: 254,
                source: None,
                kind: RouteType::Unicast,
            }],
            rules: vec![Rule {
                priority: 600,
                from: Some("10.2.0.0/16".into()),
                to: None,
                iif: None,
                fwmark: None,
                table: 200,
                ipv6: false,
            }],
            dns: Some(DnsRecord { servers: vec!["9.9.9.9".into()], domains: vec!["vpn.internal".into()] }),
        };
        let text = render(&record);
        assert!(text.starts_with(MARKER));
        assert!(text.contains("[Route]\nDestination=10.0.0.0/8\nGateway=192.168.1.254\nMetric=100\n"), "{text}");
        assert!(text.contains("[RoutingPolicyRule]\nPriority=600\nTable=200\nFrom=10.2.0.0/16\n"), "{text}");
        assert!(text.contains("[Network]\nDNS=9.9.9.9\nDomains=vpn.internal\n"), "{text}");
        let ((), _) = run(Fake::new(), || {
            DROPINS.write("10-portagent-ovsbr0.network", &text).unwrap();
            let back = records().unwrap();
            assert_eq!(back["10-portagent-ovsbr0.network"], record);
        });
    }

    #[test]
    fn dns_of_files_reads_the_file_and_other_drop_ins_in_order() {
        let ((), _) = run(Fake::new(), || {
            let dir = networkd::dir();
            std::fs::write(dir.join("a.network"), "[Match]\nName=x\n[Network]\nDNS=8.8.8.8\nDomains=one\n").unwrap();
            std::fs::create_dir_all(dir.join("a.network.d")).unwrap();
            std::fs::write(dir.join("a.network.d/10-x.conf"), "[Network]\nDNS=\nDNS=1.1.1.1 1.0.0.1\n").unwrap();
            std::fs::write(dir.join("a.network.d").join(DROPINS.name), "[Network]\nDNS=9.9.9.9\n").unwrap();
            let d = dns_of_files("a.network");
            assert_eq!(d.servers, ["1.1.1.1", "1.0.0.1"], "an empty DNS= empties the list; netcfg's own is left out");
            assert_eq!(d.domains, ["one"]);
        });
    }
}
