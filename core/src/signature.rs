//! HMAC-SHA256 and SHA-256 helpers shared by the gateways (webhook signatures, PKCE).
//! Comparison is always constant-time and always over raw bytes.
//!
//! Computed with `ring`, which TLS already links in: its assembly SHA-256 is several
//! times faster than portable code in the size-optimised library, at no added size
//! (`docs/adr/0008-signatures-with-ring.md`).

use ring::hmac;
use subtle::ConstantTimeEq;

/// A key ready to compute HMAC-SHA256 tags; cloning it reuses the keyed state.
#[derive(Clone)]
pub(crate) struct HmacKey(hmac::Key);

impl HmacKey {
    /// HMAC accepts keys of any length (longer ones are hashed first, per RFC 2104).
    pub(crate) fn new(key: &[u8]) -> Self {
        HmacKey(hmac::Key::new(hmac::HMAC_SHA256, key))
    }

    /// The tag over the concatenation of `parts`.
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = hmac::Context::with_key(&self.0);
        for part in parts {
            mac.update(part);
        }
        let mut tag = [0u8; 32];
        tag.copy_from_slice(mac.sign().as_ref());
        tag
    }

    /// Whether `tag` is the tag over `parts`, compared in constant time (a tag of
    /// another length is simply wrong).
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        bool::from(self.sign(parts).as_slice().ct_eq(tag))
    }
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        let key = HmacKey::new(b"Jefe");
        let tag = key.sign(&[b"what do ya want ", b"for nothing?"]);
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(key.verify(&[b"what do ya want for nothing?"], &tag));
        let mut bad = tag;
        bad[31] ^= 1;
        assert!(!key.verify(&[b"what do ya want for nothing?"], &bad));
        assert!(!key.verify(&[b"what do ya want for nothing?"], &tag[..31]));
        assert!(!key.verify(&[b"what do ya want for nothing?"], &[]));
    }

    #[test]
    fn rfc4231_case_6_key_longer_than_a_block() {
        let key = HmacKey::new(&[0xaa; 131]);
        let tag = key.sign(&[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(
            hex::encode(tag),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
