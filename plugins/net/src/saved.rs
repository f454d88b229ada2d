//! What a checkpoint holds (the shape of the deployment guide's
//! checkpoint JSON): the bridges and ports OVSDB had, portagent's networkd
//! files, the kernel's addresses, names and MTUs. `checkpoint` takes and
//! restores it; `undo` plans the OVSDB part of a restore from it.

use crate::model::{FailMode, NetState, PortConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPort {
    #[serde(flatten)]
    pub config: PortConfig,
    /// Interface type: `""`, `internal` or `patch`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Tagged as portagent's.
    #[serde(default = "yes")]
    pub owned: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedBridge {
    pub name: String,
    pub datapath_type: String,
    pub owned: bool,
    pub stp: bool,
    pub rstp: bool,
    pub fail_mode: Option<FailMode>,
    pub ports: Vec<SavedPort>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    /// Path -> content of every file named like portagent's (its own and
    /// look-alikes without the marker), byte for byte.
    pub systemd_files: BTreeMap<String, String>,
    pub ovs_database: Vec<SavedBridge>,
    /// `link ip/prefix` of every address, link-local ones included.
    pub kernel_addresses: Vec<String>,
    /// Every link's name by ifindex: a link the port agent renamed gets
    /// its name back.
    #[serde(default)]
    pub link_names: BTreeMap<u32, String>,
    /// Every OVS interface's `mtu_request` by name (bridges' own internal
    /// interfaces included); `None` is an empty column.
    #[serde(default)]
    pub mtu_requests: BTreeMap<String, Option<u32>>,
    /// Every kernel link's MTU by name: what neither OVSDB nor a file
    /// keeps (networkd never lowers an MTU back when `MTUBytes=` goes).
    #[serde(default)]
    pub link_mtus: BTreeMap<String, u32>,
    /// Each link's primary IPv4 address (`ip/prefix`, the kernel's first):
    /// the source of what the link sends, which the order addresses come
    /// back in decides.
    #[serde(default)]
    pub primary_addresses: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: String,
    pub plugin: String,
    pub timestamp: u64,
    pub state_snapshot: NetState,
    pub backend_checkpoint: Backend,
}
