//! The wizard's words: one flat catalogue per language and a tiny `t()`. No library: the
//! catalogues are small, and a flat map keeps "every key in every language" testable.

import en from './en.json';
import fr from './fr.json';
import de from './de.json';

export type Catalogue = Record<string, string>;
export type Params = Record<string, string | number>;

export const catalogues: Record<string, Catalogue> = { en, fr, de };
export type Locale = keyof typeof catalogues;

// Reactive so that text re-renders if the host's locale arrives after the first paint.
let current = $state<string>('en');

/** The catalogue language for a BCP 47 tag from the host: `fr-CA` → `fr`, unknown → `en`. */
export function pickLocale(tag: string | null | undefined): string {
  const primary = (tag ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return primary in catalogues ? primary : 'en';
}

/** Switches the language (and the document's `lang`, which screen readers use for voice). */
export function setLocale(tag: string | null | undefined): string {
  current = pickLocale(tag);
  if (typeof document !== 'undefined') document.documentElement.lang = current;
  return current;
}

export function locale(): string {
  return current;
}

/** Whether `key` has a text in English (the reference catalogue). */
export function has(key: string): boolean {
  return key in en;
}

/** Replaces `{name}` placeholders; an unknown placeholder stays visible rather than vanishing. */
export function interpolate(text: string, params: Params = {}): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** The text for `key` in the current language, English when missing, the key itself last. */
export function t(key: string, params?: Params): string {
  const text = catalogues[current]?.[key] ?? (en as Catalogue)[key] ?? key;
  return interpolate(text, params);
}

/** Plural-aware `t`: looks up `key.one` / `key.other` (per Intl.PluralRules) with `{count}`. */
export function tn(key: string, count: number, params: Params = {}): string {
  const category = new Intl.PluralRules(current).select(count);
  const exact = `${key}.${category}`;
  const chosen = exact in (catalogues[current] ?? {}) || exact in en ? exact : `${key}.other`;
  return t(chosen, { ...params, count });
}
