// Shared set-up for every test file: jest-dom-free, so only cleanup between tests and the
// browser APIs jsdom lacks.
import { afterEach } from 'vitest';
import { cleanup } from '@testing-library/svelte';
import { setLocale } from '../lib/i18n/index.svelte';

afterEach(() => {
  cleanup();
  setLocale('en');
});
