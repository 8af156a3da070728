//! Latchkey's domain: identifiers, the password policy, one-time codes, the recovery flow as a
//! state machine, rate-limit rules, masking and the keyed crypto that protects data at rest.
//!
//! Nothing here does I/O. Time comes in as a [`clock::Clock`] and randomness as a
//! [`random::Random`], so every rule can be tested with a fixed clock and a seeded generator.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod audit;
pub mod banned;
pub mod clock;
pub mod code;
pub mod flow;
pub mod hash;
pub mod ids;
pub mod keys;
pub mod mask;
pub mod policy;
pub mod random;
pub mod ratelimit;
pub mod secret;
pub mod user;

pub use clock::{Clock, Timestamp};
pub use random::Random;
pub use secret::SecretString;
pub use user::UserId;
