//! Picks the host the wizard talks to, once, at start.

import type { Backend } from './backend';
import { WebBackend } from './web';

declare global {
  interface Window {
    /** Set by Tauri in its webviews before any page script runs. */
    __TAURI_INTERNALS__?: unknown;
  }
}

/**
 * Tauri inside the desktop app; the scripted fake with `?backend=fake` (browser tests and
 * screenshots; its other options come from the same query string, see `fake.ts`); otherwise
 * the web portal. The Tauri and fake modules load only when chosen, so the portal's main bundle
 * carries neither.
 */
export async function createBackend(win: Window = window): Promise<Backend> {
  if (win.__TAURI_INTERNALS__ !== undefined) {
    const { TauriBackend } = await import('./tauri');
    return new TauriBackend();
  }
  const params = new URLSearchParams(win.location.search);
  if (params.get('backend') === 'fake') {
    const { FakeBackend } = await import('./fake');
    return FakeBackend.fromSearchParams(params);
  }
  return new WebBackend(`${win.location.origin}/api/v1`);
}
