// Screenshots of every screen of the real desktop app, light and dark, into
// docs/screenshots/<theme>-<nn>-<name>.png (the 480×640 window). Not a test: run it with
// `bash ui/e2e-desktop/run.sh --screenshots`, which provides Xvfb, D-Bus and tauri-driver.
//
// Everything comes from target/debug/latchkey against the real service in demo mode (no fake
// backend); the "unreachable" screen from a config pointing at a closed port, the "config
// problem" screen from a config with a bad service_url. Dark mode: GTK's
// gtk-application-prefer-dark-theme (see desktop.mjs), which WebKitGTK turns into
// prefers-color-scheme: dark.

import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import {
  Key,
  ROOT,
  catalogue,
  configFor,
  latestCode,
  launch,
  solveTextCaptcha,
  startService,
  tempDir,
  waitFor,
} from './desktop.mjs';

const en = catalogue('en');
const OUT = path.join(ROOT, 'docs/screenshots');
const WIDTH = 480;
const HEIGHT = 640;
const only = process.env.LATCHKEY_SCREENSHOTS_THEMES?.split(',') ?? ['light', 'dark'];

const words = ['Orbit', 'Canvas', 'Plume', 'Ridge', 'Falcon', 'Meadow', 'Cobalt', 'Thistle', 'Harbor', 'Juniper'];
const strongPassword = () => {
  const w = [...words].sort(() => Math.random() - 0.5);
  return `${w[0]}-${w[1]}-${w[2]}-${w[3]}-${10 + Math.floor(Math.random() * 90)}`;
};

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const written = [];

async function shoot(app, theme, nn, name) {
  const state = await app.state();
  if (state.dark !== (theme === 'dark')) {
    throw new Error(`${theme}-${nn}-${name}: the page prefers ${state.dark ? 'dark' : 'light'}`);
  }
  // Pictures (the CAPTCHA) fully decoded before the shot.
  await waitFor(
    () => app.session.execute(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0)),
    'images to load',
    10_000,
  );
  const png = await app.screenshot();
  const file = path.join(OUT, `${theme}-${String(nn).padStart(2, '0')}-${name}.png`);
  await fs.writeFile(file, png);
  written.push({ file: path.relative(ROOT, file), title: state.title });
  console.log(`${path.relative(ROOT, file)}  "${state.title}"`);
}

async function sizeWindow(app) {
  const { innerWidth, innerHeight } = await app.session.execute(() => ({
    innerWidth: window.innerWidth,
    innerHeight: window.innerHeight,
  }));
  if (innerWidth !== WIDTH || innerHeight !== HEIGHT) {
    throw new Error(`the window's inside is ${innerWidth}×${innerHeight}, not ${WIDTH}×${HEIGHT}`);
  }
}

/** Start → "Reset my password" → user id → the text question answered → Next. */
async function identify(app, theme, userId, shots) {
  await app.waitForTitle(en['start.title']);
  await app.tabTo({ tag: 'button', name: `${en['start.reset']} ${en['start.reset.detail']}` });
  await app.press(Key.ENTER);
  await app.waitForTitle(en['identify.titleReset']);
  await app.typeInto({ id: 'user-id' }, userId);
  await waitFor(() => app.session.execute(() => Boolean(document.querySelector('.captcha img'))), 'the picture', 10_000);
  if (shots) await shoot(app, theme, 2, 'identify-image-captcha');
  await app.tabTo({ tag: 'button', name: en['captcha.useText'] });
  await app.press(Key.ENTER);
  const prompt = await waitFor(() => app.text('#captcha-question'), 'the text question', 10_000);
  await app.waitIdle();
  await app.tabTo({ id: 'captcha-answer' });
  await app.typeInto({ id: 'captcha-answer' }, solveTextCaptcha(prompt));
  if (shots) await shoot(app, theme, 3, 'identify-text-question');
  await app.press(Key.ENTER);
}

/** Replaces the focused field's text with `text` (Ctrl+A, then typing over it). */
async function retype(app, want, text) {
  await app.expectFocus(want);
  await app.session.chord(Key.CONTROL, 'a');
  await app.type(text);
}

async function theme(theme, service, dataDir) {
  // 1–8: a whole reset of Bob, with a rejected password on the way.
  let app = await launch({ config: configFor(service.url), theme });
  try {
    await sizeWindow(app);
    await shoot(app, theme, 1, 'start');
    await identify(app, theme, 'bob@contoso.com', true);
    await app.waitForTitle(en['methods.title']);
    await shoot(app, theme, 4, 'methods');
    await app.tabTo({ tag: 'button', name: en['methods.send'] });
    const since = Date.now();
    await app.press(Key.ENTER);
    await app.waitForTitle(en['code.title']);
    const code = await latestCode(dataDir, 'bob.chen@example.net', { since, timeoutMs: 15_000 });
    await app.typeInto({ id: 'code' }, code.slice(0, 3));
    await shoot(app, theme, 5, 'code');
    await app.type(code.slice(3));
    await app.press(Key.ENTER);
    await app.waitForTitle(en['password.title']);

    // Rejected first (the shots are numbered in the order people meet them).
    await app.typeInto({ id: 'new-password' }, 'Contoso2026!');
    await app.tabTo({ id: 'confirm-password' });
    await app.typeInto({ id: 'confirm-password' }, 'Contoso2026!');
    await app.press(Key.ENTER);
    await app.waitForScreen((s) => !s.busy && s.focus?.id === 'new-password' && s.errors.includes(en['password.rejected']), 'the rejection');
    await app.session.execute(() => window.scrollTo(0, 0));
    await shoot(app, theme, 7, 'rejected-password');

    const good = strongPassword();
    await retype(app, { id: 'new-password' }, good);
    await waitFor(
      async () => /Strong|Very strong/.test((await app.text('#new-password-strength')) ?? ''),
      'the meter to say Strong',
      10_000,
    );
    await app.tabTo({ id: 'confirm-password' });
    await retype(app, { id: 'confirm-password' }, good);
    // Focus stays in the confirmation; the meter and the rules are above it.
    await app.session.execute(() => window.scrollTo(0, 0));
    await shoot(app, theme, 6, 'new-password-meter');
    await app.press(Key.ENTER);
    await app.waitForTitle(en['done.password_reset']);
    await shoot(app, theme, 8, 'done');
  } finally {
    await app.quit();
  }

  // 9: Dave is not in the self-service group.
  app = await launch({ config: configFor(service.url), theme });
  try {
    await identify(app, theme, 'dave@contoso.com', false);
    await app.waitForTitle(en['contact.title']);
    await shoot(app, theme, 9, 'contact-administrator');
  } finally {
    await app.quit();
  }

  // 10: change password, half filled in.
  app = await launch({ config: configFor(service.url), theme });
  try {
    await app.tabTo({ tag: 'button', name: `${en['start.change']} ${en['start.change.detail']}` });
    await app.press(Key.ENTER);
    await app.waitForTitle(en['change.title']);
    await app.typeInto({ id: 'user-id' }, 'alice@contoso.com');
    await app.tabTo({ id: 'old-password' });
    await app.type('Tulip-Harbor-Violet-7');
    await shoot(app, theme, 10, 'change-password');
  } finally {
    await app.quit();
  }

  // 11: the service is down (nothing listens on the configured port).
  app = await launch({ config: configFor(`http://127.0.0.1:${await closedPort()}`), theme });
  try {
    await app.waitForTitle(en['problem.unreachable']);
    await shoot(app, theme, 11, 'unreachable');
  } finally {
    await app.quit();
  }

  // 12: the managed config is wrong.
  app = await launch({ config: 'service_url = "reset.contoso.com"\n', theme });
  try {
    await app.waitForTitle(en['problem.config_invalid']);
    await shoot(app, theme, 12, 'config-problem');
  } finally {
    await app.quit();
  }
}

await fs.mkdir(OUT, { recursive: true });
const t0 = Date.now();
for (const name of only) {
  // A service per theme, so rate limits never see more than one pass.
  const data = await tempDir('latchkey-desktop-shots-');
  const service = await startService(data.dir);
  try {
    await theme(name, service, data.dir);
  } finally {
    await service.stop();
    await data.remove();
  }
}
console.log(`${written.length} screenshots in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
