//! `portagent plugin install | list | info | remove` through the real binary.

use crate::support::{Scratch, files_in, incompatible_wasm_path, probe_wasm_path, text};

#[test]
fn install_list_info_remove_round_trip() {
    let s = Scratch::new("");
    let probe = probe_wasm_path();
    let out = s.portagent(&["plugin", "install", probe.to_str().unwrap(), "--yes", "--allow-unsigned"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("plugin probe 1.2.3 (portagent:plugin@0.2.0)"), "{shown}");
    assert!(shown.contains("ovsdb     [Bridge, Open_vSwitch]  to read bridges"), "{shown}");

    let list = text(&s.portagent(&["plugin", "list"]).stdout);
    assert!(list.lines().any(|l| l.starts_with("probe ") && l.contains("1.2.3")), "{list}");

    let info = s.portagent(&["plugin", "info", "probe", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let wasm = std::fs::read(&probe).unwrap();
    assert_eq!(v["sha256"], portagent::util::hash::sha256_hex(&wasm));
    assert_eq!(v["size"], wasm.len());
    assert_eq!(v["wit_version"], "0.2.0");
    assert_eq!(v["granted"]["ovsdb"], serde_json::json!(["Bridge", "Open_vSwitch"]));

    let again = s.portagent(&["plugin", "install", probe.to_str().unwrap(), "--yes", "--allow-unsigned"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already installed (use --upgrade"), "{}", text(&again.stderr));
    let upgraded =
        s.portagent(&["plugin", "install", probe.to_str().unwrap(), "--yes", "--allow-unsigned", "--upgrade"]);
    assert!(upgraded.status.success(), "{}", text(&upgraded.stderr));

    let removed = s.portagent(&["plugin", "remove", "probe"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    let list = text(&s.portagent(&["plugin", "list"]).stdout);
    assert!(!list.contains("probe"), "{list}");
    assert!(
        list.lines().any(|l| l.starts_with("net ") && l.contains("built-in")),
        "the built-in net plugin is always there: {list}"
    );
    assert_eq!(s.portagent(&["plugin", "info", "probe"]).status.code(), Some(2));

    // Each change of plugins is in the ledger: what, which, its hash, its grant.
    let shown = text(&s.portagent(&["ledger", "show"]).stdout);
    let entries: Vec<serde_json::Value> = shown.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = entries.iter().map(|e| e["data"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["install", "upgrade", "remove"], "{shown}");
    for e in &entries {
        assert_eq!(e["category"], "plugin");
        assert_eq!(e["data"]["name"], "probe");
        assert_eq!(e["data"]["version"], "1.2.3");
        assert_eq!(e["data"]["sha256"], portagent::util::hash::sha256_hex(&wasm));
        assert_eq!(e["data"]["granted"]["ovsdb"], serde_json::json!(["Bridge", "Open_vSwitch"]));
    }
    // The upgrade names what it replaced (here the same file again).
    let replaced = &entries[1]["data"]["replaced"];
    assert_eq!(replaced["version"], "1.2.3", "{shown}");
    assert_eq!(replaced["sha256"], portagent::util::hash::sha256_hex(&wasm), "{shown}");
    assert!(entries[0]["data"].get("replaced").is_none() && entries[2]["data"].get("replaced").is_none());
    assert!(text(&s.portagent(&["ledger", "verify"]).stdout).starts_with("VALID: 3 entries"));
}

#[test]
fn partial_grant_is_recorded_and_shown() {
    let s = Scratch::new("");
    let probe = probe_wasm_path();
    let out = s.portagent(&[
        "plugin",
        "install",
        probe.to_str().unwrap(),
        "--allow-unsigned",
        "--grant",
        "log",
        "--grant",
        "ovsdb=Bridge",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = text(&s.portagent(&["plugin", "info", "probe"]).stdout);
    assert!(info.contains("ovsdb     asked [Bridge, Open_vSwitch], granted [Bridge]"), "{info}");
    assert!(info.contains("netlink   asked [read], NOT granted"), "{info}");
    // It imports hostname without asking (as a Python or JS plugin built
    // against the whole world does): installed, and said so.
    assert!(info.contains("imports but does not ask for (every call denied): hostname"), "{info}");
}

/// Each refusal exits 2 with a message saying why, and installs nothing.
#[test]
fn refused_installs_change_nothing() {
    let s = Scratch::new("");
    let dir = s.dir.path();
    let probe = std::fs::read(probe_wasm_path()).unwrap();
    std::fs::write(dir.join("truncated.wasm"), &probe[..probe.len() / 2]).unwrap();
    std::fs::write(dir.join("text.wasm"), "not wasm at all").unwrap();
    std::fs::write(dir.join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let probe_path = probe_wasm_path().to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![incompatible_wasm_path().to_str().unwrap().into(), "--yes".into()],
            "built against portagent:plugin@1.0.0; this host supports portagent:plugin@0.2.0",
        ),
        (vec![p("truncated.wasm"), "--yes".into()], "invalid component"),
        (vec![p("text.wasm"), "--yes".into()], "does not start with the WebAssembly magic number"),
        (vec![p("core.wasm"), "--yes".into()], "core WebAssembly module"),
        (vec![p("missing.wasm"), "--yes".into()], "cannot read"),
        (vec![probe_path.clone()], "no consent given"),
        (vec![probe_path.clone(), "--grant".into(), "ovsdb=Interface".into()], "\"Interface\" was not asked for"),
        (vec![probe_path.clone(), "--grant".into(), "filesystem".into()], "unknown capability"),
    ];
    // Without --allow-unsigned, an unsigned component is refused before it is compiled.
    let out = s.portagent(&["plugin", "install", &probe_path, "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("unsigned (no "), "{}", text(&out.stderr));
    for (args, expected) in cases {
        let mut argv = vec!["plugin", "install", "--allow-unsigned"];
        argv.extend(args.iter().map(String::as_str));
        let out = s.portagent(&argv);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(expected), "{args:?}: {}", text(&out.stderr));
        assert!(files_in(&s.state_dir().join("plugins")).is_empty(), "{args:?} installed something");
    }
}

#[test]
fn precompiled_artifacts_are_never_loaded() {
    let s = Scratch::new("");
    let probe = probe_wasm_path();
    assert!(s.portagent(&["plugin", "install", probe.to_str().unwrap(), "--yes", "--allow-unsigned"]).status.success());
    // The cache now holds a precompiled artifact; offering one is refused.
    let cache = s.state_dir().join("cache");
    let artifact = cache.join(&files_in(&cache)[0]);
    let out = s.portagent(&["plugin", "install", artifact.to_str().unwrap(), "--yes", "--upgrade", "--allow-unsigned"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("precompiled artifacts are never loaded"), "{}", text(&out.stderr));
}

#[test]
fn tampered_plugin_is_refused_at_load() {
    let s = Scratch::new("");
    let probe = probe_wasm_path();
    assert!(s.portagent(&["plugin", "install", probe.to_str().unwrap(), "--yes", "--allow-unsigned"]).status.success());
    let installed = s.state_dir().join("plugins/probe/plugin.wasm");
    let mut bytes = std::fs::read(&installed).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&installed, bytes).unwrap();
    let registry = portagent::plugin::Registry::new(s.config().plugin_dir());
    let runtime = portagent::plugin::Runtime::from_config(&s.config()).unwrap();
    let err = registry.load(&runtime, "probe").err().expect("load refused");
    assert!(err.to_string().contains("was modified on disk"), "{err}");
}

/// A publisher's key signs a component; the admin trusts the key; the
/// signed file installs, a modified or unsigned copy is refused, and the
/// ledger names the publisher.
#[test]
fn signed_plugin_installs_modified_and_unsigned_are_refused() {
    let keys = Scratch::new("");
    let key = keys.dir.path().join("acme.key");
    let out = keys.portagent(&["plugin", "keygen", "acme", "--key", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    let trusted = shown.lines().find(|l| l.starts_with("acme = ")).expect("the trusted-key line is printed");
    assert_eq!(keys.portagent(&["plugin", "keygen", "acme", "--key", key.to_str().unwrap()]).status.code(), Some(2));

    let s = Scratch::new(&format!("[plugins.trusted_publishers]\n{trusted}\n"));
    let dir = s.dir.path();
    let signed = dir.join("probe.wasm");
    std::fs::copy(probe_wasm_path(), &signed).unwrap();
    let out = s.portagent(&["plugin", "sign", signed.to_str().unwrap(), "--key", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A copy with one byte changed, beside the same signature: refused.
    let mut bytes = std::fs::read(&signed).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let modified = dir.join("modified.wasm");
    std::fs::write(&modified, &bytes).unwrap();
    std::fs::copy(dir.join("probe.wasm.sig"), dir.join("modified.wasm.sig")).unwrap();
    let unsigned = dir.join("unsigned.wasm");
    std::fs::copy(probe_wasm_path(), &unsigned).unwrap();
    for (file, extra, expected) in [
        (&modified, None, "modified after signing"),
        (&modified, Some("--allow-unsigned"), "modified after signing"),
        (&unsigned, None, "install only with --allow-unsigned"),
    ] {
        let mut argv = vec!["plugin", "install", file.to_str().unwrap(), "--yes"];
        argv.extend(extra);
        let out = s.portagent(&argv);
        assert_eq!(out.status.code(), Some(2), "{argv:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(expected), "{argv:?}: {}", text(&out.stderr));
        assert!(files_in(&s.state_dir().join("plugins")).is_empty(), "{argv:?} installed something");
        assert!(!s.state_dir().join("cache").exists(), "{argv:?} was compiled before its signature was checked");
    }

    let out = s.portagent(&["plugin", "install", signed.to_str().unwrap(), "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("signed by 'acme'"), "{}", text(&out.stdout));
    assert!(text(&s.portagent(&["plugin", "info", "probe"]).stdout).contains("trust:       signed by 'acme'"));
    assert!(s.portagent(&["plugin", "remove", "probe"]).status.success());
    // The unsigned one, allowed: installed, and the ledger says so.
    let out = s.portagent(&["plugin", "install", unsigned.to_str().unwrap(), "--yes", "--allow-unsigned"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let shown = text(&s.portagent(&["ledger", "show"]).stdout);
    let entries: Vec<serde_json::Value> = shown.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary: Vec<(String, String)> =
        entries.iter().map(|e| (e["data"]["action"].to_string(), e["data"]["trust"]["trust"].to_string())).collect();
    assert_eq!(
        summary,
        [("install", "signed"), ("remove", "signed"), ("install", "allowed_unsigned")]
            .map(|(a, t)| (format!("{a:?}"), format!("{t:?}"))),
        "{shown}"
    );
    assert_eq!(entries[0]["data"]["publisher"], "acme");
}

/// `plugin precompile` fills the cache with every plugin's artifact; the
/// cache keeps only what a built-in or installed plugin uses.
#[test]
fn precompile_fills_the_cache_and_unused_artifacts_are_pruned() {
    let s = Scratch::new("");
    let cache = s.state_dir().join("cache");
    let cwasm = || {
        let mut v: Vec<String> = files_in(&cache).into_iter().filter(|f| f.ends_with(".cwasm")).collect();
        v.sort();
        v
    };
    let out = s.portagent(&["plugin", "precompile"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for name in ["net ", "netcfg "] {
        assert!(shown.lines().any(|l| l.starts_with(name) && l.contains("ready in")), "{shown}");
    }
    let builtins = cwasm();
    assert_eq!(builtins.len(), 2, "{builtins:?}");
    // An artifact of a plugin long gone, and one of an older engine.
    std::fs::write(cache.join(format!("{}-0000000000000000.cwasm", "ab".repeat(32))), b"old").unwrap();
    let sha = builtins[0].split('-').next().unwrap();
    std::fs::write(cache.join(format!("{sha}-ffffffffffffffff.cwasm")), b"older engine").unwrap();
    let out = s.portagent(&["plugin", "precompile"]);
    assert!(text(&out.stdout).contains(": 2 unused artifacts removed"), "{}", text(&out.stdout));
    assert_eq!(cwasm(), builtins);

    let probe = probe_wasm_path();
    assert!(s.portagent(&["plugin", "install", probe.to_str().unwrap(), "--yes", "--allow-unsigned"]).status.success());
    assert_eq!(cwasm().len(), 3, "the installed plugin's artifact");
    assert!(s.portagent(&["plugin", "remove", "probe"]).status.success());
    assert_eq!(cwasm(), builtins, "removed with its plugin");
}

/// What a plugin author asks the host: the WIT it serves, and its version.
#[test]
fn the_wit_and_its_version_are_printed() {
    let s = Scratch::new("");
    let v = text(&s.portagent(&["--version"]).stdout);
    assert!(v.starts_with("portagent ") && v.contains("WIT portagent:plugin@0.2.0, @0.1.0"), "{v}");
    let out = s.portagent(&["plugin", "wit"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let wit = text(&out.stdout);
    for expected in
        ["package portagent:plugin@0.2.0;", "world state-plugin {", "interface ovsdb {", "// ==> wit/types.wit <=="]
    {
        assert!(wit.contains(expected), "{expected}");
    }
    assert_eq!(text(&s.portagent(&["plugin", "wit", "--version", "0.2.0"]).stdout), wit);
    let old = text(&s.portagent(&["plugin", "wit", "--version", "0.1.0"]).stdout);
    assert!(
        old.contains("package portagent:plugin@0.1.0;") && old.contains("wit/deps/portagent-plugin@0.1.0/world.wit")
    );
    let future = s.portagent(&["plugin", "wit", "--version", "0.3.0"]);
    assert_eq!(future.status.code(), Some(2));
    assert!(text(&future.stderr).contains("supported: 0.2.0, 0.1.0"), "{}", text(&future.stderr));
}
