//! Test guest built against `portagent:plugin@1.0.0`, a WIT major version
//! this host does not speak: installing it must be refused.

wit_bindgen::generate!({ path: "wit", world: "portagent:plugin/state-plugin" });

struct Future;

impl exports::portagent::plugin::plugin::Guest for Future {
    fn describe() -> String {
        "from the future".into()
    }
}

export!(Future);
