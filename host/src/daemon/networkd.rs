//! systemd-networkd introspection over its D-Bus API
//! (`org.freedesktop.network1`): the manager's states and, per link from
//! `ListLinks`, its operational, carrier, address and administrative state.

use serde_json::{Map, Value, json};
use zbus::zvariant::OwnedObjectPath;

const DEST: &str = "org.freedesktop.network1";
const STATES: &[(&str, &str)] = &[
    ("OperationalState", "operational_state"),
    ("CarrierState", "carrier_state"),
    ("AddressState", "address_state"),
    ("IPv4AddressState", "ipv4_address_state"),
    ("IPv6AddressState", "ipv6_address_state"),
    ("AdministrativeState", "administrative_state"),
];

/// The string state properties of `iface` at `path` (one `GetAll`), under
/// their snake_case names; an object that does not answer gives none.
async fn states(conn: &zbus::Connection, path: &str, iface: &str) -> Map<String, Value> {
    let all = async {
        let proxy =
            zbus::fdo::PropertiesProxy::builder(conn).destination(DEST).ok()?.path(path).ok()?.build().await.ok()?;
        proxy.get_all(zbus::names::InterfaceName::try_from(iface).ok()?).await.ok()
    };
    let mut out = Map::new();
    if let Some(all) = all.await {
        for (prop, key) in STATES {
            if let Some(v) = all.get(*prop).and_then(|v| String::try_from(v.try_clone().ok()?).ok()) {
                out.insert((*key).into(), json!(v));
            }
        }
    }
    out
}

/// The manager's states and every link's, as JSON.
pub async fn introspect(conn: &zbus::Connection) -> zbus::Result<Value> {
    let reply = conn
        .call_method(
            Some(DEST),
            "/org/freedesktop/network1",
            Some("org.freedesktop.network1.Manager"),
            "ListLinks",
            &(),
        )
        .await?;
    let links: Vec<(i32, String, OwnedObjectPath)> = reply.body().deserialize()?;
    let manager = states(conn, "/org/freedesktop/network1", "org.freedesktop.network1.Manager").await;
    let mut out = Vec::new();
    for (index, name, path) in links {
        let mut link = Map::new();
        link.insert("index".into(), json!(index));
        link.insert("name".into(), json!(name));
        link.extend(states(conn, path.as_str(), "org.freedesktop.network1.Link").await);
        out.push(Value::Object(link));
    }
    Ok(json!({"manager": manager, "links": out}))
}
