//! Escaping of values placed into LDAP filters (RFC 4515) and distinguished names (RFC 4514).
//! Everything a person typed goes through one of these before it reaches the directory, so a
//! `*` or `)` in a user id is a character to match, never filter syntax.

use std::fmt::Write as _;

/// Escapes `value` for use as an assertion value in a search filter (RFC 4515 section 3):
/// `*`, `(`, `)`, `\`, NUL and every other control character become `\XX`.
pub fn filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' | '(' | ')' | '\\' => hex(&mut out, c),
            c if c.is_control() => hex(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Escapes `value` for use as an attribute value in a DN (RFC 4514 section 2.4): the special
/// characters get a backslash, NUL and control characters become `\XX`, and a leading space or
/// `#` and a trailing space are escaped.
pub fn dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => hex(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Appends every UTF-8 byte of `c` as `\XX`.
fn hex(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        let _ = write!(out, "\\{b:02x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_escape_every_special_character() {
        let cases = [
            ("alice", "alice"),
            ("*", "\\2a"),
            ("a*)(uid=*", "a\\2a\\29\\28uid=\\2a"),
            (
                "*)(|(objectClass=*)",
                "\\2a\\29\\28|\\28objectClass=\\2a\\29",
            ),
            ("a\\2a", "a\\5c2a"),
            ("nul\0byte", "nul\\00byte"),
            ("new\nline", "new\\0aline"),
            ("o'brien --", "o'brien --"),
            ("jürgen", "jürgen"),
            ("100%_", "100%_"),
        ];
        for (raw, want) in cases {
            assert_eq!(filter_value(raw), want, "filter value {raw:?}");
        }
    }

    #[test]
    fn dn_values_escape_specials_and_edges() {
        let cases = [
            ("alice", "alice"),
            ("smith, john", "smith\\, john"),
            ("a+b", "a\\+b"),
            (
                "x,ou=admins,dc=example,dc=org",
                "x\\,ou\\=admins\\,dc\\=example\\,dc\\=org",
            ),
            ("#hash", "\\#hash"),
            ("mid#hash", "mid#hash"),
            (" lead", "\\ lead"),
            ("trail ", "trail\\ "),
            ("in side", "in side"),
            ("q\"<>;\\", "q\\\"\\<\\>\\;\\\\"),
            ("nul\0", "nul\\00"),
            ("jürgen", "jürgen"),
        ];
        for (raw, want) in cases {
            assert_eq!(dn_value(raw), want, "dn value {raw:?}");
        }
    }

    #[test]
    fn an_injected_filter_stays_one_assertion() {
        // A filter built from an escaped value has exactly the parentheses we wrote.
        let filter = format!("(uid={})", filter_value("x)(|(uid=*))"));
        assert_eq!(filter.matches('(').count(), 1);
        assert_eq!(filter.matches(')').count(), 1);
        assert!(ldap3::parse_filter(&filter).is_ok(), "{filter}");
    }
}
