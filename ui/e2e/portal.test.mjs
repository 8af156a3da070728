// The wizard served by the REAL reset service (latchkey-server in demo mode) as its web
// portal, driven with the keyboard only: Tab, Shift+Tab, Enter, Space and typing, never a
// click. Alice resets her forgotten password with the accessible text CAPTCHA and a code read
// from the service's mail folder, then proves the reset took effect by changing that new
// password on the "Change my password" screen (after her old password is refused there).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  describeFocus,
  expectFocusRing,
  expectFocused,
  latestCode,
  launch,
  numberWord,
  solveTextCaptcha,
  startService,
  tabTo,
  tempDir,
  watchPage,
  within,
} from './harness.mjs';

const USER = 'alice@contoso.com';
const OLD_PASSWORD = 'Tulip-Harbor-Violet-7'; // README's demo password
const ALTERNATE_EMAIL = 'alice.martin@example.net'; // where her codes go
const RESET_TO = 'plum-orbit-canvas-river';
const CHANGE_TO = 'mossy-quartz-fiddle-sonnet';

let data;
let service;
let browser;

before(async () => {
  data = await tempDir();
  service = await startService(data.dir);
  browser = await launch();
});

after(async () => {
  if (browser) await within(15_000, 'Chromium to close', browser.close()).catch((e) => console.error(e.message));
  await service?.stop();
  await data?.remove();
});

test('the text CAPTCHA solver reads every question form the service asks', () => {
  const cases = [
    ['What is seven plus four? Answer with a number.', '11'],
    ['What do you get if you add nine and one? Answer with a number.', '10'],
    ['You have one apple and someone gives you eight more. How many apples do you have now? Answer with a number.', '9'],
    ['Which is the largest of five, sixteen and three? Answer with a number.', '16'],
    ['Which is the smallest of twenty, eleven and nineteen? Answer with a number.', '11'],
    ['Which is the largest of twenty, two and zero? Answer with a number.', '20'],
    ["How many letters are in the word 'garden'? Answer with a number.", '6'],
    ["How many letters are in the word 'library'? Answer with a number.", '7'],
  ];
  for (const [prompt, answer] of cases) assert.equal(solveTextCaptcha(prompt), answer, prompt);
  assert.equal(numberWord('twenty-one'), 21);
  assert.throws(() => solveTextCaptcha('What colour is the sky?'), /unknown CAPTCHA question/);
});

test('keyboard only: reset a forgotten password with the text CAPTCHA, then change it', { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 }, locale: 'en-US' });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.setDefaultNavigationTimeout(15_000);
    const guard = await watchPage(page, 'portal');
    const kb = page.keyboard;
    const heading = (name) => page.getByRole('heading', { level: 1, name, exact: true });
    const step = async (what, fn) => {
      try {
        await fn();
      } catch (e) {
        throw new Error(`${what}: ${e.message}\n(focus: ${await describeFocus(page).catch(() => '?')})`);
      }
      guard.check(`after "${what}"`);
    };

    await step('open the portal', async () => {
      const res = await page.goto(service.url);
      assert.equal(res?.status(), 200);
      assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self'/);
      await heading("Can't access your account?").waitFor();
    });

    await step('choose "Reset my password"', async () => {
      await tabTo(page, page.getByRole('button', { name: /^Reset my password/ }), { what: 'the "Reset my password" button' });
      await expectFocusRing(page);
      await kb.press('Enter');
      await heading('Get back into your account').waitFor();
    });

    const userId = page.getByLabel('User ID', { exact: true });
    await step('type the user ID (focus starts in the field)', async () => {
      await expectFocused(page, userId, 'the User ID field');
      await kb.type(USER);
      assert.equal(await userId.inputValue(), USER);
    });

    await step('the image CAPTCHA is an <img> with a text alternative', async () => {
      const img = page.getByRole('group', { name: "Prove you're not a robot" }).getByRole('img');
      await img.waitFor();
      const facts = await img.evaluate((el) => ({
        tag: el.tagName,
        alt: el.getAttribute('alt') ?? '',
        src: el.getAttribute('src') ?? '',
        loaded: el.complete && el.naturalWidth > 0,
      }));
      assert.equal(facts.tag, 'IMG');
      assert.ok(facts.alt.trim().length > 0, 'the CAPTCHA picture has a non-empty alt');
      assert.match(facts.src, /^data:image\//);
      assert.ok(facts.loaded, 'the CAPTCHA picture decoded and has a size');
    });

    let answered = '';
    await step('switch to the text question and answer it', async () => {
      await tabTo(page, page.getByRole('button', { name: 'Use a text question instead' }), { what: '"Use a text question instead"' });
      await expectFocusRing(page);
      await kb.press('Space');
      const prompt = page.getByText(/Answer with a number\.$/);
      await prompt.waitFor();
      // The switch stays focused (now offering the picture back), so Tab goes on from there.
      await expectFocused(page, page.getByRole('button', { name: 'Use a picture instead' }), '"Use a picture instead"');
      const answer = page.getByLabel('Your answer', { exact: true });
      await tabTo(page, answer, { what: 'the "Your answer" field', max: 3 });
      await expectFocusRing(page);
      const question = (await prompt.textContent()) ?? '';
      // The question is tied to the field, so a screen reader reads it with the label.
      assert.match((await answer.getAttribute('aria-describedby')) ?? '', /\bcaptcha-question\b/);
      answered = solveTextCaptcha(question);
      await kb.type(answered);
      await kb.press('Enter');
      await heading('Verify your identity').waitFor();
    });

    let since = 0;
    await step('choose the method and send a code', async () => {
      const method = page.getByRole('radio', { name: /alternate email/ });
      await expectFocused(page, method, 'the email method');
      assert.ok(await method.isChecked(), 'the only method is chosen');
      await tabTo(page, page.getByRole('button', { name: 'Send code' }), { what: 'the "Send code" button' });
      await expectFocusRing(page);
      since = Date.now();
      await kb.press('Space');
      await heading('Enter your code').waitFor();
    });

    await step('type the code from the mail', async () => {
      const field = page.getByLabel('Verification code', { exact: true });
      await expectFocused(page, field, 'the Verification code field');
      const code = await latestCode(data.dir, ALTERNATE_EMAIL, { since });
      await kb.type(code);
      await kb.press('Enter');
      await heading('Choose a new password').waitFor();
    });

    await step('set a new strong password', async () => {
      await expectFocused(page, page.getByLabel('New password', { exact: true }), 'the New password field');
      await kb.type(RESET_TO);
      await tabTo(page, page.getByLabel('Confirm new password', { exact: true }), { what: 'the Confirm new password field', max: 5 });
      await expectFocusRing(page);
      await kb.type(RESET_TO);
      await kb.press('Enter');
      await heading('Your password has been reset').waitFor();
    });

    await step('back to the start with Close', async () => {
      const close = page.getByRole('button', { name: 'Close', exact: true });
      await expectFocused(page, close, 'the Close button');
      await kb.press('Enter');
      await heading("Can't access your account?").waitFor();
    });

    await step('choose "Change my password"', async () => {
      // Focus starts on the heading; Shift+Tab wraps to the bottom and walks back up.
      await tabTo(page, page.getByRole('button', { name: /^Change my password/ }), { shift: true, what: 'the "Change my password" button' });
      await expectFocusRing(page);
      await kb.press('Enter');
      await heading('Change your password').waitFor();
      await expectFocused(page, userId, 'the User ID field');
    });

    const current = page.getByLabel('Current password', { exact: true });
    await step('the old password is refused as the current one', async () => {
      guard.allow(/status of 401/, /\/api\/v1\/password\/change$/);
      await kb.type(USER);
      await tabTo(page, current, { what: 'the Current password field', max: 3 });
      await expectFocusRing(page);
      await kb.type(OLD_PASSWORD);
      await tabTo(page, page.getByLabel('New password', { exact: true }), { what: 'the New password field', max: 3 });
      await expectFocusRing(page);
      await kb.type(CHANGE_TO);
      await tabTo(page, page.getByLabel('Confirm new password', { exact: true }), { what: 'the Confirm new password field', max: 5 });
      await expectFocusRing(page);
      await kb.type(CHANGE_TO);
      await kb.press('Enter');
      await page
        .getByText('The user ID or current password is incorrect. If your account is locked, unlock it first.')
        .waitFor();
      assert.equal(await current.getAttribute('aria-invalid'), 'true');
      await expectFocused(page, current, 'the Current password field (after the error)');
      await heading('Change your password').waitFor();
    });

    await step('the new password works as the current one', async () => {
      await kb.press('ControlOrMeta+A');
      await kb.type(RESET_TO);
      await kb.press('Enter');
      await heading('Your password has been changed').waitFor();
    });

    assert.ok(answered !== '', 'the CAPTCHA was answered');
  } finally {
    await context.close();
  }

  // The last change landed: the service takes CHANGE_TO as Alice's current password.
  const res = await fetch(`${service.api}/password/change`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'alice', old_password: CHANGE_TO, new_password: 'cobalt-thistle-harbour-origami' }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200, `changing again with ${CHANGE_TO} answered ${res.status}: ${await res.text()}`);
});
