//! What the last restore left as another actor made it: ports a
//! hypervisor plugged, unplugged or changed after the checkpoint, on rows
//! that are not portagent's. `restore` records them and the verify of the
//! restore (on the same instance, right after) leaves them out; the next
//! checkpoint forgets them.

use std::collections::BTreeSet;
use std::sync::Mutex;

static KEPT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Records the ports (by name) the restore left as someone else made them.
pub fn set(names: BTreeSet<String>) {
    *KEPT.lock().unwrap() = names;
}

/// Forgets them: an apply is verified against all it declares.
pub fn forget() {
    KEPT.lock().unwrap().clear();
}

/// The ports the last restore left alone, by name.
pub fn names() -> BTreeSet<String> {
    KEPT.lock().unwrap().clone()
}
