// The wizard end to end against the fake service: every flow of the user guide, the errors
// with their way forward, and the promises about what is kept and what is forgotten.
import { describe, expect, it } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/svelte';
import { FAKE_TEXT_QUESTION } from '../lib/backend/fake';
import { choosePassword, click, heading, identify, startApp, type, verifySelectedMethod } from './helpers';

const NEW_PASSWORD = 'plum-orbit-canvas-river';

describe('reset', () => {
  it('goes start → user id → method → code → new password → done', async () => {
    const backend = await startApp();
    await identify('alice@contoso.com');

    await heading('Verify your identity');
    const radio = screen.getByRole('radio', { name: /Email my alternate email a•••@example\.net/ });
    expect(radio).toBeInstanceOf(HTMLInputElement);
    expect((radio as HTMLInputElement).checked).toBe(true);

    await click('Send code');
    await heading('Enter your code');
    expect(screen.getByText(/emailed a verification code to a•••@example\.net/)).toBeTruthy();
    const resend = screen.getByRole('button', { name: /Resend code in 60 s/ });
    expect((resend as HTMLButtonElement).disabled).toBe(true);
    const code = screen.getByLabelText<HTMLInputElement>('Verification code');
    expect(code.getAttribute('inputmode')).toBe('numeric');
    expect(code.getAttribute('autocomplete')).toBe('one-time-code');
    await type('Verification code', '123 456');
    expect(code.value).toBe('123456');
    await click('Verify');

    await heading('Choose a new password');
    await choosePassword(NEW_PASSWORD);
    await screen.findByText('Very strong');
    await click('Finish');

    await heading('Your password has been reset');
    expect(screen.getByText(/sign in with your new password/)).toBeTruthy();
    expect(backend.passwordOf('alice')).toBe(NEW_PASSWORD);
    // The code went to the service as digits only.
    expect(backend.calls.find((c) => c.op === 'verify')?.args[2]).toBe('123456');

    await click('Close');
    expect(backend.closed).toBe(1);
  });

  it('asks for a second method when the administrator requires two', async () => {
    const backend = await startApp();
    await identify('CONTOSO\\carol');
    await heading('Verify your identity');
    expect(screen.getByText('Verified 0 of 2')).toBeTruthy();
    await verifySelectedMethod();

    await heading('Verify your identity');
    expect(screen.getByText(/requires a second verification step/)).toBeTruthy();
    const first = screen.getByRole<HTMLInputElement>('radio', { name: /c•••@example\.net/ });
    const second = screen.getByRole<HTMLInputElement>('radio', { name: /c•••@example\.org/ });
    expect(first.disabled).toBe(true);
    expect(first.getAttribute('aria-describedby')).toBeTruthy();
    expect(screen.getByText(/✓ Verified/)).toBeTruthy();
    expect(second.checked).toBe(true);
    await verifySelectedMethod();

    // Her directory's fine-grained policy, not the service's defaults, is what the screen shows.
    await heading('Choose a new password');
    expect(screen.getByText('Have 14 to 256 characters')).toBeTruthy();
    expect(screen.queryByText('Have 8 to 256 characters')).toBeNull();
    expect(screen.getByText('Use at least 3 of: lowercase, uppercase, digits, symbols')).toBeTruthy();
    await choosePassword('Plum-Orbit-Canvas-River-7');
    await click('Finish');
    await heading('Your password has been reset');
    expect(backend.passwordOf('carol')).toBe('Plum-Orbit-Canvas-River-7');
  });

  it('lets bob choose which of two emails gets the code', async () => {
    const backend = await startApp();
    await identify('bob');
    await heading('Verify your identity');
    await fireEvent.click(screen.getByRole('radio', { name: /b•••@example\.org/ }));
    await click('Send code');
    await heading('Enter your code');
    expect(screen.getByText(/b•••@example\.org/)).toBeTruthy();
    expect(backend.calls.find((c) => c.op === 'startChallenge')?.args[1]).toBe('me_bob_1');
  });

  it('shows every rule a rejected password breaks, next to the field', async () => {
    await startApp();
    await identify('alice');
    await verifySelectedMethod();
    await heading('Choose a new password');
    await choosePassword('Contoso2026!');
    await click('Finish');

    const field = screen.getByLabelText('New password');
    await waitFor(() => expect(field.getAttribute('aria-invalid')).toBe('true'));
    const list = document.getElementById('new-password-rejected');
    expect(list).not.toBeNull();
    const items = within(list as HTMLElement).getAllByRole('listitem').map((li) => li.textContent);
    expect(items).toContain('This password is too common or too close to a banned word. Choose something harder to guess.');
    expect(items).toContain('This password is too easy to guess. Try a longer phrase of unrelated words.');
    expect(field.getAttribute('aria-describedby')).toContain('new-password-rejected');
    expect(screen.getByText(/wasn't accepted/)).toBeTruthy();
    expect(document.activeElement).toBe(field);

    // Editing the password clears the stale list.
    await type('New password', NEW_PASSWORD);
    expect(within(list as HTMLElement).queryAllByRole('listitem')).toHaveLength(0);
  });

  it('refuses a password that was used before, with the policy number', async () => {
    await startApp();
    await identify('alice');
    await verifySelectedMethod();
    await heading('Choose a new password');
    await choosePassword('Tulip-Harbor-Violet-7');
    await click('Finish');
    await screen.findByText("You can't reuse any of your last 5 passwords.");
  });

  it('says when the two passwords differ and does not send them', async () => {
    const backend = await startApp();
    await identify('alice');
    await verifySelectedMethod();
    await heading('Choose a new password');
    await choosePassword(NEW_PASSWORD, 'plum-orbit-canvas-rivet');
    const confirm = screen.getByLabelText('Confirm new password');
    await waitFor(() => expect(confirm.getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText("The passwords don't match.")).toBeTruthy();
    await click('Finish');
    expect(backend.calls.some((c) => c.op === 'setPassword')).toBe(false);
  });
});

describe('new password screen', () => {
  async function reachPasswordScreen(): Promise<void> {
    await startApp();
    await identify('alice');
    await verifySelectedMethod();
    await heading('Choose a new password');
  }

  it('ticks the policy rules as they are met, in words as well as symbols', async () => {
    await reachPasswordScreen();
    const length = screen.getByText('Have 8 to 256 characters').closest('li') as HTMLElement;
    expect(length.className).toContain('unknown');
    await type('New password', 'short');
    expect(length.className).toContain('unmet');
    expect(within(length).getByText('Not met:')).toBeTruthy();
    await type('New password', NEW_PASSWORD);
    expect(length.className).toMatch(/\bmet\b/);
    expect(within(length).getByText('Met:')).toBeTruthy();
    const weak = screen.getByText('Be hard to guess (strength "Strong" or better)').closest('li') as HTMLElement;
    await waitFor(() => expect(weak.className).toMatch(/\bmet\b/));
  });

  it('warns when Caps Lock is on and shows the passwords on request', async () => {
    await reachPasswordScreen();
    const field = screen.getByLabelText<HTMLInputElement>('New password');
    await fireEvent.keyDown(field, { key: 'A', modifierCapsLock: true });
    expect(screen.getByText('Caps Lock is on.')).toBeTruthy();
    await fireEvent.keyUp(field, { key: 'A', modifierCapsLock: false });
    expect(screen.queryByText('Caps Lock is on.')).toBeNull();

    expect(field.type).toBe('password');
    const toggle = screen.getByRole('button', { name: 'Show passwords' });
    await fireEvent.click(toggle);
    expect(toggle.getAttribute('aria-pressed')).toBe('true');
    expect(field.type).toBe('text');
    expect(screen.getByLabelText<HTMLInputElement>('Confirm new password').type).toBe('text');
  });
});

describe('identify', () => {
  it('gives a new CAPTCHA and keeps the user id after a wrong answer', async () => {
    const backend = await startApp();
    await click(/^Reset my password/);
    await screen.findByRole('img', { name: /Distorted characters/ });
    await type('User ID', 'alice@contoso.com');
    await type('Characters in the picture', 'WRONG1');
    await click('Next');

    await screen.findByText("That answer didn't match. Here's a new one to try.");
    await waitFor(() => expect(backend.calls.filter((c) => c.op === 'captcha')).toHaveLength(2));
    expect(screen.getByLabelText<HTMLInputElement>('User ID').value).toBe('alice@contoso.com');
    const answer = screen.getByLabelText<HTMLInputElement>('Characters in the picture');
    expect(answer.value).toBe('');
    expect(answer.getAttribute('aria-invalid')).toBe('true');
    expect(answer.getAttribute('aria-describedby')).toContain('captcha-answer-error');
  });

  it('offers a text question instead of the picture', async () => {
    await startApp();
    await click(/^Reset my password/);
    await screen.findByRole('img', { name: /Distorted characters/ });
    await click('Use a text question instead');
    await screen.findByText(FAKE_TEXT_QUESTION);
    expect(screen.queryByRole('img')).toBeNull();
    await type('User ID', 'alice');
    await type('Your answer', '5');
    await click('Next');
    await heading('Verify your identity');
  });

  it('shows no CAPTCHA when the service turned it off', async () => {
    const backend = await startApp({ config: { captcha: 'off' } });
    await click(/^Reset my password/);
    await heading('Get back into your account');
    expect(screen.queryByRole('group', { name: /robot/ })).toBeNull();
    await type('User ID', 'alice');
    await click('Next');
    await heading('Verify your identity');
    expect(backend.calls.some((c) => c.op === 'captcha')).toBe(false);
  });

  it('asks for the user id before sending anything', async () => {
    const backend = await startApp();
    await click(/^Reset my password/);
    await screen.findByRole('img', { name: /Distorted characters/ });
    await click('Next');
    await screen.findByText('Enter your user ID.');
    expect(document.activeElement).toBe(screen.getByLabelText('User ID'));
    expect(backend.calls.some((c) => c.op === 'startRecovery')).toBe(false);
  });

  it('shows how long to wait when rate limited', async () => {
    const backend = await startApp();
    backend.failNext({ code: 'rate_limited', message: 'too many attempts', retry_after: 90 }, 'startRecovery');
    await identify('alice');
    await screen.findByText('Too many attempts. Try again in 90 seconds.');
    expect(screen.queryByRole('button', { name: 'Try again' })).toBeNull();
  });

  it('sends a user the organisation did not enable to the administrator', async () => {
    await startApp();
    await identify('dave@contoso.com');
    await heading('Contact your administrator');
    expect(screen.getByRole('link', { name: 'helpdesk@contoso.com' }).getAttribute('href')).toBe('mailto:helpdesk@contoso.com');
    expect(screen.getByRole('link', { name: '+1 425 555 0100' }).getAttribute('href')).toBe('tel:+14255550100');
    expect(screen.getByRole('link', { name: 'https://helpdesk.contoso.com' })).toBeTruthy();
  });

  it('gives an unknown user the same screens (a decoy) whose code never verifies', async () => {
    await startApp();
    await identify('nobody@contoso.com');
    await verifySelectedMethod();
    await screen.findByText("That code isn't right. 4 attempts left.");
  });
});

describe('codes', () => {
  it('offers a new code when the code is used up', async () => {
    const backend = await startApp();
    await identify('alice');
    await click('Send code');
    await heading('Enter your code');
    backend.expireCodes();
    await type('Verification code', '123456');
    await click('Verify');
    await screen.findByText('This code has expired. Send a new code.');
    const again = screen.getByRole<HTMLButtonElement>('button', { name: /Send a new code in \d+ s/ });
    expect(again.disabled).toBe(true);
  });

  it('counts attempts left after a wrong code', async () => {
    await startApp();
    await identify('alice');
    await click('Send code');
    await heading('Enter your code');
    await type('Verification code', '111111');
    await click('Verify');
    await screen.findByText("That code isn't right. 4 attempts left.");
    expect(document.activeElement).toBe(screen.getByLabelText('Verification code'));
  });
});

describe('unlock', () => {
  it('unlocks and keeps the password', async () => {
    const backend = await startApp();
    expect(backend.isLocked('frank')).toBe(true);
    await identify('frank', /^Unlock my account/);
    await verifySelectedMethod();
    await heading('Unlock your account');
    // Both ways are offered: keep the password, or choose a new one.
    expect(screen.getByLabelText('New password')).toBeTruthy();
    await click('Unlock my account');
    await heading('Your account has been unlocked');
    expect(backend.isLocked('frank')).toBe(false);
    expect(backend.passwordOf('frank')).toBe('Quartz-Meadow-Rocket-8');
  });

  it('may set a new password instead', async () => {
    const backend = await startApp();
    await identify('frank', /^Unlock my account/);
    await verifySelectedMethod();
    await heading('Unlock your account');
    await choosePassword(NEW_PASSWORD);
    await click('Reset password');
    await heading('Your password has been reset');
    expect(backend.passwordOf('frank')).toBe(NEW_PASSWORD);
  });
});

describe('change password', () => {
  it('refuses a wrong current password, then changes it', async () => {
    const backend = await startApp();
    await click(/^Change my password/);
    await heading('Change your password');
    await type('User ID', 'alice');
    await type('Current password', 'not-my-password');
    await choosePassword(NEW_PASSWORD);
    await click('Change password');
    await screen.findByText(/The user ID or current password is incorrect/);
    const current = screen.getByLabelText('Current password');
    expect(current.getAttribute('aria-invalid')).toBe('true');

    await type('Current password', 'Tulip-Harbor-Violet-7');
    await click('Change password');
    await heading('Your password has been changed');
    expect(backend.passwordOf('alice')).toBe(NEW_PASSWORD);
  });

  it('rates the candidate with the user id, so names are refused', async () => {
    await startApp();
    await click(/^Change my password/);
    await type('User ID', 'alice');
    await type('New password', 'alice-in-wonderland-42');
    const rules = await screen.findByText('Not contain your name or user ID');
    await waitFor(() => expect(rules.closest('li')?.className).toContain('unmet'));
  });
});

describe('failures', () => {
  it('keeps everything typed when the service is unreachable, and Try again repeats the request', async () => {
    const backend = await startApp();
    await click(/^Reset my password/);
    await screen.findByRole('img', { name: /Distorted characters/ });
    await type('User ID', 'alice@contoso.com');
    await type('Characters in the picture', 'ABC123');
    backend.offline = true;
    await click('Next');

    const alert = await screen.findByText(/couldn't reach the password service/);
    expect(alert.closest('[role="alert"]')).not.toBeNull();
    expect(screen.getByText('Nothing you typed has been lost.')).toBeTruthy();
    expect(screen.getByLabelText<HTMLInputElement>('User ID').value).toBe('alice@contoso.com');
    expect(screen.getByLabelText<HTMLInputElement>('Characters in the picture').value).toBe('ABC123');

    backend.offline = false;
    await click('Try again');
    await heading('Verify your identity');
    const sent = backend.calls.filter((c) => c.op === 'startRecovery').map((c) => c.args[0]);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
  });

  it('explains an untrusted certificate', async () => {
    const backend = await startApp();
    backend.failNext('certificate_untrusted', 'startRecovery');
    await identify('alice');
    await screen.findByText(/doesn't trust the password service's security certificate/);
    expect(screen.getByRole('link', { name: 'helpdesk@contoso.com' })).toBeTruthy();
  });

  it('offers to start again when the flow expired', async () => {
    const backend = await startApp();
    await identify('alice');
    await heading('Verify your identity');
    backend.failNext('flow_expired', 'startChallenge');
    await click('Send code');
    await heading('Your session has expired');
    await click('Start again');
    await heading("Can't access your account?");
  });

  it('shows a bad desktop configuration as a full screen', async () => {
    await startApp({ problem: { code: 'config_invalid', message: 'service_url is missing in /etc/latchkey/desktop.toml' } });
    await heading("This app isn't set up correctly");
    expect(screen.getByText('service_url is missing in /etc/latchkey/desktop.toml')).toBeTruthy();
  });

  it('retries loading the configuration when the service was down at start', async () => {
    const backend = new (await import('../lib/backend/fake')).FakeBackend({ offline: true });
    const { render } = await import('@testing-library/svelte');
    const App = (await import('../App.svelte')).default;
    render(App, { backend });
    await heading("Can't reach the password service");
    backend.offline = false;
    await click('Try again');
    await heading("Can't access your account?");
  });

  it('marks the page busy and says "Working…" while waiting', async () => {
    const backend = await startApp({ latencyMs: 80 });
    await click(/^Reset my password/);
    await screen.findByRole('img', { name: /Distorted characters/ });
    await type('User ID', 'alice');
    await type('Characters in the picture', 'ABC123');
    await click('Next');
    expect(document.querySelector('main')?.getAttribute('aria-busy')).toBe('true');
    expect(screen.getByText('Working…')).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Next' }).disabled).toBe(true);
    await heading('Verify your identity');
    expect(document.querySelector('main')?.getAttribute('aria-busy')).toBe('false');
    expect(backend.calls.some((c) => c.op === 'startRecovery')).toBe(true);
  });
});

describe('cancel and kiosk', () => {
  it('Cancel returns to the start and forgets what was typed', async () => {
    await startApp();
    await click(/^Reset my password/);
    await screen.findByRole('img', { name: /Distorted characters/ });
    await type('User ID', 'alice@contoso.com');
    await type('Characters in the picture', 'ABC123');
    await click('Cancel');
    await heading("Can't access your account?");
    await click(/^Reset my password/);
    await screen.findByRole('img', { name: /Distorted characters/ });
    expect(screen.getByLabelText<HTMLInputElement>('User ID').value).toBe('');
    expect(screen.getByLabelText<HTMLInputElement>('Characters in the picture').value).toBe('');
  });

  it('Cancel in the middle of a reset forgets the flow and the passwords', async () => {
    await startApp();
    await identify('alice');
    await verifySelectedMethod();
    await heading('Choose a new password');
    await type('New password', 'half-typed');
    await click('Cancel');
    await heading("Can't access your account?");
    await click(/^Change my password/);
    expect(screen.getByLabelText<HTMLInputElement>('New password').value).toBe('');
    expect(screen.getByLabelText<HTMLInputElement>('User ID').value).toBe('');
  });

  it('hides Close in kiosk mode and returns to the start when idle', async () => {
    await startApp({ kiosk: true, idleTimeoutSecs: 0.3 });
    expect(screen.queryByRole('button', { name: 'Close' })).toBeNull();
    await click(/^Reset my password/);
    await type('User ID', 'alice');
    await heading("Can't access your account?");
    await click(/^Reset my password/);
    expect(screen.getByLabelText<HTMLInputElement>('User ID').value).toBe('');
  });

  it('only offers the intents the service enables', async () => {
    await startApp({ config: { intents: { reset: true, unlock: false, change: false } } });
    expect(screen.getByRole('button', { name: /^Reset my password/ })).toBeTruthy();
    expect(screen.queryByRole('button', { name: /^Unlock my account/ })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Change my password/ })).toBeNull();
  });
});

describe('language and focus', () => {
  it('follows the host locale and sets lang', async () => {
    await startApp({ locale: 'fr-FR' });
    expect(document.documentElement.lang).toBe('fr');
    expect(screen.getByRole('button', { name: /^Réinitialiser mon mot de passe/ })).toBeTruthy();
  });

  it('falls back to English for a locale without a catalogue', async () => {
    await startApp({ locale: 'ja-JP' });
    expect(document.documentElement.lang).toBe('en');
  });

  it('moves focus to the first field of each new screen', async () => {
    await startApp();
    expect(document.activeElement?.tagName).toBe('H1');
    await click(/^Reset my password/);
    await heading('Get back into your account');
    expect(document.activeElement).toBe(screen.getByLabelText('User ID'));
  });
});
