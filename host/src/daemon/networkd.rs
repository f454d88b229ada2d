//! systemd-networkd introspection over its D-Bus API
//! (`org.freedesktop.network1`): the manager's states and, per link from
//! `ListLinks`, its operational, carrier, address and administrative state.

use serde_json::{Value, json};
use zbus::zvariant::OwnedObjectPath;

const DEST: &str = "org.freedesktop.network1";
const STATES: &[(&str, &str)] = &[
    ("OperationalState", "operational_state"),
    ("CarrierState", "carrier_state"),
    ("AddressState", "address_state"),
    ("IPv4AddressState", "ipv4_address_state"),
    ("IPv6AddressState", "ipv6_address_state"),
];

async fn property(conn: &zbus::Connection, path: &str, iface: &str, name: &str) -> Option<String> {
    let proxy = zbus::fdo::PropertiesProxy::builder(conn).destination(DEST).ok()?.path(path).ok()?.build().await.ok()?;
    let iface = zbus::names::InterfaceName::try_from(iface).ok()?;
    let value = proxy.get(iface, name).await.ok()?;
    String::try_from(value).ok()
}

/// The manager's states and every link's, as JSON.
pub async fn introspect(conn: &zbus::Connection) -> zbus::Result<Value> {
    let reply = conn
        .call_method(Some(DEST), "/org/freedesktop/network1", Some("org.freedesktop.network1.Manager"), "ListLinks", &())
        .await?;
    let links: Vec<(i32, String, OwnedObjectPath)> = reply.body().deserialize()?;
    let mut manager = serde_json::Map::new();
    for (prop, key) in STATES {
        if let Some(v) = property(conn, "/org/freedesktop/network1", "org.freedesktop.network1.Manager", prop).await {
            manager.insert((*key).into(), json!(v));
        }
    }
    let mut out = Vec::new();
    for (index, name, path) in links {
        let mut link = serde_json::Map::new();
        link.insert("index".into(), json!(index));
        link.insert("name".into(), json!(name));
        let states = STATES.iter().chain(&[("AdministrativeState", "administrative_state")]);
        for (prop, key) in states {
            if let Some(v) = property(conn, path.as_str(), "org.freedesktop.network1.Link", prop).await {
                link.insert((*key).into(), json!(v));
            }
        }
        out.push(Value::Object(link));
    }
    Ok(json!({"manager": manager, "links": out}))
}
