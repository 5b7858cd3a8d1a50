//! API token secrets: what is stored is a SHA-256 of the secret, never the secret. Tokens are
//! 256-bit random values, so a fast hash is enough (no password-style stretching needed).

use sha2::{Digest, Sha256};

/// Every token starts with this, so a leaked one is recognisable (and greppable).
pub const TOKEN_PREFIX: &str = "pt_";

pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A token made of `random` (at least 32 bytes from a CSPRNG).
pub fn token_from_random(random: &[u8]) -> String {
    format!("{TOKEN_PREFIX}{}", hex::encode(random))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_hex_sha256_and_differs_from_the_secret() {
        let t = token_from_random(&[7u8; 32]);
        assert!(t.starts_with("pt_") && t.len() == 3 + 64);
        let h = token_hash(&t);
        assert_eq!(h.len(), 64);
        assert_ne!(h, t);
        assert_eq!(h, token_hash(&t));
    }
}
