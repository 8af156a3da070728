import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args) }));

const { TauriBackend } = await import('./tauri');

beforeEach(() => {
  invoke.mockReset();
  invoke.mockResolvedValue({});
});

describe('TauriBackend', () => {
  it('calls the commands with their exact names and arguments', async () => {
    const b = new TauriBackend();
    const req = { user_id: 'alice', intent: 'reset' as const, captcha_id: 'ca', captcha_answer: 'x' };
    await b.host();
    await b.config();
    await b.captcha('image');
    await b.startRecovery(req);
    await b.startChallenge('fl', 'me');
    await b.verify('fl', 'ch', '123456');
    await b.setPassword('fl', 'pw');
    await b.unlock('fl');
    await b.changePassword('alice', 'old', 'new');
    await b.ratePassword('pw', 'alice', null);
    await b.close();
    expect(invoke.mock.calls).toEqual([
      ['host_info', undefined],
      ['service_config', undefined],
      ['captcha', { variant: 'image' }],
      ['start_recovery', { req }],
      ['start_challenge', { flowId: 'fl', methodId: 'me' }],
      ['verify', { flowId: 'fl', challengeId: 'ch', code: '123456' }],
      ['set_password', { flowId: 'fl', newPassword: 'pw' }],
      ['unlock', { flowId: 'fl' }],
      ['change_password', { userId: 'alice', oldPassword: 'old', newPassword: 'new' }],
      ['rate_password', { password: 'pw', userId: 'alice', flowId: null }],
      ['close_app', undefined],
    ]);
  });

  it('passes `{code, message}` rejections through unchanged', async () => {
    const err = { code: 'certificate_untrusted', message: 'invalid peer certificate: UnknownIssuer' };
    invoke.mockRejectedValueOnce(err);
    await expect(new TauriBackend().config()).rejects.toBe(err);
  });

  it('wraps anything else as internal', async () => {
    invoke.mockRejectedValueOnce('command captcha not found');
    await expect(new TauriBackend().captcha('text')).rejects.toEqual({ code: 'internal', message: 'command captcha not found' });
    invoke.mockRejectedValueOnce(new Error('boom'));
    await expect(new TauriBackend().config()).rejects.toEqual({ code: 'internal', message: 'boom' });
  });
});
