//! `dist/`: the man pages and shell completions the package installs are
//! the ones the clap definitions make now (regenerate: `scripts/dist-docs`).

use crate::support::text;
use std::path::Path;

#[test]
fn man_pages_and_completions_are_current() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(repo.join("scripts/dist-docs"))
        .arg(fresh.path())
        .env("PORTAGENT_BIN", env!("CARGO_BIN_EXE_portagent"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    for dir in ["man", "completions"] {
        let listed = |d: &Path| {
            let mut v: Vec<String> =
                std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            v.sort();
            v
        };
        let (want, have) = (fresh.path().join(dir), repo.join("dist").join(dir));
        assert_eq!(listed(&have), listed(&want), "dist/{dir} is stale: run scripts/dist-docs");
        for f in listed(&want) {
            assert!(
                std::fs::read(want.join(&f)).unwrap() == std::fs::read(have.join(&f)).unwrap(),
                "dist/{dir}/{f} is stale: run scripts/dist-docs"
            );
        }
    }
    // The pages render, and bash accepts the completion script.
    let page = std::fs::read_to_string(repo.join("dist/man/ovs-port-agent-apply-state.1")).unwrap();
    assert!(page.contains(".TH ovs-port-agent-apply-state 1"), "{page}");
    let bash = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p ovs-port-agent",
            repo.join("dist/completions/ovs-port-agent.bash").display()
        ))
        .output()
        .unwrap();
    assert!(bash.status.success() && text(&bash.stdout).contains("ovs-port-agent"), "{}", text(&bash.stderr));
}
