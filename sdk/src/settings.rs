//! The host's non-secret settings from `config.toml` (`datapath_type`,
//! `bridge_name`): not a capability, every plugin may read them.

/// The value of `key`, or none.
pub fn get(key: &str) -> Option<String> {
    crate::host::with(|h| h.setting(key))
}
