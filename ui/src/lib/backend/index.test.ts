import { describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

const { createBackend } = await import('./index');
const { FakeBackend } = await import('./fake');
const { TauriBackend } = await import('./tauri');
const { WebBackend } = await import('./web');

function fakeWindow(search: string, tauri = false): Window {
  const w = { location: { search, origin: 'https://reset.contoso.com' } } as unknown as Window;
  if (tauri) w.__TAURI_INTERNALS__ = {};
  return w;
}

describe('createBackend', () => {
  it('chooses Tauri inside the desktop app, whatever the URL says', async () => {
    expect(await createBackend(fakeWindow('?backend=fake', true))).toBeInstanceOf(TauriBackend);
  });

  it('chooses the fake with ?backend=fake, with options from the query', async () => {
    const b = await createBackend(fakeWindow('?backend=fake&kiosk=1&locale=de&captcha=off&fail=config:unreachable'));
    expect(b).toBeInstanceOf(FakeBackend);
    expect(await b.host()).toMatchObject({ kind: 'test', kiosk: true, locale: 'de' });
    await expect(b.config()).rejects.toMatchObject({ code: 'unreachable' });
    expect((await b.config()).captcha).toBe('off');
  });

  it('chooses the web portal otherwise', async () => {
    expect(await createBackend(fakeWindow(''))).toBeInstanceOf(WebBackend);
  });
});
