//! The server key and what is derived from it: a MAC key for codes, answers and lookup keys,
//! and an encryption key for contact data and queued mail at rest.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;
use zeroize::Zeroizing;

use crate::random::Random;

type HmacSha256 = Hmac<Sha256>;

/// Length of the server key in bytes.
pub const MASTER_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// Why a server key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key text is not 64 hexadecimal digits.
    #[error("the server key must be {} hexadecimal digits", MASTER_KEY_LEN * 2)]
    Malformed,
}

/// Why sealed data could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The data was altered, truncated, or sealed with another key.
    #[error("sealed data could not be opened (altered, or sealed with another key)")]
    Corrupt,
}

/// Keys derived from the 32-byte server key.
#[derive(Clone)]
pub struct Keys {
    mac: Zeroizing<[u8; 32]>,
    seal: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

impl Keys {
    /// Derives the working keys from the server key.
    pub fn from_master(master: &[u8; MASTER_KEY_LEN]) -> Self {
        Self {
            mac: Zeroizing::new(derive(master, b"latchkey/v1/mac")),
            seal: Zeroizing::new(derive(master, b"latchkey/v1/seal")),
        }
    }

    /// Parses a server key written as hexadecimal.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| KeyError::Malformed)?);
        let master: [u8; MASTER_KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Malformed)?;
        Ok(Self::from_master(&master))
    }

    /// A fresh random server key, as hexadecimal, for a first start.
    pub fn generate_hex(rng: &dyn Random) -> String {
        hex::encode(rng.array::<MASTER_KEY_LEN>())
    }

    /// A keyed digest of `parts` under a purpose label. Parts are length-prefixed so that
    /// ("ab", "c") and ("a", "bc") differ.
    pub fn digest(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = keyed(&self.mac);
        mac.update(&(purpose.len() as u64).to_le_bytes());
        mac.update(purpose.as_bytes());
        for p in parts {
            mac.update(&(p.len() as u64).to_le_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// Whether `expected` is the digest of `parts`, compared in constant time.
    pub fn verify_digest(&self, purpose: &str, parts: &[&[u8]], expected: &[u8]) -> bool {
        let actual = self.digest(purpose, parts);
        actual.as_slice().ct_eq(expected).into()
    }

    /// A stable pseudonymous handle for `value` (an email address, a phone number), for use as a
    /// rate-limit key or a decoy seed without storing the value itself.
    pub fn pseudonym(&self, purpose: &str, value: &str) -> String {
        hex::encode(&self.digest(purpose, &[value.as_bytes()])[..16])
    }

    /// Encrypts `plaintext` bound to `context` (for example the owning user), as nonce ‖ ciphertext.
    pub fn seal(&self, rng: &dyn Random, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.seal.as_slice().into());
        let nonce_bytes = rng.array::<NONCE_LEN>();
        let nonce = XNonce::from_slice(&nonce_bytes);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let ct = cipher
            .encrypt(
                nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts what [`Keys::seal`] produced for the same `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(SealError::Corrupt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(self.seal.as_slice().into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Corrupt)
    }
}

fn keyed(key: &[u8; 32]) -> HmacSha256 {
    // HMAC pads a short key with zeros to the block size, so handing it the padded block gives
    // the same MAC as `new_from_slice` without a fallible call.
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mac = <HmacSha256 as hmac::digest::KeyInit>::new(&block.into());
    block.zeroize();
    mac
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = keyed(master);
    mac.update(label);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn keys() -> Keys {
        Keys::from_master(&[7u8; 32])
    }

    #[test]
    fn seal_round_trip_and_tamper() {
        let rng = SeededRandom::new(1);
        let k = keys();
        let sealed = k.seal(&rng, b"user-1", b"alice@example.org");
        assert!(
            !sealed.windows(5).any(|w| w == b"alice"),
            "no clear text at rest"
        );
        assert_eq!(
            k.open(b"user-1", &sealed).unwrap().as_slice(),
            b"alice@example.org"
        );
        assert_eq!(
            k.open(b"user-2", &sealed).unwrap_err(),
            SealError::Corrupt,
            "bound to context"
        );
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(k.open(b"user-1", &bad).unwrap_err(), SealError::Corrupt);
        assert_eq!(
            k.open(b"user-1", &sealed[..10]).unwrap_err(),
            SealError::Corrupt
        );
        let other = Keys::from_master(&[8u8; 32]);
        assert_eq!(
            other.open(b"user-1", &sealed).unwrap_err(),
            SealError::Corrupt
        );
    }

    #[test]
    fn digests_are_length_prefixed_and_keyed() {
        let k = keys();
        assert_ne!(k.digest("p", &[b"ab", b"c"]), k.digest("p", &[b"a", b"bc"]));
        assert_ne!(k.digest("p", &[b"x"]), k.digest("q", &[b"x"]));
        let d = k.digest("p", &[b"x"]);
        assert!(k.verify_digest("p", &[b"x"], &d));
        assert!(!k.verify_digest("p", &[b"y"], &d));
        assert!(!k.verify_digest("p", &[b"x"], &d[..31]));
        assert_ne!(Keys::from_master(&[1; 32]).digest("p", &[b"x"]), d);
    }

    #[test]
    fn hex_keys() {
        let rng = SeededRandom::new(2);
        let text = Keys::generate_hex(&rng);
        assert_eq!(text.len(), 64);
        assert!(Keys::from_hex(&text).is_ok());
        assert_eq!(Keys::from_hex("abc").unwrap_err(), KeyError::Malformed);
        assert_eq!(
            Keys::from_hex(&"zz".repeat(32)).unwrap_err(),
            KeyError::Malformed
        );
        assert!(format!("{:?}", Keys::from_hex(&text).unwrap()).contains("redacted"));
    }
}
