//! Logging into the host's log, tagged with the plugin's name (the `log`
//! capability; dropped when not granted).

use crate::bindings::portagent::plugin::log::Level;

fn log(level: Level, msg: &str) {
    crate::host::with(|h| h.log(level, msg))
}

pub fn error(msg: &str) {
    log(Level::Error, msg)
}
pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}
pub fn info(msg: &str) {
    log(Level::Info, msg)
}
pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}
