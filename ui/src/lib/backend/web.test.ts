import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebBackend } from './web';

function respond(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('WebBackend', () => {
  it('speaks the protocol paths and bodies', async () => {
    const fetch = vi.fn(async () => respond(200, { ok: true }));
    vi.stubGlobal('fetch', fetch);
    const b = new WebBackend('https://reset.contoso.com/api/v1/');
    await b.config();
    await b.captcha('text');
    await b.startRecovery({ user_id: 'alice', intent: 'reset', captcha_id: 'ca_1', captcha_answer: '5' });
    await b.startChallenge('fl_1', 'me_1');
    await b.verify('fl_1', 'ch_1', '123456');
    await b.setPassword('fl_1', 'pw');
    await b.unlock('fl_1');
    await b.changePassword('alice', 'old', 'new');
    await b.ratePassword('pw', null, 'fl_1');
    const seen = fetch.mock.calls.map((c) => {
      const [url, init] = c as unknown as [string, RequestInit];
      return [init.method, url.replace('https://reset.contoso.com/api/v1', ''), init.body ?? null];
    });
    expect(seen).toEqual([
      ['GET', '/config', null],
      ['POST', '/captcha', '{"variant":"text"}'],
      ['POST', '/recovery', '{"user_id":"alice","intent":"reset","captcha_id":"ca_1","captcha_answer":"5"}'],
      ['POST', '/recovery/fl_1/challenges', '{"method_id":"me_1"}'],
      ['POST', '/recovery/fl_1/challenges/ch_1/verify', '{"code":"123456"}'],
      ['POST', '/recovery/fl_1/password', '{"new_password":"pw"}'],
      ['POST', '/recovery/fl_1/unlock', null],
      ['POST', '/password/change', '{"user_id":"alice","old_password":"old","new_password":"new"}'],
      ['POST', '/password/check', '{"password":"pw","user_id":null,"flow_id":"fl_1"}'],
    ]);
  });

  it('passes the service error body through', async () => {
    const body = { code: 'password_rejected', message: 'no', violations: [{ rule: 'too_short', message: 'short' }] };
    vi.stubGlobal('fetch', vi.fn(async () => respond(422, body)));
    await expect(new WebBackend('/api/v1').setPassword('fl', 'x')).rejects.toEqual(body);
  });

  it('turns a failed fetch into unreachable', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(new WebBackend('/api/v1').config()).rejects.toMatchObject({ code: 'unreachable' });
  });

  it('turns a proxy error page into unreachable, and other non-JSON failures into internal', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => respond(502, '<html>Bad Gateway</html>')));
    await expect(new WebBackend('/api/v1').config()).rejects.toMatchObject({ code: 'unreachable' });
    vi.stubGlobal('fetch', vi.fn(async () => respond(500, 'oops')));
    await expect(new WebBackend('/api/v1').config()).rejects.toMatchObject({ code: 'internal' });
  });

  it('gives up after the timeout with `timeout`', async () => {
    vi.useFakeTimers();
    vi.stubGlobal(
      'fetch',
      vi.fn(
        (_url: string, init: RequestInit) =>
          new Promise<Response>((_, reject) => {
            init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
          }),
      ),
    );
    const pending = new WebBackend('/api/v1', 30_000).config();
    const check = expect(pending).rejects.toMatchObject({ code: 'timeout' });
    await vi.advanceTimersByTimeAsync(30_000);
    await check;
  });

  it('describes the browser as its host', async () => {
    const host = await new WebBackend('/api/v1').host();
    expect(host).toMatchObject({ kind: 'web', kiosk: false, idleTimeoutSecs: null, problem: null });
    expect(host.locale).toBe(navigator.language);
  });
});
