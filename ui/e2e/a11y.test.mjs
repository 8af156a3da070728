// Accessibility of the built wizard (ui/dist) with the scripted fake service: every screen
// state, in light and dark, and a few screens in French and German, at 480×640 under the
// portal's strict CSP. At each state: no axe violation of WCAG 2.1 A/AA, no horizontal scroll,
// the document's lang is the wizard's language, and no console error, page error or CSP
// violation. One test per pass; a failure lists every problem with the state it was seen in.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import { catalogue, launch, serveDist, watchPage, within } from './harness.mjs';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const VIEWPORT = { width: 480, height: 640 };
/** Bounds every wait for an element; a pass has its own bound below. */
const STEP_TIMEOUT_MS = 10_000;

let site;
let browser;

before(async () => {
  site = await serveDist();
  browser = await launch();
});

after(async () => {
  if (browser) await within(15_000, 'Chromium to close', browser.close()).catch((e) => console.error(e.message));
  await site?.close();
});

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A catalogue text as a regex; `{placeholders}` match anything. */
const pattern = (text) => new RegExp(escape(text).replace(/\\\{\w+\\\}/g, '.+?'));

/**
 * Each journey starts from a fresh page load and scans the states it passes through. They
 * use the fake's demo users: carol (two methods), frank (locked), dave (no self-service),
 * alice; the fake's image CAPTCHA reads ABC123, its text question is "What is two plus
 * three?", every code is 123456.
 */
const JOURNEYS = {
  async reset({ go, scan, page, L }) {
    await go('');
    await page.getByRole('heading', { level: 1, name: L['start.title'] }).waitFor();
    await scan('start');
    await page.getByRole('button', { name: new RegExp(`^${escape(L['start.reset'])}`) }).click();
    await page.getByRole('img', { name: L['captcha.alt'] }).waitFor();
    await scan('identify (image CAPTCHA)');
    await page.getByRole('button', { name: L['captcha.useText'] }).click();
    await page.getByText('What is two plus three?').waitFor();
    await scan('identify (text CAPTCHA)');
    await page.getByLabel(L['identify.userId'], { exact: true }).fill('carol');
    await page.getByLabel(L['captcha.answerText'], { exact: true }).fill('7');
    await page.keyboard.press('Enter');
    await page.getByText(L['error.captcha_invalid']).waitFor();
    await scan('identify (wrong answer)');
    await page.getByLabel(L['captcha.answerText'], { exact: true }).fill('5');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: L['methods.title'] }).waitFor();
    await scan('methods');
    await page.getByRole('button', { name: L['methods.send'] }).click();
    await page.getByRole('heading', { level: 1, name: L['code.title'] }).waitFor();
    await scan('code');
    await page.getByLabel(L['code.label'], { exact: true }).fill('111111');
    await page.keyboard.press('Enter');
    await page.getByText(pattern(L['error.code_invalid.left.other'])).waitFor();
    await scan('code (wrong code)');
    await page.getByLabel(L['code.label'], { exact: true }).fill('123 456');
    await page.keyboard.press('Enter');
    await page.getByText(L['methods.secondStep']).waitFor();
    await scan('methods (second method)');
    await page.getByRole('button', { name: L['methods.send'] }).click();
    await page.getByLabel(L['code.label'], { exact: true }).fill('123456');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: L['password.title'] }).waitFor();
    await scan('new password (empty)');
    // Long enough for Carol's stricter rules (14), so the service, not the screen, refuses it.
    await page.getByLabel(L['password.new'], { exact: true }).fill('Contoso-Summer-2026!');
    await page.getByLabel(L['password.confirm'], { exact: true }).fill('Contoso-Summer-2026!');
    await page.locator('#new-password-strength').getByText(L['strength.1'], { exact: true }).waitFor();
    await scan('new password (weak)');
    await page.getByRole('button', { name: L['password.finish'] }).click();
    await page.getByText(L['password.rejected']).waitFor();
    await scan('new password (rejected)');
    await page.getByLabel(L['password.new'], { exact: true }).fill('Plum-Orbit-Canvas-River-7');
    await page.getByLabel(L['password.confirm'], { exact: true }).fill('Plum-Orbit-Canvas-River-');
    await page.getByLabel(L['password.confirm'], { exact: true }).blur();
    await page.getByText(L['password.mismatch']).waitFor();
    await scan('new password (mismatch)');
    await page.getByLabel(L['password.confirm'], { exact: true }).fill('Plum-Orbit-Canvas-River-7');
    await page.getByRole('button', { name: L['password.finish'] }).click();
    await page.getByRole('heading', { level: 1, name: L['done.password_reset'] }).waitFor();
    await scan('done (reset)');
  },

  async unlock({ go, scan, page, L }) {
    await go('');
    await page.getByRole('button', { name: new RegExp(`^${escape(L['start.unlock'])}`) }).click();
    await page.getByRole('img', { name: L['captcha.alt'] }).waitFor();
    await page.getByLabel(L['identify.userId'], { exact: true }).fill('frank');
    await page.getByLabel(L['captcha.answerImage'], { exact: true }).fill('abc123');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: L['methods.send'] }).click();
    await page.getByLabel(L['code.label'], { exact: true }).fill('123456');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: L['password.titleUnlock'] }).waitFor();
    await scan('unlock (keep or change)');
    await page.getByRole('button', { name: L['password.unlockKeep'], exact: true }).click();
    await page.getByRole('heading', { level: 1, name: L['done.account_unlocked'] }).waitFor();
    await scan('done (unlocked)');
  },

  async change({ go, scan, page, L }) {
    await go('');
    await page.getByRole('button', { name: new RegExp(`^${escape(L['start.change'])}`) }).click();
    await page.getByRole('heading', { level: 1, name: L['change.title'] }).waitFor();
    await scan('change password');
    await page.getByLabel(L['identify.userId'], { exact: true }).fill('alice');
    await page.getByLabel(L['change.old'], { exact: true }).fill('nope');
    await page.getByLabel(L['password.new'], { exact: true }).fill('plum-orbit-canvas-river');
    await page.getByLabel(L['password.confirm'], { exact: true }).fill('plum-orbit-canvas-river');
    await page.getByRole('button', { name: L['change.submit'] }).click();
    await page.getByText(L['error.invalid_credentials']).waitFor();
    await scan('change password (wrong current password)');
    await page.getByLabel(L['change.old'], { exact: true }).fill('Tulip-Harbor-Violet-7');
    await page.getByRole('button', { name: L['change.submit'] }).click();
    await page.getByRole('heading', { level: 1, name: L['done.password_changed'] }).waitFor();
    await scan('done (changed)');
  },

  async contact({ go, scan, page, L }) {
    await go('');
    await page.getByRole('button', { name: new RegExp(`^${escape(L['start.reset'])}`) }).click();
    await page.getByRole('img', { name: L['captcha.alt'] }).waitFor();
    await page.getByLabel(L['identify.userId'], { exact: true }).fill('dave');
    await page.getByLabel(L['captcha.answerImage'], { exact: true }).fill('ABC123');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: L['contact.title'] }).waitFor();
    await scan('contact your administrator');
  },

  async unreachable({ go, scan, page, L }) {
    await go('&fail=startRecovery:unreachable');
    await page.getByRole('button', { name: new RegExp(`^${escape(L['start.reset'])}`) }).click();
    await page.getByRole('img', { name: L['captcha.alt'] }).waitFor();
    await page.getByLabel(L['identify.userId'], { exact: true }).fill('alice');
    await page.getByLabel(L['captcha.answerImage'], { exact: true }).fill('ABC123');
    await page.keyboard.press('Enter');
    await page.getByText(L['error.unreachable']).waitFor();
    await scan('identify (service unreachable)');
    await go('&offline=1');
    await page.getByRole('heading', { level: 1, name: L['problem.unreachable'] }).waitFor();
    await scan('problem: unreachable at start');
  },

  async expired({ go, scan, page, L }) {
    await go('&fail=startChallenge:flow_expired');
    await page.getByRole('button', { name: new RegExp(`^${escape(L['start.reset'])}`) }).click();
    await page.getByRole('img', { name: L['captcha.alt'] }).waitFor();
    await page.getByLabel(L['identify.userId'], { exact: true }).fill('alice');
    await page.getByLabel(L['captcha.answerImage'], { exact: true }).fill('ABC123');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: L['methods.send'] }).click();
    await page.getByRole('heading', { level: 1, name: L['problem.flow_expired'] }).waitFor();
    await scan('problem: flow expired');
  },

  async certificate({ go, scan, page, L }) {
    await go('&fail=startRecovery:certificate_untrusted');
    await page.getByRole('button', { name: new RegExp(`^${escape(L['start.reset'])}`) }).click();
    await page.getByRole('img', { name: L['captcha.alt'] }).waitFor();
    await page.getByLabel(L['identify.userId'], { exact: true }).fill('alice');
    await page.getByLabel(L['captcha.answerImage'], { exact: true }).fill('ABC123');
    await page.keyboard.press('Enter');
    await page.getByText(L['error.certificate_untrusted']).waitFor();
    await scan('identify (certificate untrusted)');
    await go('&problem=certificate_untrusted');
    await page.getByRole('heading', { level: 1, name: L['problem.certificate_untrusted'] }).waitFor();
    await scan('problem: certificate untrusted');
  },

  async configInvalid({ go, scan, page, L }) {
    await go('&problem=config_invalid');
    await page.getByRole('heading', { level: 1, name: L['problem.config_invalid'] }).waitFor();
    await scan('problem: config_invalid');
  },

  async kiosk({ go, scan, page, L }) {
    await go('&kiosk=1&idle=600');
    await page.getByRole('heading', { level: 1, name: L['start.title'] }).waitFor();
    await scan('kiosk: start');
    await page.getByRole('button', { name: new RegExp(`^${escape(L['start.change'])}`) }).click();
    await page.getByLabel(L['identify.userId'], { exact: true }).fill('alice');
    await page.getByLabel(L['change.old'], { exact: true }).fill('Tulip-Harbor-Violet-7');
    await page.getByLabel(L['password.new'], { exact: true }).fill('plum-orbit-canvas-river');
    await page.getByLabel(L['password.confirm'], { exact: true }).fill('plum-orbit-canvas-river');
    await page.getByRole('button', { name: L['change.submit'] }).click();
    await page.getByRole('button', { name: L['done.startOver'] }).waitFor();
    await scan('kiosk: done');
  },
};

const ALL = Object.keys(JOURNEYS);
const A_FEW = ['reset', 'change', 'contact', 'configInvalid', 'kiosk'];

const PASSES = [
  { name: 'light, English', scheme: 'light', locale: 'en', journeys: ALL },
  { name: 'dark, English', scheme: 'dark', locale: 'en', journeys: ALL },
  { name: 'light, French', scheme: 'light', locale: 'fr', journeys: A_FEW },
  { name: 'dark, German', scheme: 'dark', locale: 'de', journeys: A_FEW },
];

for (const pass of PASSES) {
  test(`every screen passes axe (WCAG 2.1 AA) without horizontal scroll: ${pass.name}`, { timeout: 180_000 }, async () => {
    const L = catalogue(pass.locale);
    const context = await browser.newContext({
      viewport: VIEWPORT,
      colorScheme: pass.scheme,
      locale: pass.locale,
      reducedMotion: 'reduce',
    });
    const problems = [];
    let scanned = 0;
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_TIMEOUT_MS);
      page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
      const guard = await watchPage(page, pass.name);
      const go = async (query) => {
        await page.goto(`${site.url}?backend=fake&locale=${pass.locale}${query}`);
        await page.getByRole('heading', { level: 1 }).waitFor();
      };
      const scan = async (state) => {
        scanned += 1;
        // Settle: no request in flight, the debounced rating done, focus moved.
        await page.locator('main[aria-busy="false"]').waitFor();
        await page.waitForTimeout(200);
        const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
        for (const v of result.violations) {
          const nodes = v.nodes.map((n) => `${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`);
          problems.push(`${state}: axe ${v.id} (${v.impact}): ${v.help}\n      ${nodes.join('\n      ')}`);
        }
        const { scrollWidth, clientWidth, lang } = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth,
          lang: document.documentElement.lang,
        }));
        if (scrollWidth > clientWidth) problems.push(`${state}: horizontal scroll (${scrollWidth} px wide in ${clientWidth} px)`);
        if (lang !== pass.locale) problems.push(`${state}: <html lang="${lang}">, expected "${pass.locale}"`);
        for (const p of guard.problems.splice(0)) problems.push(`${state}: ${p}`);
      };
      for (const name of pass.journeys) {
        try {
          await JOURNEYS[name]({ go, scan, page, L });
        } catch (e) {
          problems.push(`journey "${name}" stopped: ${e.message.split('\n')[0]}`);
        }
        for (const p of guard.problems.splice(0)) problems.push(`journey "${name}": ${p}`);
      }
    } finally {
      await context.close();
    }
    assert.equal(
      problems.length,
      0,
      `${pass.name}: ${problems.length} problem(s) in ${scanned} screen states:\n  ${problems.join('\n  ')}`,
    );
  });
}
