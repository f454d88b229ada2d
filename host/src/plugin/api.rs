//! The plugin API as the host sees it: its own types for what crosses the
//! WIT boundary (actions, mismatches, errors, a plugin's manifest), so the
//! state manager never sees generated bindings. Each supported WIT version
//! has its bindings module (`bindings/v0_2.rs`, ...) that converts to and
//! from these at the edge.

/// The WIT package plugins are built against.
pub const WIT_PACKAGE: &str = "portagent:plugin";

/// Which part of the user's input is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the offending field inside the plugin's section.
    pub field: String,
    pub message: String,
}

/// An error the user must see; traps are faults, not these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// The desired state is invalid; nothing was changed.
    Invalid(FieldError),
    /// A backend operation failed; the message names the resource.
    Failed(String),
    /// The host refused a capability the plugin needed.
    Denied(String),
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginError::Invalid(e) => write!(f, "invalid {}: {}", e.field, e.message),
            PluginError::Failed(m) => write!(f, "failed: {m}"),
            PluginError::Denied(m) => write!(f, "denied: {m}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Create,
    Modify,
    Delete,
}

/// One step of a diff, in the order it must be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub kind: ActionKind,
    /// The resource's name, e.g. `ovsbr0`.
    pub resource: String,
    /// JSON: the full config for `create`, the changed fields for
    /// `modify`, `null` for `delete`.
    pub body: String,
}

/// One way the live state differs from the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub resource: String,
    pub field: String,
    pub expected: String,
    pub actual: String,
}

/// A capability a plugin asks for, as its `describe()` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityRequest {
    pub name: String,
    pub scope: Vec<String>,
    pub reason: String,
}

/// What a plugin says it is (its `describe()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub section: String,
    pub capabilities: Vec<CapabilityRequest>,
    pub after: Vec<String>,
}
