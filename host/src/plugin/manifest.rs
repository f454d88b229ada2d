//! A plugin's manifest: what `describe` says it is and needs, checked against
//! the imports the component really has and the WIT version it was built for.

use super::api::{PluginInfo, WIT_PACKAGE};
use super::caps::{Capability, Grants};
use serde::{Deserialize, Serialize};
use wasmtime::Engine;
use wasmtime::component::Component;

/// One capability a plugin asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub capability: Capability,
    pub scope: Vec<String>,
    pub reason: String,
}

/// Everything the admin is shown, and what the host relies on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    /// The WIT version of `portagent:plugin` the component exports.
    pub wit_version: String,
    pub section: String,
    pub after: Vec<String>,
    pub requests: Vec<Request>,
    /// The capability interfaces the component imports. Toolchains that
    /// bind the whole `state-plugin` world (componentize-py, -js) import
    /// them all: one not asked for is linked but denies every call.
    #[serde(default)]
    pub imports: Vec<Capability>,
}

impl Manifest {
    /// Imported but not asked for: every call is denied.
    pub fn denied_imports(&self) -> Vec<Capability> {
        self.imports.iter().filter(|c| !self.requests.iter().any(|r| r.capability == **c)).copied().collect()
    }

    /// Asked for but not imported: the plugin cannot use the grant.
    pub fn unused_requests(&self) -> Vec<Capability> {
        self.requests.iter().map(|r| r.capability).filter(|c| !self.imports.contains(c)).collect()
    }
}

/// Why a component's manifest is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "built against {WIT_PACKAGE}@{found}; this host supports {WIT_PACKAGE}@{} (and what is compatible with them as cargo reads semver)",
        super::bindings::SUPPORTED.join(", ")
    )]
    IncompatibleWit { found: String },
    #[error("does not export {WIT_PACKAGE}/plugin: not a portagent plugin (exports: {exports})")]
    NotAPlugin { exports: String },
    #[error("imports {0}, which this host does not provide")]
    UnknownImport(String),
    #[error("describe(): {field}: {message}")]
    Describe { field: String, message: String },
}

/// Checks the component's exports and imports before it is ever run: the
/// WIT version it is served as, and the capabilities it imports.
pub fn check_interfaces(
    engine: &Engine,
    component: &Component,
) -> Result<(&'static str, Vec<Capability>), ManifestError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    let prefix = format!("{WIT_PACKAGE}/plugin@");
    let version = match exports.iter().find_map(|n| n.strip_prefix(&prefix)) {
        Some(found) => super::bindings::served(found).ok_or(ManifestError::IncompatibleWit { found: found.into() })?,
        None => return Err(ManifestError::NotAPlugin { exports: exports.join(", ") }),
    };
    let mut used = Vec::new();
    for (name, _) in ty.imports(engine) {
        if let Some(rest) = name.strip_prefix(&format!("{WIT_PACKAGE}/")) {
            let (iface, imported) = rest.split_once('@').unwrap_or((rest, ""));
            if super::bindings::served(imported) != Some(version) {
                return Err(ManifestError::IncompatibleWit { found: imported.into() });
            }
            match Capability::parse(iface) {
                Some(cap) => used.push(cap),
                None if iface == "types" || iface == "settings" => {}
                None => return Err(ManifestError::UnknownImport(name.into())),
            }
        } else if !name.starts_with("wasi:") {
            return Err(ManifestError::UnknownImport(name.into()));
        }
    }
    Ok((version, used))
}

/// Turns `describe()` output into a manifest, checking every field. A
/// capability the component imports but does not ask for is allowed (its
/// calls are denied: no grant is wider than the request).
pub fn from_info(info: PluginInfo, wit_version: &str, imported: &[Capability]) -> Result<Manifest, ManifestError> {
    let bad = |field: &str, message: String| ManifestError::Describe { field: field.into(), message };
    if !valid_plugin_name(&info.name) {
        return Err(bad("name", format!("{:?} must match [a-z][a-z0-9-]* and be at most 32 bytes", info.name)));
    }
    if !valid_plugin_name(&info.section) {
        return Err(bad("section", format!("{:?} must match [a-z][a-z0-9-]* and be at most 32 bytes", info.section)));
    }
    if info.version.is_empty() || info.version.len() > 64 {
        return Err(bad("version", format!("{:?} must be 1 to 64 bytes", info.version)));
    }
    // What is shown at the consent prompt must be what it says: no control
    // characters (a `\r` or an escape sequence could erase the lines
    // above it) and nothing that reorders text.
    plain("version", &info.version, 64)?;
    for (i, req) in info.capabilities.iter().enumerate() {
        plain(&format!("capabilities[{i}].reason"), &req.reason, MAX_REASON)?;
        plain(&format!("capabilities[{i}].name"), &req.name, 64)?;
        for (j, item) in req.scope.iter().enumerate() {
            plain(&format!("capabilities[{i}].scope[{j}]"), item, MAX_SCOPE_ITEM)?;
        }
    }
    if let Some(a) = info.after.iter().find(|a| !valid_plugin_name(a)) {
        return Err(bad("after", format!("{a:?} is not a plugin name")));
    }
    let mut requests: Vec<Request> = Vec::new();
    for (i, req) in info.capabilities.into_iter().enumerate() {
        let field = format!("capabilities[{i}]");
        let capability = Capability::parse(&req.name).ok_or_else(|| {
            bad(&field, format!("{:?} is not a capability this host can grant ({})", req.name, cap_names()))
        })?;
        capability.check_scope(&req.scope).map_err(|m| bad(&field, m))?;
        if requests.iter().any(|r| r.capability == capability) {
            return Err(bad(&field, format!("{capability} is asked for twice")));
        }
        requests.push(Request { capability, scope: req.scope, reason: req.reason });
    }
    let mut imports = imported.to_vec();
    imports.sort_by_key(|c| c.as_str());
    imports.dedup();
    Ok(Manifest {
        name: info.name,
        version: info.version,
        wit_version: wit_version.into(),
        section: info.section,
        after: info.after,
        requests,
        imports,
    })
}

/// The longest `reason` a capability request may give.
const MAX_REASON: usize = 512;
/// The longest scope item.
const MAX_SCOPE_ITEM: usize = 256;

/// Whether `c` could change how a terminal shows the text around it: a
/// control character (C0, DEL, C1) or a bidirectional override.
pub fn is_unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` as a manifest field may hold it: at most `max` bytes, nothing
/// [`is_unprintable`].
fn plain(field: &str, text: &str, max: usize) -> Result<(), ManifestError> {
    let bad = |message: String| ManifestError::Describe { field: field.into(), message };
    if text.len() > max {
        return Err(bad(format!("is {} bytes; at most {max}", text.len())));
    }
    if let Some(c) = text.chars().find(|c| is_unprintable(*c)) {
        return Err(bad(format!(
            "holds the control character {:?}: a manifest's text is shown at the consent prompt as it is",
            c.escape_unicode().to_string()
        )));
    }
    Ok(())
}

/// Text from a plugin (a log line, its stdout) made safe for a terminal
/// or a log: every [`is_unprintable`] character escaped (`\u{1b}`).
pub fn escaped(text: &str) -> String {
    if !text.chars().any(is_unprintable) {
        return text.to_string();
    }
    text.chars().map(|c| if is_unprintable(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect()
}

fn cap_names() -> String {
    Capability::names()
}

pub fn valid_plugin_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && name.len() <= 32
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Why a requested grant cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("--grant {0}: the plugin does not ask for {0}")]
    NotRequested(String),
    #[error("--grant {given}: {message}")]
    Scope { given: String, message: String },
    #[error("--grant {0}: unknown capability (one of: {1})")]
    Unknown(String, String),
}

impl Manifest {
    /// Everything asked for, as asked.
    pub fn grant_all(&self) -> Grants {
        Grants(self.requests.iter().map(|r| (r.capability, r.scope.clone())).collect())
    }

    /// Grants from `--grant CAP` (the whole requested scope) or
    /// `--grant CAP=a,b` (a narrower scope); never more than was asked.
    pub fn grant_some(&self, specs: &[String]) -> Result<Grants, GrantError> {
        let mut grants = Grants::default();
        for spec in specs {
            let (name, scope) = match spec.split_once('=') {
                Some((n, s)) => (n, Some(s.split(',').map(str::to_string).collect::<Vec<_>>())),
                None => (spec.as_str(), None),
            };
            let cap = Capability::parse(name).ok_or_else(|| GrantError::Unknown(name.into(), cap_names()))?;
            let req = self
                .requests
                .iter()
                .find(|r| r.capability == cap)
                .ok_or_else(|| GrantError::NotRequested(name.into()))?;
            let scope = scope.unwrap_or_else(|| req.scope.clone());
            cap.check_scope(&scope).map_err(|message| GrantError::Scope { given: spec.clone(), message })?;
            if let Some(extra) = scope.iter().find(|s| !req.scope.contains(s)) {
                return Err(GrantError::Scope {
                    given: spec.clone(),
                    message: format!("{extra:?} was not asked for (asked: [{}])", req.scope.join(", ")),
                });
            }
            grants.0.insert(cap, scope);
        }
        Ok(grants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::api::CapabilityRequest;

    fn info(caps: &[(&str, &[&str])]) -> PluginInfo {
        PluginInfo {
            name: "demo".into(),
            version: "1.0.0".into(),
            section: "demo".into(),
            capabilities: caps
                .iter()
                .map(|(n, s)| CapabilityRequest {
                    name: n.to_string(),
                    scope: s.iter().map(|x| x.to_string()).collect(),
                    reason: "test".into(),
                })
                .collect(),
            after: vec![],
        }
    }

    #[test]
    fn undeclared_import_is_refused() {
        // Imported, not asked for: installed, every call denied, and said so.
        let m = from_info(info(&[("log", &[])]), "0.2.0", &[Capability::LOG, Capability::OVSDB]).unwrap();
        assert_eq!(m.denied_imports(), [Capability::OVSDB]);
        assert!(m.grant_all().require("p", Capability::OVSDB, "Bridge").is_err());
        // Asked for, not imported: said so.
        let m = from_info(info(&[("log", &[]), ("netlink", &["read"])]), "0.2.0", &[Capability::LOG]).unwrap();
        assert_eq!(m.unused_requests(), [Capability::NETLINK]);
    }

    #[test]
    fn bad_fields_are_named() {
        let err = from_info(info(&[("filesystem", &["/"])]), "0.2.0", &[]).unwrap_err().to_string();
        assert!(err.contains("capabilities[0]") && err.contains("filesystem"), "{err}");
        let mut i = info(&[]);
        i.name = "Bad Name".into();
        assert!(from_info(i, "0.2.0", &[]).unwrap_err().to_string().contains("describe(): name"));
    }

    #[test]
    fn text_that_could_rewrite_the_consent_screen_is_refused() {
        let mut i = info(&[("log", &[])]);
        i.version = "1.0.0\r\u{1b}[2K".into();
        let err = from_info(i, "0.2.0", &[]).unwrap_err().to_string();
        assert!(err.contains("describe(): version") && err.contains("control character"), "{err}");
        let mut i = info(&[("log", &[])]);
        i.capabilities[0].reason = "\r\u{1b}[2K\u{1b}[1A".into();
        assert!(from_info(i, "0.2.0", &[]).unwrap_err().to_string().contains("capabilities[0].reason"));
        let mut i = info(&[("log", &[])]);
        i.capabilities[0].reason = "x".repeat(MAX_REASON + 1);
        assert!(from_info(i, "0.2.0", &[]).is_err(), "over-long");
        let mut i = info(&[("log", &[])]);
        i.capabilities[0].reason = "logs what it changes \u{202e}".into();
        assert!(from_info(i, "0.2.0", &[]).is_err(), "a bidi override");
        assert_eq!(escaped("ok line"), "ok line");
        assert_eq!(escaped("a\u{1b}[2Kb\r"), "a\\u{1b}[2Kb\\u{d}");
    }

    #[test]
    fn grants_never_exceed_the_request() {
        let m = from_info(info(&[("ovsdb", &["Bridge", "Port"]), ("log", &[])]), "0.2.0", &[]).unwrap();
        assert_eq!(m.grant_all().0.len(), 2);
        let g = m.grant_some(&["ovsdb=Bridge".into()]).unwrap();
        assert_eq!(g.0[&Capability::OVSDB], vec!["Bridge".to_string()]);
        assert!(matches!(m.grant_some(&["ovsdb=Interface".into()]), Err(GrantError::Scope { .. })));
        assert!(matches!(m.grant_some(&["netlink".into()]), Err(GrantError::NotRequested(_))));
        assert!(matches!(m.grant_some(&["root".into()]), Err(GrantError::Unknown(..))));
    }
}
