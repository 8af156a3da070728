// Generated from crates/latchkey-proto by its `bindings` test; do not edit.
// Regenerate: LATCHKEY_BLESS=1 cargo test -p latchkey-proto bindings

export type ErrorBody = { 
/**
 * Stable machine code, e.g. `code_invalid`, `password_rejected`, `rate_limited`.
 */
code: string, 
/**
 * A plain sentence for people.
 */
message: string, 
/**
 * Every rule a rejected password breaks (with `password_rejected`).
 */
violations?: Array<Violation>, 
/**
 * Seconds to wait before trying again (with `rate_limited`).
 */
retry_after?: number | null, 
/**
 * Tries left for this code (with `code_invalid`).
 */
attempts_left?: number | null, 
/**
 * Where to get help (with `contact_administrator`).
 */
help_desk?: HelpDesk | null, };

export type Violation = { 
/**
 * Stable rule code: `too_short`, `too_long`, `banned`, `contains_user_name`, `too_weak`,
 * `too_few_classes`, `in_history`, `control_characters`, or a directory's own.
 */
rule: string, 
/**
 * A plain sentence.
 */
message: string, };

export type HelpDesk = { 
/**
 * Email address.
 */
email?: string | null, 
/**
 * Phone number.
 */
phone?: string | null, 
/**
 * Web page.
 */
url?: string | null, };

export type ServiceConfig = { 
/**
 * Organisation name and branding.
 */
organisation: Organisation, 
/**
 * Which intents are enabled.
 */
intents: Intents, 
/**
 * The password rules, for the new-password screen.
 */
password_policy: PolicySummary, 
/**
 * The CAPTCHA in use.
 */
captcha: CaptchaKind, 
/**
 * Code length and timings, for the code screen.
 */
codes: CodeSummary, };

export type Organisation = { 
/**
 * Display name, e.g. "Contoso".
 */
name: string, 
/**
 * Logo URL, if configured.
 */
logo_url?: string | null, 
/**
 * Help-desk contact.
 */
help_desk: HelpDesk, };

export type Intents = { 
/**
 * Forgot password.
 */
reset: boolean, 
/**
 * Unlock account.
 */
unlock: boolean, 
/**
 * Change a known password.
 */
change: boolean, };

export type PolicySummary = { 
/**
 * Minimum length in characters.
 */
min_length: number, 
/**
 * Maximum length in characters.
 */
max_length: number, 
/**
 * Minimum zxcvbn score (0–4), 0 when off.
 */
min_score: number, 
/**
 * Character classes required, 0 when off.
 */
required_classes: number, 
/**
 * Previous passwords that cannot be reused, 0 when off.
 */
history: number, 
/**
 * Whether the user's names are refused.
 */
reject_user_names: boolean, 
/**
 * Whether common and banned passwords are refused.
 */
banned_list: boolean, };

export type CaptchaKind = "image" | "off";

export type CodeSummary = { 
/**
 * Digits in a code.
 */
length: number, 
/**
 * Seconds a code stays valid.
 */
lifetime_secs: number, 
/**
 * Seconds before another code can be sent to the same method.
 */
resend_after_secs: number, };

export type CaptchaRequest = { 
/**
 * `image` (default) or `text`, the accessible alternative.
 */
variant: CaptchaVariant | null, };

export type CaptchaVariant = "image" | "text";

export type CaptchaChallenge = { 
/**
 * Send this back with the answer.
 */
captcha_id: string, 
/**
 * Which variant this is.
 */
variant: CaptchaVariant, 
/**
 * The image as `data:image/png;base64,...` (image variant).
 */
image?: string | null, 
/**
 * Image width in pixels.
 */
width?: number | null, 
/**
 * Image height in pixels.
 */
height?: number | null, 
/**
 * What to do: for the image, "Enter the characters you see"; for text, the question.
 */
prompt: string, 
/**
 * Seconds the challenge stays valid.
 */
expires_in: number, };

export type Intent = "reset" | "unlock";

export type StartRecovery = { 
/**
 * What the person typed: `alice@contoso.com`, `CONTOSO\alice` or `alice`.
 */
user_id: string, 
/**
 * Reset or unlock.
 */
intent: Intent, 
/**
 * From `POST /captcha` (ignored when the CAPTCHA is off).
 */
captcha_id: string, 
/**
 * What the person read or answered.
 */
captcha_answer: string, };

export type MethodKind = "email" | "sms" | "voice" | "questions";

export type OfferedMethod = { 
/**
 * Pass to `POST /recovery/{flow_id}/challenges`.
 */
id: string, 
/**
 * Its kind.
 */
kind: MethodKind, 
/**
 * Masked contact data: `j•••@contoso.com`, `+1 ••• ••• ••12`.
 */
hint: string, };

export type RecoveryStarted = { 
/**
 * The flow's id; keep it for the next steps.
 */
flow_id: string, 
/**
 * Reset or unlock.
 */
intent: Intent, 
/**
 * Methods to choose from.
 */
methods: Array<OfferedMethod>, 
/**
 * Distinct methods to verify before the password can be set.
 */
methods_required: number, 
/**
 * Seconds before the flow expires.
 */
expires_in: number, };

export type StartChallenge = { 
/**
 * One of the offered methods.
 */
method_id: string, };

export type ChallengeStarted = { 
/**
 * Pass to the verify endpoint.
 */
challenge_id: string, 
/**
 * The method's kind.
 */
kind: MethodKind, 
/**
 * Where the code went, masked.
 */
hint: string, 
/**
 * Digits in the code.
 */
code_length: number, 
/**
 * Seconds the code stays valid.
 */
expires_in: number, 
/**
 * Seconds before another code can be sent.
 */
resend_after: number, };

export type VerifyChallenge = { 
/**
 * The code received.
 */
code: string, };

export type NextStep = "choose_another_method" | "set_password";

export type ChallengeVerified = { 
/**
 * Distinct methods verified so far.
 */
methods_verified: number, 
/**
 * Distinct methods required.
 */
methods_required: number, 
/**
 * What comes next.
 */
next: NextStep, 
/**
 * The password rules for this user (the directory's fine-grained policy or complexity
 * applied), once every required method is verified.
 */
password_policy?: PolicySummary, };

export type ChallengeStatus = { 
/**
 * The challenge.
 */
challenge_id: string, 
/**
 * `pending`, `verified` or `failed`.
 */
state: string, 
/**
 * Seconds left before the code expires (0 when expired).
 */
expires_in: number, };

export type SetPassword = { 
/**
 * The new password.
 */
new_password: string, };

export type Outcome = "password_reset" | "account_unlocked" | "password_changed";

export type Completed = { 
/**
 * What happened.
 */
outcome: Outcome, 
/**
 * A sentence saying what to do next.
 */
message: string, };

export type ChangePassword = { 
/**
 * The user id.
 */
user_id: string, 
/**
 * The current password.
 */
old_password: string, 
/**
 * The new password.
 */
new_password: string, };

export type CheckPassword = { 
/**
 * The candidate; never stored.
 */
password: string, 
/**
 * The user id, so the user's names can be checked (optional).
 */
user_id: string | null, 
/**
 * A recovery flow, instead of the user id (optional).
 */
flow_id: string | null, };

export type PasswordRating = { 
/**
 * Whether it breaks no rule (history aside, which needs the user's proof).
 */
acceptable: boolean, 
/**
 * zxcvbn score, 0–4.
 */
score: number, 
/**
 * log10 of the estimated guesses.
 */
guesses_log10: number, 
/**
 * zxcvbn's warning, if any.
 */
warning?: string | null, 
/**
 * zxcvbn's suggestions.
 */
suggestions: Array<string>, 
/**
 * Every rule broken.
 */
violations: Array<Violation>, };

export type Health = { 
/**
 * `ok` or `unavailable`.
 */
status: string, 
/**
 * Per dependency: `store`, `directory`.
 */
checks?: Array<HealthCheck>, };

export type HealthCheck = { 
/**
 * `store` or `directory`.
 */
name: string, 
/**
 * `ok` or `unavailable`.
 */
status: string, };
