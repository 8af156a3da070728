/// <reference types="vitest/config" />
// One config for the dev server, the build (ui/dist, loaded by Tauri and served by the reset
// service as the web portal) and vitest.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

// The policy the built wizard must run under. `vite preview` enforces it so a browser test of
// the build catches an inline script, an eval or a remote resource; the real hosts (Tauri's
// `security.csp`, the service's response header) set their own equivalent.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ipc: http://ipc.localhost",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  // Relative asset paths: Tauri loads the build through its own protocol, and the portal may
  // be served under a path.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill is only for old browsers and would be the one piece of injected code.
    modulePreload: { polyfill: false },
  },
  server: { strictPort: true, port: 5173 },
  preview: { headers: { 'Content-Security-Policy': CSP } },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/tests/setup.ts'],
  },
});
