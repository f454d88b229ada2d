//! Raw bindings generated from the `state-plugin` world (`wit/`, links to the repo's `wit/*.wit`). Plugin
//! code uses the wrappers in this crate's modules instead, which run
//! natively against [`crate::testing`] too.

wit_bindgen::generate!({
    path: "wit",
    world: "portagent:plugin/state-plugin",
    pub_export_macro: true,
    export_macro_name: "export_plugin",
    default_bindings_module: "portagent_sdk::bindings",
});
