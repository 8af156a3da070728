//! The desktop: every call is a command of the Rust core (src-tauri), which speaks the
//! protocol with latchkey-client and rates passwords locally with zxcvbn.

import { invoke } from '@tauri-apps/api/core';
import type { HostInfo as TauriHostInfo } from './host-bindings';
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

/** Invokes `command`; a rejection is already `{code, message, …}` unless something else broke. */
async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    if (isBackendError(e)) throw e;
    const message = typeof e === 'string' ? e : e instanceof Error ? e.message : JSON.stringify(e);
    throw { code: 'internal', message } satisfies BackendError;
  }
}

// Argument names are camelCase: Tauri maps them to the commands' snake_case parameters.
export class TauriBackend implements Backend {
  host(): Promise<HostInfo> {
    // The generated Rust shape must fit the wizard's HostInfo; svelte-check fails if it drifts.
    return call<TauriHostInfo>('host_info');
  }

  config(): Promise<ServiceConfig> {
    return call('service_config');
  }

  captcha(variant: CaptchaVariant): Promise<CaptchaChallenge> {
    return call('captcha', { variant });
  }

  startRecovery(req: StartRecovery): Promise<RecoveryStarted> {
    return call('start_recovery', { req });
  }

  startChallenge(flowId: string, methodId: string): Promise<ChallengeStarted> {
    return call('start_challenge', { flowId, methodId });
  }

  verify(flowId: string, challengeId: string, code: string): Promise<ChallengeVerified> {
    return call('verify', { flowId, challengeId, code });
  }

  setPassword(flowId: string, newPassword: string): Promise<Completed> {
    return call('set_password', { flowId, newPassword });
  }

  unlock(flowId: string): Promise<Completed> {
    return call('unlock', { flowId });
  }

  changePassword(userId: string, oldPassword: string, newPassword: string): Promise<Completed> {
    return call('change_password', { userId, oldPassword, newPassword });
  }

  ratePassword(password: string, userId: string | null, flowId: string | null): Promise<PasswordRating> {
    return call('rate_password', { password, userId, flowId });
  }

  async close(): Promise<void> {
    await call<void>('close_app');
  }
}
