//! What a plugin may make in the networkd preopen: regular files whose
//! names carry its own prefix, and drop-in dirs; never a symlink or a hard
//! link. WASI's own preopen keeps paths inside the dir, but it lets a
//! writable preopen hold relative symlinks that point out of it (which
//! networkd, or an admin's shell, would then follow). The guard redefines
//! the `wasi:filesystem/types` functions that create, replace or remove
//! names, checks them against the grant, and hands the allowed ones to
//! wasmtime-wasi's own implementation.
//!
//! Which names are the plugin's is [`file_names`](super::file_names)';
//! what its files say (which links they configure) and how much they take
//! is [`networkd_files`](super::networkd_files)'.

use super::caps::{Capability, Grants};
use super::file_names::{dir_refusal, refusal};
use super::networkd_files::Usage;
use super::store::HostState;
use std::sync::Arc;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, ErrorCode, HostDescriptor, OpenFlags, PathFlags,
};
use wasmtime_wasi::p2::{DynOutputStream, OutputStream, Pollable, StreamError, StreamResult};

/// The interface wasmtime-wasi links (its WIT's version: a component
/// importing any 0.2.x resolves to it). The sandbox tests fail if a
/// wasmtime upgrade moves it and the guard stops applying.
const FS_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Checks `path` against the plugin's grant: `Err` is what the guest gets.
fn check(state: &HostState, path: &str, dir: bool) -> Result<(), ErrorCode> {
    let plugin = &state.caps.plugin;
    let scope = scope_of(&state.caps.grants, plugin);
    let why = if dir { dir_refusal(plugin, &scope, path) } else { refusal(plugin, &scope, path) };
    match why {
        None => Ok(()),
        Some(why) => {
            log::warn!("plugin '{plugin}': networkd dir: refused: {why}");
            Err(ErrorCode::NotPermitted)
        }
    }
}

/// A quota refusal, logged, as the guest gets it.
fn over_quota(plugin: &str, why: String) -> ErrorCode {
    log::warn!("plugin '{plugin}': networkd dir: refused: {why}");
    ErrorCode::Quota
}

fn scope_of(grants: &Grants, plugin: &str) -> Vec<String> {
    grants.scope(plugin, Capability::NETWORKD).map(<[String]>::to_vec).unwrap_or_default()
}

/// `path` as the guest named it through the dir descriptor `fd`, relative
/// to the preopen: a guest that opened a drop-in dir and names a file in
/// it is checked as `DIR/FILE`, not as a name at the top.
fn resolve(store: &mut HostState, fd: &Resource<Descriptor>, path: &str) -> Result<String, ErrorCode> {
    use std::os::fd::AsRawFd;
    let root = std::fs::canonicalize(&store.caps.backends.networkd_dir).map_err(|_| ErrorCode::NotPermitted)?;
    let raw = match store.filesystem().table.get(fd) {
        Ok(Descriptor::Dir(d)) => d.dir.as_raw_fd(),
        Ok(Descriptor::File(_)) => return Err(ErrorCode::NotDirectory),
        Err(_) => return Err(ErrorCode::BadDescriptor),
    };
    let base = under_root(&root, raw).ok_or(ErrorCode::NotPermitted)?;
    Ok(if base.is_empty() { path.to_string() } else { format!("{base}/{path}") })
}

/// Where the host's open file `raw` is, relative to `root`.
fn under_root(root: &std::path::Path, raw: std::os::fd::RawFd) -> Option<String> {
    let at = std::fs::read_link(format!("/proc/self/fd/{raw}")).ok()?;
    Some(at.strip_prefix(root).ok()?.to_string_lossy().into_owned())
}

/// The path of the file open as `fd`, relative to the preopen (for the
/// record of what a call wrote: a file kept open from an earlier call
/// is written without a new open).
fn file_path(store: &mut HostState, fd: &Resource<Descriptor>) -> Option<String> {
    use std::os::fd::AsRawFd;
    let root = std::fs::canonicalize(&store.caps.backends.networkd_dir).ok()?;
    match store.filesystem().table.get(fd) {
        Ok(Descriptor::File(f)) => under_root(&root, f.file.as_raw_fd()),
        _ => None,
    }
}

/// Where `rel` is on the host, for the quota's "is it new?".
fn host_path(state: &HostState, rel: &str) -> std::path::PathBuf {
    state.caps.backends.networkd_dir.join(rel)
}

/// A refusal of the guard, or wasmtime-wasi's own result.
fn answer<T>(r: Result<T, wasmtime_wasi::p2::FsError>) -> wasmtime::Result<(Result<T, ErrorCode>,)> {
    match r {
        Ok(v) => Ok((Ok(v),)),
        Err(e) => Ok((Err(e.downcast()?),)),
    }
}

/// A file's write stream that counts what goes through it against the
/// plugin's quota: a write past it fails, nothing of it written.
struct Counted {
    inner: DynOutputStream,
    usage: Arc<Usage>,
    plugin: String,
    /// The file's path, for the record of what the call wrote.
    path: Option<String>,
}

#[async_trait::async_trait]
impl Pollable for Counted {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

#[async_trait::async_trait]
impl OutputStream for Counted {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        if let Err(why) = self.usage.add_bytes(bytes.len() as u64) {
            log::warn!("plugin '{}': networkd dir: refused: {why}", self.plugin);
            return Err(StreamError::LastOperationFailed(wasmtime::Error::msg(why)));
        }
        if let Some(p) = &self.path {
            self.usage.wrote(p);
        }
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

/// Puts the stream wasmtime-wasi made behind [`Counted`].
fn counted(
    store: &mut HostState,
    path: Option<String>,
    made: Result<Resource<DynOutputStream>, wasmtime_wasi::p2::FsError>,
) -> wasmtime::Result<(Result<Resource<DynOutputStream>, ErrorCode>,)> {
    let Some(usage) = store.networkd_usage.clone() else { return answer(made) };
    let stream = match made {
        Ok(stream) => stream,
        Err(e) => return answer(Err(e)),
    };
    let plugin = store.caps.plugin.clone();
    let table = store.filesystem().table;
    let inner: DynOutputStream = table.delete(stream)?;
    let wrapped: DynOutputStream = Box::new(Counted { inner, usage, plugin, path });
    Ok((Ok(table.push(wrapped)?),))
}

/// Redefines the name-changing `descriptor` methods over the ones
/// `wasmtime_wasi::p2::add_to_linker_async` linked, and the ones that write
/// (for the quota).
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
                if writes {
                    let rel = match resolve(store.data_mut(), &fd, &path) {
                        Ok(rel) => rel,
                        Err(e) => return Ok((Err(e),)),
                    };
                    if let Err(e) = check(store.data(), &rel, oflags.contains(OpenFlags::DIRECTORY)) {
                        return Ok((Err(e),));
                    }
                    let state = store.data();
                    let new = oflags.contains(OpenFlags::CREATE) && host_path(state, &rel).symlink_metadata().is_err();
                    if let Some(usage) = &state.networkd_usage
                        && !oflags.contains(OpenFlags::DIRECTORY)
                    {
                        if new && let Err(why) = usage.add_file() {
                            return Ok((Err(over_quota(&state.caps.plugin, why)),));
                        }
                        usage.wrote(&rel);
                    }
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
                let names = resolve(store.data_mut(), &fd, &old)
                    .and_then(|o| Ok((o, resolve(store.data_mut(), &new_fd, &new)?)));
                let guard = names.and_then(|(o, n)| {
                    check(store.data(), &o, false)?;
                    check(store.data(), &n, false)?;
                    Ok(n)
                });
                match guard {
                    Err(e) => return Ok((Err(e),)),
                    Ok(n) => {
                        if let Some(usage) = &store.data().networkd_usage {
                            usage.wrote(&n);
                        }
                    }
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
                let guard = resolve(store.data_mut(), &fd, &path).and_then(|rel| check(store.data(), &rel, false));
                if let Err(e) = guard {
                    return Ok((Err(e),));
                }
                let mut fs = store.data_mut().filesystem();
                let done = HostDescriptor::unlink_file_at(&mut fs, fd, path).await;
                if done.is_ok()
                    && let Some(usage) = &store.data().networkd_usage
                {
                    usage.removed_file();
                }
                answer(done)
            })
        },
    )?;
    for (name, remove) in
        [("[method]descriptor.create-directory-at", false), ("[method]descriptor.remove-directory-at", true)]
    {
        types.func_wrap_async(name, move |mut store, (fd, path): (Resource<Descriptor>, String)| {
            Box::new(async move {
                let guard = resolve(store.data_mut(), &fd, &path).and_then(|rel| check(store.data(), &rel, true));
                if let Err(e) = guard {
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
    // The quota: every way bytes get into a file.
    for (name, append) in
        [("[method]descriptor.write-via-stream", false), ("[method]descriptor.append-via-stream", true)]
    {
        if append {
            types.func_wrap(name, |mut store, (fd,): (Resource<Descriptor>,)| {
                let path = file_path(store.data_mut(), &fd);
                let made = HostDescriptor::append_via_stream(&mut store.data_mut().filesystem(), fd);
                counted(store.data_mut(), path, made)
            })?;
        } else {
            types.func_wrap(name, |mut store, (fd, offset): (Resource<Descriptor>, u64)| {
                let path = file_path(store.data_mut(), &fd);
                let made = HostDescriptor::write_via_stream(&mut store.data_mut().filesystem(), fd, offset);
                counted(store.data_mut(), path, made)
            })?;
        }
    }
    types.func_wrap_async(
        "[method]descriptor.write",
        |mut store, (fd, buf, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
            Box::new(async move {
                let path = file_path(store.data_mut(), &fd);
                let state = store.data();
                if let Some(usage) = &state.networkd_usage {
                    if let Err(why) = usage.add_bytes(buf.len() as u64) {
                        return Ok((Err(over_quota(&state.caps.plugin, why)),));
                    }
                    if let Some(p) = &path {
                        usage.wrote(p);
                    }
                }
                let mut fs = store.data_mut().filesystem();
                answer(HostDescriptor::write(&mut fs, fd, buf, offset).await)
            })
        },
    )?;
    types.func_wrap_async("[method]descriptor.set-size", |mut store, (fd, size): (Resource<Descriptor>, u64)| {
        Box::new(async move {
            // A sparse file takes no disk, but networkd would read it all;
            // a cut one may have lost its [Match].
            let path = file_path(store.data_mut(), &fd);
            let state = store.data();
            if let Some(usage) = &state.networkd_usage {
                if let Err(why) = usage.add_bytes(size) {
                    return Ok((Err(over_quota(&state.caps.plugin, why)),));
                }
                if let Some(p) = &path {
                    usage.wrote(p);
                }
            }
            let mut fs = store.data_mut().filesystem();
            answer(HostDescriptor::set_size(&mut fs, fd, size).await)
        })
    })?;
    linker.allow_shadowing(false);
    Ok(())
}
