//! The password policy engine, after NIST SP 800-63B: length first, a banned list with
//! normalisation, the user's own names, a zxcvbn strength floor, composition classes only when
//! configured, and history where the directory keeps none. Every rule a password breaks is
//! reported, each with a stable code, so the wizard can show them all at once.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::banned::{self, BannedList};
use crate::secret::SecretString;

/// zxcvbn's cost grows quickly with length; past this many characters a password is long enough
/// that only its prefix is rated.
const ZXCVBN_MAX_CHARS: usize = 100;

/// A rule a password can break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Fewer characters than the minimum.
    TooShort {
        /// The minimum, in characters.
        min: usize,
    },
    /// More characters than the maximum.
    TooLong {
        /// The maximum, in characters.
        max: usize,
    },
    /// A commonly used or banned password, or too close to one.
    Banned,
    /// Contains the user's name or user id.
    ContainsUserName,
    /// Too easy to guess, by zxcvbn's estimate.
    TooWeak {
        /// The minimum zxcvbn score (0–4).
        min_score: u8,
    },
    /// Not enough character classes (only when the organisation requires classes).
    TooFewClasses {
        /// Classes required, of lower case, upper case, digits and symbols.
        required: u8,
    },
    /// One of the user's recent passwords.
    InHistory {
        /// How many previous passwords are remembered.
        remembered: u32,
    },
    /// Contains control characters, which no keyboard at a sign-in screen can type.
    ControlCharacters,
    /// The directory refused it for a reason of its own, named by a stable code.
    Directory {
        /// A stable code from the directory adapter.
        code: &'static str,
        /// A plain sentence.
        message: String,
    },
}

impl Rule {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Rule::TooShort { .. } => "too_short",
            Rule::TooLong { .. } => "too_long",
            Rule::Banned => "banned",
            Rule::ContainsUserName => "contains_user_name",
            Rule::TooWeak { .. } => "too_weak",
            Rule::TooFewClasses { .. } => "too_few_classes",
            Rule::InHistory { .. } => "in_history",
            Rule::ControlCharacters => "control_characters",
            Rule::Directory { code, .. } => code,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::TooShort { min } => write!(f, "Use at least {min} characters."),
            Rule::TooLong { max } => write!(f, "Use at most {max} characters."),
            Rule::Banned => f.write_str("This password is too common or too close to a banned word. Choose something harder to guess."),
            Rule::ContainsUserName => f.write_str("Don't use your name or user ID in your password."),
            Rule::TooWeak { .. } => f.write_str("This password is too easy to guess. Try a longer phrase of unrelated words."),
            Rule::TooFewClasses { required } => {
                write!(f, "Use at least {required} of: lower-case letters, upper-case letters, numbers, symbols.")
            }
            Rule::InHistory { remembered } => write!(f, "You can't reuse any of your last {remembered} passwords."),
            Rule::ControlCharacters => f.write_str("Use only characters you can type on a keyboard."),
            Rule::Directory { message, .. } => f.write_str(message),
        }
    }
}

/// What the user's names are, to keep them out of the password.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserContext {
    /// User id, account name, display name, given name, surname, email local part.
    pub names: Vec<String>,
}

impl UserContext {
    /// Collects the name parts worth checking from the given values (split on spaces, dots,
    /// `@`, `\`, `_` and `-`; parts shorter than three characters are dropped).
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names: Vec<String> = Vec::new();
        for v in values {
            let lower = v.to_lowercase();
            // Of an email address or UPN only the local part is a name; the domain is not.
            let whole = lower
                .split('@')
                .next()
                .unwrap_or(&lower)
                .rsplit('\\')
                .next()
                .unwrap_or(&lower)
                .to_owned();
            for part in std::iter::once(whole.as_str())
                .chain(whole.split(|c: char| c.is_whitespace() || "._-".contains(c)))
            {
                if part.chars().count() >= 3 && !names.iter().any(|n| n == part) {
                    names.push(part.to_owned());
                }
            }
        }
        Self { names }
    }
}

/// The configured policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters (after NFKC normalisation).
    pub min_length: usize,
    /// Maximum length in characters.
    pub max_length: usize,
    /// Minimum zxcvbn score, 0–4; 0 turns the check off.
    pub min_score: u8,
    /// Character classes required, 0–4; 0 (the NIST advice) turns the check off.
    pub required_classes: u8,
    /// Previous passwords remembered; 0 turns the check off.
    pub history: u32,
    /// Whether the user's own names are refused.
    pub reject_user_names: bool,
    /// The banned list.
    pub banned: BannedList,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 256,
            min_score: 3,
            required_classes: 0,
            history: 5,
            reject_user_names: true,
            banned: BannedList::default(),
        }
    }
}

/// zxcvbn's opinion, for the strength meter.
#[derive(Debug, Clone, PartialEq)]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very unlikely to be guessed).
    pub score: u8,
    /// log10 of the estimated guesses.
    pub guesses_log10: f64,
    /// What is wrong, if anything.
    pub warning: Option<String>,
    /// How to do better.
    pub suggestions: Vec<String>,
}

/// The verdict on a candidate password.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Every rule broken, in a stable order; empty when acceptable.
    pub violations: Vec<Rule>,
    /// The strength estimate.
    pub strength: Strength,
}

impl Assessment {
    /// Whether no rule is broken.
    pub fn acceptable(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Rules a directory enforces for one user on top of the policy (a fine-grained policy's
/// length, Active Directory's complexity), so the service refuses what the directory would,
/// with the same rule codes. They only ever tighten the policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tightening {
    /// Minimum length the directory demands (0: none).
    pub min_length: usize,
    /// Character classes the directory demands (0: none).
    pub required_classes: u8,
}

impl PasswordPolicy {
    /// Rates `password` against every rule but history (which needs stored hashes; the caller
    /// adds [`Rule::InHistory`] when it applies).
    pub fn assess(
        &self,
        password: &SecretString,
        user: &UserContext,
        extra_inputs: &[&str],
    ) -> Assessment {
        self.assess_tightened(password, user, extra_inputs, Tightening::default())
    }

    /// The minimum length with `t` applied.
    pub fn min_length_with(&self, t: Tightening) -> usize {
        self.min_length.max(t.min_length)
    }

    /// The character classes required with `t` applied.
    pub fn required_classes_with(&self, t: Tightening) -> u8 {
        self.required_classes.max(t.required_classes).min(4)
    }

    /// [`PasswordPolicy::assess`], with a directory's rules for the user on top.
    pub fn assess_tightened(
        &self,
        password: &SecretString,
        user: &UserContext,
        extra_inputs: &[&str],
        tightening: Tightening,
    ) -> Assessment {
        let normalized: String = password.expose().nfkc().collect();
        let chars = normalized.chars().count();
        let mut violations = Vec::new();
        let min_length = self.min_length_with(tightening);
        let required_classes = self.required_classes_with(tightening);

        if chars < min_length {
            violations.push(Rule::TooShort { min: min_length });
        }
        if chars > self.max_length {
            violations.push(Rule::TooLong {
                max: self.max_length,
            });
        }
        if normalized.chars().any(char::is_control) {
            violations.push(Rule::ControlCharacters);
        }
        if !normalized.is_empty() && self.banned.is_banned(&normalized) {
            violations.push(Rule::Banned);
        }
        if self.reject_user_names && contains_name(&normalized, user) {
            violations.push(Rule::ContainsUserName);
        }
        if required_classes > 0 && classes(&normalized) < required_classes {
            violations.push(Rule::TooFewClasses {
                required: required_classes,
            });
        }

        let strength = strength(&normalized, user, extra_inputs);
        if self.min_score > 0 && strength.score < self.min_score {
            violations.push(Rule::TooWeak {
                min_score: self.min_score,
            });
        }
        Assessment {
            violations,
            strength,
        }
    }
}

/// zxcvbn's rating of `password`, with the user's names as known inputs.
pub fn strength(password: &str, user: &UserContext, extra_inputs: &[&str]) -> Strength {
    if password.is_empty() {
        return Strength {
            score: 0,
            guesses_log10: 0.0,
            warning: None,
            suggestions: Vec::new(),
        };
    }
    let rated: String = password.chars().take(ZXCVBN_MAX_CHARS).collect();
    let mut inputs: Vec<&str> = user.names.iter().map(String::as_str).collect();
    inputs.extend_from_slice(extra_inputs);
    let entropy = zxcvbn::zxcvbn(&rated, &inputs);
    let feedback = entropy.feedback();
    Strength {
        score: u8::from(entropy.score()),
        guesses_log10: entropy.guesses_log10(),
        warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
        suggestions: feedback
            .map(|f| f.suggestions().iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    }
}

fn contains_name(password: &str, user: &UserContext) -> bool {
    let candidates = banned::variants(password);
    user.names.iter().any(|name| {
        let name = name.to_lowercase();
        name.chars().count() >= 3 && candidates.iter().any(|c| c.contains(&name))
    })
}

fn classes(password: &str) -> u8 {
    let has = |f: fn(&char) -> bool| u8::from(password.chars().any(|c| f(&c)));
    has(|c| c.is_lowercase())
        + has(|c| c.is_uppercase())
        + has(|c| c.is_numeric())
        + has(|c| !c.is_alphanumeric() && !c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserContext {
        UserContext::from_values(["alice.martin@contoso.com", "Alice Martin", "amartin"])
    }

    fn codes(policy: &PasswordPolicy, pw: &str) -> Vec<&'static str> {
        policy
            .assess(&SecretString::new(pw), &alice(), &["contoso"])
            .violations
            .iter()
            .map(Rule::code)
            .collect()
    }

    #[test]
    fn rule_table() {
        let p = PasswordPolicy::default();
        let cases: &[(&str, &[&str])] = &[
            ("correct horse battery staple", &[]),
            ("vivid-Orbit-71-canyon", &[]),
            ("short", &["too_short", "too_weak"]),
            ("", &["too_short", "too_weak"]),
            ("password", &["banned", "too_weak"]),
            ("P@ssw0rd123", &["banned", "too_weak"]),
            ("Summer2024!", &["banned", "too_weak"]),
            ("alicemartin-xq", &["contains_user_name"]),
            ("Martin!Velvet#Quarry9", &["contains_user_name"]),
            ("4mart1n-zebra-glacier", &["contains_user_name"]),
            ("aaaaaaaaaaaa", &["too_weak"]),
            ("tab\there-now-ok-river", &["control_characters"]),
        ];
        for (pw, want) in cases {
            assert_eq!(codes(&p, pw), *want, "{pw:?}");
        }
    }

    #[test]
    fn length_limits_count_characters_not_bytes() {
        let p = PasswordPolicy {
            min_score: 0,
            banned: BannedList::empty(),
            ..PasswordPolicy::default()
        };
        // Eight characters, sixteen bytes.
        assert_eq!(codes(&p, "ééééééé9"), Vec::<&str>::new());
        let long = "x".repeat(257);
        assert_eq!(codes(&p, &long), ["too_long"]);
        assert_eq!(codes(&p, &"x".repeat(256)), Vec::<&str>::new());
    }

    #[test]
    fn composition_only_when_configured() {
        let p = PasswordPolicy {
            required_classes: 3,
            min_score: 0,
            ..PasswordPolicy::default()
        };
        assert_eq!(codes(&p, "quiet ocean lantern"), ["too_few_classes"]);
        assert_eq!(codes(&p, "Quiet ocean lantern 7"), Vec::<&str>::new());
        let off = PasswordPolicy {
            min_score: 0,
            ..PasswordPolicy::default()
        };
        assert_eq!(codes(&off, "quiet ocean lantern"), Vec::<&str>::new());
    }

    #[test]
    fn names_and_extra_inputs() {
        let ctx = alice();
        assert!(ctx.names.contains(&"alice".to_owned()));
        assert!(ctx.names.contains(&"martin".to_owned()));
        assert!(ctx.names.contains(&"amartin".to_owned()));
        assert!(
            !ctx.names.iter().any(|n| n == "com"),
            "the TLD is not a name worth banning"
        );
        let off = PasswordPolicy {
            reject_user_names: false,
            min_score: 0,
            ..PasswordPolicy::default()
        };
        assert_eq!(codes(&off, "alicemartin-xq"), Vec::<&str>::new());
    }

    #[test]
    fn strength_feedback() {
        let s = strength("password1", &UserContext::default(), &[]);
        assert_eq!(s.score, 0);
        assert!(s.warning.is_some() || !s.suggestions.is_empty());
        let s = strength("correct horse battery staple", &UserContext::default(), &[]);
        assert_eq!(s.score, 4);
        assert!(s.guesses_log10 > 10.0);
        // 800 pseudo-random characters: rated (by prefix) quickly, and strong.
        let mut x: u32 = 12345;
        let long: String = (0..800)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from(b'!' + u8::try_from((x >> 16) % 90).unwrap())
            })
            .collect();
        assert!(
            strength(&long, &UserContext::default(), &[]).score >= 3,
            "long passwords are rated by prefix"
        );
    }

    #[test]
    fn a_directory_only_tightens() {
        let p = PasswordPolicy::default();
        let t = Tightening {
            min_length: 14,
            required_classes: 3,
        };
        let rate = |pw: &str, t| -> Vec<&'static str> {
            p.assess_tightened(&SecretString::new(pw), &alice(), &[], t)
                .violations
                .iter()
                .map(Rule::code)
                .collect()
        };
        // Fine for the service alone; short and one class for the directory's rules.
        assert_eq!(
            rate("vivid-orbit-canyon", Tightening::default()),
            Vec::<&str>::new()
        );
        let got = rate("vivid-orbit-cz", t);
        assert!(got.contains(&"too_few_classes"), "{got:?}");
        let got = rate("vivid-orbit-c", t);
        assert!(
            got.contains(&"too_short") && got.contains(&"too_few_classes"),
            "{got:?}"
        );
        assert_eq!(rate("Vivid-Orbit-71-Canyon", t), Vec::<&str>::new());
        let short = p.assess_tightened(&SecretString::new("Ab1-x"), &alice(), &[], t);
        assert!(short.violations.contains(&Rule::TooShort { min: 14 }));
        // A looser length changes nothing; classes where the service asks for none apply.
        let loose = Tightening {
            min_length: 4,
            required_classes: 1,
        };
        assert_eq!(p.min_length_with(loose), p.min_length);
        assert_eq!(p.required_classes_with(loose), 1);
        assert_eq!(
            p.required_classes_with(Tightening {
                min_length: 0,
                required_classes: 9
            }),
            4
        );
    }

    #[test]
    fn messages_and_codes_are_stable() {
        let all = [
            Rule::TooShort { min: 8 },
            Rule::TooLong { max: 256 },
            Rule::Banned,
            Rule::ContainsUserName,
            Rule::TooWeak { min_score: 3 },
            Rule::TooFewClasses { required: 3 },
            Rule::InHistory { remembered: 5 },
            Rule::ControlCharacters,
        ];
        let codes: Vec<_> = all.iter().map(Rule::code).collect();
        assert_eq!(
            codes,
            [
                "too_short",
                "too_long",
                "banned",
                "contains_user_name",
                "too_weak",
                "too_few_classes",
                "in_history",
                "control_characters"
            ]
        );
        assert_eq!(
            Rule::TooShort { min: 8 }.to_string(),
            "Use at least 8 characters."
        );
        assert_eq!(
            Rule::InHistory { remembered: 5 }.to_string(),
            "You can't reuse any of your last 5 passwords."
        );
    }
}
