import { describe, expect, it } from 'vitest';
import { catalogues, interpolate, pickLocale, setLocale, t, tn } from './index.svelte';

const en = catalogues.en ?? {};
const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();

// Words that are spelt the same in the other language (French "minute").
const SAME_AS_ENGLISH = new Set(['fr:time.minutes.one', 'fr:time.minutes.other']);

describe('catalogues', () => {
  for (const [lang, cat] of Object.entries(catalogues)) {
    it(`${lang} has exactly the English keys`, () => {
      expect(Object.keys(cat).sort()).toEqual(Object.keys(en).sort());
    });

    it(`${lang} has no empty strings`, () => {
      const empty = Object.entries(cat).filter(([, v]) => v.trim() === '');
      expect(empty).toEqual([]);
    });

    it(`${lang} uses the same placeholders as English`, () => {
      const wrong = Object.keys(en).filter((k) => placeholders(cat[k] ?? '').join() !== placeholders(en[k] ?? '').join());
      expect(wrong).toEqual([]);
    });

    if (lang !== 'en') {
      it(`${lang} leaves no English text behind`, () => {
        const same = Object.keys(en).filter((k) => cat[k] === en[k] && !SAME_AS_ENGLISH.has(`${lang}:${k}`));
        expect(same).toEqual([]);
      });
    }
  }

  it('covers every password rule code and the plural forms', () => {
    for (const rule of ['too_short', 'too_long', 'banned', 'contains_user_name', 'too_weak', 'too_few_classes', 'in_history', 'control_characters']) {
      expect(en[`violation.${rule}`]).toBeTruthy();
    }
    for (const base of ['code.attemptsLeft', 'code.hint', 'error.code_invalid.left', 'time.seconds', 'time.minutes']) {
      expect(en[`${base}.one`]).toBeTruthy();
      expect(en[`${base}.other`]).toBeTruthy();
    }
  });
});

describe('t', () => {
  it('interpolates named parameters', () => {
    expect(interpolate('Use at least {min} characters, {who}.', { min: 8, who: 'Alice' })).toBe('Use at least 8 characters, Alice.');
  });

  it('leaves unknown placeholders visible', () => {
    expect(interpolate('Hello {name}', {})).toBe('Hello {name}');
  });

  it('repeats a parameter used twice', () => {
    expect(interpolate('{n} and {n}', { n: 2 })).toBe('2 and 2');
  });

  it('translates by the current locale and falls back to the key', () => {
    setLocale('de-AT');
    expect(t('common.cancel')).toBe('Abbrechen');
    expect(t('violation.too_short', { min: 12 })).toBe('Verwenden Sie mindestens 12 Zeichen.');
    expect(t('no.such.key')).toBe('no.such.key');
  });

  it('picks plural forms', () => {
    setLocale('en');
    expect(tn('code.attemptsLeft', 1)).toBe('1 attempt left.');
    expect(tn('code.attemptsLeft', 3)).toBe('3 attempts left.');
    setLocale('fr');
    // French counts 0 as singular.
    expect(tn('code.attemptsLeft', 0)).toBe('Il vous reste 0 essai.');
  });

  it('chooses a catalogue from a BCP 47 tag', () => {
    expect(pickLocale('fr-CA')).toBe('fr');
    expect(pickLocale('de_DE.UTF-8')).toBe('de');
    expect(pickLocale('EN-gb')).toBe('en');
    expect(pickLocale('pt-BR')).toBe('en');
    expect(pickLocale('')).toBe('en');
    expect(pickLocale(null)).toBe('en');
  });

  it('sets the document language', () => {
    setLocale('de-CH');
    expect(document.documentElement.lang).toBe('de');
  });
});

describe('zxcvbn feedback', () => {
  it('has a translation for every sentence the Rust crate can say', async () => {
    const { ZXCVBN_KEYS, feedbackKey } = await import('../zxcvbn');
    for (const key of ZXCVBN_KEYS) expect(en[key]).toBeTruthy();
    expect(feedbackKey('Add another word or two. Uncommon words are better.')).toBe('zxcvbn.addWord');
    expect(feedbackKey('Something zxcvbn 4 might say.')).toBeNull();
    setLocale('fr');
    expect(t('zxcvbn.addWord')).toBe('Ajoutez un ou deux mots. Les mots peu courants sont préférables.');
  });
});
