//! Random identifiers for flows, challenges, methods and CAPTCHAs. A flow id is a bearer token
//! for the anonymous caller, so every id carries 128 random bits.

use std::fmt;

use crate::random::Random;

macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A fresh random identifier.
            pub fn generate(rng: &dyn Random) -> Self {
                Self(format!(concat!($prefix, "_{}"), hex::encode(rng.array::<16>())))
            }

            /// Accepts only strings this type could have generated, so that garbage from a URL
            /// never reaches a database query.
            pub fn parse(s: &str) -> Option<Self> {
                let hex_part = s.strip_prefix(concat!($prefix, "_"))?;
                (hex_part.len() == 32 && hex_part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                    .then(|| Self(s.to_owned()))
            }

            /// Rebuilds an identifier read back from storage.
            pub fn from_stored(s: String) -> Self {
                Self(s)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

random_id!(
    /// Identifies a recovery flow.
    FlowId,
    "fl"
);
random_id!(
    /// Identifies one challenge (one code sent, one set of questions) inside a flow.
    ChallengeId,
    "ch"
);
random_id!(
    /// Identifies a registered verification method.
    MethodId,
    "me"
);
random_id!(
    /// Identifies a CAPTCHA challenge.
    CaptchaId,
    "ca"
);
random_id!(
    /// Identifies an outbox message.
    MessageId,
    "ms"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn round_trip_and_reject() {
        let id = FlowId::generate(&SeededRandom::new(3));
        assert_eq!(FlowId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(
            ChallengeId::parse(id.as_str()),
            None,
            "prefix decides the type"
        );
        for bad in [
            "",
            "fl_",
            "fl_XYZ",
            "fl_0123456789abcdef0123456789abcdeF",
            "fl_0123456789abcdef0123456789abcdef0",
            "' OR 1=1 --",
        ] {
            assert_eq!(FlowId::parse(bad), None, "{bad}");
        }
    }
}
