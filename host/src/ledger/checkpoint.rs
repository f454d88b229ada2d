//! Signed checkpoints in the C2SP `tlog-checkpoint` / signed-note text
//! form: origin, tree size, base64 root hash, then an Ed25519 signature
//! line. Written beside the ledger and sent to syslog, so a copy leaves the
//! ledger file's reach.

use super::merkle::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};
use std::path::Path;

/// A checkpoint: the ledger had `size` entries with Merkle root `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root))
    }
}

/// The ledger's signing key (the Ed25519 seed, 32 bytes, mode 0600). Its
/// public half is kept beside it in `<key>.pub` (hex, mode 0644), so that
/// anyone who can read the ledger can verify it without the secret.
pub struct Key {
    signing: SigningKey,
    verifier: Verifier,
}

/// What verifying a checkpoint needs: the public key and its name.
#[derive(Clone)]
pub struct Verifier {
    public: VerifyingKey,
    name: String,
}

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x01");
    h.update(public.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// `<key>.pub`: where the public key is kept.
pub fn public_path(key_path: &Path) -> std::path::PathBuf {
    let mut p = key_path.as_os_str().to_owned();
    p.push(".pub");
    p.into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Key {
    /// Loads the key at `path`, generating it on first use; writes its
    /// public half beside it if that is missing.
    pub fn load_or_create(path: &Path, name: &str) -> std::io::Result<Key> {
        let seed: [u8; 32] = match std::fs::read(path) {
            Ok(bytes) => bytes
                .try_into()
                .map_err(|_| std::io::Error::other(format!("{}: not a 32-byte Ed25519 seed", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed = crate::util::id::random_bytes::<32>();
                crate::util::fs::write_atomically(path, &seed, 0o600)?;
                seed
            }
            Err(e) => return Err(e),
        };
        let signing = SigningKey::from_bytes(&seed);
        let public = signing.verifying_key();
        let pub_path = public_path(path);
        if std::fs::read_to_string(&pub_path).map(|t| t.trim() != hex(public.as_bytes())).unwrap_or(true) {
            // Not fatal: without it, verifying needs the right to read the key.
            let text = format!("{}\n", hex(public.as_bytes()));
            if let Err(e) = crate::util::fs::write_atomically(&pub_path, text.as_bytes(), 0o644) {
                log::warn!("{}: {e}", pub_path.display());
            }
        }
        Ok(Key { signing, verifier: Verifier { public, name: name.into() } })
    }

    pub fn name(&self) -> &str {
        &self.verifier.name
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The signed note text of `cp`.
    pub fn sign(&self, cp: &Checkpoint) -> String {
        let body = cp.body();
        let sig = self.signing.sign(body.as_bytes());
        let mut blob = key_id(&self.verifier.name, &self.verifier.public).to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        format!("{body}\n\u{2014} {} {}\n", self.verifier.name, B64.encode(blob))
    }
}

impl Verifier {
    /// The public key kept beside the key at `key_path` (`<key>.pub`), or,
    /// for a ledger from before that file existed, derived from the key
    /// itself (which needs the right to read it). None when neither exists:
    /// no checkpoint was ever signed there.
    pub fn load(key_path: &Path, name: &str) -> std::io::Result<Option<Verifier>> {
        let bad = |why: String| std::io::Error::other(format!("{}: {why}", public_path(key_path).display()));
        match std::fs::read_to_string(public_path(key_path)) {
            Ok(text) => {
                let t = text.trim();
                let bytes: Vec<u8> = (0..t.len())
                    .step_by(2)
                    .map(|i| t.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad("not a hex Ed25519 public key".into()))?;
                let arr: [u8; 32] = bytes.try_into().map_err(|_| bad("not a 32-byte Ed25519 public key".into()))?;
                let public = VerifyingKey::from_bytes(&arr).map_err(|e| bad(e.to_string()))?;
                Ok(Some(Verifier { public, name: name.into() }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::read(key_path) {
                Ok(seed) => {
                    let seed: [u8; 32] = seed.try_into().map_err(|_| {
                        std::io::Error::other(format!("{}: not a 32-byte Ed25519 seed", key_path.display()))
                    })?;
                    Ok(Some(Verifier { public: SigningKey::from_bytes(&seed).verifying_key(), name: name.into() }))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Parses a signed note and checks its signature with this key.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, String> {
        let (body, sigs) = note.split_once("\n\n").ok_or("not a signed note (no blank line)")?;
        let body = format!("{body}\n");
        let mut lines = body.lines();
        let origin = lines.next().ok_or("no origin line")?.to_string();
        let size: u64 = lines.next().and_then(|l| l.parse().ok()).ok_or("no tree size line")?;
        let root: Hash =
            lines.next().and_then(|l| B64.decode(l).ok()).and_then(|b| b.try_into().ok()).ok_or("no root hash line")?;
        let want_id = key_id(&self.name, &self.public);
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else { continue };
            let Some((name, b64)) = rest.split_once(' ') else { continue };
            let Ok(blob) = B64.decode(b64) else { continue };
            if name != self.name || blob.len() != 68 || blob[..4] != want_id {
                continue;
            }
            let sig = Signature::from_bytes(blob[4..].try_into().expect("64 bytes"));
            return self
                .public
                .verify(body.as_bytes(), &sig)
                .map(|_| Checkpoint { origin, size, root })
                .map_err(|_| "signature does not verify".to_string());
        }
        Err(format!("no signature by key {} on this checkpoint", self.name))
    }
}

/// Sends a checkpoint to syslog (one line), where a copy outlives any edit
/// of the ledger's own files. Silently nothing when there is no syslog.
pub fn to_syslog(note: &str) {
    let line = note.trim_end().replace('\n', " | ");
    if let Ok(msg) = std::ffi::CString::new(format!("portagent ledger checkpoint: {line}")) {
        // SAFETY: a constant format string and a valid C string.
        unsafe {
            libc::openlog(c"portagent".as_ptr(), libc::LOG_PID, libc::LOG_DAEMON);
            libc::syslog(libc::LOG_NOTICE, c"%s".as_ptr(), msg.as_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(&dir.path().join("k"), "portagent.ledger/test").unwrap();
        let again = Key::load_or_create(&dir.path().join("k"), "portagent.ledger/test").unwrap();
        let cp = Checkpoint { origin: "portagent.ledger/test".into(), size: 42, root: [7u8; 32] };
        let note = key.sign(&cp);
        assert!(note.starts_with("portagent.ledger/test\n42\n"), "{note}");
        assert_eq!(again.verifier().verify(&note).unwrap(), cp, "the key persists");
        let forged = note.replace("\n42\n", "\n43\n");
        assert_eq!(key.verifier().verify(&forged).unwrap_err(), "signature does not verify");
        let other = Key::load_or_create(&dir.path().join("other"), "portagent.ledger/test").unwrap();
        assert!(other.verifier().verify(&note).is_err());
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(dir.path().join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("k"), 0o600);
        assert_eq!(mode("k.pub"), 0o644, "the public half is readable");
        // Verifying needs only the public key.
        std::fs::rename(dir.path().join("k"), dir.path().join("k.moved")).unwrap();
        let public = Verifier::load(&dir.path().join("k"), "portagent.ledger/test").unwrap().unwrap();
        assert_eq!(public.verify(&note).unwrap(), cp);
        assert!(Verifier::load(&dir.path().join("none"), "x").unwrap().is_none());
    }
}
