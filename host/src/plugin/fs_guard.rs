//! What a plugin may make in the networkd preopen: regular files whose
//! names carry its own prefix, and drop-in dirs; never a symlink or a hard
//! link. WASI's own preopen keeps paths inside the dir, but it lets a
//! writable preopen hold relative symlinks that point out of it (which
//! networkd, or an admin's shell, would then follow). The guard redefines
//! the `wasi:filesystem/types` functions that create, replace or remove
//! names, checks them against the grant, and hands the allowed ones to
//! wasmtime-wasi's own implementation.
//!
//! A name is the plugin's when its file name (a leading `.` of a temporary
//! file aside) starts with a `prefix:` item of its `networkd` scope, or
//! with its own name and a separator (`-` or `.`), bare or after
//! networkd's `NN-` ordering digits (`probe.network`, `10-probe-x.network`;
//! not `10-probe2.network`, which would be plugin probe2's). Dirs may be made only as
//! drop-in dirs (`NAME.network.d`, `.netdev.d`, `.link.d`) at the top.

use super::caps::{Capability, Grants};
use super::store::HostState;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, ErrorCode, HostDescriptor, OpenFlags, PathFlags,
};

/// The interface wasmtime-wasi links (its WIT's version: a component
/// importing any 0.2.x resolves to it). The sandbox tests fail if a
/// wasmtime upgrade moves it and the guard stops applying.
const FS_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// The scope item that names a file prefix a plugin may write.
pub const PREFIX_ITEM: &str = "prefix:";

/// Drop-in dir suffixes networkd reads.
const DROP_IN_DIRS: [&str; 3] = [".network.d", ".netdev.d", ".link.d"];

/// Why a name is not the plugin's to make; `None` when it is.
pub fn refusal(plugin: &str, scope: &[String], path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let Some((file, dirs)) = parts.split_last() else {
        return Some(format!("{path:?} names no file"));
    };
    if parts.contains(&"..") {
        return Some(format!("{path:?} leaves its directory"));
    }
    if let Some(d) = dirs.iter().find(|d| !is_drop_in_dir(d)) {
        return Some(format!("{path:?}: files go at the top or in a drop-in dir, and {d:?} is not one"));
    }
    if dirs.len() > 1 {
        return Some(format!("{path:?}: drop-in dirs are not nested"));
    }
    let name = file.strip_prefix('.').unwrap_or(file);
    if owns(plugin, scope, name) {
        return None;
    }
    Some(format!("{file:?} is not plugin '{plugin}''s to write: its files are named {}", prefixes(plugin, scope)))
}

/// Why a dir may not be made or removed there; `None` when it may.
pub fn dir_refusal(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    match parts.as_slice() {
        [d] if is_drop_in_dir(d) => None,
        _ => Some(format!(
            "{path:?}: the only dirs a plugin may make are drop-in dirs at the top ({})",
            DROP_IN_DIRS.map(|s| format!("NAME{s}")).join(", ")
        )),
    }
}

fn is_drop_in_dir(d: &str) -> bool {
    DROP_IN_DIRS.iter().any(|s| d.len() > s.len() && d.ends_with(s))
}

/// `name` without networkd's `NN-` ordering digits.
pub fn unnumbered(name: &str) -> &str {
    match name.split_once('-') {
        Some((digits, rest)) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => name,
    }
}

/// Whether `name` is the word `stem` and then a separator (`-` or `.`):
/// `acme-x.network` and `acme.network` are acme's, `acme2.network` and
/// `acmex` are not.
pub fn starts_with_word(name: &str, stem: &str) -> bool {
    name.strip_prefix(stem).is_some_and(|rest| rest.starts_with(['-', '.']))
}

fn owns(plugin: &str, scope: &[String], name: &str) -> bool {
    let declared = scope.iter().filter_map(|s| s.strip_prefix(PREFIX_ITEM));
    declared.into_iter().any(|p| name.starts_with(p)) || starts_with_word(unnumbered(name), plugin)
}

fn prefixes(plugin: &str, scope: &[String]) -> String {
    let mut v: Vec<String> =
        scope.iter().filter_map(|s| s.strip_prefix(PREFIX_ITEM)).map(|p| format!("{p}*")).collect();
    v.push(format!("{plugin}-*, {plugin}.*"));
    v.push(format!("NN-{plugin}-*, NN-{plugin}.*"));
    v.join(", ")
}

/// Whether `item` may stand in a `networkd` scope as a prefix.
pub fn valid_prefix_item(item: &str) -> bool {
    item.strip_prefix(PREFIX_ITEM).is_some_and(|p| {
        !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    })
}

/// Checks `path` against the plugin's grant: `Err` is what the guest gets.
fn check(state: &HostState, path: &str, dir: bool) -> Result<(), ErrorCode> {
    let plugin = &state.caps.plugin;
    let scope = scope_of(&state.caps.grants, plugin);
    let why = if dir { dir_refusal(path) } else { refusal(plugin, &scope, path) };
    match why {
        None => Ok(()),
        Some(why) => {
            log::warn!("plugin '{plugin}': networkd dir: refused: {why}");
            Err(ErrorCode::NotPermitted)
        }
    }
}

fn scope_of(grants: &Grants, plugin: &str) -> Vec<String> {
    grants.scope(plugin, Capability::NETWORKD).map(<[String]>::to_vec).unwrap_or_default()
}

/// A refusal of the guard, or wasmtime-wasi's own result.
fn answer<T>(r: Result<T, wasmtime_wasi::p2::FsError>) -> wasmtime::Result<(Result<T, ErrorCode>,)> {
    match r {
        Ok(v) => Ok((Ok(v),)),
        Err(e) => Ok((Err(e.downcast()?),)),
    }
}

/// Redefines the name-changing `descriptor` methods over the ones
/// `wasmtime_wasi::p2::add_to_linker_async` linked.
pub fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(FS_TYPES)?;
    // Never: a link's target is read by whoever follows it, not by WASI.
    types.func_wrap_async(
        "[method]descriptor.symlink-at",
        |store, (_fd, target, name): (Resource<Descriptor>, String, String)| {
            Box::new(async move {
                log::warn!(
                    "plugin '{}': networkd dir: refused a symlink {name:?} -> {target:?}",
                    store.data().caps.plugin
                );
                Ok((Err::<(), _>(ErrorCode::NotPermitted),))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.link-at",
        |store, (_fd, _flags, old, _new_fd, new): (Resource<Descriptor>, PathFlags, String, Resource<Descriptor>, String)| {
            Box::new(async move {
                log::warn!("plugin '{}': networkd dir: refused a hard link {new:?} -> {old:?}", store.data().caps.plugin);
                Ok((Err::<(), _>(ErrorCode::NotPermitted),))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store,
         (fd, path_flags, path, oflags, flags): (
            Resource<Descriptor>,
            PathFlags,
            String,
            OpenFlags,
            DescriptorFlags,
        )| {
            Box::new(async move {
                let writes = oflags.intersects(OpenFlags::CREATE | OpenFlags::TRUNCATE)
                    || flags.contains(DescriptorFlags::WRITE);
                if writes && let Err(e) = check(store.data(), &path, oflags.contains(OpenFlags::DIRECTORY)) {
                    return Ok((Err(e),));
                }
                let mut fs = store.data_mut().filesystem();
                answer(HostDescriptor::open_at(&mut fs, fd, path_flags, path, oflags, flags).await)
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.rename-at",
        |mut store, (fd, old, new_fd, new): (Resource<Descriptor>, String, Resource<Descriptor>, String)| {
            Box::new(async move {
                let guard = check(store.data(), &old, false).and_then(|_| check(store.data(), &new, false));
                if let Err(e) = guard {
                    return Ok((Err(e),));
                }
                let mut fs = store.data_mut().filesystem();
                answer(HostDescriptor::rename_at(&mut fs, fd, old, new_fd, new).await)
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.unlink-file-at",
        |mut store, (fd, path): (Resource<Descriptor>, String)| {
            Box::new(async move {
                if let Err(e) = check(store.data(), &path, false) {
                    return Ok((Err(e),));
                }
                let mut fs = store.data_mut().filesystem();
                answer(HostDescriptor::unlink_file_at(&mut fs, fd, path).await)
            })
        },
    )?;
    for (name, remove) in
        [("[method]descriptor.create-directory-at", false), ("[method]descriptor.remove-directory-at", true)]
    {
        types.func_wrap_async(name, move |mut store, (fd, path): (Resource<Descriptor>, String)| {
            Box::new(async move {
                if let Err(e) = check(store.data(), &path, true) {
                    return Ok((Err(e),));
                }
                let mut fs = store.data_mut().filesystem();
                answer(if remove {
                    HostDescriptor::remove_directory_at(&mut fs, fd, path).await
                } else {
                    HostDescriptor::create_directory_at(&mut fs, fd, path).await
                })
            })
        })?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_plugin_writes_only_its_own_names() {
        let none = scope(&["read", "write"]);
        for ok in ["probe.network", "10-probe.network", ".10-probe.network.tmp", "x.network.d/50-probe.conf"] {
            assert_eq!(refusal("probe", &none, ok), None, "{ok}");
        }
        for bad in ["10-portagent-br0.network", "evil", "a/b.network", "x.network.d/y.network.d/probe", "../probe"] {
            assert!(refusal("probe", &none, bad).is_some(), "{bad}");
        }
        // The name is a word: acme does not own acme2's files, nor p portagent's.
        for (plugin, theirs) in
            [("acme", "10-acme2-x.network"), ("p", "10-portagent-br0.network"), ("eth", "eth0.network")]
        {
            assert!(refusal(plugin, &none, theirs).is_some(), "{plugin} must not own {theirs}");
        }
        assert_eq!(refusal("acme", &none, "10-acme-x.network"), None);
        let net = scope(&["read", "write", "prefix:10-portagent-"]);
        assert_eq!(refusal("net", &net, "10-portagent-br0.network"), None);
        assert_eq!(refusal("net", &net, ".10-portagent-br0.network.tmp"), None);
        assert!(refusal("net", &net, "50-portagent-netcfg.conf").is_some());
        let netcfg = scope(&["write", "prefix:50-portagent-netcfg"]);
        assert_eq!(refusal("netcfg", &netcfg, "10-portagent-br0.network.d/50-portagent-netcfg.conf"), None);
        assert!(refusal("netcfg", &netcfg, "10-portagent-br0.network").is_some());
        let why = refusal("probe", &none, "evil").unwrap();
        assert!(why.contains("probe-*") && why.contains("NN-probe.*"), "{why}");
    }

    #[test]
    fn only_drop_in_dirs_are_made() {
        assert_eq!(dir_refusal("10-portagent-br0.network.d"), None);
        assert_eq!(dir_refusal("./x.netdev.d/"), None);
        for bad in ["evil", ".network.d", "a.network.d/b.network.d", "../x.network.d"] {
            assert!(dir_refusal(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn prefix_items() {
        assert!(valid_prefix_item("prefix:10-portagent-"));
        for bad in ["prefix:", "prefix:a/b", "prefix:*", "prefix", "write"] {
            assert!(!valid_prefix_item(bad), "{bad}");
        }
    }
}
