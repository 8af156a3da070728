// Svelte's own settings, read by the Vite plugin and by svelte-check.
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

export default {
  preprocess: vitePreprocess(),
  compilerOptions: {
    // Runes everywhere: no legacy reactivity slips in through a file that forgot them.
    runes: true,
  },
};
