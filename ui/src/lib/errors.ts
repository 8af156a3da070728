//! How the wizard words and routes a failure. Our own text per error `code` comes first; the
//! service's `message` is only the fallback for codes we do not know.

import { isBackendError, type BackendError } from './backend/backend';
import { has, t, tn } from './i18n/index.svelte';

/** Anything thrown, as a BackendError (a bug in our own code becomes `internal`). */
export function toBackendError(e: unknown): BackendError {
  if (isBackendError(e)) return e;
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

/** Codes after which the flow cannot go on: only starting again helps. */
const FLOW_ENDED = new Set([
  'flow_expired',
  'flow_not_found',
  'flow_completed',
  'not_verified',
  'wrong_intent',
]);

/** Codes where the same request may well work a moment later, so "Try again" is offered. */
const TRANSIENT = new Set([
  'unreachable',
  'timeout',
  'certificate_untrusted',
  'directory_unavailable',
  'conflict',
  'internal',
]);

export function endsFlow(e: BackendError): boolean {
  return FLOW_ENDED.has(e.code);
}

export function isTransient(e: BackendError): boolean {
  return TRANSIENT.has(e.code);
}

/** "45 seconds" / "3 minutes", for waits the service asks for. */
export function formatWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  return s < 120 ? tn('time.seconds', s) : tn('time.minutes', Math.ceil(s / 60));
}

/** The sentence shown for `e`. */
export function errorText(e: BackendError): string {
  if (e.code === 'rate_limited' || e.code === 'resend_too_soon') {
    const wait = e.retry_after ?? null;
    return wait !== null ? t(`error.${e.code}.wait`, { wait: formatWait(wait) }) : t(`error.${e.code}`);
  }
  if (e.code === 'code_invalid' && typeof e.attempts_left === 'number') {
    return tn('error.code_invalid.left', e.attempts_left);
  }
  const key = `error.${e.code}`;
  if (has(key)) return t(key);
  // A code this wizard does not know yet: the service's sentence is better than nothing.
  return e.message.trim() !== '' ? e.message : t('error.generic');
}
