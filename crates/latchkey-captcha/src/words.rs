//! English number words, both ways, and answer normalisation.

/// Words for 0 to 19; their position is their value.
const SMALL: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];

/// Words for the multiples of ten from 20 to 90, indexed by the tens digit.
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Spells `n` (0 to 99) in English, hyphenating compound numbers as style guides do
/// ("twenty-one"). Larger values fall back to digits because no challenge needs them.
pub(crate) fn number_to_words(n: u32) -> String {
    match n {
        0..=19 => SMALL[n as usize].to_owned(),
        20..=99 => {
            let tens = TENS[(n / 10) as usize];
            match n % 10 {
                0 => tens.to_owned(),
                unit => format!("{tens}-{}", SMALL[unit as usize]),
            }
        }
        _ => n.to_string(),
    }
}

/// Reads a number (0 to 99) written as English words with all spaces and hyphens already
/// removed and letters lower-cased, e.g. "twentyone". Returns `None` for anything else.
fn parse_compact_number_words(compact: &str) -> Option<u32> {
    if let Some(n) = SMALL.iter().position(|word| *word == compact) {
        return u32::try_from(n).ok();
    }
    for (tens_digit, tens) in TENS.iter().enumerate().skip(2) {
        // "fourty" is a very common misspelling; rejecting it would fail a person who clearly
        // knows the answer, and it cannot collide with any other reading.
        let stripped = compact.strip_prefix(tens).or_else(|| {
            (tens_digit == 4)
                .then(|| compact.strip_prefix("fourty"))
                .flatten()
        });
        let Some(rest) = stripped else { continue };
        let tens_value = u32::try_from(tens_digit).ok()? * 10;
        if rest.is_empty() {
            return Some(tens_value);
        }
        let unit = SMALL[1..10].iter().position(|word| *word == rest)?;
        return Some(tens_value + u32::try_from(unit).ok()? + 1);
    }
    None
}

/// Characters treated as hyphens: the ASCII one plus the Unicode dashes that phone keyboards
/// and autocorrect substitute for it.
fn is_hyphen(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
    )
}

/// See [`crate::normalize_answer`].
pub(crate) fn normalize_answer(input: &str) -> String {
    // Spaces and hyphens carry no meaning in either kind of answer, and dropping them also
    // makes "twenty one", "twenty-one" and "twentyone" the same string before word parsing.
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && !is_hyphen(*c))
        .collect();
    if let Some(n) = parse_compact_number_words(&compact.to_lowercase()) {
        return n.to_string();
    }
    compact.to_uppercase()
}
