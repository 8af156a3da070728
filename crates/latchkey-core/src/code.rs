//! One-time codes: six digits from a CSPRNG, stored only as a keyed digest, single use,
//! short-lived, a few attempts each, compared in constant time.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::ids::ChallengeId;
use crate::keys::Keys;
use crate::random::Random;
use crate::secret::SecretString;

/// Digits in a code.
pub const CODE_LENGTH: usize = 6;
const DIGEST_PURPOSE: &str = "one-time-code";

/// How codes behave; the service's `[codes]` configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeRules {
    /// How long a code can be used after it was sent.
    pub lifetime: Duration,
    /// Wrong tries before the code is burnt.
    pub max_attempts: u32,
    /// How long a person waits before asking for another code to the same method.
    pub resend_after: Duration,
}

impl Default for CodeRules {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(10 * 60),
            max_attempts: 5,
            resend_after: Duration::from_secs(60),
        }
    }
}

/// Generates a fresh code, uniformly distributed over 000000–999999.
pub fn generate(rng: &dyn Random) -> SecretString {
    SecretString::new(format!("{:06}", rng.below(1_000_000)))
}

/// Accepts what a person typed or pasted ("123 456", "123-456", " 123456 ") and returns the six
/// digits, or `None` when it cannot be a code.
pub fn normalize_input(input: &str) -> Option<SecretString> {
    let digits: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == CODE_LENGTH && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| SecretString::new(digits))
}

/// The keyed digest stored in place of a code, bound to its challenge so a digest cannot be
/// replayed against another challenge.
pub fn digest(keys: &Keys, challenge: &ChallengeId, code: &SecretString) -> [u8; 32] {
    keys.digest(
        DIGEST_PURPOSE,
        &[challenge.as_str().as_bytes(), code.expose().as_bytes()],
    )
}

/// The stored state of a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeState {
    /// Keyed digest of the code.
    pub digest: Vec<u8>,
    /// When the code stops working.
    pub expires_at: Timestamp,
    /// Wrong tries so far.
    pub attempts: u32,
    /// Wrong tries allowed.
    pub max_attempts: u32,
    /// Whether the code was already used successfully.
    pub consumed: bool,
}

/// Why a code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The input is not six digits; it does not count as a try.
    #[error("enter the 6-digit code")]
    Malformed,
    /// The code's lifetime is over.
    #[error("this code has expired; ask for a new one")]
    Expired,
    /// The code was already used.
    #[error("this code was already used; ask for a new one")]
    AlreadyUsed,
    /// All tries are used up.
    #[error("too many wrong codes; ask for a new one")]
    TooManyAttempts,
    /// Wrong code; `attempts_left` more tries before it is burnt.
    #[error("that code didn't work; check it and try again")]
    Mismatch {
        /// Tries left for this code.
        attempts_left: u32,
    },
}

impl CodeState {
    /// A state for a code sent at `now`.
    pub fn new(digest: [u8; 32], now: Timestamp, rules: &CodeRules) -> Self {
        Self {
            digest: digest.to_vec(),
            expires_at: now.plus(rules.lifetime),
            attempts: 0,
            max_attempts: rules.max_attempts,
            consumed: false,
        }
    }

    /// Checks `input` and updates the state: a match consumes the code, a miss uses up a try.
    /// The caller must persist the new state whatever the result.
    pub fn check(
        &mut self,
        keys: &Keys,
        challenge: &ChallengeId,
        input: &str,
        now: Timestamp,
    ) -> Result<(), CodeError> {
        if self.consumed {
            return Err(CodeError::AlreadyUsed);
        }
        if now >= self.expires_at {
            return Err(CodeError::Expired);
        }
        if self.attempts >= self.max_attempts {
            return Err(CodeError::TooManyAttempts);
        }
        let code = normalize_input(input).ok_or(CodeError::Malformed)?;
        if keys.verify_digest(
            DIGEST_PURPOSE,
            &[challenge.as_str().as_bytes(), code.expose().as_bytes()],
            &self.digest,
        ) {
            self.consumed = true;
            return Ok(());
        }
        self.attempts += 1;
        match self.max_attempts - self.attempts {
            0 => Err(CodeError::TooManyAttempts),
            left => Err(CodeError::Mismatch {
                attempts_left: left,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn setup() -> (Keys, ChallengeId, SecretString, CodeState, Timestamp) {
        let rng = SeededRandom::new(9);
        let keys = Keys::from_master(&[1; 32]);
        let ch = ChallengeId::generate(&rng);
        let code = generate(&rng);
        let now = Timestamp::from_millis(1_000_000);
        let rules = CodeRules {
            lifetime: Duration::from_secs(600),
            max_attempts: 3,
            resend_after: Duration::from_secs(60),
        };
        let state = CodeState::new(digest(&keys, &ch, &code), now, &rules);
        (keys, ch, code, state, now)
    }

    #[test]
    fn codes_are_six_uniform_digits() {
        let rng = SeededRandom::new(5);
        let mut first_digit = [0u32; 10];
        for _ in 0..5_000 {
            let c = generate(&rng);
            assert_eq!(c.expose().len(), 6);
            assert!(c.expose().bytes().all(|b| b.is_ascii_digit()));
            first_digit[usize::from(c.expose().as_bytes()[0] - b'0')] += 1;
        }
        // Leading zeros are kept and every leading digit occurs about equally often.
        assert!(
            first_digit.iter().all(|&n| (350..650).contains(&n)),
            "{first_digit:?}"
        );
    }

    #[test]
    fn input_normalisation() {
        for (input, want) in [
            ("123456", Some("123456")),
            (" 123 456 ", Some("123456")),
            ("123-456", Some("123456")),
            ("12345", None),
            ("1234567", None),
            ("12345a", None),
            ("١٢٣٤٥٦", None),
            ("", None),
        ] {
            assert_eq!(
                normalize_input(input).as_ref().map(SecretString::expose),
                want,
                "{input:?}"
            );
        }
    }

    #[test]
    fn right_code_once() {
        let (keys, ch, code, mut st, now) = setup();
        assert_eq!(st.check(&keys, &ch, code.expose(), now), Ok(()));
        assert_eq!(
            st.check(&keys, &ch, code.expose(), now),
            Err(CodeError::AlreadyUsed),
            "single use"
        );
    }

    #[test]
    fn attempts_run_out() {
        let (keys, ch, code, mut st, now) = setup();
        let wrong = if code.expose() == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert_eq!(
            st.check(&keys, &ch, wrong, now),
            Err(CodeError::Mismatch { attempts_left: 2 })
        );
        assert_eq!(
            st.check(&keys, &ch, "abc", now),
            Err(CodeError::Malformed),
            "typos are free"
        );
        assert_eq!(
            st.check(&keys, &ch, wrong, now),
            Err(CodeError::Mismatch { attempts_left: 1 })
        );
        assert_eq!(
            st.check(&keys, &ch, wrong, now),
            Err(CodeError::TooManyAttempts)
        );
        assert_eq!(
            st.check(&keys, &ch, code.expose(), now),
            Err(CodeError::TooManyAttempts),
            "burnt even for the right code"
        );
    }

    #[test]
    fn expiry() {
        let (keys, ch, code, mut st, now) = setup();
        let later = now.plus(Duration::from_secs(600));
        assert_eq!(
            st.check(&keys, &ch, code.expose(), later),
            Err(CodeError::Expired)
        );
        assert_eq!(st.attempts, 0);
    }

    #[test]
    fn bound_to_challenge() {
        let (keys, _, code, mut st, now) = setup();
        let other = ChallengeId::generate(&SeededRandom::new(10));
        assert!(matches!(
            st.check(&keys, &other, code.expose(), now),
            Err(CodeError::Mismatch { .. })
        ));
    }
}
