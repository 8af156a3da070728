//! The operating system's locale as a BCP 47 tag (`fr_FR.UTF-8` → `fr-FR`), which the wizard
//! uses to pick its message catalogue.

/// The tag when nothing better is known (and for the `C`/`POSIX` locales).
pub const DEFAULT: &str = "en";

/// The locale of messages, from the process environment.
pub fn from_env() -> String {
    from_lookup(|k| std::env::var(k).ok())
}

/// The locale of messages, with `env` standing in for the environment. POSIX precedence:
/// `LC_ALL`, then `LC_MESSAGES`, then `LANG`; the first one set decides, even when it is `C`.
pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> String {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .find_map(|k| env(k).filter(|v| !v.trim().is_empty()))
        .and_then(|v| normalise(&v))
        .unwrap_or_else(|| DEFAULT.to_owned())
}

/// A POSIX locale name (`language[_territory][.codeset][@modifier]`) as a BCP 47 tag, or `None`
/// when it doesn't look like one. `C` and `POSIX` mean English.
pub fn normalise(raw: &str) -> Option<String> {
    let base = raw.trim().split(['.', '@']).next().unwrap_or_default();
    if base == "C" || base == "POSIX" {
        return Some(DEFAULT.to_owned());
    }
    let mut parts = base.split(['_', '-']);
    let language = parts.next()?;
    if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut tag = language.to_ascii_lowercase();
    for part in parts {
        match part.len() {
            // A script, e.g. `sr_Latn_RS` (not POSIX, but seen in the wild).
            4 if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                tag.push('-');
                tag.push_str(&part[..1].to_ascii_uppercase());
                tag.push_str(&part[1..].to_ascii_lowercase());
            }
            2 if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                tag.push('-');
                tag.push_str(&part.to_ascii_uppercase());
            }
            // A UN M.49 region, e.g. `es_419`.
            3 if part.chars().all(|c| c.is_ascii_digit()) => {
                tag.push('-');
                tag.push_str(part);
            }
            _ => return None,
        }
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("fr_FR.UTF-8", Some("fr-FR")),
            ("fr_FR", Some("fr-FR")),
            ("de_DE@euro", Some("de-DE")),
            ("de_DE.ISO-8859-15@euro", Some("de-DE")),
            ("pt_BR.utf8", Some("pt-BR")),
            ("en_US", Some("en-US")),
            ("nl", Some("nl")),
            ("EN_gb", Some("en-GB")),
            ("es_419.UTF-8", Some("es-419")),
            ("sr_Latn_RS", Some("sr-Latn-RS")),
            ("fil_PH", Some("fil-PH")),
            ("C", Some("en")),
            ("C.UTF-8", Some("en")),
            ("POSIX", Some("en")),
            ("", None),
            ("x", None),
            ("english", None),
            ("fr_FRANCE", None),
        ];
        for (raw, want) in cases {
            assert_eq!(normalise(raw).as_deref(), *want, "{raw:?}");
        }
    }

    #[test]
    fn precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "en"),
            (&[("LANG", "fr_FR.UTF-8")], "fr-FR"),
            (
                &[("LANG", "fr_FR.UTF-8"), ("LC_MESSAGES", "de_DE.UTF-8")],
                "de-DE",
            ),
            (
                &[
                    ("LANG", "fr_FR.UTF-8"),
                    ("LC_MESSAGES", "de_DE.UTF-8"),
                    ("LC_ALL", "es_ES"),
                ],
                "es-ES",
            ),
            (&[("LANG", "fr_FR.UTF-8"), ("LC_ALL", "")], "fr-FR"),
            (&[("LANG", "fr_FR.UTF-8"), ("LC_ALL", "C")], "en"),
            (&[("LANG", "garbage!")], "en"),
        ];
        for (pairs, want) in cases {
            assert_eq!(from_lookup(env(pairs)), *want, "{pairs:?}");
        }
    }
}
