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
/// public half is kept beside it in `<key>.pub` (hex, mode 0644), with the
/// key's name on a second line, so that anyone who can read the ledger
/// can verify it without the secret, and the name chosen when the key was
/// made (`portagent.ledger/HOSTNAME` then) survives a change of hostname.
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

/// Why the ledger's key cannot be used as it is.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The key is not the one whose public half was kept: it was replaced
    /// (or removed and made anew), which would let anyone sign a
    /// rewritten ledger.
    #[error(
        "the ledger's signing key {key} does not match its public half {public} (kept: {kept}, key: {found}): \
         the key was replaced or removed; put the original back, or record the change with \
         `portagent ledger reset --reason TEXT`"
    )]
    Replaced { key: String, public: String, kept: String, found: String },
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

/// `<key>.pub` as kept: the public key, and the key's name when the file
/// has one (files from before names were kept have only the key).
fn read_public(key_path: &Path) -> std::io::Result<Option<(VerifyingKey, Option<String>)>> {
    let bad = |why: String| std::io::Error::other(format!("{}: {why}", public_path(key_path).display()));
    let text = match std::fs::read_to_string(public_path(key_path)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut lines = text.lines();
    let t = lines.next().unwrap_or_default().trim();
    let bytes: Vec<u8> = (0..t.len())
        .step_by(2)
        .map(|i| t.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("not a hex Ed25519 public key".into()))?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| bad("not a 32-byte Ed25519 public key".into()))?;
    let public = VerifyingKey::from_bytes(&arr).map_err(|e| bad(e.to_string()))?;
    let name = lines.next().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    Ok(Some((public, name)))
}

fn write_public(key_path: &Path, public: &VerifyingKey, name: &str) -> std::io::Result<()> {
    let text = format!("{}\n{name}\n", hex(public.as_bytes()));
    crate::util::fs::write_atomically(&public_path(key_path), text.as_bytes(), 0o644)
}

impl Key {
    /// Loads the key at `path`, generating it (named `name`) on first use.
    /// A key that does not match the public half kept beside it is
    /// refused ([`KeyError::Replaced`]) unless `replace` is set (a
    /// recorded reset), when the public half is written anew; the second
    /// value is then the public key that was kept before, in hex.
    pub fn load_or_create(path: &Path, name: &str, replace: bool) -> Result<(Key, Option<String>), KeyError> {
        let kept = read_public(path)?;
        let seed: [u8; 32] = match std::fs::read(path) {
            Ok(bytes) => bytes
                .try_into()
                .map_err(|_| std::io::Error::other(format!("{}: not a 32-byte Ed25519 seed", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed = crate::util::id::random_bytes::<32>();
                crate::util::fs::write_atomically(path, &seed, 0o600)?;
                seed
            }
            Err(e) => return Err(e.into()),
        };
        let signing = SigningKey::from_bytes(&seed);
        let public = signing.verifying_key();
        let mut replaced = None;
        let name = match kept {
            Some((kept, kept_name)) if kept == public => {
                let name = kept_name.clone().unwrap_or_else(|| name.to_string());
                if kept_name.is_none()
                    && let Err(e) = write_public(path, &public, &name)
                {
                    log::warn!("{}: {e}", public_path(path).display());
                }
                name
            }
            Some((kept, kept_name)) => {
                if !replace {
                    return Err(KeyError::Replaced {
                        key: path.display().to_string(),
                        public: public_path(path).display().to_string(),
                        kept: hex(kept.as_bytes()),
                        found: hex(public.as_bytes()),
                    });
                }
                replaced = Some(hex(kept.as_bytes()));
                let name = kept_name.unwrap_or_else(|| name.to_string());
                write_public(path, &public, &name)?;
                name
            }
            None => {
                // Not fatal: without it, verifying needs the right to read the key.
                if let Err(e) = write_public(path, &public, name) {
                    log::warn!("{}: {e}", public_path(path).display());
                }
                name.to_string()
            }
        };
        Ok((Key { signing, verifier: Verifier { public, name } }, replaced))
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
    /// no checkpoint was ever signed there. A key that exists and does not
    /// match the public half kept is [`KeyError::Replaced`].
    pub fn load(key_path: &Path, name: &str) -> Result<Option<Verifier>, KeyError> {
        let seed =
            match std::fs::read(key_path) {
                Ok(seed) => Some(<[u8; 32]>::try_from(seed).map_err(|_| {
                    std::io::Error::other(format!("{}: not a 32-byte Ed25519 seed", key_path.display()))
                })?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                // Verifying needs only the public half: a key we may not read
                // is no reason not to.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => None,
                Err(e) => return Err(e.into()),
            };
        let derived = seed.map(|s| SigningKey::from_bytes(&s).verifying_key());
        match (read_public(key_path)?, derived) {
            (Some((kept, _)), Some(found)) if kept != found => Err(KeyError::Replaced {
                key: key_path.display().to_string(),
                public: public_path(key_path).display().to_string(),
                kept: hex(kept.as_bytes()),
                found: hex(found.as_bytes()),
            }),
            (Some((public, kept_name)), _) => {
                Ok(Some(Verifier { public, name: kept_name.unwrap_or_else(|| name.to_string()) }))
            }
            (None, Some(public)) => Ok(Some(Verifier { public, name: name.into() })),
            (None, None) => Ok(None),
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
        // A signature line names its key; the id commits to that name and
        // the public key, so a key signs under the name it had then (heads
        // from before a hostname change still verify).
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else { continue };
            let Some((name, b64)) = rest.split_once(' ') else { continue };
            let Ok(blob) = B64.decode(b64) else { continue };
            if blob.len() != 68 || blob[..4] != key_id(name, &self.public) {
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
        let (key, _) = Key::load_or_create(&dir.path().join("k"), "portagent.ledger/test", false).unwrap();
        let (again, _) = Key::load_or_create(&dir.path().join("k"), "portagent.ledger/other-host", false).unwrap();
        assert_eq!(again.name(), "portagent.ledger/test", "the name is the key's, kept with it");
        let cp = Checkpoint { origin: "portagent.ledger/test".into(), size: 42, root: [7u8; 32] };
        let note = key.sign(&cp);
        assert!(note.starts_with("portagent.ledger/test\n42\n"), "{note}");
        assert_eq!(again.verifier().verify(&note).unwrap(), cp, "the key persists");
        let forged = note.replace("\n42\n", "\n43\n");
        assert_eq!(key.verifier().verify(&forged).unwrap_err(), "signature does not verify");
        let (other, _) = Key::load_or_create(&dir.path().join("other"), "portagent.ledger/test", false).unwrap();
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

    #[test]
    fn a_replaced_key_is_refused_unless_the_reset_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let (key, _) = Key::load_or_create(&path, "portagent.ledger/a", false).unwrap();
        let note = key.sign(&Checkpoint { origin: "portagent.ledger/a".into(), size: 1, root: [1u8; 32] });
        std::fs::write(&path, [9u8; 32]).unwrap();
        let e = Key::load_or_create(&path, "portagent.ledger/a", false).err().unwrap();
        assert!(matches!(e, KeyError::Replaced { .. }), "{e}");
        assert!(e.to_string().contains("was replaced"), "{e}");
        assert!(matches!(Verifier::load(&path, "portagent.ledger/a"), Err(KeyError::Replaced { .. })));
        // Removed and made anew is the same.
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(Key::load_or_create(&path, "portagent.ledger/a", false), Err(KeyError::Replaced { .. })));
        // A recorded reset takes the new key; the old public key is said.
        let (new, old) = Key::load_or_create(&path, "portagent.ledger/b", true).unwrap();
        assert_eq!(old.as_deref(), Some(hex(key.verifier().public.as_bytes()).as_str()));
        assert_eq!(new.name(), "portagent.ledger/a", "the name stays");
        assert!(new.verifier().verify(&note).is_err(), "the old key's heads are not the new key's");
    }

    #[test]
    fn a_head_signed_before_a_hostname_change_still_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let (key, _) = Key::load_or_create(&path, "portagent.ledger/old-host", false).unwrap();
        let note = key.sign(&Checkpoint { origin: "portagent.ledger/old-host".into(), size: 3, root: [2u8; 32] });
        // A .pub from before names were kept: the name comes from the note.
        std::fs::write(public_path(&path), format!("{}\n", hex(key.verifier().public.as_bytes()))).unwrap();
        let v = Verifier::load(&path, "portagent.ledger/new-host").unwrap().unwrap();
        assert_eq!(v.verify(&note).unwrap().size, 3);
    }
}
