//! Publisher signatures of plugin components: Ed25519 over the component's
//! sha256, in a detached `<file>.wasm.sig`, checked against the publisher
//! keys the admin trusts (`[plugins.trusted_publishers]`) before anything
//! is compiled.
//!
//! A signing key is `portagent-signing-key/1 PUBLISHER BASE64-SEED` (mode
//! 0600); its public half, the line an admin puts in the config, is
//! `ed25519:BASE64`. The signed message is
//! `portagent-plugin-signature/1\nPUBLISHER\nSHA256-HEX`, so a signature
//! names its publisher and cannot be moved to another file.

use crate::util::hash::sha256_hex;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const KEY_TAG: &str = "portagent-signing-key/1";
const FORMAT: &str = "portagent-plugin-signature/1";

/// The detached signature file, `<component>.sig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    pub format: String,
    pub publisher: String,
    /// The signer's public key, `ed25519:BASE64`.
    pub key: String,
    pub sha256: String,
    /// Base64 of the 64-byte Ed25519 signature.
    pub signature: String,
}

/// Why a signature or a key is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error(
        "{path}: signed for sha256 {signed}, but the component's sha256 is {found}: the file was modified after signing"
    )]
    Modified { path: PathBuf, signed: String, found: String },
    #[error("{path}: the Ed25519 signature does not verify: the file or its signature was modified")]
    BadSignature { path: PathBuf },
    #[error(
        "{path}: signed by '{publisher}' with key {key}, but the trusted key for '{publisher}' is {trusted}: refused"
    )]
    WrongKey { path: PathBuf, publisher: String, key: String, trusted: String },
    #[error("{0}: unsigned (no {0}.sig); install only with --allow-unsigned")]
    Unsigned(PathBuf),
    #[error(
        "{path}: signed by '{publisher}', who is not in [plugins.trusted_publishers]; trust the key or install with --allow-unsigned"
    )]
    Untrusted { path: PathBuf, publisher: String },
    #[error("plugins.trusted_publishers.{publisher}: {message}")]
    TrustedKey { publisher: String, message: String },
}

/// How an install was vouched for; recorded in the plugin's record and
/// its ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "trust", rename_all = "snake_case")]
pub enum Trust {
    /// Signed by a trusted publisher, verified before compiling.
    Signed { publisher: String, key: String },
    /// Installed with `--allow-unsigned`: why it was not trusted.
    AllowedUnsigned { reason: String },
}

impl Trust {
    pub fn publisher(&self) -> Option<&str> {
        match self {
            Trust::Signed { publisher, .. } => Some(publisher),
            Trust::AllowedUnsigned { .. } => None,
        }
    }
}

/// The default place of a component's signature.
pub fn sig_path(component: &Path) -> PathBuf {
    let mut s = component.as_os_str().to_owned();
    s.push(".sig");
    s.into()
}

fn message(publisher: &str, sha256: &str) -> String {
    format!("{FORMAT}\n{publisher}\n{sha256}")
}

use crate::util::public_key::{parse as parse_public, to_text as public_text};

/// A publisher's signing key.
pub struct SigningKeyFile {
    pub publisher: String,
    key: SigningKey,
}

impl SigningKeyFile {
    /// A new random key for `publisher` (a plugin-name-like word).
    pub fn generate(publisher: &str) -> Result<SigningKeyFile, String> {
        if !super::manifest::valid_plugin_name(publisher) {
            return Err(format!("publisher {publisher:?} must match [a-z][a-z0-9-]* and be at most 32 bytes"));
        }
        Ok(SigningKeyFile {
            publisher: publisher.into(),
            key: SigningKey::from_bytes(&crate::util::id::random_bytes::<32>()),
        })
    }

    /// Writes the key (0600), refusing to overwrite one.
    pub fn write_new(&self, path: &Path) -> Result<(), SignatureError> {
        let io = |source| SignatureError::Io { path: path.into(), source };
        if path.exists() {
            return Err(io(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "a key is already there")));
        }
        let text = format!("{KEY_TAG} {} {}\n", self.publisher, B64.encode(self.key.to_bytes()));
        crate::util::fs::write_atomically(path, text.as_bytes(), 0o600).map_err(io)
    }

    pub fn read(path: &Path) -> Result<SigningKeyFile, SignatureError> {
        let text = std::fs::read_to_string(path).map_err(|source| SignatureError::Io { path: path.into(), source })?;
        let bad = |m: &str| SignatureError::Malformed { path: path.into(), message: m.into() };
        let mut words = text.split_whitespace();
        if words.next() != Some(KEY_TAG) {
            return Err(bad(&format!("not a portagent signing key (expected `{KEY_TAG} PUBLISHER KEY`)")));
        }
        let publisher = words.next().ok_or_else(|| bad("the publisher name is missing"))?.to_string();
        let seed = words.next().and_then(|w| B64.decode(w).ok()).ok_or_else(|| bad("the key is not base64"))?;
        let seed: [u8; 32] = seed.try_into().map_err(|_| bad("the key is not a 32-byte Ed25519 seed"))?;
        Ok(SigningKeyFile { publisher, key: SigningKey::from_bytes(&seed) })
    }

    pub fn public(&self) -> String {
        public_text(&self.key.verifying_key())
    }

    /// The signature of a component's bytes.
    pub fn sign(&self, wasm: &[u8]) -> SignatureFile {
        let sha256 = sha256_hex(wasm);
        let sig = self.key.sign(message(&self.publisher, &sha256).as_bytes());
        SignatureFile {
            format: FORMAT.into(),
            publisher: self.publisher.clone(),
            key: self.public(),
            sha256,
            signature: B64.encode(sig.to_bytes()),
        }
    }
}

/// Checks `wasm` (read from `component`) against its signature at
/// `sig` and the trusted keys. A signature that is there but wrong is
/// refused even with `allow_unsigned`: it says the file was changed.
pub fn check(
    component: &Path,
    wasm: &[u8],
    sig: &Path,
    trusted: &BTreeMap<String, String>,
    allow_unsigned: bool,
) -> Result<Trust, SignatureError> {
    let text = match std::fs::read(sig) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return if allow_unsigned {
                Ok(Trust::AllowedUnsigned { reason: format!("no signature ({} not found)", sig.display()) })
            } else {
                Err(SignatureError::Unsigned(component.into()))
            };
        }
        Err(source) => return Err(SignatureError::Io { path: sig.into(), source }),
    };
    let bad = |message: String| SignatureError::Malformed { path: sig.into(), message };
    let file: SignatureFile = serde_json::from_slice(&text).map_err(|e| bad(format!("not a signature file: {e}")))?;
    if file.format != FORMAT {
        return Err(bad(format!("format {:?} is not {FORMAT:?}", file.format)));
    }
    let found = sha256_hex(wasm);
    if file.sha256 != found {
        return Err(SignatureError::Modified { path: sig.into(), signed: file.sha256, found });
    }
    let key = parse_public(&file.key).map_err(|m| bad(format!("key: {m}")))?;
    let sig_bytes = B64.decode(&file.signature).map_err(|e| bad(format!("signature: not base64: {e}")))?;
    let signature = Signature::from_slice(&sig_bytes).map_err(|e| bad(format!("signature: {e}")))?;
    key.verify(message(&file.publisher, &file.sha256).as_bytes(), &signature)
        .map_err(|_| SignatureError::BadSignature { path: sig.into() })?;
    match trusted.get(&file.publisher) {
        Some(trusted_text) => {
            let trusted_key = parse_public(trusted_text)
                .map_err(|message| SignatureError::TrustedKey { publisher: file.publisher.clone(), message })?;
            if trusted_key != key {
                return Err(SignatureError::WrongKey {
                    path: sig.into(),
                    publisher: file.publisher,
                    key: file.key,
                    trusted: trusted_text.clone(),
                });
            }
            Ok(Trust::Signed { publisher: file.publisher, key: file.key })
        }
        None if allow_unsigned => Ok(Trust::AllowedUnsigned {
            reason: format!("signed by '{}', who is not a trusted publisher", file.publisher),
        }),
        None => Err(SignatureError::Untrusted { path: sig.into(), publisher: file.publisher }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf, SigningKeyFile, BTreeMap<String, String>) {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("p.wasm");
        std::fs::write(&wasm, b"\0asm component bytes").unwrap();
        let key = SigningKeyFile::generate("acme").unwrap();
        let trusted = BTreeMap::from([("acme".to_string(), key.public())]);
        (dir, wasm, key, trusted)
    }

    fn sign(key: &SigningKeyFile, wasm: &Path) {
        let sig = key.sign(&std::fs::read(wasm).unwrap());
        std::fs::write(sig_path(wasm), serde_json::to_vec(&sig).unwrap()).unwrap();
    }

    #[test]
    fn signed_by_a_trusted_publisher_is_accepted() {
        let (_d, wasm, key, trusted) = setup();
        sign(&key, &wasm);
        let bytes = std::fs::read(&wasm).unwrap();
        let trust = check(&wasm, &bytes, &sig_path(&wasm), &trusted, false).unwrap();
        assert_eq!(trust.publisher(), Some("acme"));
    }

    #[test]
    fn modified_file_or_signature_is_refused_even_when_unsigned_is_allowed() {
        let (_d, wasm, key, trusted) = setup();
        sign(&key, &wasm);
        let mut bytes = std::fs::read(&wasm).unwrap();
        bytes.push(0);
        let err = check(&wasm, &bytes, &sig_path(&wasm), &trusted, true).unwrap_err();
        assert!(matches!(err, SignatureError::Modified { .. }), "{err}");
        // A signature edited to the new hash does not verify.
        let mut sig: SignatureFile = serde_json::from_slice(&std::fs::read(sig_path(&wasm)).unwrap()).unwrap();
        sig.sha256 = sha256_hex(&bytes);
        std::fs::write(sig_path(&wasm), serde_json::to_vec(&sig).unwrap()).unwrap();
        let err = check(&wasm, &bytes, &sig_path(&wasm), &trusted, true).unwrap_err();
        assert!(matches!(err, SignatureError::BadSignature { .. }), "{err}");
    }

    #[test]
    fn unsigned_and_untrusted_fail_closed_unless_allowed() {
        let (_d, wasm, key, trusted) = setup();
        let bytes = std::fs::read(&wasm).unwrap();
        let err = check(&wasm, &bytes, &sig_path(&wasm), &trusted, false).unwrap_err();
        assert!(err.to_string().contains("--allow-unsigned"), "{err}");
        assert!(matches!(
            check(&wasm, &bytes, &sig_path(&wasm), &trusted, true).unwrap(),
            Trust::AllowedUnsigned { .. }
        ));
        sign(&key, &wasm);
        let err = check(&wasm, &bytes, &sig_path(&wasm), &BTreeMap::new(), false).unwrap_err();
        assert!(matches!(err, SignatureError::Untrusted { .. }), "{err}");
        // Someone else's key under the trusted name is refused.
        let other = SigningKeyFile::generate("acme").unwrap();
        let impostor = BTreeMap::from([("acme".to_string(), other.public())]);
        let err = check(&wasm, &bytes, &sig_path(&wasm), &impostor, true).unwrap_err();
        assert!(matches!(err, SignatureError::WrongKey { .. }), "{err}");
    }

    #[test]
    fn key_file_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme.key");
        let key = SigningKeyFile::generate("acme").unwrap();
        key.write_new(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(key.write_new(&path).is_err(), "never overwrites a key");
        let back = SigningKeyFile::read(&path).unwrap();
        assert_eq!((back.publisher.as_str(), back.public()), ("acme", key.public()));
        assert!(SigningKeyFile::generate("Bad Name").is_err());
    }
}
