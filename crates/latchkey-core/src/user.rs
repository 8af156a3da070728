//! User identifiers as people type them: `alice@contoso.com` (user principal name or email),
//! `CONTOSO\alice` (down-level logon name) or `alice` (account name). Comparison is
//! case-insensitive, so the identifier is normalised once, here.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// The longest identifier accepted, in characters (a UPN may be 1024 in AD; nobody types that).
pub const MAX_USER_ID_CHARS: usize = 256;

/// A normalised user identifier: NFKC, trimmed, lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId {
    normalized: String,
    kind: UserIdKind,
}

/// Which of the familiar forms an identifier has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserIdKind {
    /// `name@domain`: a user principal name or an email address.
    Principal,
    /// `DOMAIN\name`: a down-level logon name.
    DownLevel,
    /// A bare account name (sAMAccountName, uid).
    Account,
}

/// Why a string is not a user identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    /// Nothing but white space was given.
    #[error("enter your user ID")]
    Empty,
    /// Longer than [`MAX_USER_ID_CHARS`].
    #[error("a user ID has at most {MAX_USER_ID_CHARS} characters")]
    TooLong,
    /// A character no directory allows in a logon name.
    #[error("a user ID cannot contain {0:?}")]
    InvalidCharacter(char),
    /// `@` or `\` in the wrong place, or a part left empty.
    #[error("enter a user ID like alice@contoso.com, CONTOSO\\alice or alice")]
    Malformed,
}

// Characters that Active Directory refuses in sAMAccountName, plus the ones that mean something
// in LDAP filters; refusing them here keeps directory adapters from ever seeing them.
const FORBIDDEN: &[char] = &[
    '"', '/', '[', ']', ':', ';', '|', '=', ',', '+', '*', '?', '<', '>', '(', ')', '\0',
];

impl UserId {
    /// Parses and normalises what a person typed.
    pub fn parse(raw: &str) -> Result<Self, UserIdError> {
        let normalized: String = raw.nfkc().collect::<String>().trim().to_lowercase();
        if normalized.is_empty() {
            return Err(UserIdError::Empty);
        }
        if normalized.chars().count() > MAX_USER_ID_CHARS {
            return Err(UserIdError::TooLong);
        }
        if let Some(c) = normalized
            .chars()
            .find(|c| c.is_control() || FORBIDDEN.contains(c))
        {
            return Err(UserIdError::InvalidCharacter(c));
        }
        let ats = normalized.matches('@').count();
        let slashes = normalized.matches('\\').count();
        let kind = match (ats, slashes) {
            (0, 0) => UserIdKind::Account,
            (1, 0) => {
                let (local, domain) = normalized.split_once('@').ok_or(UserIdError::Malformed)?;
                if local.is_empty()
                    || domain.is_empty()
                    || domain.starts_with('.')
                    || domain.ends_with('.')
                {
                    return Err(UserIdError::Malformed);
                }
                UserIdKind::Principal
            }
            (0, 1) => {
                let (domain, name) = normalized.split_once('\\').ok_or(UserIdError::Malformed)?;
                if domain.is_empty() || name.is_empty() {
                    return Err(UserIdError::Malformed);
                }
                UserIdKind::DownLevel
            }
            _ => return Err(UserIdError::Malformed),
        };
        if normalized.chars().any(char::is_whitespace) && kind != UserIdKind::Account {
            return Err(UserIdError::Malformed);
        }
        Ok(Self { normalized, kind })
    }

    /// The normalised form.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The form the identifier was typed in.
    pub fn kind(&self) -> UserIdKind {
        self.kind
    }

    /// The account part: `alice` for all of `alice@contoso.com`, `CONTOSO\alice` and `alice`.
    pub fn account_name(&self) -> &str {
        match self.kind {
            UserIdKind::Principal => self
                .normalized
                .split('@')
                .next()
                .unwrap_or(&self.normalized),
            UserIdKind::DownLevel => self
                .normalized
                .rsplit('\\')
                .next()
                .unwrap_or(&self.normalized),
            UserIdKind::Account => &self.normalized,
        }
    }

    /// The domain part, if one was typed.
    pub fn domain(&self) -> Option<&str> {
        match self.kind {
            UserIdKind::Principal => self.normalized.rsplit_once('@').map(|(_, d)| d),
            UserIdKind::DownLevel => self.normalized.split_once('\\').map(|(d, _)| d),
            UserIdKind::Account => None,
        }
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.normalized)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_normalisation() {
        let cases: &[(&str, &str, UserIdKind, &str, Option<&str>)] = &[
            (
                "Alice@Contoso.COM",
                "alice@contoso.com",
                UserIdKind::Principal,
                "alice",
                Some("contoso.com"),
            ),
            ("  alice  ", "alice", UserIdKind::Account, "alice", None),
            (
                "CONTOSO\\Alice",
                "contoso\\alice",
                UserIdKind::DownLevel,
                "alice",
                Some("contoso"),
            ),
            // Full-width letters typed with an East Asian input method fold to ASCII under NFKC.
            ("ａｌｉｃｅ", "alice", UserIdKind::Account, "alice", None),
            (
                "ÉMILE@contoso.fr",
                "émile@contoso.fr",
                UserIdKind::Principal,
                "émile",
                Some("contoso.fr"),
            ),
        ];
        for (raw, norm, kind, account, domain) in cases {
            let id = UserId::parse(raw).unwrap();
            assert_eq!(id.as_str(), *norm, "{raw}");
            assert_eq!(id.kind(), *kind, "{raw}");
            assert_eq!(id.account_name(), *account, "{raw}");
            assert_eq!(id.domain(), *domain, "{raw}");
        }
    }

    #[test]
    fn rejects() {
        let long = "a".repeat(MAX_USER_ID_CHARS + 1);
        let cases: &[(&str, UserIdError)] = &[
            ("", UserIdError::Empty),
            ("   ", UserIdError::Empty),
            (&long, UserIdError::TooLong),
            ("alice*", UserIdError::InvalidCharacter('*')),
            ("a)(uid=*", UserIdError::InvalidCharacter(')')),
            ("al\u{7}ice", UserIdError::InvalidCharacter('\u{7}')),
            ("a\0b", UserIdError::InvalidCharacter('\0')),
            ("@contoso.com", UserIdError::Malformed),
            ("alice@", UserIdError::Malformed),
            ("a@b@c", UserIdError::Malformed),
            ("\\alice", UserIdError::Malformed),
            ("dom\\a\\b", UserIdError::Malformed),
            ("a@b\\c", UserIdError::Malformed),
            ("al ice@contoso.com", UserIdError::Malformed),
        ];
        for (raw, err) in cases {
            assert_eq!(UserId::parse(raw).unwrap_err(), *err, "{raw:?}");
        }
    }

    #[test]
    fn equal_after_normalisation() {
        assert_eq!(
            UserId::parse("BOB").unwrap(),
            UserId::parse(" bob").unwrap()
        );
    }
}
