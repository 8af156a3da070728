//! Password hashing with argon2id, for the embedded directory and for password history.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::random::{Random, RngAdapter};
use crate::secret::SecretString;

/// Why a hash could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The cost parameters are outside what argon2 accepts.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// A stored hash is not a PHC string argon2 understands.
    #[error("stored password hash is malformed")]
    Malformed,
}

/// argon2id with chosen cost parameters.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: Params,
}

impl PasswordHasher {
    /// OWASP's recommended minimum: 19 MiB, two passes, one lane (about 30 ms here).
    pub fn recommended() -> Self {
        Self::with_cost(19 * 1024, 2, 1).unwrap_or_else(|_| Self {
            params: Params::default(),
        })
    }

    /// Cheap parameters for tests, so hundreds of hashes take milliseconds. Never in production.
    pub fn insecure_fast() -> Self {
        Self::with_cost(256, 1, 1).unwrap_or_else(|_| Self {
            params: Params::default(),
        })
    }

    /// Custom cost: memory in KiB, passes, lanes.
    pub fn with_cost(memory_kib: u32, passes: u32, lanes: u32) -> Result<Self, HashError> {
        Params::new(memory_kib, passes, lanes, None)
            .map(|params| Self { params })
            .map_err(|e| HashError::Params(e.to_string()))
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes `password` with a fresh salt into a PHC string (`$argon2id$v=19$...`).
    pub fn hash(&self, rng: &dyn Random, password: &SecretString) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut RngAdapter(rng));
        self.argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Params(e.to_string()))
    }

    /// Whether `password` matches `phc`. The stored hash's own parameters are used, so hashes
    /// made with older costs keep verifying.
    pub fn verify(&self, password: &SecretString, phc: &str) -> Result<bool, HashError> {
        let parsed = PasswordHash::new(phc).map_err(|_| HashError::Malformed)?;
        Ok(self
            .argon2()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn hash_and_verify() {
        let h = PasswordHasher::insecure_fast();
        let rng = SeededRandom::new(1);
        let pw = SecretString::new("correct horse battery staple");
        let phc = h.hash(&rng, &pw).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"));
        assert!(!phc.contains("horse"));
        assert!(h.verify(&pw, &phc).unwrap());
        assert!(!h.verify(&SecretString::new("wrong"), &phc).unwrap());
        // Hashes keep their own cost: a hasher with other parameters still verifies them.
        assert!(PasswordHasher::recommended().verify(&pw, &phc).unwrap());
        assert_eq!(
            h.verify(&pw, "not-a-hash").unwrap_err(),
            HashError::Malformed
        );
        assert_ne!(h.hash(&rng, &pw).unwrap(), phc, "fresh salt every time");
    }
}
