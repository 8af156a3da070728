// The real desktop app (target/debug/latchkey) end to end, under Xvfb, driven through
// tauri-driver + WebKitWebDriver with the KEYBOARD ONLY: elements are looked up to assert on
// them (focus, headings, values), never clicked. Run with `bash ui/e2e-desktop/run.sh`.
//
// Against the real service in demo mode (its own data folder per test), Bob resets his
// password with a code sent to his second email (read from the service's mail folder), after
// switching the CAPTCHA to its text question; then changes it again with the new one.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Key,
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
const BOB = { id: 'bob@contoso.com', second: 'bchen@example.org' };
const ALICE = { id: 'alice@contoso.com', email: 'alice.martin@example.net' };

/** A fresh strong password that names nobody: four unrelated words and two digits. */
function newPassword() {
  const words = ['Orbit', 'Canvas', 'Plume', 'Ridge', 'Falcon', 'Meadow', 'Cobalt', 'Thistle', 'Harbor', 'Juniper', 'Quiver', 'Saddle'];
  const pick = () => words.splice(Math.floor(Math.random() * words.length), 1)[0];
  return `${pick()}-${pick()}-${pick()}-${pick()}-${10 + Math.floor(Math.random() * 90)}`;
}

let data;
let service;

before(async () => {
  data = await tempDir('latchkey-desktop-e2e-');
  service = await startService(data.dir);
});

after(async () => {
  await service?.stop();
  await data?.remove();
});

/**
 * From the start screen, with the keyboard: choose "Reset my password", enter the user id,
 * switch the CAPTCHA to its text question, answer it, and submit.
 */
async function identify(app, user) {
  await app.waitForTitle(en['start.title']);
  await app.tabTo({ tag: 'button', name: `${en['start.reset']} ${en['start.reset.detail']}` });
  await app.press(Key.ENTER);
  await app.waitForTitle(en['identify.titleReset']);
  // The user id field takes focus on arrival.
  await app.typeInto({ id: 'user-id' }, user.id);
  // The picture CAPTCHA first; its accessible alternative is two Tabs away.
  await waitFor(() => app.session.execute(() => Boolean(document.querySelector('.captcha img'))), 'the picture CAPTCHA', 10_000);
  await app.tabTo({ tag: 'button', name: en['captcha.useText'] });
  await app.press(Key.ENTER);
  const prompt = await waitFor(() => app.text('#captcha-question'), 'the text question', 10_000);
  // Focus stays on the (relabelled) switch after the question arrives.
  await app.expectFocus({ tag: 'button', name: en['captcha.useImage'] });
  await app.tabTo({ id: 'captcha-answer' });
  await app.typeInto({ id: 'captcha-answer' }, solveTextCaptcha(prompt));
  // Enter in a field submits the form (its Next button lives outside, joined by form=).
  await app.press(Key.ENTER);
  return prompt;
}

/** On the methods screen: pick the email whose hint is `hint` with the arrow keys, send a code. */
async function chooseMethodAndVerify(app, dir, address) {
  await app.waitForTitle(en['methods.title']);
  // The first method's radio takes focus; the arrow keys move through the group.
  const first = await app.expectFocus({ tag: 'input', type: 'radio' });
  const hint = maskedHint(address);
  let state = first;
  for (let i = 0; i < 4 && !state.focus.name.includes(hint); i += 1) {
    await app.press(Key.DOWN);
    state = await app.state();
  }
  assert.ok(state.focus.name.includes(hint), `the radio for ${hint} not reached with ↓: ${JSON.stringify(state.focus)}`);
  assert.equal(state.focus.checked, true, 'the arrow key checks the radio it moves to');
  await app.tabTo({ tag: 'button', name: en['methods.send'] });
  const since = Date.now();
  await app.press(Key.ENTER);
  await app.waitForTitle(en['code.title']);
  const code = await latestCode(dir, address, { since, timeoutMs: 15_000 });
  await app.typeInto({ id: 'code' }, code);
  await app.press(Key.ENTER);
}

/** The service's mask of an address: first letter, bullets, the domain (b•••@example.org). */
function maskedHint(address) {
  const [local, domain] = address.split('@');
  return `${local[0]}•••@${domain}`;
}

/** Types the new password and its confirmation on a password screen and submits. */
async function setNewPassword(app, password, { from = 'new-password' } = {}) {
  await app.tabTo({ id: from });
  if (from !== 'new-password') await app.tabTo({ id: 'new-password' });
  await app.typeInto({ id: 'new-password' }, password);
  // The live meter rates it in the Rust core.
  await waitFor(
    async () => /Strong|Very strong/.test((await app.text('#new-password-strength')) ?? ''),
    'the strength meter to say Strong',
    10_000,
  );
  await app.tabTo({ id: 'confirm-password' });
  await app.typeInto({ id: 'confirm-password' }, password);
  await app.press(Key.ENTER);
}

test('keyboard only: reset Bob with a code, then change the new password', async () => {
  const timings = {};
  const t0 = Date.now();
  const resetTo = newPassword();
  const changeTo = newPassword();

  // --- the reset -----------------------------------------------------------------------------
  let app = await launch({ config: configFor(service.url) });
  timings.launch = Date.now() - t0;
  try {
    const start = await app.state();
    assert.equal(start.title, en['start.title']);
    // The heading has focus first, so a screen reader starts there.
    assert.equal(start.focus?.id, 'page-title');

    await identify(app, BOB);
    await chooseMethodAndVerify(app, data.dir, BOB.second);
    await app.waitForTitle(en['password.title']);
    // The new password field takes focus on arrival.
    await app.expectFocus({ id: 'new-password' });
    await setNewPassword(app, resetTo);
    const done = await app.waitForTitle(en['done.password_reset']);
    // Outside kiosk mode Done offers Close, focused; it quits the app.
    assert.deepEqual(
      { tag: done.focus.tag, name: done.focus.name },
      { tag: 'button', name: en['common.close'] },
    );
    timings.reset = Date.now() - t0;

    // Back to the start: Done has no way back outside kiosk mode, so Close (Enter) ends the
    // app, and it is started again.
    // The app may exit before WebDriver answers the key press itself.
    await app.press(Key.ENTER).catch(() => {});
    await waitFor(
      async () => {
        try {
          await app.state();
          return false;
        } catch {
          return true; // The window (and the session's browser) is gone.
        }
      },
      'the app to quit on Close',
      10_000,
    );
  } finally {
    await app.quit();
  }

  // --- the change ----------------------------------------------------------------------------
  app = await launch({ config: configFor(service.url) });
  try {
    await app.waitForTitle(en['start.title']);
    await app.tabTo({ tag: 'button', name: `${en['start.change']} ${en['start.change.detail']}` });
    await app.press(Key.ENTER);
    await app.waitForTitle(en['change.title']);
    await app.typeInto({ id: 'user-id' }, BOB.id);
    await app.tabTo({ id: 'old-password' });
    await app.typeInto({ id: 'old-password' }, resetTo);
    await setNewPassword(app, changeTo, { from: 'old-password' });
    await app.waitForTitle(en['done.password_changed']);
    timings.change = Date.now() - t0;
  } finally {
    await app.quit();
  }

  // The service agrees: the password from the reset no longer works, the changed one does
  // (a change to itself passes the credentials check and is refused only as reused).
  const check = async (pw) =>
    (await fetch(`${service.api}/password/change`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: BOB.id, old_password: pw, new_password: pw }),
      signal: AbortSignal.timeout(10_000),
    })).json();
  const stale = await check(resetTo);
  assert.equal(stale.code, 'invalid_credentials', JSON.stringify(stale));
  const current = await check(changeTo);
  assert.equal(current.code, 'password_rejected', JSON.stringify(current));
  console.log(`timings (ms from the first launch): ${JSON.stringify(timings)}`);
});

test('kiosk (--kiosk): reset Alice, "Back to the start", change her password', async () => {
  const resetTo = newPassword();
  const changeTo = newPassword();
  const app = await launch({ config: configFor(service.url), args: ['--kiosk'] });
  try {
    const rect = await app.session.getWindowRect();
    assert.ok(rect.width > 480 && rect.height > 640, `kiosk covers the screen: ${JSON.stringify(rect)}`);
    await identify(app, ALICE);
    await chooseMethodAndVerify(app, data.dir, ALICE.email);
    await app.waitForTitle(en['password.title']);
    await setNewPassword(app, resetTo);
    const done = await app.waitForTitle(en['done.password_reset']);
    assert.equal(done.focus?.name, en['done.startOver']);
    await app.press(Key.ENTER);
    await app.waitForTitle(en['start.title']);
    await app.tabTo({ tag: 'button', name: `${en['start.change']} ${en['start.change.detail']}` });
    await app.press(Key.ENTER);
    await app.waitForTitle(en['change.title']);
    // Nothing of the reset is remembered.
    await app.expectFocus({ id: 'user-id' });
    assert.equal(await app.session.execute(() => document.getElementById('user-id').value), '');
    await app.typeInto({ id: 'user-id' }, ALICE.id);
    await app.tabTo({ id: 'old-password' });
    await app.typeInto({ id: 'old-password' }, resetTo);
    await setNewPassword(app, changeTo, { from: 'old-password' });
    const changed = await app.waitForTitle(en['done.password_changed']);
    assert.equal(changed.focus?.name, en['done.startOver']);
  } finally {
    await app.quit();
  }
});
