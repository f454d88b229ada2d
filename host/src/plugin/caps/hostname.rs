//! `hostname`: the host's name. Through `org.freedesktop.hostname1` where
//! hostnamed owns its name on the system bus (it writes the static name
//! and sets the kernel's); else the kernel's name directly
//! (`/proc/sys/kernel/hostname`, what `sethostname(2)` sets, in the
//! daemon's own UTS namespace) and the configured hostname file, written
//! atomically.

use super::{CapContext, Capability, Spec};
use crate::plugin::bindings::current::CapError;
use crate::plugin::bindings::current::portagent::plugin::hostname::{Host, Hostnames};
use std::path::Path;
use std::time::Duration;

/// The kernel's hostname of this UTS namespace.
const KERNEL_HOSTNAME: &str = "/proc/sys/kernel/hostname";

const DEST: &str = "org.freedesktop.hostname1";
const PATH: &str = "/org/freedesktop/hostname1";

fn failed(what: &str, e: impl std::fmt::Display) -> CapError {
    CapError::Failed(format!("hostname {what}: {e}"))
}

/// The static name in a hostname file: its first line that is not a
/// comment, trimmed; empty when there is none.
fn static_name(file: &Path) -> Result<String, CapError> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or_default()
            .to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(failed(&format!("read {}", file.display()), e)),
    }
}

/// Writes `name` as the whole hostname file: a temporary file beside it,
/// synced, then renamed over it; in place where the file is a bind mount.
fn write_static(file: &Path, name: &str) -> Result<(), CapError> {
    crate::util::fs::write_atomically_or_in_place(file, format!("{name}\n").as_bytes(), 0o644)
        .map_err(|e| failed(&format!("write {}", file.display()), e))
}

/// Whether connecting to the system bus failed because there is none (no
/// socket, nobody listening): then hostnamed is not running either.
fn no_bus(e: &zbus::Error) -> bool {
    use std::io::ErrorKind::{ConnectionRefused, NotFound};
    match e {
        zbus::Error::InputOutput(io) | zbus::Error::Connection(io, _) => {
            matches!(io.kind(), NotFound | ConnectionRefused)
        }
        _ => false,
    }
}

/// hostnamed on the system bus: `None` only when it does not run (no bus,
/// or nobody owns its name; never started by asking). A bus that does not
/// answer is an error, not a reason to write behind hostnamed's back.
async fn hostnamed(timeout: Duration) -> Result<Option<zbus::Connection>, CapError> {
    let look = async {
        let conn = match zbus::Connection::system().await {
            Ok(conn) => conn,
            Err(e) if no_bus(&e) => return Ok(None),
            Err(e) => return Err(failed("system bus", e)),
        };
        let dbus = zbus::fdo::DBusProxy::new(&conn).await.map_err(|e| failed("system bus", e))?;
        let name = zbus::names::BusName::try_from(DEST).map_err(|e| failed("system bus", e))?;
        let owned = dbus.name_has_owner(name).await.map_err(|e| failed("system bus NameHasOwner", e))?;
        Ok(owned.then_some(conn))
    };
    tokio::time::timeout(timeout, look).await.unwrap_or_else(|_| Err(failed("system bus", "no answer in time")))
}

async fn hostnamed_get(conn: &zbus::Connection) -> Result<Hostnames, CapError> {
    let proxy = zbus::Proxy::new(conn, DEST, PATH, DEST).await.map_err(|e| failed("hostnamed", e))?;
    let transient: String = proxy.get_property("Hostname").await.map_err(|e| failed("hostnamed Hostname", e))?;
    let configured: String =
        proxy.get_property("StaticHostname").await.map_err(|e| failed("hostnamed StaticHostname", e))?;
    Ok(Hostnames { transient, configured })
}

async fn hostnamed_set(conn: &zbus::Connection, name: &str) -> Result<(), CapError> {
    for method in ["SetStaticHostname", "SetHostname"] {
        conn.call_method(Some(DEST), PATH, Some(DEST), method, &(name, false))
            .await
            .map_err(|e| failed(&format!("hostnamed {method}"), e))?;
    }
    Ok(())
}

impl Host for CapContext {
    async fn get(&mut self) -> wasmtime::Result<Result<Hostnames, CapError>> {
        if let Err(e) = self.grants.require(&self.plugin, Capability::HOSTNAME, "read") {
            return Ok(Err(e));
        }
        let timeout = self.remaining(Capability::HOSTNAME)?;
        let conn = match hostnamed(timeout).await {
            Ok(conn) => conn,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(conn) = conn {
            return Ok(tokio::time::timeout(timeout, hostnamed_get(&conn))
                .await
                .unwrap_or_else(|_| Err(failed("hostnamed", "no answer in time"))));
        }
        let transient = match std::fs::read_to_string(KERNEL_HOSTNAME) {
            Ok(t) => t.trim().to_string(),
            Err(e) => return Ok(Err(failed("read the kernel's", e))),
        };
        Ok(static_name(&self.backends.hostname_file).map(|configured| Hostnames { transient, configured }))
    }

    async fn set(&mut self, name: String) -> wasmtime::Result<Result<(), CapError>> {
        if let Err(e) = self.grants.require(&self.plugin, Capability::HOSTNAME, "write") {
            return Ok(Err(e));
        }
        if let Err(why) = portagent_sdk::validate::hostname(&name) {
            return Ok(Err(CapError::InvalidArgument(why)));
        }
        let timeout = self.remaining(Capability::HOSTNAME)?;
        let conn = match hostnamed(timeout).await {
            Ok(conn) => conn,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(conn) = conn {
            return Ok(tokio::time::timeout(timeout, hostnamed_set(&conn, &name))
                .await
                .unwrap_or_else(|_| Err(failed("hostnamed", "no answer in time"))));
        }
        if let Err(e) = write_static(&self.backends.hostname_file, &name) {
            return Ok(Err(e));
        }
        Ok(std::fs::write(KERNEL_HOSTNAME, &name).map_err(|e| failed("set the kernel's", e)))
    }
}

/// `hostname`: the host's name: `read`, `write`.
pub const CAPABILITY: Capability = Capability("hostname");

pub static SPEC: Spec = Spec::read_write(CAPABILITY);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_static_name_is_the_first_line_that_is_not_a_comment() {
        let dir = std::env::temp_dir().join(format!("portagent-hostname-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hostname");
        assert_eq!(static_name(&file).unwrap(), "", "a missing file is no name");
        std::fs::write(&file, "# set by the installer\n\n  box1  \nignored\n").unwrap();
        assert_eq!(static_name(&file).unwrap(), "box1");
        write_static(&file, "netmaker-server").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "netmaker-server\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
