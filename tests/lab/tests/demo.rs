//! The README's first command, `./scripts/demo`, runs `portagent-lab demo`:
//! it must walk through to the end in a fresh lab and show each step's
//! result. (Needs `ovs-port-agent` built beside it: `cargo test` in the
//! workspace builds it.)

use std::process::Command;

#[test]
fn the_demo_runs_to_the_end() {
    let out = Command::new(env!("CARGO_BIN_EXE_portagent-lab")).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "\"type\": \"Create\"",                                     // show-diff
        "applied; checkpoint chkpt-",                               // apply-state
        "nothing to do: the system already matches the state file", // re-apply
        "rolled back to checkpoint",                                // the broken change
        "ovsbr0           UNKNOWN        192.168.1.120/24",         // applied, unconfirmed...
        "VALID: 4 entries",                                         // apply, rollback, unconfirmed apply, its rollback
        "string \"pong\"",                                          // the daemon
        "No changes. The system already matches the state file.",   // the CLI through it
        "removed: no namespace, mount or daemon left",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    // ...and reverted by itself.
    let after = stdout.split("waiting for the deadline").nth(1).unwrap();
    assert!(after.contains("192.168.1.100/24"), "{after}");
}
