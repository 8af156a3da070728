//! The wizard served by the reset service as a web portal: plain `fetch` against the
//! service's own `/api/v1`, on the origin the page came from.

import type {
  CaptchaChallenge,
  CaptchaVariant,
  ChallengeStarted,
  ChallengeVerified,
  Completed,
  PasswordRating,
  RecoveryStarted,
  ServiceConfig,
  StartRecovery,
} from '../bindings';
import { isBackendError, type Backend, type BackendError, type HostInfo } from './backend';

/** How long one request may take before the wizard says so and offers to try again. */
export const REQUEST_TIMEOUT_MS = 30_000;

export class WebBackend implements Backend {
  readonly #base: string;
  readonly #timeoutMs: number;

  constructor(base = `${location.origin}/api/v1`, timeoutMs = REQUEST_TIMEOUT_MS) {
    this.#base = base.replace(/\/+$/, '');
    this.#timeoutMs = timeoutMs;
  }

  async #call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        // The portal never needs cookies: every step is carried by ids in the body or path.
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (e) {
      throw fetchFailure(e, timedOut);
    } finally {
      clearTimeout(timer);
    }
    const payload: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw httpFailure(res, payload);
    if (payload === undefined) {
      throw { code: 'internal', message: `the service answered ${res.status} without JSON` } satisfies BackendError;
    }
    return payload as T;
  }

  async host(): Promise<HostInfo> {
    return {
      kind: 'web',
      kiosk: false,
      locale: navigator.language || 'en',
      idleTimeoutSecs: null,
      problem: null,
    };
  }

  config(): Promise<ServiceConfig> {
    return this.#call('GET', '/config');
  }

  captcha(variant: CaptchaVariant): Promise<CaptchaChallenge> {
    return this.#call('POST', '/captcha', { variant });
  }

  startRecovery(req: StartRecovery): Promise<RecoveryStarted> {
    return this.#call('POST', '/recovery', req);
  }

  startChallenge(flowId: string, methodId: string): Promise<ChallengeStarted> {
    return this.#call('POST', `/recovery/${enc(flowId)}/challenges`, { method_id: methodId });
  }

  verify(flowId: string, challengeId: string, code: string): Promise<ChallengeVerified> {
    return this.#call('POST', `/recovery/${enc(flowId)}/challenges/${enc(challengeId)}/verify`, { code });
  }

  setPassword(flowId: string, newPassword: string): Promise<Completed> {
    return this.#call('POST', `/recovery/${enc(flowId)}/password`, { new_password: newPassword });
  }

  unlock(flowId: string): Promise<Completed> {
    return this.#call('POST', `/recovery/${enc(flowId)}/unlock`);
  }

  changePassword(userId: string, oldPassword: string, newPassword: string): Promise<Completed> {
    return this.#call('POST', '/password/change', {
      user_id: userId,
      old_password: oldPassword,
      new_password: newPassword,
    });
  }

  ratePassword(password: string, userId: string | null, flowId: string | null): Promise<PasswordRating> {
    return this.#call('POST', '/password/check', { password, user_id: userId, flow_id: flowId });
  }

  async close(): Promise<void> {
    // A web page cannot close itself; going back to the portal's first page is the next best.
    location.assign(location.pathname);
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** A fetch that threw: aborted by our timer, or no connection at all. */
export function fetchFailure(e: unknown, timedOut: boolean): BackendError {
  if (timedOut) return { code: 'timeout', message: 'the service did not answer in time' };
  if (e instanceof TypeError) return { code: 'unreachable', message: 'the service could not be reached' };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

/** A non-2xx answer: the service's ErrorBody, or a proxy's page standing in for it. */
export function httpFailure(res: Response, payload: unknown): BackendError {
  if (isBackendError(payload)) return payload;
  // A reverse proxy answering for a stopped service: that is "unreachable" to the person.
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    return { code: 'unreachable', message: `the service is unavailable (${res.status})` };
  }
  return { code: 'internal', message: `the service answered ${res.status}` };
}
