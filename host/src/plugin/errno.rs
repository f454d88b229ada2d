//! WASI's error numbers by name. A guest's libc formats an I/O error as
//! `... (os error 44)` with WASI's numbering, not Linux's; the host adds
//! the name (`ENOENT`) so that an admin can read it.

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

/// `text` with each `(os error N)` read as `(os error N: ENAME)`.
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
        let name = after[..digits].parse::<usize>().ok().and_then(|n| NAMES.get(n));
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
            super::name_errors("a (os error 63) b (os error 2)".into()),
            "a (os error 63: EPERM) b (os error 2: EACCES)"
        );
        for same in ["no error here", "(os error 999)", "(os error x)", "(os error 44"] {
            assert_eq!(super::name_errors(same.into()), same);
        }
    }
}
