//! WASI's error numbers by name. A guest's libc formats an I/O error as
//! `No such file or directory (os error 44)` with WASI's numbering, not
//! Linux's; the host adds the name (`ENOENT`) so that an admin can read it.
//! A message may also carry a host error the guest passed on, numbered as
//! Linux numbers it (`... (os error 2)`): a number is named only when the
//! text before it is wasi-libc's own for that number.

/// WASI preview 1 `errno`, by number (wasi-libc uses it on every target).
const NAMES: [&str; 77] = [
    "ESUCCESS",
    "E2BIG",
    "EACCES",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "EAFNOSUPPORT",
    "EAGAIN",
    "EALREADY",
    "EBADF",
    "EBADMSG",
    "EBUSY",
    "ECANCELED",
    "ECHILD",
    "ECONNABORTED",
    "ECONNREFUSED",
    "ECONNRESET",
    "EDEADLK",
    "EDESTADDRREQ",
    "EDOM",
    "EDQUOT",
    "EEXIST",
    "EFAULT",
    "EFBIG",
    "EHOSTUNREACH",
    "EIDRM",
    "EILSEQ",
    "EINPROGRESS",
    "EINTR",
    "EINVAL",
    "EIO",
    "EISCONN",
    "EISDIR",
    "ELOOP",
    "EMFILE",
    "EMLINK",
    "EMSGSIZE",
    "EMULTIHOP",
    "ENAMETOOLONG",
    "ENETDOWN",
    "ENETRESET",
    "ENETUNREACH",
    "ENFILE",
    "ENOBUFS",
    "ENODEV",
    "ENOENT",
    "ENOEXEC",
    "ENOLCK",
    "ENOLINK",
    "ENOMEM",
    "ENOMSG",
    "ENOPROTOOPT",
    "ENOSPC",
    "ENOSYS",
    "ENOTCONN",
    "ENOTDIR",
    "ENOTEMPTY",
    "ENOTRECOVERABLE",
    "ENOTSOCK",
    "ENOTSUP",
    "ENOTTY",
    "ENXIO",
    "EOVERFLOW",
    "EOWNERDEAD",
    "EPERM",
    "EPIPE",
    "EPROTO",
    "EPROTONOSUPPORT",
    "EPROTOTYPE",
    "ERANGE",
    "EROFS",
    "ESPIPE",
    "ESRCH",
    "ESTALE",
    "ETIMEDOUT",
    "ETXTBSY",
    "EXDEV",
    "ENOTCAPABLE",
];

/// wasi-libc's `strerror` text of the numbers guests' errors commonly
/// carry (musl's wording).
fn description(n: usize) -> Option<&'static str> {
    Some(match n {
        2 => "Permission denied",
        6 => "Resource temporarily unavailable",
        8 => "Bad file descriptor",
        10 => "Resource busy",
        20 => "File exists",
        28 => "Invalid argument",
        29 => "I/O error",
        31 => "Is a directory",
        32 => "Symbolic link loop",
        37 => "Filename too long",
        44 => "No such file or directory",
        48 => "Out of memory",
        51 => "No space left on device",
        52 => "Function not implemented",
        54 => "Not a directory",
        55 => "Directory not empty",
        58 => "Not supported",
        63 => "Operation not permitted",
        69 => "Read-only file system",
        73 => "Operation timed out",
        76 => "Capabilities insufficient",
        _ => return None,
    })
}

/// `text` with each `(os error N)` that is WASI's read as
/// `(os error N: ENAME)`.
pub fn name_errors(text: String) -> String {
    const MARK: &str = "(os error ";
    if !text.contains(MARK) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text.as_str();
    while let Some(at) = rest.find(MARK) {
        let after = &rest[at + MARK.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..at + MARK.len() + digits]);
        let before = rest[..at].trim_end();
        let name = after[..digits]
            .parse::<usize>()
            .ok()
            .filter(|n| description(*n).is_some_and(|d| before.ends_with(d)))
            .and_then(|n| NAMES.get(n));
        if let (Some(name), true) = (name, after[digits..].starts_with(')')) {
            out.push_str(": ");
            out.push_str(name);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_get_names() {
        let named = super::name_errors("write /etc/x: No such file or directory (os error 44)".into());
        assert_eq!(named, "write /etc/x: No such file or directory (os error 44: ENOENT)");
        assert_eq!(
            super::name_errors("a: Operation not permitted (os error 63) b: Permission denied (os error 2)".into()),
            "a: Operation not permitted (os error 63: EPERM) b: Permission denied (os error 2: EACCES)"
        );
        // A host error the guest passed on keeps Linux's number, unnamed.
        let host = "OVSDB at /run/openvswitch/db.sock: connect: No such file or directory (os error 2)";
        assert_eq!(super::name_errors(host.into()), host);
        for same in ["no error here", "(os error 999)", "(os error x)", "(os error 44", "x (os error 44)"] {
            assert_eq!(super::name_errors(same.into()), same);
        }
    }
}
