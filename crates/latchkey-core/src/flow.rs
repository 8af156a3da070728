//! The anonymous recovery flow as a state machine: a person proves who they are with
//! `methods_required` distinct registered methods, then resets the password or unlocks the
//! account, once, before the flow expires.

use std::fmt;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::ids::{FlowId, MethodId};

/// What the person came to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// Forgot the password: set a new one (this also unlocks the account).
    Reset,
    /// Locked out: unlock, keeping the password, or set a new one after all.
    Unlock,
}

impl Intent {
    /// Stable name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Reset => "reset",
            Intent::Unlock => "unlock",
        }
    }

    /// Inverse of [`Intent::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reset" => Some(Intent::Reset),
            "unlock" => Some(Intent::Unlock),
            _ => None,
        }
    }
}

/// The kinds of verification method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodKind {
    /// A 6-digit code sent by email.
    Email,
    /// A 6-digit code sent by text message.
    Sms,
    /// A phone call; the person presses `#`.
    Voice,
    /// Registered security questions.
    Questions,
}

impl MethodKind {
    /// Stable name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::Email => "email",
            MethodKind::Sms => "sms",
            MethodKind::Voice => "voice",
            MethodKind::Questions => "questions",
        }
    }

    /// Inverse of [`MethodKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(MethodKind::Email),
            "sms" => Some(MethodKind::Sms),
            "voice" => Some(MethodKind::Voice),
            "questions" => Some(MethodKind::Questions),
            _ => None,
        }
    }
}

/// A method offered in a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedMethod {
    /// The registration's id (or a decoy id).
    pub id: MethodId,
    /// Its kind.
    pub kind: MethodKind,
    /// Masked contact data shown to the person.
    pub hint: String,
}

/// Who the flow is about.
#[derive(Clone, PartialEq, Eq)]
pub enum Subject {
    /// A real, registered user, by their directory key.
    User {
        /// The directory's stable key for the user.
        directory_key: String,
        /// The user id as typed and normalised.
        user_id: String,
    },
    /// Nobody: the id is unknown or unregistered, and the flow only looks real.
    Decoy {
        /// The user id as typed and normalised.
        user_id: String,
    },
}

impl Subject {
    /// The user id the flow was started for.
    pub fn user_id(&self) -> &str {
        match self {
            Subject::User { user_id, .. } | Subject::Decoy { user_id } => user_id,
        }
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User { user_id, .. } => write!(f, "User({user_id})"),
            // The same output for decoys, so a stray debug print cannot tell them apart.
            Subject::Decoy { user_id } => write!(f, "User({user_id})"),
        }
    }
}

/// Where a flow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowState {
    /// Still proving identity.
    Verifying,
    /// Enough methods verified; waiting for the new password or the unlock.
    Verified,
    /// Done; the flow can do nothing more.
    Completed,
}

impl FlowState {
    /// Stable name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowState::Verifying => "verifying",
            FlowState::Verified => "verified",
            FlowState::Completed => "completed",
        }
    }

    /// Inverse of [`FlowState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "verifying" => Some(FlowState::Verifying),
            "verified" => Some(FlowState::Verified),
            "completed" => Some(FlowState::Completed),
            _ => None,
        }
    }
}

/// Why a step is not allowed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// The flow's time is over.
    #[error("this reset session has expired; start again")]
    Expired,
    /// The flow already reset or unlocked the account.
    #[error("this reset session is already complete")]
    Completed,
    /// The method is not one the flow offered.
    #[error("that verification method is not available")]
    UnknownMethod,
    /// The method was already verified; another one is needed.
    #[error("that method is already verified; choose another one")]
    AlreadyVerified,
    /// Not enough methods verified yet.
    #[error("verify your identity first")]
    NotVerified,
    /// Unlocking was asked of a flow started to reset a password.
    #[error("this session was started to reset a password, not to unlock")]
    WrongIntent,
}

/// Progress after a method was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Distinct methods verified.
    pub verified: u8,
    /// Methods required.
    pub required: u8,
}

impl Progress {
    /// Whether identity is now proven.
    pub fn complete(self) -> bool {
        self.verified >= self.required
    }
}

/// A recovery flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// Its id, which the anonymous caller holds.
    pub id: FlowId,
    /// What the person came to do.
    pub intent: Intent,
    /// Who it is about.
    pub subject: Subject,
    /// The methods offered.
    pub methods: Vec<OfferedMethod>,
    /// How many distinct methods must be verified.
    pub methods_required: u8,
    /// Methods verified so far, in order.
    pub verified: Vec<MethodId>,
    /// Where it stands.
    pub state: FlowState,
    /// When it started.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Optimistic-concurrency version, bumped by the store on every update.
    pub version: i64,
}

impl Flow {
    /// A new flow in the `Verifying` state.
    pub fn start(
        id: FlowId,
        intent: Intent,
        subject: Subject,
        methods: Vec<OfferedMethod>,
        methods_required: u8,
        now: Timestamp,
        lifetime: Duration,
    ) -> Self {
        Self {
            id,
            intent,
            subject,
            methods,
            methods_required: methods_required.max(1),
            verified: Vec::new(),
            state: FlowState::Verifying,
            created_at: now,
            expires_at: now.plus(lifetime),
            version: 0,
        }
    }

    fn ensure_live(&self, now: Timestamp) -> Result<(), FlowError> {
        if self.state == FlowState::Completed {
            return Err(FlowError::Completed);
        }
        if now >= self.expires_at {
            return Err(FlowError::Expired);
        }
        Ok(())
    }

    /// Checks that a challenge may be started for `method` now, and returns it.
    pub fn begin_challenge(
        &self,
        method: &MethodId,
        now: Timestamp,
    ) -> Result<&OfferedMethod, FlowError> {
        self.ensure_live(now)?;
        let offered = self
            .methods
            .iter()
            .find(|m| &m.id == method)
            .ok_or(FlowError::UnknownMethod)?;
        if self.verified.contains(method) {
            return Err(FlowError::AlreadyVerified);
        }
        if self.state == FlowState::Verified {
            return Err(FlowError::AlreadyVerified);
        }
        Ok(offered)
    }

    /// Records that `method` was verified.
    pub fn record_verified(
        &mut self,
        method: &MethodId,
        now: Timestamp,
    ) -> Result<Progress, FlowError> {
        self.begin_challenge(method, now)?;
        self.verified.push(method.clone());
        let progress = self.progress();
        if progress.complete() {
            self.state = FlowState::Verified;
        }
        Ok(progress)
    }

    /// Distinct methods verified against the number required.
    pub fn progress(&self) -> Progress {
        Progress {
            verified: u8::try_from(self.verified.len()).unwrap_or(u8::MAX),
            required: self.methods_required,
        }
    }

    /// Checks that the flow may finish with `action` now.
    pub fn ready_to_finish(&self, action: Intent, now: Timestamp) -> Result<(), FlowError> {
        self.ensure_live(now)?;
        if self.state != FlowState::Verified {
            return Err(FlowError::NotVerified);
        }
        // An unlock flow may end in a reset ("unlock or change your password", as Entra offers),
        // but a reset flow does not silently turn into an unlock.
        if action == Intent::Unlock && self.intent == Intent::Reset {
            return Err(FlowError::WrongIntent);
        }
        Ok(())
    }

    /// Marks the flow done; it can do nothing more.
    pub fn complete(&mut self, action: Intent, now: Timestamp) -> Result<(), FlowError> {
        self.ready_to_finish(action, now)?;
        self.state = FlowState::Completed;
        Ok(())
    }

    /// Whether the flow is a decoy.
    pub fn is_decoy(&self) -> bool {
        matches!(self.subject, Subject::Decoy { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn flow(required: u8, intent: Intent) -> (Flow, MethodId, MethodId, Timestamp) {
        let rng = SeededRandom::new(4);
        let a = MethodId::generate(&rng);
        let b = MethodId::generate(&rng);
        let now = Timestamp::from_millis(10_000);
        let methods = vec![
            OfferedMethod {
                id: a.clone(),
                kind: MethodKind::Email,
                hint: "a•••@x.org".into(),
            },
            OfferedMethod {
                id: b.clone(),
                kind: MethodKind::Email,
                hint: "b•••@y.org".into(),
            },
        ];
        let subject = Subject::User {
            directory_key: "k".into(),
            user_id: "alice".into(),
        };
        (
            Flow::start(
                FlowId::generate(&rng),
                intent,
                subject,
                methods,
                required,
                now,
                Duration::from_secs(900),
            ),
            a,
            b,
            now,
        )
    }

    #[test]
    fn one_method_then_reset() {
        let (mut f, a, b, now) = flow(1, Intent::Reset);
        assert_eq!(
            f.ready_to_finish(Intent::Reset, now),
            Err(FlowError::NotVerified)
        );
        let p = f.record_verified(&a, now).unwrap();
        assert!(p.complete());
        assert_eq!(
            f.begin_challenge(&b, now).unwrap_err(),
            FlowError::AlreadyVerified,
            "no more challenges once verified"
        );
        assert_eq!(
            f.ready_to_finish(Intent::Unlock, now),
            Err(FlowError::WrongIntent)
        );
        f.complete(Intent::Reset, now).unwrap();
        assert_eq!(
            f.complete(Intent::Reset, now),
            Err(FlowError::Completed),
            "a flow resets once"
        );
        assert_eq!(
            f.begin_challenge(&a, now).unwrap_err(),
            FlowError::Completed
        );
    }

    #[test]
    fn two_distinct_methods_required() {
        let (mut f, a, b, now) = flow(2, Intent::Unlock);
        let p = f.record_verified(&a, now).unwrap();
        assert_eq!((p.verified, p.required, p.complete()), (1, 2, false));
        assert_eq!(
            f.record_verified(&a, now).unwrap_err(),
            FlowError::AlreadyVerified,
            "the same method twice does not count"
        );
        assert_eq!(
            f.ready_to_finish(Intent::Unlock, now),
            Err(FlowError::NotVerified)
        );
        assert!(f.record_verified(&b, now).unwrap().complete());
        // An unlock flow may still choose a new password.
        assert_eq!(f.ready_to_finish(Intent::Reset, now), Ok(()));
        f.complete(Intent::Unlock, now).unwrap();
    }

    #[test]
    fn unknown_method_and_expiry() {
        let (mut f, a, _, now) = flow(1, Intent::Reset);
        let stranger = MethodId::generate(&SeededRandom::new(99));
        assert_eq!(
            f.begin_challenge(&stranger, now).unwrap_err(),
            FlowError::UnknownMethod
        );
        let late = now.plus(Duration::from_secs(900));
        assert_eq!(f.begin_challenge(&a, late).unwrap_err(), FlowError::Expired);
        assert_eq!(f.record_verified(&a, late).unwrap_err(), FlowError::Expired);
        f.record_verified(&a, now).unwrap();
        assert_eq!(f.complete(Intent::Reset, late), Err(FlowError::Expired));
    }

    #[test]
    fn names_round_trip() {
        for i in [Intent::Reset, Intent::Unlock] {
            assert_eq!(Intent::parse(i.as_str()), Some(i));
        }
        for k in [
            MethodKind::Email,
            MethodKind::Sms,
            MethodKind::Voice,
            MethodKind::Questions,
        ] {
            assert_eq!(MethodKind::parse(k.as_str()), Some(k));
        }
        for s in [
            FlowState::Verifying,
            FlowState::Verified,
            FlowState::Completed,
        ] {
            assert_eq!(FlowState::parse(s.as_str()), Some(s));
        }
        assert_eq!(Intent::parse("RESET"), None);
    }

    #[test]
    fn decoy_debug_matches_real() {
        let real = Subject::User {
            directory_key: "k".into(),
            user_id: "x".into(),
        };
        let decoy = Subject::Decoy {
            user_id: "x".into(),
        };
        assert_eq!(format!("{real:?}"), format!("{decoy:?}"));
    }
}
