//! The connectivity probe of confirm-or-revert: after an apply verified,
//! each listed host must answer a ping, else the change is rolled back
//! (the host-side check a lost SSH session cannot make).

use std::process::{Command, Stdio};
use std::time::Duration;

/// How long each host has to answer.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Whether `host` is a plain address or host name (never an option).
pub fn check_target(host: &str) -> Result<(), String> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with('-')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '%' | '_'));
    if ok { Ok(()) } else { Err(format!("{host:?} is not an IP address or host name")) }
}

/// Pings each host until one reply or [`DEADLINE`]; the hosts that did not
/// answer, with why.
pub fn unreachable(hosts: &[String]) -> Vec<String> {
    hosts
        .iter()
        .filter_map(|host| {
            let out = Command::new("ping")
                .args(["-n", "-q", "-c", "1", "-w", &DEADLINE.as_secs().to_string(), "--", host])
                .stdin(Stdio::null())
                .output();
            match out {
                Ok(o) if o.status.success() => None,
                Ok(o) => {
                    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
                    let why = if err.is_empty() { format!("no reply within {} s", DEADLINE.as_secs()) } else { err };
                    Some(format!("{host}: {why}"))
                }
                Err(e) => Some(format!("{host}: cannot run ping: {e}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_addresses_or_names() {
        for ok in ["192.168.1.1", "fe80::1%eth0", "gw.example.org", "2001:db8::1"] {
            check_target(ok).unwrap();
        }
        for bad in ["", "-f", "a b", "x;rm", &"a".repeat(300)] {
            assert!(check_target(bad).is_err(), "{bad}");
        }
    }
}
