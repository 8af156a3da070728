// Drives the whole wizard against the fake service the way a person would: by labels, roles
// and visible text, never by component internals.
import { fireEvent, render, screen } from '@testing-library/svelte';
import App from '../App.svelte';
import { FakeBackend, type FakeOptions } from '../lib/backend/fake';

export async function startApp(options: FakeOptions = {}): Promise<FakeBackend> {
  const backend = new FakeBackend(options);
  render(App, { backend });
  if (!options.problem) await screen.findByRole('heading', { level: 1, name: /access your account|accéder à votre compte|auf Ihr Konto zugreifen/ });
  return backend;
}

/** Types into the field labelled `label` (replacing what is there). */
export async function type(label: string | RegExp, value: string): Promise<HTMLInputElement> {
  const el = screen.getByLabelText<HTMLInputElement>(label);
  await fireEvent.input(el, { target: { value } });
  return el;
}

export async function click(name: string | RegExp, role: 'button' | 'radio' | 'link' = 'button'): Promise<void> {
  await fireEvent.click(screen.getByRole(role, { name }));
}

export async function heading(name: string | RegExp): Promise<HTMLElement> {
  return screen.findByRole('heading', { level: 1, name }, { timeout: 2000 });
}

/** Start → user id + CAPTCHA → methods, for `userId` and `purpose`. */
export async function identify(userId: string, purpose: RegExp = /^Reset my password/): Promise<void> {
  await click(purpose);
  await screen.findByRole('img', { name: /Distorted characters/ });
  await type('User ID', userId);
  await type('Characters in the picture', 'ABC123');
  await click('Next');
}

/** On the methods screen: sends a code to the selected method and enters 123 456. */
export async function verifySelectedMethod(): Promise<void> {
  await click('Send code');
  await heading('Enter your code');
  await type('Verification code', '123 456');
  await click('Verify');
}

/** On a new-password screen: enters `password` twice and waits until it has been rated. */
export async function choosePassword(password: string, confirm = password): Promise<void> {
  await type('New password', password);
  await type('Confirm new password', confirm);
}
