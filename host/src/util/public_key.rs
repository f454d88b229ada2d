//! Ed25519 public keys as people copy them: `ed25519:BASE64`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::VerifyingKey;

/// `ed25519:BASE64` of a public key.
pub fn to_text(key: &VerifyingKey) -> String {
    format!("ed25519:{}", B64.encode(key.as_bytes()))
}

/// Parses `ed25519:BASE64`.
pub fn parse(text: &str) -> Result<VerifyingKey, String> {
    let b64 = text.trim().strip_prefix("ed25519:").ok_or("expected `ed25519:BASE64`")?;
    let bytes = B64.decode(b64).map_err(|e| format!("not base64: {e}"))?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| "not a 32-byte Ed25519 public key".to_string())?;
    VerifyingKey::from_bytes(&arr).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_refusals() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(super::parse(&super::to_text(&key)).unwrap(), key);
        for bad in ["", "ed25519:", "rsa:AAAA", "ed25519:not base64!", "ed25519:AAAA"] {
            assert!(super::parse(bad).is_err(), "{bad}");
        }
    }
}
