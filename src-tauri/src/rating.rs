//! Rates a candidate password on this computer, as the person types, with the same engine and
//! rules the service enforces (`latchkey_core::policy`), built from the policy summary the
//! service publishes in `/config`. Nothing typed leaves the machine until it is submitted.

use latchkey_core::SecretString;
use latchkey_core::UserId;
use latchkey_core::banned::BannedList;
use latchkey_core::policy::{PasswordPolicy, UserContext};
use latchkey_proto::{PasswordRating, PolicySummary, Secret, Violation};

/// The policy the service described. Its banned list is the built-in one (when the service uses
/// it) plus the organisation's names, as the service builds its own.
pub fn policy(summary: &PolicySummary, organisation_names: &[&str]) -> PasswordPolicy {
    let mut banned = if summary.banned_list {
        BannedList::default()
    } else {
        BannedList::empty()
    };
    banned.extend(organisation_names.iter().copied());
    PasswordPolicy {
        min_length: usize::try_from(summary.min_length).unwrap_or(usize::MAX),
        max_length: usize::try_from(summary.max_length).unwrap_or(usize::MAX),
        min_score: summary.min_score,
        required_classes: summary.required_classes,
        history: summary.history,
        reject_user_names: summary.reject_user_names,
        banned,
    }
}

/// Rates `password` for the user who typed `user_id` (if known). History is left out: only the
/// service can check it, when the password is submitted.
pub fn rate(
    policy: &PasswordPolicy,
    organisation_names: &[&str],
    password: &Secret,
    user_id: Option<&str>,
) -> PasswordRating {
    // Only what the person typed, normalised like the service does; an id that doesn't parse
    // gives no names rather than an error, since the rating is advice.
    let id = user_id.and_then(|raw| UserId::parse(raw).ok());
    let user = UserContext::from_values(id.as_ref().map(UserId::as_str));
    let a = policy.assess(
        &SecretString::new(password.expose()),
        &user,
        organisation_names,
    );
    PasswordRating {
        acceptable: a.acceptable(),
        score: a.strength.score,
        // Rounded as the service does, so both backends show the same numbers.
        guesses_log10: (a.strength.guesses_log10 * 100.0).round() / 100.0,
        warning: a.strength.warning.clone(),
        suggestions: a.strength.suggestions.clone(),
        violations: a
            .violations
            .iter()
            .map(|r| Violation {
                rule: r.code().to_owned(),
                message: r.to_string(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> PolicySummary {
        PolicySummary {
            min_length: 12,
            max_length: 256,
            min_score: 3,
            required_classes: 0,
            history: 5,
            reject_user_names: true,
            banned_list: true,
        }
    }

    fn rules(r: &PasswordRating) -> Vec<&str> {
        r.violations.iter().map(|v| v.rule.as_str()).collect()
    }

    #[test]
    fn ratings_follow_the_published_policy() {
        let orgs = ["Contoso"];
        let p = policy(&summary(), &orgs);
        let cases: &[(&str, Option<&str>, &[&str])] = &[
            ("short1", None, &["too_short", "too_weak"]),
            (
                "password",
                Some("alice"),
                &["too_short", "banned", "too_weak"],
            ),
            ("Contoso2024!", None, &["banned", "too_weak"]),
            (
                "alice-velvet-quarry-91",
                Some("CONTOSO\\Alice"),
                &["contains_user_name"],
            ),
            ("alice-velvet-quarry-91", Some("bob@contoso.com"), &[]),
            ("vivid-Orbit-71-canyon", Some("alice@contoso.com"), &[]),
            ("correct horse battery staple", None, &[]),
        ];
        for (pw, user, want) in cases {
            let r = rate(&p, &orgs, &Secret::new(*pw), *user);
            assert_eq!(rules(&r), *want, "{pw:?} for {user:?}");
            assert_eq!(r.acceptable, want.is_empty(), "{pw:?}");
        }
    }

    #[test]
    fn weak_and_strong() {
        let orgs = ["Contoso"];
        let p = policy(&summary(), &orgs);
        let weak = rate(&p, &orgs, &Secret::new("abc"), Some("alice"));
        assert!(!weak.acceptable);
        assert!(rules(&weak).contains(&"too_short"));
        assert_eq!(weak.violations[0].message, "Use at least 12 characters.");
        assert!(weak.score < 3);

        let strong = rate(
            &p,
            &orgs,
            &Secret::new("Lantern-Fjord-Velvet-92"),
            Some("alice"),
        );
        assert!(strong.acceptable, "{strong:?}");
        assert!(strong.violations.is_empty());
        assert!(strong.score >= 3);
        assert!(strong.guesses_log10 > 10.0);
    }

    #[test]
    fn the_summary_switches_rules_off() {
        let off = PolicySummary {
            min_length: 4,
            min_score: 0,
            reject_user_names: false,
            banned_list: false,
            ..summary()
        };
        let p = policy(&off, &[]);
        let r = rate(&p, &[], &Secret::new("alice123"), Some("alice"));
        assert!(r.acceptable, "{r:?}");
        let classes = PolicySummary {
            required_classes: 3,
            ..off
        };
        let r = rate(
            &policy(&classes, &[]),
            &[],
            &Secret::new("alllowercase"),
            None,
        );
        assert_eq!(rules(&r), ["too_few_classes"]);
    }
}
