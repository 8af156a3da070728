//! The accessible text challenge: short arithmetic and counting questions in plain English.

use rand_core::RngCore;

use crate::rng::{between, index};
use crate::words::number_to_words;

/// Everyday words for the letter-counting question: short, unambiguous to spell, and easy to
/// follow when read letter by letter by a screen reader.
const WORDS: &[&str] = &[
    "apple", "basket", "bread", "bridge", "butter", "candle", "castle", "chair", "cloud", "garden",
    "green", "holiday", "house", "jacket", "kitchen", "lamp", "library", "market", "morning",
    "mountain", "orange", "pencil", "picture", "planet", "pocket", "purple", "rabbit", "river",
    "summer", "table", "teacher", "tree", "weather", "window", "winter", "yellow",
];

/// Appended to every question so people know to reply with a number rather than, say, the
/// word "apple" when asked about the word "apple".
const SUFFIX: &str = "Answer with a number.";

/// Builds a question and its numeric answer.
///
/// Numbers in the prompt are always spelled out so the question cannot be answered by
/// evaluating a digit expression found in the page.
pub(crate) fn question<R: RngCore + ?Sized>(rng: &mut R) -> (String, u32) {
    match index(rng, 3) {
        0 => addition(rng),
        1 => extreme(rng),
        _ => letter_count(rng),
    }
}

fn addition<R: RngCore + ?Sized>(rng: &mut R) -> (String, u32) {
    let a = between(rng, 1, 9);
    let b = between(rng, 1, 9);
    let (wa, wb) = (number_to_words(a), number_to_words(b));
    let prompt = match index(rng, 3) {
        0 => format!("What is {wa} plus {wb}? {SUFFIX}"),
        1 => format!("What do you get if you add {wa} and {wb}? {SUFFIX}"),
        _ => {
            let noun = if a == 1 { "apple" } else { "apples" };
            format!(
                "You have {wa} {noun} and someone gives you {wb} more. \
                 How many apples do you have now? {SUFFIX}"
            )
        }
    };
    (prompt, a + b)
}

/// "Which is the largest/smallest of …" over three distinct numbers from 1 to 20.
fn extreme<R: RngCore + ?Sized>(rng: &mut R) -> (String, u32) {
    let mut numbers = [0u32; 3];
    let mut filled = 0;
    while filled < numbers.len() {
        let candidate = between(rng, 1, 20);
        // Distinct values so the answer is unique.
        if !numbers[..filled].contains(&candidate) {
            numbers[filled] = candidate;
            filled += 1;
        }
    }
    let largest = index(rng, 2) == 0;
    let (word, answer) = if largest {
        ("largest", numbers.iter().copied().max().unwrap_or(0))
    } else {
        ("smallest", numbers.iter().copied().min().unwrap_or(0))
    };
    let [a, b, c] = numbers.map(number_to_words);
    (
        format!("Which is the {word} of {a}, {b} and {c}? {SUFFIX}"),
        answer,
    )
}

fn letter_count<R: RngCore + ?Sized>(rng: &mut R) -> (String, u32) {
    let word = WORDS[index(rng, WORDS.len())];
    let answer = u32::try_from(word.len()).unwrap_or(0);
    (
        format!("How many letters are in the word '{word}'? {SUFFIX}"),
        answer,
    )
}

#[cfg(test)]
pub(crate) fn words() -> &'static [&'static str] {
    WORDS
}
