// Shared pieces of the browser tests (`npm run e2e`, run by node's own test runner):
// a static server for the built wizard, Chromium, the real reset service in demo mode, its
// mail folder, its text CAPTCHA, and a guard that fails a test on any console error, page
// error or CSP violation. Everything listens on 127.0.0.1 only and every wait is bounded.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The ui/ folder (this file is ui/e2e/harness.mjs). */
export const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The built wizard the tests load; `npm run build` makes it. */
export const DIST_DIR = path.join(UI_DIR, 'dist');

/** The policy the reset service sends with the portal (`PORTAL_CSP` in latchkey-server). */
export const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** The catalogue of `locale` (en, fr, de), to find controls by the names people see. */
export function catalogue(locale) {
  return JSON.parse(readFileSync(path.join(UI_DIR, 'src/lib/i18n', `${locale}.json`), 'utf8'));
}

/** Resolves, or rejects after `ms` with `what` in the message. */
export async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- the built wizard ------------------------------------------------------------------------

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves `dir` (ui/dist) on 127.0.0.1 and a free port, every unknown path answered with
 * index.html (as the service's portal does), under the service's CSP.
 * Returns `{ url, close }`; `url` ends with a slash.
 */
export async function serveDist(dir = DIST_DIR) {
  const root = path.resolve(dir);
  const index = path.join(root, 'index.html');
  try {
    await fs.access(index);
  } catch {
    throw new Error(`${index} is missing: run \`npm run build\` in ui/ first`);
  }
  const server = http.createServer(async (req, res) => {
    const headers = {
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD' }).end();
      return;
    }
    let file = index;
    try {
      const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      const candidate = path.resolve(root, `.${pathname}`);
      if (candidate.startsWith(root + path.sep) && (await fs.stat(candidate)).isFile()) file = candidate;
    } catch {
      // Not a file (or a malformed path): the single-page app answers.
    }
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, {
        ...headers,
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.writeHead(500, { ...headers, 'content-type': 'text/plain' }).end(String(e));
    }
  });
  await within(5_000, 'the static server to listen', new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  }));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      within(5_000, 'the static server to close', new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}

// ---- the browser ------------------------------------------------------------------------------

/** Debian's Chromium, headless; CHROMIUM_PATH overrides the binary. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
}

/**
 * Watches a page for console errors, uncaught exceptions and CSP violations. `allow(text, url)`
 * excuses one expected console error (e.g. the 401 of a wrong password) by a regex on its text
 * and optionally on the resource URL. `check()` throws listing everything else seen.
 */
export async function watchPage(page, label = 'page') {
  const problems = [];
  const allowed = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const url = m.location()?.url ?? '';
    if (allowed.some((a) => a.text.test(text) && (!a.url || a.url.test(url)))) return;
    problems.push(`console error: ${text}${url ? ` (${url})` : ''}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('crash', () => problems.push('the page crashed'));
  // CDP bindings and init scripts are not subject to the page's CSP.
  await page.exposeFunction('__e2eCspViolation', (v) => {
    problems.push(`CSP violation: ${v.directive} blocked ${v.blocked || '(inline)'} in ${v.source}:${v.line}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      // @ts-ignore -- exposed by the harness
      window.__e2eCspViolation({
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        source: e.sourceFile,
        line: e.lineNumber,
      });
    });
  });
  return {
    problems,
    allow(text, url) {
      allowed.push({ text, url });
    },
    check(where = '') {
      if (problems.length > 0) {
        throw new Error(`${label}${where ? ` ${where}` : ''}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
      }
    },
  };
}

/** Presses Tab (or Shift+Tab) until `locator` has focus; fails after `max` presses. */
export async function tabTo(page, locator, { shift = false, max = 25, what = String(locator) } = {}) {
  const key = shift ? 'Shift+Tab' : 'Tab';
  for (let i = 0; i <= max; i += 1) {
    if (await isFocused(locator)) return i;
    if (i === max) break;
    await page.keyboard.press(key);
  }
  throw new Error(`${what} not reached with ${max} × ${key}; focus is on ${await describeFocus(page)}`);
}

/** Whether `locator` (one element) has focus; false while it is absent. */
export async function isFocused(locator) {
  if ((await locator.count()) !== 1) return false;
  return locator.evaluate((el) => el === document.activeElement);
}

/** Waits up to `ms` for `locator` to have focus, else throws naming what has it instead. */
export async function expectFocused(page, locator, what, ms = 5_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await isFocused(locator)) return;
    await page.waitForTimeout(50);
  }
  throw new Error(`expected focus on ${what}, but it is on ${await describeFocus(page)}`);
}

/** Throws unless the focused element shows a focus ring (an outline of some width). */
export async function expectFocusRing(page) {
  const ring = await page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const s = getComputedStyle(el);
    return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0 };
  });
  if (!ring || ring.style === 'none' || ring.width < 1) {
    throw new Error(`no visible focus ring on ${await describeFocus(page)} (${JSON.stringify(ring)})`);
  }
}

/** The focused element, for failure messages: tag, id, role and name. */
export function describeFocus(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return '<body> (nothing focused)';
    const label = el.getAttribute('aria-label') ?? (el.labels?.[0]?.textContent ?? el.textContent ?? '').trim().slice(0, 60);
    return `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.getAttribute('role') ? ` role=${el.getAttribute('role')}` : ''}> "${label}"`;
  });
}

// ---- the reset service --------------------------------------------------------------------------

const live = new Set();
process.once('exit', () => {
  // A last resort if a test runner dies between start and stop.
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts `latchkey-server serve --demo` with its data in `dataDir`, on 127.0.0.1 and a free
 * port, serving ui/dist as the portal. LATCHKEY_SERVER_BIN overrides the binary (default
 * ../target/debug/latchkey-server from ui/). Returns `{ url, api, stop, log }`: `url` is the
 * portal's base (ends with a slash), `api` the /api/v1 base, `log()` its output so far.
 */
export async function startService(dataDir) {
  dataDir = path.resolve(dataDir);
  const bin = process.env.LATCHKEY_SERVER_BIN
    ? path.resolve(process.env.LATCHKEY_SERVER_BIN)
    : path.resolve(UI_DIR, '../target/debug/latchkey-server');
  try {
    await fs.access(bin);
  } catch {
    throw new Error(`${bin} is missing: run \`cargo build -p latchkey-server\` (or set LATCHKEY_SERVER_BIN)`);
  }
  // Only our settings: a developer's LATCHKEY_* variables must not change the test.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LATCHKEY_')));
  Object.assign(env, {
    LATCHKEY_HTTP__ADDR: '127.0.0.1:0',
    LATCHKEY_PORTAL__DIR: DIST_DIR,
    NO_COLOR: '1',
  });
  const child = spawn(bin, ['serve', '--demo', '--data-dir', dataDir], {
    cwd: dataDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => live.delete(child));
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    output = (output + d).slice(-20_000);
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // the service shuts down cleanly on Ctrl-C
      const done = await within(5_000, 'latchkey-server to stop', exited).catch(() => null);
      if (done === null) {
        child.kill('SIGKILL');
        await within(5_000, 'latchkey-server to die', exited);
      }
    }
  };

  try {
    const api = await within(
      30_000,
      'latchkey-server to print "Latchkey demo: http://…/api/v1"',
      new Promise((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (d) => {
          output = (output + d).slice(-20_000);
          buffered += d;
          const m = /^Latchkey demo: (http:\/\/127\.0\.0\.1:\d+\/api\/v1)\b/m.exec(buffered);
          if (m) resolve(m[1]);
        });
        child.once('error', reject);
        exited.then(({ code, signal }) => reject(new Error(`latchkey-server exited (${code ?? signal}) before it was ready`)));
      }),
    );
    return { url: api.replace(/api\/v1$/, ''), api, stop, log: () => output };
  } catch (e) {
    await stop();
    throw new Error(`${e.message}\n--- latchkey-server output ---\n${output}`);
  }
}

/** A fresh folder under the system's temporary folder; `remove()` deletes it. */
export async function tempDir(prefix = 'latchkey-e2e-') {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

// ---- mail -------------------------------------------------------------------------------------

function splitMessage(raw) {
  const at = raw.search(/\r?\n\r?\n/);
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodeBody(body, encoding = '') {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable':
      return Buffer.from(
        body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))),
        'latin1',
      ).toString('utf8');
    default:
      return body;
  }
}

/** The text/plain content of a message (the first one found, multipart or not). */
export function plainText(raw) {
  const { headers, body } = splitMessage(raw);
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    for (const part of body.split(`--${boundary}`).slice(1)) {
      if (part.startsWith('--')) break;
      const text = plainText(part.replace(/^\r?\n/, ''));
      if (text !== null) return text;
    }
    return null;
  }
  if (!/^text\/plain/i.test(type)) return null;
  return decodeBody(body, headers['content-transfer-encoding']);
}

/**
 * The code in the newest `.eml` in `<dataDir>/mail/` addressed to `address` (the registered
 * email, e.g. alice.martin@example.net) that carries one: a line of 4 spaces and the digits.
 * Only messages written at or after `since` (ms since the epoch) count. Polls for `timeoutMs`.
 */
export async function latestCode(dataDir, address, { since = 0, timeoutMs = 10_000 } = {}) {
  const folder = path.join(dataDir, 'mail');
  const end = Date.now() + timeoutMs;
  const wanted = address.toLowerCase();
  for (;;) {
    let names = [];
    try {
      names = (await fs.readdir(folder)).filter((n) => n.endsWith('.eml'));
    } catch {
      // The folder appears with the first message.
    }
    const files = [];
    for (const name of names) {
      const file = path.join(folder, name);
      try {
        const { mtimeMs } = await fs.stat(file);
        if (mtimeMs >= since - 1_000) files.push({ file, mtimeMs });
      } catch {
        // Removed meanwhile.
      }
    }
    files.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const { file } of files) {
      const raw = await fs.readFile(file, 'utf8');
      const { headers } = splitMessage(raw);
      if (!(headers.to ?? '').toLowerCase().includes(wanted)) continue;
      const code = /^ {4}(\d{4,10})[ \t]*\r?$/m.exec(plainText(raw) ?? '')?.[1];
      if (code) return code;
    }
    if (Date.now() >= end) {
      throw new Error(`no mail with a code to ${address} in ${folder} within ${timeoutMs} ms (${names.length} .eml files there)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- the text CAPTCHA ---------------------------------------------------------------------------

const SMALL = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
  'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** "seven" → 7, "twenty" → 20, "twenty-one" → 21, "12" → 12; anything else → null. */
export function numberWord(word) {
  const w = word.toLowerCase().replace(/[\s-]+/g, '');
  if (/^\d+$/.test(w)) return Number(w);
  const small = SMALL.indexOf(w);
  if (small >= 0) return small;
  for (let tens = 2; tens < TENS.length; tens += 1) {
    if (w === TENS[tens]) return tens * 10;
    if (w.startsWith(TENS[tens])) {
      const unit = SMALL.indexOf(w.slice(TENS[tens].length));
      if (unit > 0 && unit < 10) return tens * 10 + unit;
    }
  }
  return null;
}

/**
 * The answer (digits) to one of the service's text questions, as worded in
 * crates/latchkey-captcha/src/text.rs:
 * - "What is seven plus four?" / "What do you get if you add seven and four?" /
 *   "You have seven apples and someone gives you four more. How many apples …?"
 * - "Which is the largest|smallest of five, sixteen and three?"
 * - "How many letters are in the word 'garden'?"
 * (each followed by "Answer with a number."). Throws on anything else.
 */
export function solveTextCaptcha(prompt) {
  const p = prompt.replace(/\s+/g, ' ').trim();
  const NUM = '([a-z]+(?:-[a-z]+)?|\\d+)';
  const num = (s) => {
    const n = numberWord(s);
    if (n === null) throw new Error(`not a number word: "${s}" in "${prompt}"`);
    return n;
  };
  let m = new RegExp(`how many letters are in the word ['‘’"]([^'‘’"]+)['‘’"]`, 'i').exec(p);
  if (m) return String([...m[1]].length);
  m = new RegExp(`which is the (largest|smallest) of ${NUM}, ${NUM},? and ${NUM}\\?`, 'i').exec(p);
  if (m) {
    const values = [m[2], m[3], m[4]].map(num);
    return String(m[1].toLowerCase() === 'largest' ? Math.max(...values) : Math.min(...values));
  }
  m = new RegExp(`what is ${NUM} plus ${NUM}\\?`, 'i').exec(p);
  if (m) return String(num(m[1]) + num(m[2]));
  m = new RegExp(`add ${NUM} and ${NUM}\\?`, 'i').exec(p);
  if (m) return String(num(m[1]) + num(m[2]));
  m = new RegExp(`you have ${NUM} apples? and someone gives you ${NUM} more`, 'i').exec(p);
  if (m) return String(num(m[1]) + num(m[2]));
  throw new Error(`unknown CAPTCHA question: "${prompt}"`);
}
