//! The password policy control of draft-behera-ldap-password-policy (OpenLDAP's ppolicy
//! overlay): the request control we send with binds and password changes, the decoding of the
//! response value, and the mapping of its error codes to our stable rule codes.

use latchkey_core::policy::Rule;
use ldap3::controls::{Control, RawControl};

/// The OID of the password policy request and response control.
pub const OID: &str = "1.3.6.1.4.1.42.2.27.8.5.1";

/// The request control: no value, not critical (a server without ppolicy ignores it).
pub fn request() -> RawControl {
    RawControl {
        ctype: OID.to_owned(),
        crit: false,
        val: None,
    }
}

/// The `error` field of the response (the draft's `PasswordPolicyResponseValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyError {
    /// 0: the password has expired.
    PasswordExpired,
    /// 1: the account is locked.
    AccountLocked,
    /// 2: the password was reset by an administrator and must be changed.
    ChangeAfterReset,
    /// 3: the user may not change the password.
    PasswordModNotAllowed,
    /// 4: the old password must be supplied.
    MustSupplyOldPassword,
    /// 5: the password fails the quality checks.
    InsufficientPasswordQuality,
    /// 6: the password is shorter than the policy's minimum.
    PasswordTooShort,
    /// 7: the password was changed too recently.
    PasswordTooYoung,
    /// 8: the password is one of the remembered previous ones.
    PasswordInHistory,
    /// 9: the password is longer than the policy's maximum (later drafts).
    PasswordTooLong,
    /// A code this decoder does not know.
    Other(u8),
}

impl PolicyError {
    fn from_code(code: u8) -> Self {
        match code {
            0 => Self::PasswordExpired,
            1 => Self::AccountLocked,
            2 => Self::ChangeAfterReset,
            3 => Self::PasswordModNotAllowed,
            4 => Self::MustSupplyOldPassword,
            5 => Self::InsufficientPasswordQuality,
            6 => Self::PasswordTooShort,
            7 => Self::PasswordTooYoung,
            8 => Self::PasswordInHistory,
            9 => Self::PasswordTooLong,
            n => Self::Other(n),
        }
    }
}

/// The decoded response control.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyResponse {
    /// Seconds until the password expires (a warning).
    pub time_before_expiration: Option<u32>,
    /// Grace binds left after expiry (a warning).
    pub grace_remaining: Option<u32>,
    /// The error, if the server reported one.
    pub error: Option<PolicyError>,
}

/// Finds and decodes the password policy response control among `ctrls`; `None` if absent or
/// malformed (a malformed control is treated as no control, never as success).
pub fn find(ctrls: &[Control]) -> Option<PolicyResponse> {
    ctrls
        .iter()
        .find(|c| c.1.ctype == OID)
        .and_then(|c| c.1.val.as_deref())
        .and_then(decode)
}

/// One BER element: (tag byte, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first & 0x80 == 0 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn uint(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 5 {
        return None;
    }
    let v = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    u32::try_from(v).ok()
}

/// Decodes a `PasswordPolicyResponseValue` (BER):
/// `SEQUENCE { warning [0] CHOICE { timeBeforeExpiration [0] INTEGER,
/// graceAuthNsRemaining [1] INTEGER } OPTIONAL, error [1] ENUMERATED OPTIONAL }`.
pub fn decode(value: &[u8]) -> Option<PolicyResponse> {
    let (tag, mut body, _) = tlv(value)?;
    if tag != 0x30 {
        return None;
    }
    let mut out = PolicyResponse::default();
    while !body.is_empty() {
        let (tag, contents, rest) = tlv(body)?;
        match tag {
            0xa0 => {
                let (inner, v, _) = tlv(contents)?;
                match inner {
                    0x80 => out.time_before_expiration = uint(v),
                    0x81 => out.grace_remaining = uint(v),
                    _ => return None,
                }
            }
            0x81 => {
                let code = u8::try_from(uint(contents)?).ok()?;
                out.error = Some(PolicyError::from_code(code));
            }
            _ => return None,
        }
        body = rest;
    }
    Some(out)
}

/// What the policy rules say about a refused password: our rule for a ppolicy error, falling
/// back to the diagnostic text when the server sent no control.
pub fn rules_for(
    error: Option<PolicyError>,
    text: &str,
    min: Option<usize>,
    history: Option<u32>,
) -> Vec<Rule> {
    let from_text = || {
        let t = text.to_ascii_lowercase();
        if t.contains("history") {
            Some(PolicyError::PasswordInHistory)
        } else if t.contains("too short") {
            Some(PolicyError::PasswordTooShort)
        } else if t.contains("too young") {
            Some(PolicyError::PasswordTooYoung)
        } else if t.contains("quality") {
            Some(PolicyError::InsufficientPasswordQuality)
        } else {
            None
        }
    };
    let rule = match error.or_else(from_text) {
        Some(PolicyError::PasswordTooShort) => Rule::TooShort {
            min: min.unwrap_or(0),
        },
        Some(PolicyError::PasswordInHistory) => Rule::InHistory {
            remembered: history.unwrap_or(0),
        },
        Some(PolicyError::PasswordTooLong) => Rule::Directory {
            code: "too_long",
            message: "The password is longer than the directory allows.".to_owned(),
        },
        Some(PolicyError::PasswordTooYoung) => Rule::Directory {
            code: "too_young",
            message: "The password was changed too recently; try again later.".to_owned(),
        },
        Some(PolicyError::InsufficientPasswordQuality) => Rule::Directory {
            code: "directory_quality",
            message: "The directory's quality check refused the password.".to_owned(),
        },
        Some(PolicyError::PasswordModNotAllowed) => Rule::Directory {
            code: "change_not_allowed",
            message: "The directory does not let you change this password.".to_owned(),
        },
        Some(PolicyError::MustSupplyOldPassword) => Rule::Directory {
            code: "old_password_required",
            message: "The directory needs the current password for this change.".to_owned(),
        },
        _ => Rule::Directory {
            code: "directory_refused",
            message: "The directory refused the password.".to_owned(),
        },
    };
    vec![rule]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_errors_and_warnings() {
        let cases: [(&[u8], Option<PolicyResponse>); 8] = [
            (
                &[0x30, 0x03, 0x81, 0x01, 0x06],
                Some(PolicyResponse {
                    error: Some(PolicyError::PasswordTooShort),
                    ..Default::default()
                }),
            ),
            (
                &[0x30, 0x03, 0x81, 0x01, 0x01],
                Some(PolicyResponse {
                    error: Some(PolicyError::AccountLocked),
                    ..Default::default()
                }),
            ),
            (
                &[0x30, 0x03, 0x81, 0x01, 0x08],
                Some(PolicyResponse {
                    error: Some(PolicyError::PasswordInHistory),
                    ..Default::default()
                }),
            ),
            (&[0x30, 0x00], Some(PolicyResponse::default())),
            (
                &[0x30, 0x06, 0xa0, 0x04, 0x80, 0x02, 0x0e, 0x10],
                Some(PolicyResponse {
                    time_before_expiration: Some(3600),
                    ..Default::default()
                }),
            ),
            (
                &[0x30, 0x08, 0xa0, 0x03, 0x81, 0x01, 0x02, 0x81, 0x01, 0x00],
                Some(PolicyResponse {
                    grace_remaining: Some(2),
                    error: Some(PolicyError::PasswordExpired),
                    ..Default::default()
                }),
            ),
            // Truncated and wrong-tag values decode to nothing rather than to "no error".
            (&[0x30, 0x05, 0x81, 0x01], None),
            (&[0x04, 0x03, 0x81, 0x01, 0x06], None),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(bytes), want, "{bytes:02x?}");
        }
    }

    #[test]
    fn long_form_lengths_and_garbage_are_handled() {
        assert_eq!(
            decode(&[0x30, 0x81, 0x03, 0x81, 0x01, 0x02]).and_then(|r| r.error),
            Some(PolicyError::ChangeAfterReset)
        );
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[0x30]), None);
        assert_eq!(decode(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(decode(&[0x30, 0x03, 0x82, 0x01, 0x06]), None);
    }

    #[test]
    fn errors_map_to_rule_codes() {
        let code =
            |e: Option<PolicyError>, text: &str| rules_for(e, text, Some(8), Some(3))[0].code();
        assert_eq!(code(Some(PolicyError::PasswordTooShort), ""), "too_short");
        assert_eq!(code(Some(PolicyError::PasswordInHistory), ""), "in_history");
        assert_eq!(code(Some(PolicyError::PasswordTooYoung), ""), "too_young");
        assert_eq!(
            code(Some(PolicyError::InsufficientPasswordQuality), ""),
            "directory_quality"
        );
        assert_eq!(
            code(None, "Password is in history of old passwords"),
            "in_history"
        );
        assert_eq!(
            code(None, "Password fails quality checking policy"),
            "directory_quality"
        );
        assert_eq!(code(None, "something else"), "directory_refused");
        assert_eq!(
            rules_for(Some(PolicyError::PasswordTooShort), "", Some(8), None)[0],
            Rule::TooShort { min: 8 }
        );
    }
}
