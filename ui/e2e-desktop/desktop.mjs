// Shared pieces of the desktop end-to-end run (`bash ui/e2e-desktop/run.sh`): launching the
// real Latchkey app through tauri-driver with a managed config and a light or dark GTK
// preference, and driving it with the keyboard only. Elements are located only to assert on
// them (what has focus, what a heading says), never to click.
//
// run.sh provides the environment:
//   LATCHKEY_E2E_WEBDRIVER   tauri-driver's URL (http://127.0.0.1:PORT)
//   LATCHKEY_E2E_APP         the app binary (target/debug/latchkey)
//   LATCHKEY_DESKTOP_CONFIG  the managed config file the app reads at start; written here
//                            before each launch (tauri-driver passes its environment on)
//   XDG_CONFIG_HOME          a private folder: gtk-3.0/settings.ini there picks light or dark

import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Key, Session, waitReady } from './webdriver.mjs';

export { Key };

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (this file is ui/e2e-desktop/desktop.mjs). */
export const ROOT = path.resolve(HERE, '../..');

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these through \`bash ui/e2e-desktop/run.sh\``);
  return v;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` (async, returns a truthy value when done) every 100 ms for up to `ms`;
 * returns that value or throws naming `what` and the last value or error seen.
 */
export async function waitFor(probe, what, ms = 10_000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= end) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last seen: ${seen})`);
    }
    await sleep(100);
  }
}

/** The managed config for a service at `serviceUrl` (no trailing slash), outside kiosk mode. */
export function configFor(serviceUrl, extra = '') {
  return `service_url = "${serviceUrl.replace(/\/+$/, '')}"\nkiosk = false\nidle_timeout_secs = 0\n${extra}`;
}

/**
 * Writes the managed config (`config`, TOML text) and the GTK colour preference, then starts
 * the app in a new WebDriver session and waits until the wizard has left its loading screen.
 * `args` go to the app's command line (e.g. `--kiosk`). Returns an `App`.
 */
export async function launch({ config, theme = 'light', args = [], ready = true } = {}) {
  const webdriver = required('LATCHKEY_E2E_WEBDRIVER');
  const application = required('LATCHKEY_E2E_APP');
  await fs.writeFile(required('LATCHKEY_DESKTOP_CONFIG'), config);
  // GTK reads this at start when no settings daemon runs (none does under Xvfb); WebKitGTK
  // then reports prefers-color-scheme: dark to the page.
  const gtk = path.join(required('XDG_CONFIG_HOME'), 'gtk-3.0');
  await fs.mkdir(gtk, { recursive: true });
  await fs.writeFile(
    path.join(gtk, 'settings.ini'),
    `[Settings]\ngtk-application-prefer-dark-theme=${theme === 'dark' ? 1 : 0}\n`,
  );
  await waitReady(webdriver, 15_000);
  const started = Date.now();
  const session = await Session.create(webdriver, {
    browserName: 'wry',
    'tauri:options': { application, args },
  });
  const app = new App(session, started);
  if (ready) {
    try {
      await app.waitForScreen((s) => s.title && !s.loading, 'the first screen', 20_000);
    } catch (e) {
      await app.quit();
      throw e;
    }
  }
  return app;
}

/** The running app, seen through its WebDriver session. */
export class App {
  constructor(session, started) {
    this.session = session;
    this.started = started;
  }

  /** Ends the session; the app exits. Errors (the app already gone) are ignored. */
  async quit() {
    await this.session.quit();
  }

  /**
   * What the wizard shows now: the screen's heading, the focused element, the visible error
   * texts, whether it is busy or still loading, and whether the page prefers dark.
   */
  state() {
    return this.session.execute(() => {
      const el = document.activeElement;
      const describe = (e) => {
        if (!e || e === document.body) return null;
        const label = e.getAttribute('aria-label') ?? (e.labels?.[0]?.textContent ?? e.textContent ?? '').trim();
        return {
          tag: e.tagName.toLowerCase(),
          id: e.id || null,
          type: e.getAttribute('type'),
          name: label.replace(/\s+/g, ' ').slice(0, 80),
          checked: typeof e.checked === 'boolean' ? e.checked : null,
          disabled: e.matches(':disabled'),
        };
      };
      return {
        title: document.querySelector('h1')?.textContent?.trim() ?? null,
        loading: Boolean(document.querySelector('main > .loading')),
        busy: document.querySelector('main')?.getAttribute('aria-busy') === 'true',
        focus: describe(el),
        // Field errors (under their inputs) and the notice above the buttons.
        errors: [...document.querySelectorAll('p.error')].map((e) => e.textContent.trim()).filter(Boolean),
        notice: document.querySelector('.notice')?.textContent?.trim().replace(/\s+/g, ' ') ?? null,
        dark: matchMedia('(prefers-color-scheme: dark)').matches,
      };
    });
  }

  /** Waits until `pred(state)` holds; returns that state. */
  async waitForScreen(pred, what, ms = 15_000) {
    let last = null;
    try {
      return await waitFor(async () => {
        last = await this.state();
        return pred(last) ? last : null;
      }, what, ms);
    } catch (e) {
      throw new Error(`${e.message}\n  screen: ${JSON.stringify(last)}`);
    }
  }

  /** Waits for the heading `title` with nothing busy. */
  waitForTitle(title, ms = 15_000) {
    return this.waitForScreen((s) => s.title === title && !s.busy, `the screen "${title}"`, ms);
  }

  /** Waits until nothing is busy (a request answered). */
  waitIdle(ms = 15_000) {
    return this.waitForScreen((s) => !s.busy, 'the wizard to be idle', ms);
  }

  /** The focused element (see `state().focus`). */
  async focused() {
    return (await this.state()).focus;
  }

  /**
   * Presses Tab (or Shift+Tab) until the focused element matches `want` (an object of
   * fields of `state().focus`, e.g. `{id: 'code'}` or `{tag: 'button', name: 'Next'}`);
   * fails after `max` presses naming where focus went. Returns the number of presses.
   */
  async tabTo(want, { shift = false, max = 25 } = {}) {
    const matches = (f) => f && Object.entries(want).every(([k, v]) => f[k] === v);
    const seen = [];
    for (let i = 0; i <= max; i += 1) {
      const f = await this.focused();
      if (matches(f)) return i;
      seen.push(f ? `${f.tag}${f.id ? `#${f.id}` : ''} "${f.name}"` : '(nothing)');
      if (i === max) break;
      if (shift) await this.session.chord(Key.SHIFT, Key.TAB);
      else await this.session.pressKeys(Key.TAB);
    }
    throw new Error(`${JSON.stringify(want)} not reached with ${max} × ${shift ? 'Shift+Tab' : 'Tab'}; focus went: ${seen.join(' → ')}`);
  }

  /** Waits until focus is on an element matching `want` (focus moved by the wizard). */
  expectFocus(want, ms = 5_000) {
    const matches = (f) => f && Object.entries(want).every(([k, v]) => f[k] === v);
    return this.waitForScreen((s) => matches(s.focus), `focus on ${JSON.stringify(want)}`, ms);
  }

  /** Presses keys (Key values or characters). */
  press(...keys) {
    return this.session.pressKeys(...keys);
  }

  /** Types `text` into whatever has focus, as key presses. */
  async type(text) {
    await this.session.typeText(text);
  }

  /** Types `text` and checks that the focused field's value ends up exactly `text`. */
  async typeInto(want, text) {
    await this.expectFocus(want);
    await this.type(text);
    const value = await this.session.execute(() => document.activeElement?.value ?? null);
    if (value !== text) {
      throw new Error(`typed ${JSON.stringify(text)} into ${JSON.stringify(want)} but it holds ${JSON.stringify(value)}`);
    }
  }

  /** Text of the first element matching `selector`, or null (to read, e.g., a CAPTCHA question). */
  text(selector) {
    return this.session.execute((sel) => document.querySelector(sel)?.textContent?.trim() ?? null, selector);
  }

  /** The page as PNG, after two animation frames (so the last change and focus ring are painted). */
  async screenshot() {
    await this.session.execute(
      'return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));',
    );
    return this.session.screenshot();
  }
}

/** A temporary folder outside the repository (`remove()` deletes it). */
export { tempDir, startService, latestCode, solveTextCaptcha, catalogue } from '../e2e/harness.mjs';
