//! portagent's built-in `netcfg` plugin: what changes often on a running
//! host. Routes (static, policy tables, blackhole/unreachable/prohibit) and
//! routing policy rules in the kernel at once, the hostname, DNS servers
//! and search domains through networkd at run time, all kept in networkd
//! drop-ins of the links' own `.network` files (never the files); and
//! portagent's OVS OpenFlow flows, each bridge's replaced in one bundle.
//! It never reloads networkd, so no link is reconfigured and routes made
//! by hand survive.
//!
//! - [`model`]: the section's schema, validation and resolved forms.
//! - [`dropin`]: the drop-ins and their records (what netcfg owns).
//! - [`flows`]: flows as the file says them and in OVS's normal form.
//! - [`live`]: the live state, as a section.
//! - [`diff`], [`apply`], [`verify`], [`checkpoint`]: the pipeline steps.

pub mod apply;
pub mod checkpoint;
pub mod diff;
pub mod dropin;
pub mod flows;
pub mod live;
pub mod model;
pub mod verify;

use portagent_sdk::{Action, ActionKind, CapabilityRequest, Mismatch, Plugin, PluginError, PluginInfo, Snapshot};

fn parse_valid(json: &str) -> Result<model::NetcfgState, PluginError> {
    let state = model::parse(json).map_err(PluginError::from)?;
    state.validate().map_err(PluginError::from)?;
    Ok(state)
}

/// The configured `bridge_name`: where routes without an interface,
/// rules and DNS settings go.
fn default_link() -> String {
    portagent_sdk::settings::get("bridge_name").unwrap_or_else(|| "ovsbr0".into())
}

struct Netcfg;

impl Plugin for Netcfg {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "netcfg".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            section: "netcfg".into(),
            capabilities: vec![
                CapabilityRequest::new("log", &[], "to report what it does"),
                CapabilityRequest::new("netlink", &["read", "write"], "to read and change routes and policy rules"),
                CapabilityRequest::new(
                    "networkd",
                    &["read", "write", "prefix:50-portagent-netcfg", "links:*", "drop-ins:10-portagent-"],
                    "to keep routes, rules and DNS in drop-ins of net's files (drop-ins:), and set a link's DNS",
                ),
                CapabilityRequest::new("openflow", &["*"], "to replace portagent's own OpenFlow flows"),
                CapabilityRequest::new("hostname", &["read", "write"], "to set the hostname"),
            ],
            after: vec!["net".into()],
        }
    }

    fn schema() -> String {
        portagent_sdk::section::schema_of::<model::NetcfgState>()
    }

    fn validate(desired: String) -> Result<(), PluginError> {
        parse_valid(&desired).map(drop)
    }

    fn query() -> Result<String, PluginError> {
        Ok(portagent_sdk::section::to_json(&live::Live::read()?.state()))
    }

    fn diff(current: String, desired: String) -> Result<Vec<Action>, PluginError> {
        let desired = parse_valid(&desired)?;
        let current: model::NetcfgState = portagent_sdk::section::read_back(&current)?;
        let mut actions = diff::diff(&current, &desired, &default_link())?;
        // A drop-in edited behind netcfg is written again from its record.
        for (file, why) in dropin::changed_behind()? {
            let body = serde_json::json!({ "networkd_file": why }).to_string();
            actions.push(Action { kind: ActionKind::Modify, resource: format!("dropin {file}"), body });
        }
        Ok(actions)
    }

    fn apply(actions: Vec<Action>) -> Result<Vec<String>, PluginError> {
        let changed = apply::apply(&actions)?;
        portagent_sdk::log::info(&format!("applied {} action(s): {}", actions.len(), changed.join(", ")));
        Ok(changed)
    }

    fn verify(desired: String) -> Result<Vec<Mismatch>, PluginError> {
        let desired = parse_valid(&desired)?;
        let live = live::Live::read_with(desired.ovs_flows.is_some())?;
        verify::verify(&desired, &live, &default_link())
    }

    fn checkpoint(id: String) -> Result<Snapshot, PluginError> {
        Ok(Snapshot::new(id, &checkpoint::take()?))
    }

    fn restore(snapshot: Snapshot) -> Result<(), PluginError> {
        checkpoint::restore(&snapshot.state("netcfg")?)
    }
}

portagent_sdk::export_plugin!(Netcfg);
