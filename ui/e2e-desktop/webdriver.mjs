// A small W3C WebDriver client over fetch: just what the desktop tests use, against
// tauri-driver (which forwards to WebKitGTK's WebKitWebDriver). No driver downloads, no
// dependencies; every request has a timeout.

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecc';

/** W3C key codes for the keys the tests press (https://w3c.github.io/webdriver/#keyboard-actions). */
export const Key = Object.freeze({
  TAB: '\uE004',
  ENTER: '\uE007',
  SHIFT: '\uE008',
  CONTROL: '\uE009',
  BACKSPACE: '\uE003',
  ESCAPE: '\uE00C',
  SPACE: '\uE00D',
  LEFT: '\uE012',
  UP: '\uE013',
  RIGHT: '\uE014',
  DOWN: '\uE015',
});

/** A failed WebDriver command, with the W3C error code and the command that failed. */
export class WebDriverError extends Error {
  constructor(command, status, error, message) {
    super(`${command}: ${error ?? `HTTP ${status}`}: ${message ?? ''}`.trim());
    this.name = 'WebDriverError';
    this.status = status;
    this.error = error;
  }
}

async function request(base, method, path, body, timeoutMs) {
  const command = `${method} ${path}`;
  let res;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new WebDriverError(command, 0, e.name === 'TimeoutError' ? 'timeout' : 'connection failed', e.message);
  }
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: reported below.
  }
  if (!res.ok || json?.value?.error) {
    throw new WebDriverError(command, res.status, json?.value?.error, json?.value?.message ?? text.slice(0, 500));
  }
  return json?.value ?? null;
}

/** Waits up to `ms` for `GET /status` to say ready. */
export async function waitReady(base, ms = 15_000) {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    try {
      const v = await request(base, 'GET', '/status', undefined, 2_000);
      if (v?.ready !== false) return;
      last = v?.message ?? '';
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`WebDriver at ${base} not ready within ${ms} ms: ${last}`);
}

export class Session {
  /** Use `Session.create`. */
  constructor(base, id, capabilities) {
    this.base = base;
    this.id = id;
    this.capabilities = capabilities;
  }

  /** A new session with `alwaysMatch` capabilities; the app starts now. */
  static async create(base, alwaysMatch, { timeoutMs = 60_000 } = {}) {
    const v = await request(base, 'POST', '/session', { capabilities: { alwaysMatch } }, timeoutMs);
    return new Session(base, v.sessionId, v.capabilities);
  }

  cmd(method, path, body, timeoutMs = 30_000) {
    return request(this.base, method, `/session/${this.id}${path}`, body, timeoutMs);
  }

  /** Ends the session (the app exits); a session that is already gone is not an error. */
  async quit() {
    try {
      await request(this.base, 'DELETE', `/session/${this.id}`, undefined, 20_000);
    } catch (e) {
      return e;
    }
    return null;
  }

  /** Runs `fn` (a function or a function body) in the page; `args` are JSON values. */
  execute(fn, ...args) {
    const script = typeof fn === 'function' ? `return (${fn}).apply(null, arguments);` : fn;
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  title() {
    return this.cmd('GET', '/title');
  }

  setWindowRect(rect) {
    return this.cmd('POST', '/window/rect', rect);
  }

  getWindowRect() {
    return this.cmd('GET', '/window/rect');
  }

  /** The page as PNG bytes. */
  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  /** W3C "Perform Actions" with one keyboard source: `keys` is a list of `{down|up|pause}`. */
  async keyActions(actions) {
    await this.cmd('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions }] });
    await this.cmd('DELETE', '/actions');
  }

  /** Presses and releases each key in turn (a Key value or any single character). */
  pressKeys(...keys) {
    return this.keyActions(keys.flatMap((k) => [{ type: 'keyDown', value: k }, { type: 'keyUp', value: k }]));
  }

  /** Holds `modifier` while pressing `key` (e.g. Shift+Tab). */
  chord(modifier, key) {
    return this.keyActions([
      { type: 'keyDown', value: modifier },
      { type: 'keyDown', value: key },
      { type: 'keyUp', value: key },
      { type: 'keyUp', value: modifier },
    ]);
  }

  /** Types `text` as key presses to whatever has focus. */
  typeText(text) {
    return this.keyActions([...text].flatMap((c) => [{ type: 'keyDown', value: c }, { type: 'keyUp', value: c }]));
  }

  /** The focused element's reference (for "Element Send Keys"), found, not clicked. */
  async activeElement() {
    const v = await this.cmd('GET', '/element/active');
    return v?.[ELEMENT] ?? null;
  }

  /** "Element Send Keys" to the element that has focus now. */
  async sendKeysToActive(text) {
    const el = await this.activeElement();
    if (!el) throw new Error('no element has focus to send keys to');
    await this.cmd('POST', `/element/${el}/value`, { text });
  }
}
