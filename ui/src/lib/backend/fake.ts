//! A scripted, in-memory reset service for UI tests and screenshots. It knows the README's
//! demo users and behaves like the real service where the wizard can tell: CAPTCHAs, decoys,
//! codes, two-method administrators, password rules, "contact your administrator". Every
//! code is 123456; the image CAPTCHA reads ABC123; the text one is "What is two plus three?".

import type {
  CaptchaChallenge,
  CaptchaVariant,
  ChallengeStarted,
  ChallengeVerified,
  Completed,
  Intent,
  MethodKind,
  OfferedMethod,
  PasswordRating,
  PolicySummary,
  RecoveryStarted,
  ServiceConfig,
  StartRecovery,
  Violation,
} from '../bindings';
import type { Backend, BackendError, HostInfo } from './backend';

export const FAKE_CODE = '123456';
export const FAKE_IMAGE_ANSWER = 'ABC123';
export const FAKE_TEXT_QUESTION = 'What is two plus three?';
export const FAKE_TEXT_ANSWER = '5';

/** A method name of the Backend interface, to aim a scripted failure at one call. */
export type Operation = Exclude<keyof Backend, 'host'>;

export interface FakeOptions {
  /** Milliseconds every call waits before answering (0: next microtask). */
  latencyMs?: number;
  /** Every call fails with `unreachable` while true. */
  offline?: boolean;
  kiosk?: boolean;
  locale?: string;
  idleTimeoutSecs?: number | null;
  /** A host problem (e.g. `config_invalid`) the wizard must show instead of the flow. */
  problem?: BackendError | null;
  /** Changes to the service configuration (e.g. `{captcha: 'off'}`). */
  config?: Partial<ServiceConfig>;
}

interface FakeUser {
  account: string;
  /** Parts of the name that may not appear in a password. */
  names: string[];
  password: string;
  history: string[];
  methods: { kind: MethodKind; hint: string }[];
  required: number;
  selfService: boolean;
  locked: boolean;
  /** Rules the user's directory adds (a fine-grained policy), over the service's. */
  policy?: Partial<PolicySummary>;
}

interface FakeFlow {
  id: string;
  user: FakeUser | null;
  intent: Intent;
  methods: OfferedMethod[];
  required: number;
  verified: Set<string>;
  completed: boolean;
}

interface FakeChallenge {
  flowId: string;
  methodId: string;
  attemptsLeft: number;
  used: boolean;
  expired: boolean;
}

const HELP_DESK = {
  email: 'helpdesk@contoso.com',
  phone: '+1 425 555 0100',
  url: 'https://helpdesk.contoso.com',
};

export function defaultConfig(): ServiceConfig {
  return {
    organisation: { name: 'Contoso', logo_url: null, help_desk: { ...HELP_DESK } },
    intents: { reset: true, unlock: true, change: true },
    password_policy: {
      min_length: 8,
      max_length: 256,
      min_score: 3,
      required_classes: 0,
      history: 5,
      reject_user_names: true,
      banned_list: true,
    },
    captcha: 'image',
    codes: { length: 6, lifetime_secs: 600, resend_after_secs: 60 },
  };
}

function demoUsers(): FakeUser[] {
  const user = (
    account: string,
    names: string[],
    password: string,
    emails: string[],
    extra: Partial<FakeUser> = {},
  ): FakeUser => ({
    account,
    names: [account, ...names],
    password,
    history: [],
    methods: emails.map((hint) => ({ kind: 'email', hint })),
    required: 1,
    selfService: true,
    locked: false,
    ...extra,
  });
  return [
    user('alice', ['martin'], 'Tulip-Harbor-Violet-7', ['a•••@example.net']),
    user('bob', ['chen'], 'Copper-Lantern-Quiet-3', ['b•••@example.net', 'b•••@example.org']),
    // An administrator: two methods, and a stricter fine-grained policy in her directory.
    user('carol', ['diaz'], 'Saffron-Glacier-Ember-9', ['c•••@example.net', 'c•••@example.org'], {
      required: 2,
      policy: { min_length: 14, required_classes: 3 },
    }),
    user('dave', ['ito'], 'Marble-Fjord-Cactus-5', ['d•••@example.net'], { selfService: false }),
    // Erin registered nothing: the service answers with a decoy, as for an unknown id.
    user('erin', [], 'Pepper-Nebula-Willow-2', []),
    user('frank', ['okafor'], 'Quartz-Meadow-Rocket-8', ['f•••@example.net'], { locked: true }),
  ];
}

/** Words a fake "banned list" refuses, after undoing common l33t substitutions. */
const BANNED = ['password', 'passwort', 'motdepasse', 'qwerty', 'azerty', 'letmein', 'welcome', 'admin', 'iloveyou', '123456', 'contoso', 'summer', 'winter', 'spring', 'autumn', 'fabrikam'];

function unleet(s: string): string {
  const map: Record<string, string> = { '0': 'o', '1': 'l', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i' };
  return s.toLowerCase().replace(/[013457@$!]/g, (c) => map[c] ?? c);
}

function classes(pw: string): number {
  return [/[a-z]/, /[A-Z]/, /\d/, /[^a-zA-Z\d]/].filter((re) => re.test(pw)).length;
}

/**
 * A plausible stand-in for the service's rating: NIST-style length first, a small banned
 * list, the user's names, and a score that grows with length (zxcvbn's is far better).
 */
export function fakeRating(password: string, policy: PolicySummary, names: string[]): PasswordRating {
  const pw = password.normalize('NFKC');
  const len = [...pw].length;
  const lower = pw.toLowerCase();
  const plain = unleet(pw);
  const violations: Violation[] = [];
  const add = (rule: string, message: string): void => void violations.push({ rule, message });

  if (len < policy.min_length) add('too_short', `Use at least ${policy.min_length} characters.`);
  if (len > policy.max_length) add('too_long', `Use at most ${policy.max_length} characters.`);
  // Rust's char::is_control: the C0 and C1 control ranges.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(pw)) add('control_characters', 'Use only characters you can type on a keyboard.');
  const banned = policy.banned_list && BANNED.some((w) => plain.includes(w) || lower.includes(w));
  if (banned) add('banned', 'This password is too common or too close to a banned word. Choose something harder to guess.');
  if (policy.reject_user_names && names.some((n) => n.length >= 3 && (lower.includes(n) || plain.includes(n)))) {
    add('contains_user_name', "Don't use your name or user ID in your password.");
  }
  if (policy.required_classes > 0 && classes(pw) < policy.required_classes) {
    add('too_few_classes', `Use at least ${policy.required_classes} of: lowercase letters, uppercase letters, digits, symbols.`);
  }
  let score = len >= 16 ? 4 : len >= 12 ? 3 : len >= 10 ? 2 : len >= 8 ? 1 : 0;
  if (classes(pw) === 1 && len < 16) score = Math.max(0, score - 1);
  if (banned) score = Math.min(score, 1);
  if (policy.min_score > 0 && score < policy.min_score) {
    add('too_weak', 'This password is too easy to guess. Try a longer phrase of unrelated words.');
  }
  // Sentences exactly as the zxcvbn crate words them, so the wizard's translation applies.
  const warning = banned ? 'This is similar to a commonly used password.' : len > 0 && len < 8 ? 'A word by itself is easy to guess.' : null;
  const suggestions = score < 3 && len > 0 ? ['Add another word or two. Uncommon words are better.'] : [];
  return {
    acceptable: violations.length === 0,
    score,
    guesses_log10: Math.min(30, len * 1.2 + score * 2),
    warning,
    suggestions,
    violations,
  };
}

function captchaImage(text: string): string {
  // A small SVG rather than a PNG: no canvas needed, and readable in screenshots.
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="64" viewBox="0 0 200 64">' +
    '<rect width="200" height="64" fill="#f4f1ea"/>' +
    '<path d="M0 44 Q50 8 100 36 T200 24" stroke="#9a8f78" stroke-width="2" fill="none"/>' +
    '<path d="M0 18 Q60 60 120 22 T200 50" stroke="#b7ad96" stroke-width="1.5" fill="none"/>' +
    `<text x="100" y="43" font-family="monospace" font-size="30" font-weight="bold" text-anchor="middle" letter-spacing="5" fill="#2b2b2b">${text}</text>` +
    '</svg>';
  return `data:image/svg+xml;base64,${btoa(svg)}`;
}

function fail(code: string, message: string, extra: Partial<BackendError> = {}): BackendError {
  return { code, message, ...extra };
}

export class FakeBackend implements Backend {
  latencyMs: number;
  offline: boolean;
  hostInfo: HostInfo;
  serviceConfig: ServiceConfig;
  /** Every call made, in order, for tests that check what was sent. */
  readonly calls: { op: keyof Backend; args: unknown[] }[] = [];
  closed = 0;

  readonly #users: FakeUser[] = demoUsers();
  readonly #captchas = new Map<string, string>();
  readonly #flows = new Map<string, FakeFlow>();
  readonly #challenges = new Map<string, FakeChallenge>();
  readonly #failures: { op: Operation | null; error: BackendError }[] = [];
  #seq = 0;

  constructor(options: FakeOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.offline = options.offline ?? false;
    this.hostInfo = {
      kind: 'test',
      kiosk: options.kiosk ?? false,
      locale: options.locale ?? 'en',
      idleTimeoutSecs: options.idleTimeoutSecs ?? null,
      problem: options.problem ?? null,
    };
    this.serviceConfig = { ...defaultConfig(), ...options.config };
  }

  /**
   * Options from a page's query string, for browser tests and screenshots:
   * `latency=300`, `offline=1`, `kiosk=1`, `idle=60`, `locale=fr`, `captcha=off`,
   * `intents=reset,unlock`, `problem=config_invalid`, `fail=startRecovery:unreachable`
   * (repeatable; fails that call once).
   */
  static fromSearchParams(params: URLSearchParams): FakeBackend {
    const config: Partial<ServiceConfig> = {};
    if (params.get('captcha') === 'off') config.captcha = 'off';
    const intents = params.get('intents');
    if (intents !== null) {
      const on = new Set(intents.split(','));
      config.intents = { reset: on.has('reset'), unlock: on.has('unlock'), change: on.has('change') };
    }
    const problem = params.get('problem');
    const idle = Number(params.get('idle'));
    const fake = new FakeBackend({
      latencyMs: Number(params.get('latency') ?? 0) || 0,
      offline: params.get('offline') === '1',
      kiosk: params.get('kiosk') === '1',
      locale: params.get('locale') ?? navigator.language,
      idleTimeoutSecs: idle > 0 ? idle : null,
      problem: problem
        ? fail(problem, 'The desktop configuration /etc/latchkey/desktop.toml is missing the key "service_url".')
        : null,
      config,
    });
    for (const spec of params.getAll('fail')) {
      const [op, code] = spec.split(':');
      if (op && code) fake.failNext(code, op as Operation);
    }
    return fake;
  }

  /** The next call (of `op`, or any) fails with `error`; queue several for several failures. */
  failNext(error: BackendError | string, op: Operation | null = null): void {
    const e = typeof error === 'string' ? fail(error, `scripted failure: ${error}`) : error;
    this.#failures.push({ op, error: e });
  }

  /** Makes every outstanding code expire, as if ten minutes had passed. */
  expireCodes(): void {
    for (const ch of this.#challenges.values()) ch.expired = true;
  }

  /** The current password of a demo user, to check a reset or change landed. */
  passwordOf(account: string): string | undefined {
    return this.#users.find((u) => u.account === account)?.password;
  }

  isLocked(account: string): boolean {
    return this.#users.find((u) => u.account === account)?.locked ?? false;
  }

  async #enter(op: keyof Backend, args: unknown[]): Promise<void> {
    this.calls.push({ op, args });
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    else await Promise.resolve();
    if (op === 'host' || op === 'close') return;
    if (this.offline) throw fail('unreachable', 'the service could not be reached');
    const i = this.#failures.findIndex((f) => f.op === null || f.op === op);
    if (i >= 0) {
      const [scripted] = this.#failures.splice(i, 1);
      if (scripted) throw scripted.error;
    }
  }

  #id(prefix: string): string {
    this.#seq += 1;
    return `${prefix}_${this.#seq.toString(36).padStart(4, '0')}`;
  }

  /** `alice`, `alice@contoso.com`, `CONTOSO\alice` in any case → `alice`; unknown → null. */
  #lookup(userId: string): FakeUser | null {
    const id = userId.trim().toLowerCase();
    if (id === '' || /\s/.test(id) || (id.match(/@/g) ?? []).length > 1 || (id.match(/\\/g) ?? []).length > 1) {
      throw fail('invalid_user_id', 'enter your user ID as name@contoso.com, CONTOSO\\name or name');
    }
    let account = id;
    if (id.includes('\\')) {
      const [domain, name] = id.split('\\');
      if (domain !== 'contoso') return null;
      account = name ?? '';
    } else if (id.includes('@')) {
      const [name, domain] = id.split('@');
      if (domain !== 'contoso.com') return null;
      account = name ?? '';
    }
    return this.#users.find((u) => u.account === account) ?? null;
  }

  /** The service's policy with the user's directory rules applied; they only tighten it. */
  #policyOf(user: FakeUser | null): PolicySummary {
    const base = this.serviceConfig.password_policy;
    const own = user?.policy ?? {};
    return {
      ...base,
      min_length: Math.max(base.min_length, own.min_length ?? 0),
      required_classes: Math.min(4, Math.max(base.required_classes, own.required_classes ?? 0)),
      history: Math.max(base.history, own.history ?? 0),
    };
  }

  #rate(password: string, user: FakeUser | null): PasswordRating {
    return fakeRating(password, this.#policyOf(user), user?.names ?? []);
  }

  #flow(flowId: string): FakeFlow {
    const flow = this.#flows.get(flowId);
    if (!flow) throw fail('flow_not_found', "this reset session doesn't exist; start again");
    if (flow.completed) throw fail('flow_completed', 'this reset session is already finished');
    return flow;
  }

  #checkNew(password: string, user: FakeUser | null): void {
    const violations = [...this.#rate(password, user).violations];
    const history = this.serviceConfig.password_policy.history;
    if (user && history > 0 && [user.password, ...user.history].includes(password)) {
      violations.push({ rule: 'in_history', message: `You can't reuse any of your last ${history} passwords.` });
    }
    if (violations.length > 0) {
      throw fail('password_rejected', "the new password doesn't meet the requirements", { violations });
    }
  }

  #store(user: FakeUser, password: string): void {
    user.history = [user.password, ...user.history].slice(0, this.serviceConfig.password_policy.history);
    user.password = password;
    user.locked = false;
  }

  // ---- Backend ---------------------------------------------------------------------------------

  async host(): Promise<HostInfo> {
    await this.#enter('host', []);
    return { ...this.hostInfo };
  }

  async config(): Promise<ServiceConfig> {
    await this.#enter('config', []);
    return structuredClone(this.serviceConfig);
  }

  async captcha(variant: CaptchaVariant): Promise<CaptchaChallenge> {
    await this.#enter('captcha', [variant]);
    if (this.serviceConfig.captcha === 'off') throw fail('captcha_off', 'the CAPTCHA is turned off on this service');
    const id = this.#id('ca');
    if (variant === 'text') {
      this.#captchas.set(id, FAKE_TEXT_ANSWER);
      return { captcha_id: id, variant, prompt: FAKE_TEXT_QUESTION, expires_in: 300, image: null, width: null, height: null };
    }
    this.#captchas.set(id, FAKE_IMAGE_ANSWER);
    return {
      captcha_id: id,
      variant: 'image',
      image: captchaImage(FAKE_IMAGE_ANSWER),
      width: 200,
      height: 64,
      prompt: 'Enter the characters you see',
      expires_in: 300,
    };
  }

  async startRecovery(req: StartRecovery): Promise<RecoveryStarted> {
    await this.#enter('startRecovery', [req]);
    if (!this.serviceConfig.intents[req.intent]) throw fail('intent_disabled', 'your organisation has turned this off');
    if (this.serviceConfig.captcha !== 'off') {
      const expected = this.#captchas.get(req.captcha_id);
      this.#captchas.delete(req.captcha_id);
      const given = req.captcha_answer.replace(/\s/g, '').toUpperCase();
      const ok = expected !== undefined && (given === expected || (expected === '5' && given === 'FIVE'));
      if (!ok) throw fail('captcha_invalid', "the characters didn't match; try the new picture");
    }
    const user = this.#lookup(req.user_id);
    if (user && !user.selfService) {
      throw fail('contact_administrator', "you can't reset your own password; contact your administrator", {
        help_desk: { ...this.serviceConfig.organisation.help_desk },
      });
    }
    const real = user && user.methods.length > 0 ? user : null;
    const flowId = this.#id('fl');
    const methods: OfferedMethod[] = real
      ? real.methods.map((m, i) => ({ id: `me_${real.account}_${i}`, kind: m.kind, hint: m.hint }))
      : // A decoy: the same shape as a real answer, with a made-up masked address.
        [{ id: this.#id('me'), kind: 'email', hint: `${(req.user_id.trim()[0] ?? 'u').toLowerCase()}•••@example.net` }];
    const required = real?.required ?? 1;
    this.#flows.set(flowId, { id: flowId, user: real, intent: req.intent, methods, required, verified: new Set(), completed: false });
    return { flow_id: flowId, intent: req.intent, methods, methods_required: required, expires_in: 900 };
  }

  async startChallenge(flowId: string, methodId: string): Promise<ChallengeStarted> {
    await this.#enter('startChallenge', [flowId, methodId]);
    const flow = this.#flow(flowId);
    const method = flow.methods.find((m) => m.id === methodId);
    if (!method) throw fail('method_unknown', 'this method is not one of those offered');
    if (flow.verified.has(methodId)) throw fail('method_already_verified', 'this method is already verified; choose another');
    const challengeId = this.#id('ch');
    this.#challenges.set(challengeId, { flowId, methodId, attemptsLeft: 5, used: false, expired: false });
    const codes = this.serviceConfig.codes;
    return {
      challenge_id: challengeId,
      kind: method.kind,
      hint: method.hint,
      code_length: codes.length,
      expires_in: codes.lifetime_secs,
      resend_after: codes.resend_after_secs,
    };
  }

  async verify(flowId: string, challengeId: string, code: string): Promise<ChallengeVerified> {
    await this.#enter('verify', [flowId, challengeId, code]);
    const flow = this.#flow(flowId);
    const ch = this.#challenges.get(challengeId);
    if (!ch || ch.flowId !== flowId) throw fail('challenge_not_found', "this verification doesn't exist; ask for a new code");
    if (ch.used) throw fail('code_used', 'this code was already used; ask for a new one');
    if (ch.expired) throw fail('code_expired', 'this code has expired; ask for a new one');
    if (!/^\d{6}$/.test(code)) throw fail('code_malformed', 'enter the 6 digits of the code');
    if (ch.attemptsLeft <= 0) throw fail('too_many_attempts', 'too many wrong codes; ask for a new one');
    // A decoy's code is never right, so guessing cannot tell a decoy from a real account.
    if (code !== FAKE_CODE || flow.user === null) {
      ch.attemptsLeft -= 1;
      if (ch.attemptsLeft <= 0) throw fail('too_many_attempts', 'too many wrong codes; ask for a new one');
      throw fail('code_invalid', "that code isn't right", { attempts_left: ch.attemptsLeft });
    }
    ch.used = true;
    flow.verified.add(ch.methodId);
    const done = flow.verified.size >= flow.required;
    return {
      methods_verified: flow.verified.size,
      methods_required: flow.required,
      next: done ? 'set_password' : 'choose_another_method',
      ...(done ? { password_policy: this.#policyOf(flow.user) } : {}),
    };
  }

  #ready(flow: FakeFlow): FakeUser {
    if (flow.user === null || flow.verified.size < flow.required) {
      throw fail('not_verified', 'verify your identity first');
    }
    return flow.user;
  }

  async setPassword(flowId: string, newPassword: string): Promise<Completed> {
    await this.#enter('setPassword', [flowId, newPassword]);
    const flow = this.#flow(flowId);
    const user = this.#ready(flow);
    this.#checkNew(newPassword, user);
    this.#store(user, newPassword);
    flow.completed = true;
    return { outcome: 'password_reset', message: 'Your password has been reset. Sign in with your new password.' };
  }

  async unlock(flowId: string): Promise<Completed> {
    await this.#enter('unlock', [flowId]);
    const flow = this.#flow(flowId);
    if (flow.intent !== 'unlock') throw fail('wrong_intent', 'this session was started to reset a password, not to unlock');
    const user = this.#ready(flow);
    user.locked = false;
    flow.completed = true;
    return { outcome: 'account_unlocked', message: 'Your account has been unlocked. Sign in with your current password.' };
  }

  async changePassword(userId: string, oldPassword: string, newPassword: string): Promise<Completed> {
    await this.#enter('changePassword', [userId, oldPassword, newPassword]);
    const user = this.#lookup(userId);
    if (!user || user.locked || user.password !== oldPassword) {
      throw fail('invalid_credentials', 'the user ID or password is incorrect. If your account is locked, choose "Unlock my account"');
    }
    this.#checkNew(newPassword, user);
    this.#store(user, newPassword);
    return { outcome: 'password_changed', message: 'Your password has been changed.' };
  }

  async ratePassword(password: string, userId: string | null, flowId: string | null): Promise<PasswordRating> {
    await this.#enter('ratePassword', [password, userId, flowId]);
    if (flowId) {
      // The user's own rules only once the flow has proven who they are, as in the service.
      const flow = this.#flows.get(flowId);
      const user = flow?.user ?? null;
      if (flow && user && flow.verified.size >= flow.required) return this.#rate(password, user);
      return fakeRating(password, this.serviceConfig.password_policy, []);
    }
    let names: string[] = [];
    if (userId) {
      try {
        names = this.#lookup(userId)?.names ?? [];
      } catch {
        names = [];
      }
    }
    // Like the service: an id alone gives names to check, never the user's directory rules.
    return fakeRating(password, this.serviceConfig.password_policy, names);
  }

  async close(): Promise<void> {
    await this.#enter('close', []);
    this.closed += 1;
  }
}
