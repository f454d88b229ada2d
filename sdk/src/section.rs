//! What every plugin's exports do with JSON: the section `query` returns,
//! the `current` section read back in `diff`, the section's schema, and
//! checkpoints.

use crate::PluginError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A section as the JSON text `query` returns.
pub fn to_json<T: Serialize>(section: &T) -> String {
    serde_json::to_string(section).expect("a section serializes")
}

/// The `current` section `diff` is given: what this plugin's `query`
/// returned, not the user's file, so a fault in it is a failure, not
/// invalid input.
pub fn read_back<T: DeserializeOwned>(current: &str) -> Result<T, PluginError> {
    crate::validate::parse(current).map_err(|e| {
        PluginError::Failed(format!("the live state read back does not parse: {}: {}", e.field, e.message))
    })
}

/// The JSON Schema of section type `T`, as `schema` returns it: draft-07
/// (what editors' YAML language servers read), derived with `schemars`
/// from the type that parses the section, so the two agree.
pub fn schema_of<T: schemars::JsonSchema>() -> String {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    serde_json::to_string(&generator.into_root_schema_for::<T>()).expect("a schema serializes")
}

/// A checkpoint as the bytes `checkpoint` returns.
pub fn encode<T: Serialize>(checkpoint: &T) -> Vec<u8> {
    serde_json::to_vec(checkpoint).expect("a checkpoint serializes")
}

/// The checkpoint `restore` is given, as `plugin`'s.
pub fn decode<T: DeserializeOwned>(plugin: &str, blob: &[u8]) -> Result<T, PluginError> {
    serde_json::from_slice(blob).map_err(|e| PluginError::Failed(format!("not a {plugin} checkpoint: {e}")))
}
