//! Test guest built against `portagent:plugin@0.1.0`, as frozen in
//! `wit/deps/portagent-plugin@0.1.0/`: a plugin from before 0.2.0 that the
//! host must still install and serve. Each action's resource is one thing
//! to try: `log`, `links` (netlink, read), `ovsdb:TABLE` (a select).

wit_bindgen::generate!({ path: "../../../wit/deps/portagent-plugin@0.1.0", world: "portagent:plugin/state-plugin" });

use exports::portagent::plugin::plugin::Guest;
use portagent::plugin::types::{Action, CapError, CapabilityRequest, Mismatch, PluginError, PluginInfo};
use portagent::plugin::{log, netlink, ovsdb};

struct Legacy;

fn cap(e: CapError) -> PluginError {
    match e {
        CapError::Denied(m) => PluginError::Denied(m),
        CapError::Failed(m) => PluginError::Failed(m),
    }
}

fn run(what: &str) -> Result<String, PluginError> {
    match what.split_once(':') {
        None if what == "log" => {
            log::log(log::Level::Info, "legacy says hello");
            Ok("logged".into())
        }
        None if what == "links" => Ok(format!("{} links", netlink::list_links().map_err(cap)?.len())),
        Some(("ovsdb", table)) => {
            let ops = format!(r#"[{{"op":"select","table":"{table}","where":[]}}]"#);
            ovsdb::transact("Open_vSwitch", &ops).map_err(cap)
        }
        _ => Err(PluginError::Failed(format!("unknown legacy command {what:?}"))),
    }
}

impl Guest for Legacy {
    fn describe() -> PluginInfo {
        let ask = |name: &str, scope: &[&str], reason: &str| CapabilityRequest {
            name: name.into(),
            scope: scope.iter().map(|s| s.to_string()).collect(),
            reason: reason.into(),
        };
        PluginInfo {
            name: "legacy".into(),
            version: "0.0.9".into(),
            section: "legacy".into(),
            capabilities: vec![
                ask("log", &[], "to say hello"),
                ask("netlink", &["read"], "to count links"),
                ask("ovsdb", &["Bridge"], "to read bridges"),
            ],
            after: vec![],
        }
    }
    fn validate(_desired: String) -> Result<(), PluginError> {
        Ok(())
    }
    fn query() -> Result<String, PluginError> {
        Ok("{}".into())
    }
    fn diff(_current: String, _desired: String) -> Result<Vec<Action>, PluginError> {
        Ok(vec![])
    }
    fn apply(actions: Vec<Action>) -> Result<Vec<String>, PluginError> {
        actions.iter().map(|a| run(&a.resource)).collect()
    }
    fn verify(_desired: String) -> Result<Vec<Mismatch>, PluginError> {
        Ok(vec![])
    }
    fn checkpoint() -> Result<Vec<u8>, PluginError> {
        Ok(vec![])
    }
    fn restore(_checkpoint: Vec<u8>) -> Result<(), PluginError> {
        Ok(())
    }
}

export!(Legacy);
