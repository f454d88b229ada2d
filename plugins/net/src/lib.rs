//! portagent's built-in `net` plugin: OVS bridges, ports and internal
//! interfaces through OVSDB; addresses, gateway, DNS and MTU through
//! systemd-networkd `.network` files; the live state read back through
//! OVSDB, netlink and those files.
//!
//! - [`model`]: the section's schema and validation.
//! - [`ovs`]: OVSDB reads and guarded transactions.
//! - [`networkd`]: portagent's `.network` files.
//! - [`kernel`]: what `net` sets in the kernel itself, beside those files.
//! - [`guard`]: the links an apply must leave alone, checked by verify.
//! - [`saved`]: what a checkpoint holds.
//! - [`undo`], [`kept`]: what a restore puts back, and what it leaves to
//!   the other actors that changed it since.
//! - [`live`]: the live state, as a section.
//! - [`diff`], [`apply`], [`verify`], [`checkpoint`]: the pipeline steps.

pub mod apply;
pub mod checkpoint;
pub mod diff;
pub mod guard;
pub mod kept;
pub mod kernel;
pub mod live;
pub mod model;
pub mod networkd;
pub mod ovs;
pub mod saved;
pub mod undo;
pub mod verify;

use portagent_sdk::{Action, ActionKind, CapabilityRequest, Mismatch, Plugin, PluginError, PluginInfo, Snapshot};

fn parse_valid(json: &str) -> Result<model::NetState, PluginError> {
    let state = model::parse(json).map_err(PluginError::from)?;
    state.validate().map_err(PluginError::from)?;
    Ok(state)
}

struct Net;

impl Plugin for Net {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "net".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            section: "net".into(),
            capabilities: vec![
                CapabilityRequest::new("log", &[], "to report what it does"),
                CapabilityRequest::new(
                    "ovsdb",
                    &["Open_vSwitch", "Bridge", "Port", "Interface", "all-rows"],
                    "to create and remove OVS bridges and ports (all-rows: it attaches ports to bridges it did not make)",
                ),
                CapabilityRequest::new(
                    "networkd",
                    &["read", "write", "prefix:10-portagent-", "links:*"],
                    "to write .network files for the links it manages (any) and reload networkd",
                ),
                CapabilityRequest::new(
                    "netlink",
                    &["read", "write", "rename"],
                    "to read links, addresses and routes, restore addresses, and rename guests' links (naming_template)",
                ),
            ],
            after: vec![],
        }
    }

    fn schema() -> String {
        portagent_sdk::section::schema_of::<model::NetState>()
    }

    fn validate(desired: String) -> Result<(), PluginError> {
        parse_valid(&desired).map(drop)
    }

    fn query() -> Result<String, PluginError> {
        Ok(portagent_sdk::section::to_json(&live::Live::read()?.state()))
    }

    fn diff(current: String, desired: String) -> Result<Vec<Action>, PluginError> {
        let desired = parse_valid(&desired)?;
        let current: model::NetState = portagent_sdk::section::read_back(&current)?;
        let default_dp = portagent_sdk::settings::get("datapath_type").unwrap_or_else(|| "system".into());
        let ovs = ovs::read()?;
        let owned =
            |name: &str| ovs.bridge(name).is_some_and(|b| b.owned) || ovs.bridge_of(name).is_some_and(|b| b.owned);
        let mut actions = diff::diff(&current, &desired, &default_dp, &owned).map_err(PluginError::from)?;
        // A link that matches but whose file was changed or removed behind
        // net: networkd would undo it at its next reload, or at boot.
        // A change of it already rewrites the file: the plan says why too.
        let files = networkd::read_all()?;
        for d in desired.interfaces.iter().filter(|d| d.state != Some(model::State::Absent)) {
            if !current.interfaces.iter().any(|c| c.name == d.name) {
                continue;
            }
            let Some(why) = networkd::behind(&files, d) else { continue };
            match actions.iter_mut().find(|a| a.resource == d.name) {
                Some(a) if a.kind == ActionKind::Modify => {
                    let mut body: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
                    body[networkd::FILE_KEY] = why.into();
                    a.body = body.to_string();
                }
                Some(_) => {}
                None => {
                    let body = serde_json::json!({ networkd::FILE_KEY: why });
                    actions.push(Action { kind: ActionKind::Modify, resource: d.name.clone(), body: body.to_string() });
                }
            }
        }
        // A file named like portagent's but not its own is never written.
        for a in actions.iter().filter(|a| a.kind != ActionKind::Delete) {
            if let Some(path) = networkd::foreign(&a.resource) {
                let why = portagent_sdk::networkd::foreign_message(std::path::Path::new(&path));
                return Err(PluginError::invalid(desired.field_naming(&a.resource), why));
            }
        }
        Ok(actions)
    }

    fn apply(actions: Vec<Action>) -> Result<Vec<String>, PluginError> {
        let changed = apply::apply(&actions)?;
        portagent_sdk::log::info(&format!("applied {} action(s): {}", actions.len(), changed.join(", ")));
        Ok(changed)
    }

    fn verify(desired: String) -> Result<Vec<Mismatch>, PluginError> {
        verify::verify(&parse_valid(&desired)?)
    }

    fn checkpoint(id: String) -> Result<Snapshot, PluginError> {
        Ok(Snapshot::new(id, &checkpoint::take()?))
    }

    fn restore(snapshot: Snapshot) -> Result<(), PluginError> {
        checkpoint::restore(&snapshot.state("net")?)
    }
}

portagent_sdk::export_plugin!(Net);
