//! Random identifiers from the kernel's CSPRNG.

/// `n` random bytes (getrandom(2), which blocks only before the kernel's
/// pool is first seeded).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    let mut filled = 0;
    while filled < N {
        // SAFETY: writes at most N - filled bytes into our buffer.
        let n = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), N - filled, 0) };
        if n > 0 {
            filled += n as usize;
        } else if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            panic!("getrandom failed: {}", std::io::Error::last_os_error());
        }
    }
    buf
}

/// A checkpoint id unique to one apply: `chkpt-<unix seconds>-<128 random
/// bits in hex>`. Chosen by the host, never read from a plugin.
pub fn checkpoint_id() -> String {
    let bits: String = random_bytes::<16>().iter().map(|b| format!("{b:02x}")).collect();
    format!("chkpt-{}-{bits}", super::time::unix_secs())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_within_a_second() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| super::checkpoint_id()).collect();
        assert_eq!(ids.len(), 1000);
        let id = ids.iter().next().unwrap();
        assert!(id.starts_with("chkpt-") && id.len() == "chkpt-".len() + 10 + 1 + 32, "{id}");
    }
}
