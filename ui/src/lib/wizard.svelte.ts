//! The wizard's whole state and every step it can take, in one place. Screens read it and call
//! its methods; they hold no state of their own beyond what is purely visual (show/hide,
//! caps lock). Everything the user typed lives here, so a failed request loses nothing and
//! Cancel can forget everything at once.

import { tick } from 'svelte';
import type { Backend, BackendError, HostInfo } from './backend/backend';
import type {
  CaptchaChallenge,
  CaptchaVariant,
  ChallengeStarted,
  HelpDesk,
  Intent,
  Outcome,
  PasswordRating,
  PolicySummary,
  RecoveryStarted,
  ServiceConfig,
  StartRecovery,
  Violation,
} from './bindings';
import { isCompleteCode, normalizeCode } from './code';
import { endsFlow, errorText, toBackendError } from './errors';
import { setLocale, t } from './i18n/index.svelte';
import { passwordLength } from './password';

export type ScreenName =
  | 'loading'
  | 'start'
  | 'identify'
  | 'methods'
  | 'code'
  | 'password'
  | 'done'
  | 'contact'
  | 'change'
  | 'problem';

/** What the person came to do. */
export type Purpose = Intent | 'change';

/** Fields that can carry an error; each is also the id of its input. */
export type Field = 'user-id' | 'captcha-answer' | 'code' | 'new-password' | 'confirm-password' | 'old-password';

/** A failure shown above the screen's buttons, with the request to repeat if it may help. */
export interface Notice {
  error: BackendError;
  text: string;
  retry: (() => void) | null;
}

/** A failure that replaces the screen (bad desktop config, expired flow, no service at start). */
export interface Problem {
  error: BackendError;
  retry: (() => void) | null;
  startAgain: boolean;
}

/** Why the current code can no longer be used, so the code screen offers a new one. */
export type CodeDead = 'expired' | 'too_many_attempts' | 'used' | null;

export class Wizard {
  readonly backend: Backend;
  host = $state<HostInfo | null>(null);
  config = $state<ServiceConfig | null>(null);
  screen = $state<ScreenName>('loading');
  notice = $state<Notice | null>(null);
  problem = $state<Problem | null>(null);
  #pending = $state(0);
  /** True while any request is on its way: buttons disable, a spinner and "Working…" show. */
  busy = $derived(this.#pending > 0);

  purpose = $state<Purpose>('reset');
  userId = $state('');
  captcha = $state<CaptchaChallenge | null>(null);
  captchaVariant = $state<CaptchaVariant>('image');
  captchaAnswer = $state('');
  errors = $state<Partial<Record<Field, string>>>({});

  flow = $state<RecoveryStarted | null>(null);
  verified = $state<string[]>([]);
  methodId = $state<string | null>(null);
  challenge = $state<ChallengeStarted | null>(null);
  code = $state('');
  attemptsLeft = $state<number | null>(null);
  /** When another code may be sent (ms since the epoch). */
  resendAt = $state(0);
  codeDead = $state<CodeDead>(null);

  oldPassword = $state('');
  newPassword = $state('');
  confirmPassword = $state('');
  rating = $state<PasswordRating | null>(null);
  /** The rules for the proven user (their directory's policy applied), once verified. */
  userPolicy = $state<PolicySummary | null>(null);
  /** Rules the service refused the last submitted password for, until it is edited. */
  rejected = $state<Violation[]>([]);

  outcome = $state<Outcome | null>(null);
  helpDesk = $state<HelpDesk | null>(null);

  /** Bumped by Cancel: answers to requests made before it are dropped on arrival. */
  #epoch = 0;
  #ratingSeq = 0;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** The rules the new-password screen shows and checks: the user's own once known. */
  get policy(): PolicySummary | null {
    return this.userPolicy ?? this.config?.password_policy ?? null;
  }

  get kiosk(): boolean {
    return this.host?.kiosk ?? false;
  }

  /** The organisation's help desk, as the service's error told it or as configured. */
  get contact(): HelpDesk {
    return this.helpDesk ?? this.config?.organisation.help_desk ?? {};
  }

  /** Whether `id` has already been verified in this flow. */
  isVerified(id: string): boolean {
    return this.verified.includes(id);
  }

  // ---- start -------------------------------------------------------------------------------

  /** Learns where we run and loads the service's configuration; the first thing to call. */
  async boot(): Promise<void> {
    this.screen = 'loading';
    this.problem = null;
    let host: HostInfo;
    try {
      host = await this.backend.host();
    } catch (e) {
      this.#showProblem(toBackendError(e), () => void this.boot());
      return;
    }
    this.host = host;
    setLocale(host.locale);
    if (host.problem) {
      this.#showProblem(host.problem, () => void this.boot());
      return;
    }
    await this.#loadConfig();
  }

  async #loadConfig(): Promise<void> {
    await this.#request(
      () => this.backend.config(),
      (config) => {
        this.config = config;
        this.problem = null;
        this.screen = 'start';
      },
      (e, retry) => {
        // Without the configuration there is no start screen to return to.
        this.#showProblem(e, retry);
        return true;
      },
    );
  }

  /** The person picked what they came to do on the start screen. */
  async choose(purpose: Purpose): Promise<void> {
    this.#clearEntries();
    this.purpose = purpose;
    if (purpose === 'change') {
      this.screen = 'change';
      return;
    }
    this.screen = 'identify';
    if (this.config?.captcha === 'image') await this.loadCaptcha('image');
  }

  // ---- user id and CAPTCHA ------------------------------------------------------------------

  /** A fresh CAPTCHA of `variant` (the current one by default); the old answer goes. */
  async loadCaptcha(variant: CaptchaVariant = this.captchaVariant): Promise<void> {
    this.captchaVariant = variant;
    this.captchaAnswer = '';
    await this.#request(
      () => this.backend.captcha(variant),
      (c) => {
        this.captcha = c;
      },
    );
  }

  async submitIdentity(): Promise<void> {
    const errors: Partial<Record<Field, string>> = {};
    const userId = this.userId.trim();
    const captchaOn = this.config?.captcha !== 'off';
    if (userId === '') errors['user-id'] = t('identify.userIdRequired');
    if (captchaOn && this.captchaAnswer.trim() === '') errors['captcha-answer'] = t('identify.answerRequired');
    if (this.#invalid(errors)) return;

    const req: StartRecovery = {
      user_id: userId,
      intent: this.purpose === 'unlock' ? 'unlock' : 'reset',
      captcha_id: captchaOn ? (this.captcha?.captcha_id ?? '') : '',
      captcha_answer: captchaOn ? this.captchaAnswer.trim() : '',
    };
    await this.#request(
      () => this.backend.startRecovery(req),
      (flow) => {
        this.flow = flow;
        this.verified = [];
        this.methodId = flow.methods[0]?.id ?? null;
        this.screen = 'methods';
      },
      (e) => {
        switch (e.code) {
          case 'captcha_invalid':
            // A CAPTCHA is single use: show a new one at once and keep the user id.
            this.errors = { 'captcha-answer': errorText(e) };
            void this.loadCaptcha().then(() => this.#focus('captcha-answer'));
            return true;
          case 'invalid_user_id':
            this.errors = { 'user-id': errorText(e) };
            void this.#focus('user-id');
            return true;
          default:
            return false;
        }
      },
    );
  }

  // ---- methods and codes -----------------------------------------------------------------

  /** Sends a code through the chosen method and opens the code screen. */
  async sendCode(): Promise<void> {
    const flow = this.flow;
    const methodId = this.methodId;
    if (!flow || !methodId || this.isVerified(methodId)) return;
    await this.#request(
      () => this.backend.startChallenge(flow.flow_id, methodId),
      (ch) => {
        this.challenge = ch;
        this.code = '';
        this.attemptsLeft = null;
        this.codeDead = null;
        this.errors = {};
        this.resendAt = Date.now() + ch.resend_after * 1000;
        this.screen = 'code';
      },
      (e) => {
        if (e.code === 'resend_too_soon' && typeof e.retry_after === 'number') {
          this.resendAt = Date.now() + e.retry_after * 1000;
        }
        return false;
      },
    );
  }

  /** Edits the code field, keeping only digits (so a pasted "123 456" works). */
  setCode(raw: string): void {
    this.code = normalizeCode(raw, this.codeLength);
    if (this.errors.code && !this.codeDead) this.errors = {};
  }

  get codeLength(): number {
    return this.challenge?.code_length ?? this.config?.codes.length ?? 6;
  }

  async verifyCode(): Promise<void> {
    const flow = this.flow;
    const ch = this.challenge;
    const methodId = this.methodId;
    if (!flow || !ch || !methodId) return;
    const code = normalizeCode(this.code, this.codeLength);
    if (!isCompleteCode(code, this.codeLength)) {
      this.#invalid({ code: t('code.incomplete', { length: this.codeLength }) });
      return;
    }
    await this.#request(
      () => this.backend.verify(flow.flow_id, ch.challenge_id, code),
      (v) => {
        this.verified = [...this.verified.filter((id) => id !== methodId), methodId];
        this.challenge = null;
        this.code = '';
        this.errors = {};
        if (v.next === 'choose_another_method') {
          this.methodId = flow.methods.find((m) => !this.isVerified(m.id))?.id ?? null;
          this.screen = 'methods';
        } else {
          this.userPolicy = v.password_policy ?? null;
          this.screen = 'password';
        }
      },
      (e) => {
        const dead: Record<string, CodeDead> = {
          code_expired: 'expired',
          too_many_attempts: 'too_many_attempts',
          code_used: 'used',
          challenge_not_found: 'expired',
        };
        if (e.code === 'code_invalid' || e.code === 'code_malformed') {
          this.attemptsLeft = e.attempts_left ?? this.attemptsLeft;
          this.code = '';
          this.errors = { code: errorText(e) };
          void this.#focus('code');
          return true;
        }
        if (e.code in dead) {
          this.codeDead = dead[e.code] ?? 'expired';
          this.code = '';
          this.errors = { code: errorText(e) };
          // The field is disabled now; the way forward is the "new code" button.
          void this.#focus('new-code');
          return true;
        }
        return false;
      },
    );
  }

  /** Back from the code screen to pick another method. */
  chooseAnotherMethod(): void {
    this.challenge = null;
    this.code = '';
    this.errors = {};
    this.notice = null;
    this.screen = 'methods';
  }

  // ---- new password ------------------------------------------------------------------------

  /** Edits the new password; a rejection's list no longer applies to the edited text. */
  setNewPassword(value: string): void {
    this.newPassword = value;
    this.rejected = [];
    if (this.errors['new-password']) this.errors = { ...this.errors, 'new-password': undefined };
  }

  /** Rates the candidate; only the latest request's answer is kept, failures are quiet. */
  async rate(password: string): Promise<void> {
    const seq = ++this.#ratingSeq;
    if (password === '') {
      this.rating = null;
      return;
    }
    const userId = this.purpose === 'change' ? this.userId.trim() || null : null;
    const flowId = this.purpose === 'change' ? null : (this.flow?.flow_id ?? null);
    try {
      const rating = await this.backend.ratePassword(password, userId, flowId);
      if (seq === this.#ratingSeq) this.rating = rating;
    } catch {
      // The meter is advice; the service still judges the password when it is submitted.
      if (seq === this.#ratingSeq) this.rating = null;
    }
  }

  /** Checks what can be checked here before a password goes to the service. */
  #checkNewPassword(errors: Partial<Record<Field, string>>): void {
    const policy = this.policy;
    const len = passwordLength(this.newPassword);
    if (this.newPassword === '') errors['new-password'] = t('password.required');
    else if (policy && len < policy.min_length) errors['new-password'] = t('violation.too_short', { min: policy.min_length });
    else if (policy && len > policy.max_length) errors['new-password'] = t('violation.too_long', { max: policy.max_length });
    if (this.confirmPassword === '') errors['confirm-password'] = t('password.confirmRequired');
    else if (this.confirmPassword !== this.newPassword) errors['confirm-password'] = t('password.mismatch');
  }

  #onPasswordError = (e: BackendError): boolean => {
    if (e.code !== 'password_rejected') return false;
    this.rejected = e.violations ?? [];
    this.errors = { 'new-password': t('password.rejected') };
    void this.#focus('new-password');
    return true;
  };

  async setPassword(): Promise<void> {
    const flow = this.flow;
    if (!flow) return;
    const errors: Partial<Record<Field, string>> = {};
    this.#checkNewPassword(errors);
    if (this.#invalid(errors)) return;
    const password = this.newPassword;
    await this.#request(
      () => this.backend.setPassword(flow.flow_id, password),
      (done) => this.#finish(done.outcome),
      this.#onPasswordError,
    );
  }

  /** Unlocks and keeps the current password (unlock flows only). */
  async unlock(): Promise<void> {
    const flow = this.flow;
    if (!flow) return;
    await this.#request(
      () => this.backend.unlock(flow.flow_id),
      (done) => this.#finish(done.outcome),
    );
  }

  async changePassword(): Promise<void> {
    const errors: Partial<Record<Field, string>> = {};
    if (this.userId.trim() === '') errors['user-id'] = t('identify.userIdRequired');
    if (this.oldPassword === '') errors['old-password'] = t('change.oldRequired');
    this.#checkNewPassword(errors);
    if (this.#invalid(errors)) return;
    const [userId, oldPassword, newPassword] = [this.userId.trim(), this.oldPassword, this.newPassword];
    await this.#request(
      () => this.backend.changePassword(userId, oldPassword, newPassword),
      (done) => this.#finish(done.outcome),
      (e) => {
        if (e.code === 'invalid_credentials') {
          this.errors = { 'old-password': errorText(e) };
          void this.#focus('old-password');
          return true;
        }
        if (e.code === 'invalid_user_id') {
          this.errors = { 'user-id': errorText(e) };
          void this.#focus('user-id');
          return true;
        }
        return this.#onPasswordError(e);
      },
    );
  }

  #finish(outcome: Outcome): void {
    // The passwords are not needed any more; keep nothing secret in memory longer than needed.
    this.#clearEntries();
    this.outcome = outcome;
    this.screen = 'done';
  }

  // ---- leaving, retrying, forgetting ----------------------------------------------------------

  /** Repeats the request that failed, with exactly what was sent. */
  retry(): void {
    const again = this.notice?.retry ?? this.problem?.retry ?? null;
    this.notice = null;
    again?.();
  }

  /** Back to the start, forgetting everything typed. Every screen offers it. */
  cancel(): void {
    this.#epoch += 1;
    this.#pending = 0;
    this.#clearEntries();
    this.notice = null;
    this.problem = null;
    this.screen = this.config ? 'start' : 'loading';
    if (!this.config) void this.boot();
  }

  /** Leaves the wizard; where the host cannot really leave (a test, a page), back to the start. */
  async close(): Promise<void> {
    this.#clearEntries();
    await this.backend.close();
    this.cancel();
  }

  /** Any sign of life from the person: pushes the kiosk's idle timeout back. */
  touch(): void {
    const secs = this.host?.kiosk ? this.host.idleTimeoutSecs : null;
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (secs && secs > 0) {
      this.#idleTimer = setTimeout(() => {
        this.#idleTimer = null;
        // Nothing one person typed may be left for the next one at a shared screen.
        if (this.screen !== 'start') this.cancel();
        else this.#clearEntries();
      }, secs * 1000);
    }
  }

  /** Stops the idle timer (when the wizard is torn down). */
  dispose(): void {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  #clearEntries(): void {
    this.userId = '';
    this.captcha = null;
    this.captchaVariant = 'image';
    this.captchaAnswer = '';
    this.errors = {};
    this.flow = null;
    this.verified = [];
    this.methodId = null;
    this.challenge = null;
    this.code = '';
    this.attemptsLeft = null;
    this.resendAt = 0;
    this.codeDead = null;
    this.oldPassword = '';
    this.newPassword = '';
    this.confirmPassword = '';
    this.rating = null;
    this.userPolicy = null;
    this.#ratingSeq += 1;
    this.rejected = [];
    this.outcome = null;
    this.helpDesk = null;
  }

  // ---- plumbing ------------------------------------------------------------------------------

  /** Shows `errors` (if any) and moves focus to the first field that has one. */
  #invalid(errors: Partial<Record<Field, string>>): boolean {
    const fields = Object.keys(errors) as Field[];
    this.errors = errors;
    this.notice = null;
    if (fields[0]) void this.#focus(fields[0]);
    return fields.length > 0;
  }

  async #focus(id: Field | 'new-code'): Promise<void> {
    await tick();
    const el = typeof document !== 'undefined' ? document.getElementById(id) : null;
    el?.focus();
  }

  #showProblem(error: BackendError, retry: (() => void) | null): void {
    this.problem = { error, retry, startAgain: endsFlow(error) && this.config !== null };
    this.screen = 'problem';
  }

  /**
   * Runs one request with the busy state around it. `onError` may handle a failure and return
   * true; otherwise the failure is routed by its code (see `#fail`), with a retry that repeats
   * this very call.
   */
  async #request<T>(
    call: () => Promise<T>,
    onOk: (value: T) => void,
    onError?: (e: BackendError, retry: () => void) => boolean,
  ): Promise<void> {
    const epoch = this.#epoch;
    const retry = (): void => void this.#request(call, onOk, onError);
    const focused = typeof document !== 'undefined' ? document.activeElement : null;
    this.#pending += 1;
    this.notice = null;
    try {
      const value = await call();
      if (epoch !== this.#epoch) return;
      onOk(value);
    } catch (raw) {
      if (epoch !== this.#epoch) return;
      const e = toBackendError(raw);
      if (onError?.(e, retry)) return;
      this.#fail(e, retry);
    } finally {
      if (epoch === this.#epoch) {
        this.#pending = Math.max(0, this.#pending - 1);
        void this.#restoreFocus(focused);
      }
    }
  }

  /**
   * A button that is disabled while busy loses keyboard focus to the page. When the answer
   * leaves the person on the same screen with focus nowhere, give it back.
   */
  async #restoreFocus(el: Element | null): Promise<void> {
    await tick();
    if (typeof document === 'undefined' || !(el instanceof HTMLElement) || !el.isConnected) return;
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (lost && !el.matches(':disabled')) el.focus();
  }

  #fail(e: BackendError, retry: () => void): void {
    if (e.code === 'contact_administrator') {
      this.helpDesk = e.help_desk ?? null;
      this.screen = 'contact';
      return;
    }
    if (endsFlow(e) || e.code === 'config_invalid') {
      this.#showProblem(e, e.code === 'config_invalid' ? () => void this.boot() : null);
      return;
    }
    // A wait the service asks for, or a refusal that repeats itself: no point in retrying now.
    const noRetry = ['rate_limited', 'resend_too_soon', 'too_many_attempts', 'intent_disabled', 'account_unavailable'];
    this.notice = { error: e, text: errorText(e), retry: noRetry.includes(e.code) ? null : retry };
  }
}
