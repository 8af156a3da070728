//! LDAP GeneralizedTime (RFC 4517 3.3.13) as our [`Timestamp`], for ppolicy's time attributes.

use latchkey_core::clock::Timestamp;

/// Parses `YYYYMMDDHHMMSS[.fraction]Z` (the form OpenLDAP writes); `None` for anything else.
pub fn parse_generalized(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let body = s.strip_suffix('Z')?;
    let (whole, fraction) = body.split_once(['.', ',']).unwrap_or((body, ""));
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole[r].parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let millis = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(3)
        .collect::<String>()
        .parse::<i64>()
        .ok()?;
    let days = days_from_civil(y, mo, d);
    Some(Timestamp::from_millis(
        ((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + millis,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openldap_times() {
        let cases = [
            ("19700101000000Z", Some(0)),
            ("20261204174145Z", Some(1_796_406_105_000)),
            ("20261204174145.123456Z", Some(1_796_406_105_123)),
            ("20000229120000Z", Some(951_825_600_000)),
            ("000001010000Z", None),
            ("20261204174145", None),
            ("2026120417414xZ", None),
            ("20261304174145Z", None),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse_generalized(raw).map(Timestamp::as_millis),
                want,
                "{raw}"
            );
        }
    }
}
