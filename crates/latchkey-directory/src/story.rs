//! One directory test story, run against every [`Directory`]: the embedded directory here, and
//! OpenLDAP and Samba AD in the integration tests. It speaks only the trait and a
//! [`StoryFixture`], so a backend passes by behaving like a directory, not by exposing internals.
//!
//! Every step works on its own fresh user, because lockout counts failed binds and a step that
//! binds wrongly must not push another step's user over the threshold. No step lets a user
//! collect more than two failed binds without a successful one in between, so any threshold of
//! three or more is safe. Steps that change a password more than once on the same user assume the
//! directory has no minimum password age (set it to zero in test domains).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use latchkey_core::secret::SecretString;
use latchkey_core::user::UserId;

use crate::{BindOutcome, Directory, DirectoryError, DirectoryUser, ResetOptions};

/// A fresh user the story may bind as, reset and lock.
#[derive(Debug)]
pub struct StoryUser {
    /// An identifier that finds the user.
    pub id: UserId,
    /// The user's current password.
    pub password: SecretString,
}

/// What the story needs from a backend's test setup.
#[derive(Debug)]
pub struct StoryFixture {
    /// Fresh users, each used by one step (lockout counts failed binds, so steps must not share
    /// users). At least 6.
    pub users: Vec<StoryUser>,
    /// An id no user has.
    pub unknown: UserId,
    /// A password the directory accepts for anyone (long, strong, unused).
    pub strong_password: SecretString,
    /// A second one, different from the first.
    pub strong_password_2: SecretString,
    /// Failed binds that lock an account, if the directory locks.
    pub lockout_threshold: Option<u32>,
    /// The directory's own minimum length, if it enforces one (then a too-short password is
    /// Rejected with a `too_short` rule).
    pub min_length: Option<usize>,
}

/// The fewest users the story needs: one per step below.
pub const STORY_USERS: usize = 6;

/// Runs every step; panics with a message naming the step and the user on the first failure.
pub async fn run(dir: &dyn Directory, fx: &StoryFixture) {
    assert!(
        fx.users.len() >= STORY_USERS,
        "story: the fixture has {} users, the story needs {STORY_USERS}",
        fx.users.len()
    );
    assert_ne!(
        fx.strong_password, fx.strong_password_2,
        "story: the two strong passwords must differ"
    );
    if let Some(threshold) = fx.lockout_threshold {
        // Steps allow two failed binds between successful ones (see the module comment).
        assert!(
            threshold >= 3,
            "story: a lockout threshold of {threshold} is too low for the story; use 3 or more"
        );
    }

    find_and_rules(dir, fx, &fx.users[0]).await;
    verify(dir, &fx.users[1]).await;
    admin_reset_must_change_then_change(dir, fx, &fx.users[2]).await;
    lockout_and_unlock(dir, fx, &fx.users[3]).await;
    reset_clears_lockout(dir, fx, &fx.users[4]).await;
    change_refusals_then_change(dir, fx, &fx.users[5]).await;
    unknown_key(dir, fx, &fx.users[0]).await;
}

/// Finds the user or panics, naming the step.
async fn find(dir: &dyn Directory, step: &str, id: &UserId) -> DirectoryUser {
    dir.find_user(id)
        .await
        .unwrap_or_else(|e| panic!("{step}: find_user({id}) failed: {e}"))
        .unwrap_or_else(|| panic!("{step}: find_user({id}) found nobody"))
}

/// Binds and returns the outcome, or panics naming the step.
async fn bind(dir: &dyn Directory, step: &str, key: &str, password: &SecretString) -> BindOutcome {
    dir.verify_password(key, password)
        .await
        .unwrap_or_else(|e| panic!("{step}: verify_password({key}) failed: {e}"))
}

/// Asserts a bind's outcome; `what` says which password was tried (never the password itself).
async fn expect_bind(
    dir: &dyn Directory,
    step: &str,
    key: &str,
    password: &SecretString,
    what: &str,
    want: BindOutcome,
) {
    let got = bind(dir, step, key, password).await;
    assert_eq!(got, want, "{step}: binding {key} with {what}");
}

/// A password no one has: the user's own with a suffix, so it is wrong but plausible.
fn wrong(password: &SecretString, n: u32) -> SecretString {
    SecretString::new(format!("{}-wrong-{n}", password.expose()))
}

/// Rule codes of a `Rejected` error, or a panic naming what came instead.
fn rejected_codes(step: &str, result: Result<(), DirectoryError>) -> Vec<&'static str> {
    match result {
        Err(DirectoryError::Rejected(rules)) => rules.iter().map(|r| r.code()).collect(),
        other => panic!("{step}: expected Rejected, got {other:?}"),
    }
}

/// Step 1: the id finds the user, the user's other names find the same key, and neither the
/// unknown id nor ids that look like filter or query injection find anybody.
async fn find_and_rules(dir: &dyn Directory, fx: &StoryFixture, user: &StoryUser) {
    let step = "find";
    let found = find(dir, step, &user.id).await;
    assert!(
        !found.key.is_empty(),
        "{step}: {} has an empty key",
        user.id
    );
    assert!(
        !found.state.locked && !found.state.disabled,
        "{step}: the fresh user {} should be neither locked nor disabled: {:?}",
        user.id,
        found.state
    );
    let again = find(dir, step, &user.id).await;
    assert_eq!(
        again.key, found.key,
        "{step}: the key of {} must be stable",
        user.id
    );

    // Every name the directory reports for the user is an id form that must find them again.
    // An address with characters no one may type as a user id (`+` tags) is skipped.
    let mut names = vec![found.login.clone(), found.account_name.clone()];
    names.extend(found.email.clone());
    let ids: Vec<UserId> = names.iter().filter_map(|n| UserId::parse(n).ok()).collect();
    assert!(
        !ids.is_empty(),
        "{step}: neither login {:?} nor account name {:?} of {} is a UserId",
        found.login,
        found.account_name,
        user.id
    );
    for id in &ids {
        let by_name = find(dir, step, id).await;
        assert_eq!(
            by_name.key, found.key,
            "{step}: {id} should find the same user as {}",
            user.id
        );
    }

    let nobody = dir
        .find_user(&fx.unknown)
        .await
        .unwrap_or_else(|e| panic!("{step}: find_user({}) failed: {e}", fx.unknown));
    assert!(
        nobody.is_none(),
        "{step}: the unknown id {} found {nobody:?}",
        fx.unknown
    );

    // Ids that UserId accepts but that a careless adapter would turn into wildcards or extra
    // syntax: LDAP's `\2a` is `*`, SQL LIKE's `%` and `_`, a quote, a space, a fake domain.
    let account = found.account_name.to_lowercase();
    let first: String = account.chars().take(1).collect();
    let all_but_last: String = account
        .chars()
        .take(account.chars().count().saturating_sub(1))
        .collect();
    let tricky = [
        format!("{first}\\2a"),
        format!("{account}\\x"),
        format!("{first}%"),
        format!("{all_but_last}_"),
        format!("{account}'--"),
        format!("{account} x"),
        format!("{first} {account}"),
    ];
    for raw in &tricky {
        let id = UserId::parse(raw)
            .unwrap_or_else(|e| panic!("{step}: the probe {raw:?} should be a UserId: {e}"));
        let hit = dir
            .find_user(&id)
            .await
            .unwrap_or_else(|e| panic!("{step}: find_user({id}) failed: {e}"));
        assert!(
            hit.is_none(),
            "{step}: the injection-looking id {id} must find nobody, found {hit:?}"
        );
    }

    let rules = dir
        .password_rules(&found)
        .await
        .unwrap_or_else(|e| panic!("{step}: password_rules({}) failed: {e}", found.key));
    if let Some(min) = fx.min_length {
        assert_eq!(
            rules.min_length,
            Some(min),
            "{step}: password_rules should report the directory's minimum length"
        );
    }
    if let Some(threshold) = fx.lockout_threshold {
        assert_eq!(
            rules.lockout_threshold,
            Some(threshold),
            "{step}: password_rules should report the lockout threshold"
        );
    }
}

/// Step 2: the right password is Valid, a wrong one Invalid, and the right one again Valid.
async fn verify(dir: &dyn Directory, user: &StoryUser) {
    let step = "verify";
    let key = find(dir, step, &user.id).await.key;
    let pw = &user.password;
    expect_bind(
        dir,
        step,
        &key,
        pw,
        "the right password",
        BindOutcome::Valid,
    )
    .await;
    let bad = wrong(pw, 1);
    expect_bind(
        dir,
        step,
        &key,
        &bad,
        "a wrong password",
        BindOutcome::Invalid,
    )
    .await;
    expect_bind(
        dir,
        step,
        &key,
        pw,
        "the right password after a wrong one",
        BindOutcome::Valid,
    )
    .await;
}

/// Step 3: an administrator's reset with must-change; the new password binds (must change), the
/// old one does not; the user's change then clears must-change.
async fn admin_reset_must_change_then_change(
    dir: &dyn Directory,
    fx: &StoryFixture,
    user: &StoryUser,
) {
    let step = "admin reset";
    let key = find(dir, step, &user.id).await.key;
    let reset = ResetOptions {
        unlock: false,
        must_change: true,
    };
    dir.set_password(&key, &fx.strong_password, reset)
        .await
        .unwrap_or_else(|e| panic!("{step}: set_password({key}) failed: {e}"));
    expect_bind(
        dir,
        step,
        &key,
        &fx.strong_password,
        "the reset password (must change)",
        BindOutcome::ValidMustChange,
    )
    .await;
    assert!(
        find(dir, step, &user.id).await.state.must_change,
        "{step}: after a must-change reset, {} should show must_change",
        user.id
    );
    expect_bind(
        dir,
        step,
        &key,
        &user.password,
        "the password from before the reset",
        BindOutcome::Invalid,
    )
    .await;

    let step = "change after must-change reset";
    dir.change_password(&key, &fx.strong_password, &fx.strong_password_2)
        .await
        .unwrap_or_else(|e| panic!("{step}: change_password({key}) failed: {e}"));
    expect_bind(
        dir,
        step,
        &key,
        &fx.strong_password_2,
        "the changed password",
        BindOutcome::Valid,
    )
    .await;
    assert!(
        !find(dir, step, &user.id).await.state.must_change,
        "{step}: a change should clear must_change for {}",
        user.id
    );
    expect_bind(
        dir,
        step,
        &key,
        &fx.strong_password,
        "the reset password after the change",
        BindOutcome::Invalid,
    )
    .await;
}

/// Binds wrongly until the account locks; the bind that reaches the threshold may report
/// Invalid or Locked, depending on the directory.
async fn lock_out(dir: &dyn Directory, step: &str, key: &str, pw: &SecretString, threshold: u32) {
    for n in 1..=threshold {
        let got = bind(dir, step, key, &wrong(pw, n)).await;
        if n < threshold {
            assert_eq!(
                got,
                BindOutcome::Invalid,
                "{step}: wrong bind {n} of {threshold} on {key}"
            );
        } else {
            assert!(
                matches!(got, BindOutcome::Invalid | BindOutcome::Locked),
                "{step}: wrong bind {n} of {threshold} on {key} should be Invalid or Locked, got {got:?}"
            );
        }
    }
    expect_bind(
        dir,
        step,
        key,
        pw,
        "the right password while locked",
        BindOutcome::Locked,
    )
    .await;
}

/// Step 4: enough wrong binds lock the account, even the right password then reports Locked,
/// find shows it, and unlock brings the password back.
async fn lockout_and_unlock(dir: &dyn Directory, fx: &StoryFixture, user: &StoryUser) {
    let step = "lockout";
    let key = find(dir, step, &user.id).await.key;
    if let Some(threshold) = fx.lockout_threshold {
        lock_out(dir, step, &key, &user.password, threshold).await;
        assert!(
            find(dir, step, &user.id).await.state.locked,
            "{step}: {} should show locked after {threshold} wrong binds",
            user.id
        );
        let refused = dir
            .change_password(&key, &user.password, &fx.strong_password)
            .await;
        assert!(
            matches!(refused, Err(DirectoryError::Locked)),
            "{step}: changing a locked account's password should be Locked, got {refused:?}"
        );
    }

    let step = "unlock";
    dir.unlock(&key)
        .await
        .unwrap_or_else(|e| panic!("{step}: unlock({key}) failed: {e}"));
    assert!(
        !find(dir, step, &user.id).await.state.locked,
        "{step}: {} should not show locked after unlock",
        user.id
    );
    expect_bind(
        dir,
        step,
        &key,
        &user.password,
        "the right password after unlock",
        BindOutcome::Valid,
    )
    .await;
}

/// Step 5: an administrator's reset with `unlock` clears a lockout and sets a password that binds
/// without must-change.
async fn reset_clears_lockout(dir: &dyn Directory, fx: &StoryFixture, user: &StoryUser) {
    let step = "reset with unlock";
    let key = find(dir, step, &user.id).await.key;
    if let Some(threshold) = fx.lockout_threshold {
        lock_out(dir, step, &key, &user.password, threshold).await;
    }
    let reset = ResetOptions {
        unlock: true,
        must_change: false,
    };
    dir.set_password(&key, &fx.strong_password, reset)
        .await
        .unwrap_or_else(|e| panic!("{step}: set_password({key}) failed: {e}"));
    let state = find(dir, step, &user.id).await.state;
    assert!(
        !state.locked && !state.must_change,
        "{step}: {} should be neither locked nor must-change: {state:?}",
        user.id
    );
    expect_bind(
        dir,
        step,
        &key,
        &fx.strong_password,
        "the reset password",
        BindOutcome::Valid,
    )
    .await;
    expect_bind(
        dir,
        step,
        &key,
        &user.password,
        "the password from before the reset",
        BindOutcome::Invalid,
    )
    .await;
}

/// Step 6: a change with a wrong old password, reusing the current one or too short is refused and
/// changes nothing; then a proper change works.
async fn change_refusals_then_change(dir: &dyn Directory, fx: &StoryFixture, user: &StoryUser) {
    let step = "change with a wrong old password";
    let key = find(dir, step, &user.id).await.key;
    let pw = &user.password;
    let result = dir
        .change_password(&key, &wrong(pw, 1), &fx.strong_password)
        .await;
    assert!(
        matches!(result, Err(DirectoryError::InvalidCredentials)),
        "{step}: expected InvalidCredentials, got {result:?}"
    );
    expect_bind(
        dir,
        step,
        &key,
        pw,
        "the unchanged password",
        BindOutcome::Valid,
    )
    .await;
    expect_bind(
        dir,
        step,
        &key,
        &fx.strong_password,
        "the refused new password",
        BindOutcome::Invalid,
    )
    .await;
    // A successful bind resets the failure count before the next refusals.
    expect_bind(
        dir,
        step,
        &key,
        pw,
        "the unchanged password",
        BindOutcome::Valid,
    )
    .await;

    let step = "change reusing the current password";
    let codes = rejected_codes(step, dir.change_password(&key, pw, pw).await);
    assert!(
        codes.contains(&"in_history"),
        "{step}: expected an in_history rule, got {codes:?}"
    );
    expect_bind(
        dir,
        step,
        &key,
        pw,
        "the unchanged password",
        BindOutcome::Valid,
    )
    .await;

    if let Some(min) = fx.min_length {
        let step = "change to a too-short password";
        let short = SecretString::new(
            fx.strong_password
                .expose()
                .chars()
                .take(min.saturating_sub(1))
                .collect::<String>(),
        );
        let codes = rejected_codes(step, dir.change_password(&key, pw, &short).await);
        assert!(
            codes.contains(&"too_short"),
            "{step}: expected a too_short rule, got {codes:?}"
        );
        expect_bind(
            dir,
            step,
            &key,
            pw,
            "the unchanged password",
            BindOutcome::Valid,
        )
        .await;
    }

    let step = "change";
    dir.change_password(&key, pw, &fx.strong_password)
        .await
        .unwrap_or_else(|e| panic!("{step}: change_password({key}) failed: {e}"));
    expect_bind(
        dir,
        step,
        &key,
        &fx.strong_password,
        "the new password",
        BindOutcome::Valid,
    )
    .await;
    expect_bind(
        dir,
        step,
        &key,
        pw,
        "the old password",
        BindOutcome::Invalid,
    )
    .await;
}

/// A key no user has, in the same shape as a real one, so the backend answers "no such user"
/// rather than "malformed key": a DN gets a different first value, anything else (hex ids,
/// GUIDs) a different last hex digit.
fn missing_key(key: &str) -> String {
    if let Some((attribute, rest)) = key.split_once('=') {
        return format!("{attribute}=latchkey-story-missing-{rest}");
    }
    if let Some((i, c)) = key.char_indices().rfind(|(_, c)| c.is_ascii_hexdigit()) {
        let flipped = if c == '0' { '1' } else { '0' };
        let mut out = String::with_capacity(key.len());
        out.push_str(&key[..i]);
        out.push(flipped);
        out.push_str(&key[i + c.len_utf8()..]);
        return out;
    }
    format!("{key}-latchkey-story-missing")
}

/// Step 7: writes to a key no user has are NotFound. Uses the find step's user only to learn
/// what keys look like; it changes nothing.
async fn unknown_key(dir: &dyn Directory, fx: &StoryFixture, user: &StoryUser) {
    let step = "unknown key";
    let real = find(dir, step, &user.id).await.key;
    let key = missing_key(&real);
    assert_ne!(key, real, "{step}: the made-up key must differ from {real}");

    let set = dir
        .set_password(&key, &fx.strong_password, ResetOptions::default())
        .await;
    assert!(
        matches!(set, Err(DirectoryError::NotFound)),
        "{step}: set_password({key}) should be NotFound, got {set:?}"
    );
    let change = dir
        .change_password(&key, &fx.strong_password, &fx.strong_password_2)
        .await;
    assert!(
        matches!(change, Err(DirectoryError::NotFound)),
        "{step}: change_password({key}) should be NotFound, got {change:?}"
    );
    expect_bind(
        dir,
        step,
        &real,
        &user.password,
        "the untouched password",
        BindOutcome::Valid,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::missing_key;

    #[test]
    fn missing_keys_keep_the_shape() {
        assert_eq!(
            missing_key("uid=alice,ou=people,dc=example,dc=org"),
            "uid=latchkey-story-missing-alice,ou=people,dc=example,dc=org"
        );
        assert_eq!(missing_key("0a1b"), "0a10");
        assert_eq!(missing_key("0a10"), "0a11");
        assert_eq!(missing_key("zz"), "zz-latchkey-story-missing");
    }
}
