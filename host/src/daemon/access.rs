//! Who is calling, and may they: the caller's uid from the bus
//! (`GetConnectionUnixUser`); uid 0 may do anything without asking polkit
//! (as systemd's own services do, so root is never locked out by a missing
//! or broken polkit policy); anyone else needs polkit's `CheckAuthorization`
//! for the method's action, and a polkit that cannot answer is reported
//! with its cause.

use super::error::Error;
use crate::state::Caller;
use std::collections::HashMap;
use zbus::message::Header;
use zbus::zvariant::Value;

/// Changes network state: `ApplyState`, `Commit`, `Rollback`, ports.
pub const MANAGE: &str = "dev.ovs.PortAgent1.manage";
/// Installs or removes plugins.
pub const PLUGINS: &str = "dev.ovs.PortAgent1.manage-plugins";

pub fn sender(hdr: &Header<'_>) -> Result<String, Error> {
    hdr.sender().map(|s| s.to_string()).ok_or_else(|| Error::AccessDenied("the call has no sender".into()))
}

/// The uid of the connection that sent `hdr`.
pub async fn caller(conn: &zbus::Connection, hdr: &Header<'_>) -> Result<Caller, Error> {
    let sender = sender(hdr)?;
    let dbus = zbus::fdo::DBusProxy::new(conn).await?;
    let name = zbus::names::BusName::try_from(sender.as_str()).map_err(|e| Error::AccessDenied(e.to_string()))?;
    let uid = dbus.get_connection_unix_user(name).await.map_err(|e| Error::AccessDenied(e.to_string()))?;
    Ok(Caller { uid })
}

/// The caller, if it is root or polkit allows `action`.
pub async fn authorize(conn: &zbus::Connection, hdr: &Header<'_>, action: &str) -> Result<Caller, Error> {
    let caller = caller(conn, hdr).await?;
    if caller.uid == 0 {
        return Ok(caller);
    }
    let sender = sender(hdr)?;
    let subject: (&str, HashMap<&str, Value<'_>>) =
        ("system-bus-name", HashMap::from([("name", Value::from(sender.as_str()))]));
    let details: HashMap<&str, &str> = HashMap::new();
    let reply = conn
        .call_method(
            Some("org.freedesktop.PolicyKit1"),
            "/org/freedesktop/PolicyKit1/Authority",
            Some("org.freedesktop.PolicyKit1.Authority"),
            "CheckAuthorization",
            &(subject, action, details, 0u32, ""),
        )
        .await;
    let who = caller.describe();
    match reply {
        Ok(msg) => {
            let (authorized, _challenge, _details): (bool, bool, HashMap<String, String>) = msg.body().deserialize()?;
            if authorized {
                Ok(caller)
            } else {
                Err(Error::AccessDenied(format!("{who} may not {action} (polkit said no)")))
            }
        }
        Err(zbus::Error::MethodError(name, _, _))
            if name.as_str() == "org.freedesktop.DBus.Error.ServiceUnknown"
                || name.as_str() == "org.freedesktop.DBus.Error.NameHasNoOwner" =>
        {
            Err(Error::AccessDenied(format!("{who} may not {action}: polkit is not running, so only root may")))
        }
        Err(e) => {
            log::warn!("polkit CheckAuthorization for {action} ({who}): {e}");
            Err(Error::AccessDenied(format!("{who} may not {action}: polkit could not decide: {e}")))
        }
    }
}
