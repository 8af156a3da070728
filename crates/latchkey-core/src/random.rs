//! Randomness as a parameter: production uses the operating system's CSPRNG, tests a seeded
//! ChaCha20 stream so that codes, ids and CAPTCHAs are reproducible.

use std::fmt;
use std::sync::Mutex;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, OsRng, RngCore, SeedableRng};

/// A cryptographically secure source of random bytes.
pub trait Random: Send + Sync + fmt::Debug {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

impl dyn Random + '_ {
    /// A uniformly random `u32`.
    pub fn next_u32(&self) -> u32 {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        u32::from_le_bytes(b)
    }

    /// A uniformly random integer in `0..bound` without modulo bias. `bound` must be non-zero;
    /// zero yields zero.
    pub fn below(&self, bound: u32) -> u32 {
        if bound == 0 {
            return 0;
        }
        // Reject the top sliver of the range that would make some residues more likely.
        let zone = u32::MAX - (u32::MAX % bound);
        loop {
            let v = self.next_u32();
            if v < zone {
                return v % bound;
            }
        }
    }

    /// `N` random bytes.
    pub fn array<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.fill(&mut b);
        b
    }
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        OsRng.fill_bytes(buf);
    }
}

/// A deterministic ChaCha20 stream; for tests only, never for a running service.
pub struct SeededRandom(Mutex<ChaCha20Rng>);

impl SeededRandom {
    /// A stream determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(ChaCha20Rng::seed_from_u64(seed)))
    }
}

impl fmt::Debug for SeededRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeededRandom")
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        // A poisoned lock only means another test thread panicked; the stream is still usable.
        let mut rng = self.0.lock().unwrap_or_else(|e| e.into_inner());
        rng.fill_bytes(buf);
    }
}

/// Lends a [`Random`] to code that wants `rand_core`'s traits (argon2 salts, CAPTCHA drawing).
#[derive(Debug)]
pub struct RngAdapter<'a>(pub &'a dyn Random);

impl RngCore for RngAdapter<'_> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        u64::from_le_bytes(self.0.array::<8>())
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

// Every `Random` is a CSPRNG by contract (the seeded one is ChaCha20).
impl CryptoRng for RngAdapter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_streams_repeat() {
        let a: &dyn Random = &SeededRandom::new(7);
        let b: &dyn Random = &SeededRandom::new(7);
        assert_eq!(a.array::<16>(), b.array::<16>());
    }

    #[test]
    fn below_stays_in_range() {
        let r: &dyn Random = &SeededRandom::new(1);
        for bound in [1u32, 2, 10, 1_000_000, u32::MAX] {
            for _ in 0..200 {
                assert!(r.below(bound) < bound);
            }
        }
        assert_eq!(r.below(0), 0);
    }
}
