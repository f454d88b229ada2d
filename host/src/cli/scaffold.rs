//! `portagent plugin new NAME --lang rust|python|js`: a working plugin
//! project to start from: sources, the WIT (and for Rust the SDK) of this
//! portagent, a build script, an example state file and a README.

use super::Failure;
use std::path::{Path, PathBuf};

mod kit {
    include!(concat!(env!("OUT_DIR"), "/kit.rs"));
}

/// The languages a project can be made in.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

/// The pinned toolchain versions (`scripts/toolchain-versions`), for the
/// build scripts' and READMEs' instructions.
fn toolchain(key: &str) -> &'static str {
    include_str!("../../../scripts/toolchain-versions")
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .expect("scripts/toolchain-versions names it")
}

/// The files of a project in `lang`, paths relative to its dir.
fn files(name: &str, lang: Lang) -> Vec<(PathBuf, String)> {
    let fill = |t: &str| {
        t.replace("__NAME__", name)
            .replace("__CRATE__", &name.replace('-', "_"))
            .replace("__PY__", toolchain("COMPONENTIZE_PY"))
            .replace("__JS__", toolchain("COMPONENTIZE_JS"))
    };
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    let (wit_dir, sources): (&str, &[(&str, &str)]) = match lang {
        Lang::Rust => (
            "portagent-sdk/wit",
            &[
                ("Cargo.toml", include_str!("../../templates/rust/Cargo.toml")),
                ("src/lib.rs", include_str!("../../templates/rust/src/lib.rs")),
                ("build.sh", include_str!("../../templates/rust/build.sh")),
            ],
        ),
        Lang::Python => (
            "wit",
            &[
                ("app.py", include_str!("../../templates/python/app.py")),
                ("build.sh", include_str!("../../templates/python/build.sh")),
            ],
        ),
        Lang::Js => (
            "wit",
            &[
                ("plugin.js", include_str!("../../templates/js/plugin.js")),
                ("build.sh", include_str!("../../templates/js/build.sh")),
            ],
        ),
    };
    for (path, text) in sources {
        out.push((path.into(), fill(text)));
    }
    if lang == Lang::Rust {
        for (path, text) in kit::SDK_FILES {
            out.push((Path::new("portagent-sdk").join(path), text.to_string()));
        }
    }
    for (path, text) in kit::WIT_FILES {
        out.push((Path::new(wit_dir).join(path), text.to_string()));
    }
    out.push(("state.yaml".into(), state_example(name)));
    out.push(("README.md".into(), readme(name, lang)));
    out
}

/// Every WIT file of the package at `version` (a served one), one after
/// another, each headed by its path in this repo.
pub fn wit_text(version: &str) -> Option<String> {
    let (dir, files) = match version {
        v if v == crate::plugin::bindings::current::WIT_VERSION => ("wit", kit::WIT_FILES),
        v if v == crate::plugin::bindings::v0_1::WIT_VERSION => ("wit/deps/portagent-plugin@0.1.0", kit::WIT_0_1_FILES),
        _ => return None,
    };
    Some(files.iter().map(|(name, text)| format!("// ==> {dir}/{name} <==\n{text}\n")).collect())
}

fn state_example(name: &str) -> String {
    format!("version: 1\nplugins:\n  {name}:\n    notes:\n      rack: r12\n      owner: ops\n")
}

fn readme(name: &str, lang: Lang) -> String {
    let (source, tools) = match lang {
        Lang::Rust => ("src/lib.rs", "Rust with `rustup target add wasm32-wasip2`".to_string()),
        Lang::Python => {
            ("app.py", format!("componentize-py {} (`pip install componentize-py`)", toolchain("COMPONENTIZE_PY")))
        }
        Lang::Js => (
            "plugin.js",
            format!(
                "componentize-js {} (`npm install @bytecodealliance/componentize-js`)",
                toolchain("COMPONENTIZE_JS")
            ),
        ),
    };
    format!(
        "# {name}\n\nA portagent state plugin, made by `portagent plugin new`. It owns the\n`{name}` section of a \
         state file and keeps its notes as\n`external_ids:{name}:KEY=VALUE` on OVS's Open_vSwitch row.\n\n\
         Edit `{source}`; needs {tools}.\n\n```sh\n./build.sh                                   # -> {name}.wasm\n\
         portagent plugin install {name}.wasm --allow-unsigned   # or sign it: portagent plugin sign\n\
         portagent show-diff state.yaml\nportagent apply-state state.yaml\nportagent query-state --plugin {name}\n```\n\n\
         The contract (call order, instance lifetime, what `diff` receives, errors,\nlimits) is in portagent's \
         `docs/plugins.md`; the WIT is in `{}`.\n",
        if lang == Lang::Rust { "portagent-sdk/wit/" } else { "wit/" }
    )
}

/// Writes the project into `dir` (which must not exist, or be empty).
pub fn run(name: &str, lang: Lang, dir: Option<PathBuf>) -> Result<(), Failure> {
    if !crate::plugin::manifest::valid_plugin_name(name) {
        return Err(Failure::invalid(anyhow::anyhow!(
            "NAME: {name:?} must match [a-z][a-z0-9-]* and be at most 32 bytes (it is the plugin's and its section's name)"
        )));
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Failure::invalid(anyhow::anyhow!("{} exists and is not empty: nothing written", dir.display())));
    }
    for (path, text) in files(name, lang) {
        let path = dir.join(path);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().expect("inside the project"))?;
            std::fs::write(&path, &text)?;
            if path.extension().is_some_and(|e| e == "sh") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            }
            Ok(())
        };
        write().map_err(|e| Failure { code: 1, error: anyhow::anyhow!("{}: {e}", path.display()) })?;
    }
    let language = match lang {
        Lang::Rust => "Rust",
        Lang::Python => "Python",
        Lang::Js => "JavaScript",
    };
    println!(
        "made {} ({language} plugin '{name}'): ./build.sh, then portagent plugin install {name}.wasm",
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_gets_sources_wit_build_script_example_and_readme() {
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            let files = files("acme-notes", lang);
            let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
            for expected in ["build.sh", "state.yaml", "README.md"] {
                assert!(names.iter().any(|n| n == expected), "{lang:?}: {names:?}");
            }
            assert!(names.iter().any(|n| n.ends_with("wit/world.wit")), "{lang:?}: {names:?}");
            for (path, text) in &files {
                assert!(!text.contains("__NAME__") && !text.contains("__CRATE__"), "{lang:?} {}", path.display());
            }
        }
        let rust = files("acme-notes", Lang::Rust);
        let build = &rust.iter().find(|(p, _)| p == Path::new("build.sh")).unwrap().1;
        assert!(build.contains("acme_notes.wasm"), "{build}");
        assert!(rust.iter().any(|(p, _)| p == Path::new("portagent-sdk/src/lib.rs")));
    }
}
