//! zxcvbn's feedback arrives as the Rust crate's fixed English sentences (zxcvbn 3.x
//! `feedback.rs`). Known ones are translated through the catalogue; anything else is shown
//! as it came, marked as English.

/** zxcvbn's English sentence → catalogue key. */
const KEYS: Record<string, string> = {
  'Straight rows of keys are easy to guess.': 'zxcvbn.straightRows',
  'Short keyboard patterns are easy to guess.': 'zxcvbn.shortKeyboardPatterns',
  'Repeats like "aaa" are easy to guess.': 'zxcvbn.repeatsAaa',
  'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': 'zxcvbn.repeatsAbc',
  'This is a top-10 common password.': 'zxcvbn.top10',
  'This is a top-100 common password.': 'zxcvbn.top100',
  'This is a very common password.': 'zxcvbn.veryCommon',
  'This is similar to a commonly used password.': 'zxcvbn.similarToCommon',
  'Sequences like abc or 6543 are easy to guess.': 'zxcvbn.sequences',
  'Recent years are easy to guess.': 'zxcvbn.recentYears',
  'A word by itself is easy to guess.': 'zxcvbn.wordByItself',
  'Dates are often easy to guess.': 'zxcvbn.dates',
  'Names and surnames by themselves are easy to guess.': 'zxcvbn.namesByThemselves',
  'Common names and surnames are easy to guess.': 'zxcvbn.commonNames',
  'Use a few words, avoid common phrases.': 'zxcvbn.useFewWords',
  'No need for symbols, digits, or uppercase letters.': 'zxcvbn.noNeedForSymbols',
  'Add another word or two. Uncommon words are better.': 'zxcvbn.addWord',
  "Capitalization doesn't help very much.": 'zxcvbn.capitalization',
  'All-uppercase is almost as easy to guess as all-lowercase.': 'zxcvbn.allUppercase',
  "Reversed words aren't much harder to guess.": 'zxcvbn.reversedWords',
  "Predictable substitutions like '@' instead of 'a' don't help very much.": 'zxcvbn.substitutions',
  'Use a longer keyboard pattern with more turns.': 'zxcvbn.longerKeyboardPattern',
  'Avoid repeated words and characters.': 'zxcvbn.avoidRepeats',
  'Avoid sequences.': 'zxcvbn.avoidSequences',
  'Avoid recent years.': 'zxcvbn.avoidRecentYears',
  'Avoid years that are associated with you.': 'zxcvbn.avoidYears',
  'Avoid dates and years that are associated with you.': 'zxcvbn.avoidDates',
};

/** The catalogue key for one of zxcvbn's sentences, or null when it is not one we know. */
export function feedbackKey(sentence: string): string | null {
  return KEYS[sentence.trim()] ?? null;
}

export const ZXCVBN_KEYS: readonly string[] = Object.values(KEYS);
