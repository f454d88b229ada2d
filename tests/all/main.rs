//! portagent's integration tests: one binary, one module per area.
//!
//! - `sandbox`: the plugin runtime's isolation, through the library, with
//!   the test guests from `tests/guests` (capabilities, escapes, limits).
//! - `plugin_cli`: `portagent plugin install | list | info | remove`
//!   through the real binary.
//! - `net`: the built-in net plugin through the real binary, in labs.
//! - `netcfg`: the built-in netcfg plugin (routes, rules, hostname, DNS,
//!   flows) after the guide's net example, faults and rollbacks included.
//! - `state`: the state manager: idempotence, serialized concurrent applies,
//!   a second plugin's failure undoing the first.
//! - `safety`: confirm-or-revert, the connectivity probe, and recovery
//!   after portagent is killed mid-apply.
//! - `roundtrip`: the round-trip property: generated states applied and
//!   undone (rollback, confirm expiry, failed probe, kill -9), the system read by
//!   outside tools identical before and after.
//! - `undo`: issue 25's reproductions: MTUs put back, a failing restore
//!   bounded and abandoned by hand, a ledger that cannot be cut, renamed
//!   or re-keyed without a record.
//! - `bad_input`: names that are patterns, links an apply must not touch,
//!   foreign bridges, NICs and files, and bad files refused alike over the
//!   CLI and D-Bus with the field and line named and nothing changed.
//! - `faults`: the safety net under faults: OVSDB, networkd or portagent
//!   killed mid-apply, a damaged ledger, a full disk, a guest that will not
//!   return, and a seeded fault-injection run.
//! - `ledger`: the audit ledger through the CLI, and writers killed mid-append.
//! - `logs`: journald's native protocol under systemd, plain text otherwise.
//! - `metrics`: `portagent metrics` read by a real Prometheus parser.
//! - `schema`: `portagent schema`; every example state file in the README,
//!   the docs, the guide and the tests valid by a real JSON Schema validator.
//! - `dbus`: the daemon on the lab's system bus with real clients
//!   (dbus-send, busctl, python3-dbus), access control, signals.
//! - `agent`: the port agent in the daemon: guests' links attached and
//!   detached as they come and go, kept across apply-state, concurrent
//!   add_port calls, reconciling after a restart.
//! - `lang_guests`: Python and JavaScript plugins (componentize-py,
//!   componentize-js) installed and applied beside `net`; their faults.
//! - `ansible`: the collection's `ovs_port_agent_state` module run by
//!   ansible-core against a lab (check mode, idempotence, a rollback).
//! - `dist`: the man pages and completions in `dist/` are current.
//! - `package`: the Debian package built, lintian-clean, installed, run
//!   and removed in a throwaway root.
//! - `install`: `scripts/install.sh` in a lab; the systemd unit verified.
//! - `lab`: the network lab itself (real OVS, networkd, dbus in namespaces).
//! - `layout`: the host's module layout (no import circles; the ledger
//!   independent of the plugin host), read from the source.
//!
//! Tests that need root and the lab's packages run by default: they are
//! the product's proof (see README, "Tests").

mod agent;
mod ansible;
mod bad_input;
mod dbus;
mod dist;
mod faults;
mod install;
mod lab;
mod lang_guests;
mod layout;
mod ledger;
mod logs;
mod metrics;
mod net;
mod netcfg;
mod package;
mod plugin_cli;
mod roundtrip;
mod safety;
mod sandbox;
mod schema;
mod state;
mod support;
mod undo;
