//! `config.toml`: the deployment guide's keys plus portagent's own.
//!
//! A missing file means all defaults; an unknown key or a bad value is an
//! error that names the key and line (toml's own messages do).

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where the daemon and CLI look for their configuration by default.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/ovs-port-agent/config.toml";

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Primary OVS bridge.
    pub bridge_name: String,
    /// Proxmox-style interfaces file.
    pub interfaces_path: PathBuf,
    /// The audit ledger.
    pub ledger_path: PathBuf,
    /// Every commit to the ledger is followed by a signed head, also
    /// appended here (a second place, which the admin may ship off the
    /// host); empty: only beside the ledger and in syslog.
    pub ledger_heads_path: PathBuf,
    /// Ignored since every commit is checkpointed; accepted so that older
    /// config files still load.
    pub ledger_checkpoint_entries: Option<u64>,
    /// Ignored, as `ledger_checkpoint_entries`.
    pub ledger_checkpoint_seconds: Option<u64>,
    /// The Ed25519 checkpoint signing key (a 32-byte seed); generated, mode
    /// 0600, if missing. Default: `<state_dir>/ledger.key`.
    pub ledger_key_path: Option<PathBuf>,
    /// The port agent attaches links whose names start with one of these
    /// to `bridge_name` as they appear (and detaches them as they go);
    /// empty: it watches nothing.
    pub include_prefixes: Vec<String>,
    /// Container interface naming, e.g. `vi{vmid}`.
    pub naming_template: String,
    pub enable_rename: bool,
    pub managed_block_tag: String,
    /// Default OVS `datapath_type` for bridges that do not name one
    /// (`system`; `netdev` for the userspace datapath).
    pub datapath_type: String,
    /// Root of portagent's own state: plugins, compiled cache, journal.
    pub state_dir: PathBuf,
    /// The OVSDB server's unix socket.
    pub ovsdb_socket: PathBuf,
    /// OVS's run dir, where bridge management sockets (`BRIDGE.mgmt`) live.
    pub ovs_rundir: PathBuf,
    /// systemd-networkd's config dir.
    pub networkd_dir: PathBuf,
    /// The static hostname, written by the `hostname` capability where
    /// hostnamed does not run (where it runs, it writes its own).
    pub hostname_file: PathBuf,
    /// Where the daemon keeps `portagent metrics` (Prometheus text, for
    /// node_exporter's textfile collector), rewritten every 15 s; empty:
    /// not written.
    pub metrics_textfile: PathBuf,
    /// The largest state file read, from a file, stdin or D-Bus.
    pub max_state_bytes: u64,
    /// How many times a rollback that failed is tried again by itself
    /// (the daemon's retries back off from 1 s to 60 s) before it waits
    /// for an admin: `portagent recover` tries again,
    /// `portagent recover --abandon` settles it by hand.
    pub rollback_max_attempts: u64,
    /// How long the port agent waits after a guest's link appears before
    /// it attaches it, so that a hypervisor that plugs its own links
    /// (qemu-server's `ovs-vsctl --may-exist add-port`, its firewall
    /// bridge) always does so first; a link plugged or enslaved by then is
    /// left alone. 0 attaches at once.
    pub adopt_after_ms: u64,
    pub plugins: PluginLimits,
}

/// Sandbox limits applied to every plugin call.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginLimits {
    /// Linear memory a plugin instance may grow to.
    pub memory_limit_mb: u64,
    /// Time a call may spend executing guest code.
    pub cpu_limit_ms: u64,
    /// Wall-clock time a call may go without finishing a capability call
    /// (a guest blocked or sleeping this long is stopped).
    pub call_timeout_ms: u64,
    /// Wall-clock time a call may take in all, however busy it keeps its
    /// capabilities (an OVS change of thousands of ports takes minutes).
    pub call_max_ms: u64,
    /// Files one plugin may keep in the networkd dir (its own names,
    /// drop-ins included): past it, creating one fails with `quota`.
    pub networkd_max_files: u64,
    /// MiB one plugin's files there may take in all (the dir shares its
    /// disk with the ledger and the journal).
    pub networkd_max_mb: u64,
    /// Publisher name -> Ed25519 public key (`ed25519:BASE64`, as
    /// `portagent plugin keygen` prints it). `plugin install` accepts a
    /// component signed by one of these; anything else needs
    /// `--allow-unsigned`.
    pub trusted_publishers: std::collections::BTreeMap<String, String>,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            memory_limit_mb: 128,
            cpu_limit_ms: 5_000,
            call_timeout_ms: 30_000,
            call_max_ms: 600_000,
            networkd_max_files: 10_000,
            networkd_max_mb: 64,
            trusted_publishers: Default::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bridge_name: "ovsbr0".into(),
            interfaces_path: "/etc/network/interfaces".into(),
            ledger_path: "/var/lib/ovs-port-agent/ledger.jsonl".into(),
            ledger_heads_path: "/var/log/ovs-port-agent/ledger-heads.log".into(),
            ledger_checkpoint_entries: None,
            ledger_checkpoint_seconds: None,
            ledger_key_path: None,
            include_prefixes: ["veth", "tap", "vi"].map(String::from).to_vec(),
            naming_template: "vi{vmid}".into(),
            enable_rename: false,
            managed_block_tag: "ovs-port-agent".into(),
            datapath_type: "system".into(),
            state_dir: "/var/lib/ovs-port-agent".into(),
            ovsdb_socket: "/run/openvswitch/db.sock".into(),
            ovs_rundir: "/run/openvswitch".into(),
            networkd_dir: "/etc/systemd/network".into(),
            hostname_file: "/etc/hostname".into(),
            metrics_textfile: PathBuf::new(),
            max_state_bytes: 8 << 20,
            rollback_max_attempts: 10,
            adopt_after_ms: 500,
            plugins: PluginLimits::default(),
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration in {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Loads `path`; a file that does not exist yields the defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text).map_err(|message| ConfigError::Invalid { path: path.into(), message }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path: path.into(), source }),
        }
    }

    /// Parses configuration text; the error names the key and line.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if !["system", "netdev"].contains(&self.datapath_type.as_str()) {
            return Err(format!("datapath_type: expected \"system\" or \"netdev\", got {:?}", self.datapath_type));
        }
        let limits = &self.plugins;
        for (key, value) in [
            ("plugins.memory_limit_mb", limits.memory_limit_mb),
            ("plugins.cpu_limit_ms", limits.cpu_limit_ms),
            ("plugins.call_timeout_ms", limits.call_timeout_ms),
            ("plugins.call_max_ms", limits.call_max_ms),
            ("plugins.networkd_max_files", limits.networkd_max_files),
            ("plugins.networkd_max_mb", limits.networkd_max_mb),
            ("max_state_bytes", self.max_state_bytes),
            ("rollback_max_attempts", self.rollback_max_attempts),
        ] {
            if value == 0 {
                return Err(format!("{key}: must be greater than 0"));
            }
        }
        for (i, p) in self.include_prefixes.iter().enumerate() {
            if p.is_empty() || p.len() > 15 || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) {
                return Err(format!(
                    "include_prefixes[{i}]: {p:?} is not the start of an interface name (1-15 letters, digits, _ . -)"
                ));
            }
        }
        for (publisher, key) in &limits.trusted_publishers {
            crate::util::public_key::parse(key).map_err(|m| format!("plugins.trusted_publishers.{publisher}: {m}"))?;
        }
        if limits.call_max_ms < limits.call_timeout_ms {
            return Err("plugins.call_max_ms: must be at least plugins.call_timeout_ms".into());
        }
        Ok(())
    }

    /// Keys that are read but no longer do anything, to warn about.
    pub fn ignored_keys(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.ledger_checkpoint_entries.is_some() {
            v.push("ledger_checkpoint_entries");
        }
        if self.ledger_checkpoint_seconds.is_some() {
            v.push("ledger_checkpoint_seconds");
        }
        v
    }

    /// Installed plugins live here.
    pub fn plugin_dir(&self) -> PathBuf {
        self.state_dir.join("plugins")
    }

    /// Compiled plugins are cached here.
    pub fn cache_dir(&self) -> PathBuf {
        self.state_dir.join("cache")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the shipped unit lets the daemon write under ProtectSystem=strict:
    /// its ReadWritePaths (a leading `-` only says "may be missing") and
    /// the dirs systemd makes for it.
    fn unit_writable() -> Vec<PathBuf> {
        let unit = include_str!("../../systemd/ovs-port-agent.service");
        let mut out = Vec::new();
        for line in unit.lines() {
            let Some((key, value)) = line.split_once('=') else { continue };
            match key {
                "ReadWritePaths" => {
                    out.extend(value.split_whitespace().map(|p| PathBuf::from(p.trim_start_matches('-'))))
                }
                "StateDirectory" => out.push(Path::new("/var/lib").join(value)),
                "LogsDirectory" => out.push(Path::new("/var/log").join(value)),
                _ => {}
            }
        }
        out
    }

    /// Every path the daemon writes with the default config (and
    /// node-exporter's textfile dir, the usual `metrics_textfile`) is
    /// writable under the shipped unit; and the unit does not stop the
    /// hostname fallback.
    #[test]
    fn the_shipped_unit_lets_the_daemon_write_what_the_default_config_names() {
        let c = Config::default();
        let writable = unit_writable();
        let under = |p: &Path| writable.iter().any(|w| p == w || p.starts_with(w));
        let parent = |p: &Path| p.parent().unwrap().to_path_buf();
        let written: Vec<(&str, PathBuf)> = vec![
            ("state_dir", c.state_dir.clone()),
            ("ledger_path", parent(&c.ledger_path)),
            ("ledger_heads_path", parent(&c.ledger_heads_path)),
            ("networkd_dir", c.networkd_dir.clone()),
            ("interfaces_path", parent(&c.interfaces_path)),
            ("hostname_file", c.hostname_file.clone()),
            ("ovs_rundir", c.ovs_rundir.clone()),
            ("metrics_textfile", "/var/lib/prometheus/node-exporter/ovs-port-agent.prom".into()),
        ];
        for (key, path) in written {
            assert!(under(&path), "{key}: {} is not writable under the unit ({writable:?})", path.display());
        }
        let unit = include_str!("../../systemd/ovs-port-agent.service");
        assert!(!unit.lines().any(|l| l == "ProtectHostname=yes"), "netcfg's sethostname fallback needs the hostname");
    }

    #[test]
    fn shipped_example_has_every_key_at_its_default() {
        let text = include_str!("../../config/config.toml.example");
        let example = Config::parse(text).unwrap();
        assert_eq!(format!("{example:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn guide_example_parses() {
        let text = r#"
bridge_name = "ovsbr0"
interfaces_path = "/etc/network/interfaces"
ledger_path = "/var/lib/ovs-port-agent/ledger.jsonl"
naming_template = "vi{vmid}"
enable_rename = false
managed_block_tag = "ovs-port-agent"
"#;
        let config = Config::parse(text).unwrap();
        assert_eq!(config.bridge_name, "ovsbr0");
        assert_eq!(config.datapath_type, "system");
        assert_eq!(config.plugins.memory_limit_mb, 128);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = Config::parse("bridge_name = \"x\"\nbridge_nmae = \"y\"\n").unwrap_err();
        assert!(err.contains("bridge_nmae"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::parse("datapath_type = \"kernel\"").unwrap_err();
        assert!(err.starts_with("datapath_type:"), "{err}");
        let err = Config::parse("[plugins]\ncpu_limit_ms = 0").unwrap_err();
        assert!(err.starts_with("plugins.cpu_limit_ms:"), "{err}");
        let err = Config::parse("[plugins]\ncall_timeout_ms = 60000\ncall_max_ms = 1000").unwrap_err();
        assert!(err.starts_with("plugins.call_max_ms:"), "{err}");
        let err = Config::parse("[plugins.trusted_publishers]\nacme = \"ed25519:nope\"").unwrap_err();
        assert!(err.starts_with("plugins.trusted_publishers.acme: not a 32-byte"), "{err}");
    }

    #[test]
    fn retired_keys_still_load() {
        let config = Config::parse("ledger_checkpoint_entries = 100\nledger_checkpoint_seconds = 3600\n").unwrap();
        assert_eq!(config.ignored_keys(), ["ledger_checkpoint_entries", "ledger_checkpoint_seconds"]);
        assert!(Config::default().ignored_keys().is_empty());
    }
}
