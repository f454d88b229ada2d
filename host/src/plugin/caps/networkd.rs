//! `networkd`: reload and reconfigure through networkd's D-Bus API
//! (`org.freedesktop.network1.Manager`, as `networkctl` does, without
//! starting it); link states from the state files networkd keeps for
//! `networkctl`. The config dir itself is a WASI preopen, set up in
//! [`sandbox`](crate::plugin::sandbox).

use super::{CapContext, Spec};
use super::{Capability, run_command, valid_ifname};
use crate::plugin::bindings::current::CapError;
use crate::plugin::networkd_files;
use crate::plugin::bindings::current::portagent::plugin::networkd::{Host, LinkState};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// networkd's per-link state files (`sd_network_link_get_setup_state()`
/// reads them), named by interface index.
const NETIF_LINKS: &str = "/run/systemd/netif/links";
/// The kernel's interfaces, each with its `ifindex`.
const SYS_CLASS_NET: &str = "/sys/class/net";

const DEST: &str = "org.freedesktop.network1";
const MANAGER_PATH: &str = "/org/freedesktop/network1";
const MANAGER: &str = "org.freedesktop.network1.Manager";

/// Calls `method` of networkd's manager on the system bus, bounded by
/// `timeout`: a connection per call, on the plugin call's own runtime (so
/// a plugin call never blocks the daemon's).
async fn call_manager<B>(method: &'static str, body: &B, timeout: Duration) -> Result<(), CapError>
where
    B: serde::Serialize + zbus::zvariant::DynamicType + Sync,
{
    let call = async {
        let conn = zbus::Connection::system().await?;
        conn.call_method(Some(DEST), MANAGER_PATH, Some(MANAGER), method, body).await.map(drop)
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(|e| refused(method, e)),
        Err(_) => Err(CapError::Timeout(format!("networkd {method}: no answer within {timeout:?}"))),
    }
}

/// networkd's D-Bus error, as the variant it means: a link it does not
/// know is `not-found`, arguments it refuses `invalid-argument`.
fn refused(method: &str, e: zbus::Error) -> CapError {
    let name = match &e {
        zbus::Error::MethodError(name, ..) => name.as_str(),
        _ => "",
    };
    let message = format!("networkd {method}: {e}");
    match name.rsplit('.').next().unwrap_or("") {
        "NoSuchLink" | "UnknownObject" => CapError::NotFound(message),
        "InvalidArgs" => CapError::InvalidArgument(message),
        "Timeout" | "NoReply" => CapError::Timeout(message),
        _ => CapError::Failed(message),
    }
}

impl CapContext {
    /// Checks the `write` grant, then calls `method` with what `body` gives.
    async fn manager_write<B>(
        &mut self,
        method: &'static str,
        body: impl FnOnce() -> Result<B, CapError>,
    ) -> wasmtime::Result<Result<(), CapError>>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType + Sync,
    {
        if let Err(e) = self.grants.require(&self.plugin, Capability::NETWORKD, "write") {
            return Ok(Err(e));
        }
        if matches!(method, "Reload" | "ReconfigureLink")
            && let Err(e) = self.files_in_scope()
        {
            return Ok(Err(e));
        }
        let timeout = self.remaining(Capability::NETWORKD)?;
        Ok(match body() {
            Ok(b) => call_manager(method, &b, timeout).await,
            Err(e) => Err(e),
        })
    }
}

/// The interface index of `link`, from sysfs.
fn ifindex(link: &str) -> Result<i32, CapError> {
    if !valid_ifname(link) {
        return Err(CapError::InvalidArgument(format!("{link:?} is not an interface name")));
    }
    std::fs::read_to_string(Path::new(SYS_CLASS_NET).join(link).join("ifindex"))
        .ok()
        .and_then(|i| i.trim().parse().ok())
        .ok_or_else(|| CapError::NotFound(format!("no interface {link}")))
}

/// Parses `networkctl list --no-legend`: `IDX LINK TYPE OPERATIONAL SETUP`.
fn parse_list(out: &str) -> Vec<LinkState> {
    out.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() >= 5).then(|| LinkState {
                name: cols[1].into(),
                operational: cols[3].into(),
                setup: cols[4].into(),
                network_file: String::new(),
                dns: vec![],
                domains: vec![],
            })
        })
        .collect()
}

/// The value of `KEY=` in a state file.
fn state_value<'a>(file: &'a str, key: &str) -> Option<&'a str> {
    file.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

fn words(value: Option<&str>) -> Vec<String> {
    value.unwrap_or_default().split_whitespace().map(String::from).collect()
}

/// A DNS server as networkd's `SetLinkDNS` takes it: (family, bytes).
fn dns_server(text: &str) -> Result<(i32, Vec<u8>), CapError> {
    match text.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => Ok((libc::AF_INET, v4.octets().to_vec())),
        Ok(std::net::IpAddr::V6(v6)) => Ok((libc::AF_INET6, v6.octets().to_vec())),
        Err(_) => Err(CapError::InvalidArgument(format!("DNS server {text:?} is not an IP address"))),
    }
}

/// A search domain as `SetLinkDomains` takes it: (domain, routing only).
fn search_domain(text: &str) -> Result<(String, bool), CapError> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok { Ok((text.to_string(), false)) } else { Err(CapError::InvalidArgument(format!("{text:?} is not a domain name"))) }
}

/// Every kernel link with networkd's states from its state file (what
/// `networkctl list` shows, and the file each is configured from, without
/// a process and a D-Bus call per link, so polling it while networkd
/// works does not slow networkd down). A
/// link networkd has not written a file for yet is `pending`. None when
/// networkd keeps no state files here (not running).
fn read_state_files(links_dir: &Path, sys_net: &Path) -> Option<Vec<LinkState>> {
    if !links_dir.is_dir() {
        return None;
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(sys_net).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(index) = std::fs::read_to_string(entry.path().join("ifindex")) else { continue };
        let file = std::fs::read_to_string(links_dir.join(index.trim())).unwrap_or_default();
        out.push(LinkState {
            operational: state_value(&file, "OPER_STATE").unwrap_or("n/a").into(),
            setup: state_value(&file, "ADMIN_STATE").unwrap_or("pending").into(),
            network_file: state_value(&file, "NETWORK_FILE").unwrap_or_default().into(),
            dns: words(state_value(&file, "DNS")),
            domains: words(state_value(&file, "DOMAINS")),
            name,
        });
    }
    Some(out)
}

impl Host for CapContext {
    async fn link_states(&mut self) -> wasmtime::Result<Result<Vec<LinkState>, CapError>> {
        if let Err(e) = self.grants.require(&self.plugin, Capability::NETWORKD, "read") {
            return Ok(Err(e));
        }
        if let Some(states) = read_state_files(Path::new(NETIF_LINKS), Path::new(SYS_CLASS_NET)) {
            return Ok(Ok(states));
        }
        let timeout = self.remaining(Capability::NETWORKD)?;
        let mut cmd = Command::new("networkctl");
        cmd.args(["list", "--no-pager", "--no-legend"]);
        Ok(run_command(cmd, timeout).await.map(|out| parse_list(&out)))
    }

    async fn reload(&mut self) -> wasmtime::Result<Result<(), CapError>> {
        self.manager_write("Reload", || Ok(())).await
    }

    async fn reconfigure(&mut self, link: String) -> wasmtime::Result<Result<(), CapError>> {
        self.manager_write("ReconfigureLink", || ifindex(&link)).await
    }

    async fn set_link_dns(
        &mut self,
        link: String,
        servers: Vec<String>,
        domains: Vec<String>,
    ) -> wasmtime::Result<Result<(), CapError>> {
        let servers = match servers.iter().map(|s| dns_server(s)).collect::<Result<Vec<_>, _>>() {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let domains = match domains.iter().map(|d| search_domain(d)).collect::<Result<Vec<_>, _>>() {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = self.manager_write("SetLinkDNS", || Ok((ifindex(&link)?, servers))).await? {
            return Ok(Err(e));
        }
        self.manager_write("SetLinkDomains", || Ok((ifindex(&link)?, domains))).await
    }

    async fn revert_link_dns(&mut self, link: String) -> wasmtime::Result<Result<(), CapError>> {
        self.manager_write("RevertLinkDNS", || ifindex(&link)).await
    }
}

/// `networkd`: its config dir (a WASI preopen), reload and reconfigure, link states.
pub const CAPABILITY: Capability = Capability("networkd");

/// `read`, `write`, `prefix:NAME` items (the file names it may write
/// besides its own name's, see [`file_names`](crate::plugin::file_names)),
/// `links:PATTERN` items (the links its files may configure; none without
/// any, see [`networkd_files`](crate::plugin::networkd_files)) and
/// `drop-ins:PREFIX` (built-ins: other files it adds drop-ins to).
pub static SPEC: Spec = Spec {
    capability: CAPABILITY,
    scope_item: |item| {
        item == "read"
            || item == "write"
            || crate::plugin::file_names::valid_prefix_item(item)
            || networkd_files::valid_links_item(item)
            || networkd_files::valid_drop_ins_item(item)
    },
    scope_expected: || {
        "`read`, `write`, `prefix:NAME` (file names it may write), `links:NAME` or `links:PREFIX*` (links its files \
         may configure) and `drop-ins:PREFIX` items"
            .into()
    },
    empty_scope_grants: false,
};

impl CapContext {
    /// Refuses while one of the plugin's files could configure a link
    /// outside its `links:` items: a reload would make networkd apply it.
    fn files_in_scope(&self) -> Result<(), CapError> {
        let scope = self.grants.scope(&self.plugin, CAPABILITY)?;
        let why: Vec<String> = match networkd_files::outside_scope(&self.backends.networkd_dir, &self.plugin, scope) {
            Ok(files) => files.into_iter().map(|(_, why)| why).collect(),
            Err(e) => vec![e],
        };
        match why.is_empty() {
            true => Ok(()),
            false => Err(CapError::Denied(format!("plugin '{}': {}", self.plugin, why.join("; ")))),
        }
    }
}


#[cfg(test)]
mod tests {
    use std::fs;

    #[test]
    fn links_are_found_by_name_only() {
        assert_eq!(super::ifindex("lo").unwrap(), 1, "lo is interface 1 in every namespace");
        for bad in ["../lo", "lo/..", "", "a-name-over-15-bytes"] {
            let e = super::ifindex(bad).unwrap_err();
            assert!(format!("{e:?}").contains("not an interface name"), "{bad:?}: {e:?}");
        }
        assert!(format!("{:?}", super::ifindex("pa-nosuch0").unwrap_err()).contains("no interface pa-nosuch0"));
    }

    #[test]
    fn state_files_are_read_by_ifindex() {
        let dir = std::env::temp_dir().join(format!("portagent-netif-{}", std::process::id()));
        let (links, sys) = (dir.join("links"), dir.join("sys"));
        for (name, index) in [("ovsbr0", "7"), ("p1", "9")] {
            fs::create_dir_all(sys.join(name)).unwrap();
            fs::write(sys.join(name).join("ifindex"), format!("{index}\n")).unwrap();
        }
        fs::create_dir_all(&links).unwrap();
        let file = "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\n\
                    NETWORK_FILE=/etc/systemd/network/10-portagent-ovsbr0.network\n\
                    DNS=8.8.8.8 9.9.9.9\nDOMAINS=vpn.internal example.com\n";
        fs::write(links.join("7"), file).unwrap();
        let mut v = super::read_state_files(&links, &sys).unwrap();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        let got: Vec<(&str, &str, &str, &str)> = v
            .iter()
            .map(|l| (l.name.as_str(), l.operational.as_str(), l.setup.as_str(), l.network_file.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("ovsbr0", "routable", "configured", "/etc/systemd/network/10-portagent-ovsbr0.network"),
                ("p1", "n/a", "pending", "")
            ]
        );
        assert_eq!(v[0].dns, ["8.8.8.8", "9.9.9.9"]);
        assert_eq!(v[0].domains, ["vpn.internal", "example.com"]);
        assert!(v[1].dns.is_empty());
        assert!(super::read_state_files(&dir.join("missing"), &sys).is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dns_settings_are_checked_before_they_are_sent() {
        assert_eq!(super::dns_server("9.9.9.9").unwrap(), (libc::AF_INET, vec![9, 9, 9, 9]));
        assert_eq!(super::dns_server("::1").unwrap().0, libc::AF_INET6);
        assert!(super::dns_server("nine").is_err());
        assert!(super::search_domain("vpn.internal").is_ok());
        for bad in ["", "a..b", "a b", "-;x"] {
            assert!(super::search_domain(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn networkctl_list_is_parsed() {
        let out = "  1 lo         loopback carrier  unmanaged\n  5 ovsbr1     ether    routable configuring\n";
        let v = super::parse_list(out);
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[1].name.as_str(), v[1].operational.as_str(), v[1].setup.as_str()),
            ("ovsbr1", "routable", "configuring")
        );
    }
}
