//! Generated bindings, one module per supported version of the WIT
//! package; each converts its types to the host's ([`super::api`]) at the
//! edge, so nothing outside `plugin/` depends on a version's bindings.
//!
//! - [`v0_2`]: for `portagent:plugin@0.2.0`, the current version (`wit/`).
//! - [`v0_1`]: for `portagent:plugin@0.1.0`, frozen in
//!   `wit/deps/portagent-plugin@0.1.0/`; its capability imports are served
//!   by the current implementations, converted.

use super::api::{Action, Mismatch, PluginInfo};
use wasmtime::Engine;
use wasmtime::component::Component;

/// One export call and its arguments.
pub(crate) enum Op<'a> {
    Describe,
    Schema,
    Validate(&'a str),
    Query,
    Diff(&'a str, &'a str),
    Apply(&'a [Action]),
    Verify(&'a str),
    /// The host's checkpoint id for this apply.
    Checkpoint(&'a str),
    /// The checkpoint id and the plugin's snapshot data.
    Restore(&'a str, &'a [u8]),
}

impl Op<'_> {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Describe => "describe",
            Op::Schema => "schema",
            Op::Validate(_) => "validate",
            Op::Query => "query",
            Op::Diff(..) => "diff",
            Op::Apply(_) => "apply",
            Op::Verify(_) => "verify",
            Op::Checkpoint(_) => "checkpoint",
            Op::Restore(..) => "restore",
        }
    }
}

/// What an export call returned.
pub(crate) enum Out {
    Info(PluginInfo),
    Unit,
    Text(String),
    Actions(Vec<Action>),
    Changed(Vec<String>),
    Mismatches(Vec<Mismatch>),
    Blob(Vec<u8>),
}

/// The glue every version's `plugin` export interface shares: conversions
/// of its types to and from the host's, and the dispatch of one export
/// call. Expanded inside each version's module, where `wit` names that
/// version's `types` interface and `schema`/`checkpoint`/`restore` call
/// that version's exports of the same names (0.2.0 added the first and
/// changed the others).
macro_rules! export_glue {
    () => {
        use self::exports::portagent::plugin::plugin::Guest;
        use super::{Op, Out};
        use crate::plugin::api;
        use crate::plugin::errno::name_errors;

        /// What a version's own `checkpoint` and `restore` return.
        type Called<T> = wasmtime::Result<Result<T, wit::PluginError>>;

        impl From<wit::PluginError> for api::PluginError {
            fn from(e: wit::PluginError) -> api::PluginError {
                match e {
                    wit::PluginError::Invalid(f) => {
                        api::PluginError::Invalid(api::FieldError { field: f.field, message: name_errors(f.message) })
                    }
                    wit::PluginError::Failed(m) => api::PluginError::Failed(name_errors(m)),
                    wit::PluginError::Denied(m) => api::PluginError::Denied(name_errors(m)),
                }
            }
        }

        impl From<wit::ActionKind> for api::ActionKind {
            fn from(k: wit::ActionKind) -> api::ActionKind {
                match k {
                    wit::ActionKind::Create => api::ActionKind::Create,
                    wit::ActionKind::Modify => api::ActionKind::Modify,
                    wit::ActionKind::Delete => api::ActionKind::Delete,
                }
            }
        }

        impl From<api::ActionKind> for wit::ActionKind {
            fn from(k: api::ActionKind) -> wit::ActionKind {
                match k {
                    api::ActionKind::Create => wit::ActionKind::Create,
                    api::ActionKind::Modify => wit::ActionKind::Modify,
                    api::ActionKind::Delete => wit::ActionKind::Delete,
                }
            }
        }

        impl From<wit::Action> for api::Action {
            fn from(a: wit::Action) -> api::Action {
                api::Action { kind: a.kind.into(), resource: a.resource, body: a.body }
            }
        }

        impl From<&api::Action> for wit::Action {
            fn from(a: &api::Action) -> wit::Action {
                wit::Action { kind: a.kind.into(), resource: a.resource.clone(), body: a.body.clone() }
            }
        }

        impl From<wit::Mismatch> for api::Mismatch {
            fn from(m: wit::Mismatch) -> api::Mismatch {
                api::Mismatch { resource: m.resource, field: m.field, expected: m.expected, actual: m.actual }
            }
        }

        impl From<wit::PluginInfo> for api::PluginInfo {
            fn from(i: wit::PluginInfo) -> api::PluginInfo {
                api::PluginInfo {
                    name: i.name,
                    version: i.version,
                    section: i.section,
                    capabilities: i
                        .capabilities
                        .into_iter()
                        .map(|c| api::CapabilityRequest { name: c.name, scope: c.scope, reason: c.reason })
                        .collect(),
                    after: i.after,
                }
            }
        }

        /// Calls the export of `op`; what it returns, in the host's types.
        pub(crate) async fn dispatch<T: Send + 'static>(
            store: &mut wasmtime::Store<T>,
            b: &StatePlugin,
            op: &Op<'_>,
        ) -> wasmtime::Result<Result<Out, api::PluginError>> {
            let p = b.portagent_plugin_plugin();
            let out = match op {
                Op::Describe => Ok(Out::Info(p.call_describe(store).await?.into())),
                Op::Schema => Ok(Out::Text(schema(store, p).await?)),
                Op::Validate(d) => p.call_validate(store, d).await?.map(|()| Out::Unit),
                Op::Query => p.call_query(store).await?.map(Out::Text),
                Op::Diff(c, d) => {
                    p.call_diff(store, c, d).await?.map(|a| Out::Actions(a.into_iter().map(Into::into).collect()))
                }
                Op::Apply(a) => {
                    let actions: Vec<_> = a.iter().map(Into::into).collect();
                    p.call_apply(store, &actions).await?.map(Out::Changed)
                }
                Op::Verify(d) => {
                    p.call_verify(store, d).await?.map(|m| Out::Mismatches(m.into_iter().map(Into::into).collect()))
                }
                Op::Checkpoint(id) => checkpoint(store, p, id).await?.map(Out::Blob),
                Op::Restore(id, data) => restore(store, p, id, data).await?.map(|()| Out::Unit),
            };
            Ok(out.map_err(Into::into))
        }
    };
}
use export_glue;

pub mod v0_1;
pub mod v0_2;

/// The version new plugins build against.
pub use v0_2 as current;

/// Every version this host serves, newest first.
pub const SUPPORTED: &[&str] = &[v0_2::WIT_VERSION, v0_1::WIT_VERSION];

fn major_minor(v: &str) -> (u64, u64) {
    let mut parts = v.split('.').map(|p| p.parse::<u64>().unwrap_or(u64::MAX));
    (parts.next().unwrap_or(u64::MAX), parts.next().unwrap_or(u64::MAX))
}

/// The served version a component built against `found` runs as:
/// semver-compatible as cargo reads it (same major, and same minor while
/// the major is 0).
pub fn served(found: &str) -> Option<&'static str> {
    let theirs = major_minor(found);
    SUPPORTED.iter().copied().find(|ours| {
        let ours = major_minor(ours);
        theirs.0 == ours.0 && (ours.0 != 0 || theirs.1 == ours.1)
    })
}

/// The served version whose `plugin` interface `component` exports.
pub fn version_of(engine: &Engine, component: &Component) -> Option<&'static str> {
    let prefix = format!("{}/plugin@", super::api::WIT_PACKAGE);
    component.component_type().exports(engine).find_map(|(n, _)| n.strip_prefix(&prefix).and_then(served))
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_served_as_cargo_reads_semver() {
        assert_eq!(super::served("0.2.0"), Some("0.2.0"));
        assert_eq!(super::served("0.2.7"), Some("0.2.0"));
        assert_eq!(super::served("0.1.0"), Some("0.1.0"));
        assert_eq!(super::served("0.3.0"), None);
        assert_eq!(super::served("1.0.0"), None);
    }
}
