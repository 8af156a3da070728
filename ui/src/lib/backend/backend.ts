// The one interface through which the wizard reaches its host. Three implementations:
// `tauri.ts` (the desktop app: Rust commands over latchkey-client), `web.ts` (the same wizard
// served by the reset service as a portal: fetch against /api/v1) and `fake.ts` (a scripted
// service for UI tests). Screens never know which one they talk to.

import type {
  CaptchaChallenge,
  CaptchaVariant,
  ChallengeStarted,
  ChallengeVerified,
  Completed,
  ErrorBody,
  PasswordRating,
  RecoveryStarted,
  ServiceConfig,
  StartRecovery,
} from '../bindings';

/**
 * Every failure a backend reports: the service's `{code, message}` body, or one of the host's
 * own codes when the service could not answer:
 * - `unreachable` — no connection (network down, wrong URL, service stopped)
 * - `certificate_untrusted` — TLS failed: the service's certificate is not trusted
 * - `timeout` — no answer in time
 * - `config_invalid` — the desktop's managed configuration is missing or wrong
 */
export type BackendError = ErrorBody;

/** Where the wizard runs, and how. */
export interface HostInfo {
  kind: 'tauri' | 'web' | 'test';
  /** Locked-down sign-in-screen mode: no way out but Cancel, idle timeout back to the start. */
  kiosk: boolean;
  /** BCP 47 locale of the operating system (or browser), e.g. `fr-FR`. */
  locale: string;
  /** Seconds of inactivity before the wizard returns to the start (kiosk), or null. */
  idleTimeoutSecs: number | null;
  /** Set when the host cannot work (bad managed config): the wizard shows it instead. */
  problem: BackendError | null;
}

export interface Backend {
  host(): Promise<HostInfo>;
  config(): Promise<ServiceConfig>;
  captcha(variant: CaptchaVariant): Promise<CaptchaChallenge>;
  startRecovery(req: StartRecovery): Promise<RecoveryStarted>;
  startChallenge(flowId: string, methodId: string): Promise<ChallengeStarted>;
  verify(flowId: string, challengeId: string, code: string): Promise<ChallengeVerified>;
  setPassword(flowId: string, newPassword: string): Promise<Completed>;
  unlock(flowId: string): Promise<Completed>;
  changePassword(userId: string, oldPassword: string, newPassword: string): Promise<Completed>;
  /** Rates a candidate as the user types: locally (Rust zxcvbn) on the desktop, through
   *  `POST /password/check` on the web. Never stores it. */
  ratePassword(password: string, userId: string | null, flowId: string | null): Promise<PasswordRating>;
  /** Leaves the wizard (the desktop closes its window; kiosk mode returns to the sign-in screen). */
  close(): Promise<void>;
}

/** Whether a thrown value is a BackendError. */
export function isBackendError(e: unknown): e is BackendError {
  return typeof e === 'object' && e !== null && typeof (e as BackendError).code === 'string' && typeof (e as BackendError).message === 'string';
}
