//! Self-contained CAPTCHA challenges (a distorted-text image or an accessible text question) for
//! the "prove you aren't a robot" step of the password reset wizard.
//!
//! Everything is generated in-process from the caller's random number generator: no external
//! service, no font files. The caller stores a hash of [`Challenge::answer`] and later compares
//! it with the hash of [`normalize_answer`] applied to what the person typed.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;

use rand_core::{CryptoRng, RngCore};

mod font;
mod image;
mod rng;
mod text;
mod words;

/// Which form of challenge the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Distorted characters in a PNG image.
    Image,
    /// A short question in plain English, for people who cannot see the image.
    Text,
}

/// A generated challenge: what to show, and the canonical answer to store (hashed by the caller).
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The expected answer in canonical form: upper-case letters and digits for images, a
    /// decimal number for text questions. Equal to [`normalize_answer`] of itself.
    pub answer: String,
    /// What to present to the person.
    pub display: Display,
}

/// What to present to the person for a [`Challenge`].
#[derive(Clone, PartialEq, Eq)]
pub enum Display {
    /// A PNG image of distorted characters.
    Image {
        /// The encoded 8-bit greyscale PNG.
        png: Vec<u8>,
        /// Image width in pixels.
        width: u32,
        /// Image height in pixels.
        height: u32,
        /// Number of characters shown, so the form can size its input and hint at the length.
        length: usize,
    },
    /// The accessible alternative: a short question in plain English that a screen reader can read.
    Text {
        /// The question, ending with an instruction to answer with a number.
        prompt: String,
    },
}

/// Errors from [`generate`].
#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    /// PNG encoding failed.
    #[error("failed to encode the CAPTCHA image as PNG")]
    Encode(#[from] png::EncodingError),
}

// Written by hand because the answer must never reach logs: a challenge printed with `{:?}`
// while debugging a request would otherwise hand the solution to anyone reading them.
impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("answer", &"[redacted]")
            .field("display", &self.display)
            .finish()
    }
}

// Written by hand so that debugging output shows the PNG's size instead of kilobytes of bytes.
impl fmt::Debug for Display {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Image {
                png,
                width,
                height,
                length,
            } => f
                .debug_struct("Image")
                .field("png", &format_args!("<{} bytes>", png.len()))
                .field("width", width)
                .field("height", height)
                .field("length", length)
                .finish(),
            Self::Text { prompt } => f.debug_struct("Text").field("prompt", prompt).finish(),
        }
    }
}

/// Generates a new challenge of the requested variant.
///
/// The output depends only on the random number generator, so a seeded generator gives
/// byte-for-byte identical challenges (useful in tests). In production pass a generator seeded
/// from the operating system, since anyone who can predict it can predict the answer.
pub fn generate(
    variant: Variant,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Challenge, CaptchaError> {
    match variant {
        Variant::Image => {
            let answer = loop {
                let candidate = image::random_answer(rng);
                // The only 6-letter number word the alphabet can spell is "TWENTY", which the
                // normaliser would turn into "20" and so could never be answered; draw again.
                if normalize_answer(&candidate) == candidate {
                    break candidate;
                }
            };
            let pixels = image::render(&answer, rng);
            let png = image::encode(&pixels)?;
            Ok(Challenge {
                answer,
                display: Display::Image {
                    png,
                    width: image::WIDTH,
                    height: image::HEIGHT,
                    length: image::LENGTH,
                },
            })
        }
        Variant::Text => {
            let (prompt, answer) = text::question(rng);
            Ok(Challenge {
                answer: answer.to_string(),
                display: Display::Text { prompt },
            })
        }
    }
}

/// Normalises what a person typed so that it can be compared with `Challenge::answer`:
/// trims, removes inner whitespace and hyphens, upper-cases letters, and turns English number words
/// ("eleven", "twenty one", "twenty-one") into digits. normalize_answer(x) == answer for any reasonable correct input.
///
/// Number words are recognised from zero to ninety-nine, which covers every text question.
pub fn normalize_answer(input: &str) -> String {
    words::normalize_answer(input)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn image(seed: u64) -> (String, Vec<u8>, u32, u32, usize) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let challenge = generate(Variant::Image, &mut rng).unwrap();
        match challenge.display {
            Display::Image {
                png,
                width,
                height,
                length,
            } => (challenge.answer, png, width, height, length),
            Display::Text { .. } => panic!("asked for an image"),
        }
    }

    fn decode(png_bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let decoder = png::Decoder::new(png_bytes);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn png_decodes_to_stated_size_with_dark_and_light_pixels() {
        for seed in 0..20 {
            let (_, png_bytes, width, height, length) = image(seed);
            assert_eq!((width, height, length), (240, 80, 6));
            let (info, pixels) = decode(&png_bytes);
            assert_eq!((info.width, info.height), (width, height));
            assert_eq!(info.color_type, png::ColorType::Grayscale);
            assert_eq!(info.bit_depth, png::BitDepth::Eight);
            assert_eq!(pixels.len(), (width * height) as usize);
            let dark = pixels.iter().filter(|&&p| p < 80).count();
            let light = pixels.iter().filter(|&&p| p > 200).count();
            // Text strokes cover a noticeable share of the image, background most of it.
            assert!(
                dark > pixels.len() / 25,
                "seed {seed}: only {dark} dark pixels"
            );
            assert!(
                light > pixels.len() / 2,
                "seed {seed}: only {light} light pixels"
            );
        }
    }

    #[test]
    fn image_answer_has_six_alphabet_characters() {
        for seed in 0..50 {
            let (answer, ..) = image(seed);
            assert_eq!(answer.chars().count(), 6, "{answer}");
            assert!(
                answer.bytes().all(|b| image::ALPHABET.contains(&b)),
                "{answer}"
            );
            assert_eq!(normalize_answer(&answer), answer);
            assert_eq!(normalize_answer(&answer.to_lowercase()), answer);
        }
    }

    #[test]
    fn alphabet_has_no_look_alikes() {
        for c in ['0', 'O', '1', 'I', 'L'] {
            assert!(!image::ALPHABET.contains(&(c as u8)), "{c}");
        }
        assert_eq!(image::ALPHABET.len(), 31);
    }

    #[test]
    fn same_seed_same_bytes_different_seed_different_answer() {
        for variant in [Variant::Image, Variant::Text] {
            let a = generate(variant, &mut ChaCha20Rng::seed_from_u64(7)).unwrap();
            let b = generate(variant, &mut ChaCha20Rng::seed_from_u64(7)).unwrap();
            assert_eq!(a, b);
        }
        let answers: std::collections::HashSet<String> = (0..30).map(|s| image(s).0).collect();
        assert_eq!(answers.len(), 30);
        assert_ne!(image(1).1, image(2).1);
    }

    #[test]
    fn every_glyph_has_strokes_within_the_grid() {
        for &b in image::ALPHABET {
            let strokes = font::glyph(char::from(b));
            assert!(!strokes.is_empty(), "{} has no strokes", char::from(b));
            for stroke in strokes {
                assert!(
                    stroke.len() >= 2,
                    "{} has a one-point stroke",
                    char::from(b)
                );
                for &(x, y) in *stroke {
                    // Q's tail pokes slightly out of the box on purpose.
                    assert!((-0.5..=4.5).contains(&x) && (-0.5..=6.5).contains(&y));
                }
            }
        }
        assert!(font::glyph('O').is_empty());
    }

    #[test]
    fn debug_redacts_the_answer() {
        for variant in [Variant::Image, Variant::Text] {
            let challenge = generate(variant, &mut ChaCha20Rng::seed_from_u64(3)).unwrap();
            let printed = format!("{challenge:?}");
            assert!(printed.contains(r#"answer: "[redacted]""#), "{printed}");
            assert!(
                !printed.contains(&format!("\"{}\"", challenge.answer)),
                "{printed}"
            );
        }
    }

    #[test]
    fn normalize_answer_cases() {
        let cases = [
            ("11", "11"),
            (" 11 ", "11"),
            ("1 1", "11"),
            ("eleven", "11"),
            ("Eleven", "11"),
            (" ELEVEN\n", "11"),
            ("zero", "0"),
            ("one", "1"),
            ("nine", "9"),
            ("ten", "10"),
            ("nineteen", "19"),
            ("twenty", "20"),
            ("twenty one", "21"),
            ("twenty-one", "21"),
            ("Twenty-One", "21"),
            ("twentyone", "21"),
            ("twenty  -  one", "21"),
            ("twenty\u{2011}one", "21"),
            ("forty two", "42"),
            ("fourty-two", "42"),
            ("seventy", "70"),
            ("ninety-nine", "99"),
            ("abc 234", "ABC234"),
            ("ab-cd ef", "ABCDEF"),
            ("  xK7p9Q ", "XK7P9Q"),
            ("", ""),
            ("twenty ten", "TWENTYTEN"),
            ("eleventy", "ELEVENTY"),
            ("seven apples", "SEVENAPPLES"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_answer(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn every_number_word_up_to_99_round_trips() {
        for n in 0..100 {
            let hyphenated = words::number_to_words(n);
            let expected = n.to_string();
            assert_eq!(normalize_answer(&hyphenated), expected, "{hyphenated}");
            assert_eq!(normalize_answer(&hyphenated.replace('-', " ")), expected);
            assert_eq!(normalize_answer(&hyphenated.to_uppercase()), expected);
            assert_eq!(normalize_answer(&expected), expected);
        }
    }

    #[test]
    fn text_answers_are_accepted_as_digits_and_words() {
        let mut forms = std::collections::HashSet::new();
        for seed in 0..300 {
            let challenge = generate(Variant::Text, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
            let Display::Text { prompt } = &challenge.display else {
                panic!("asked for text");
            };
            assert!(prompt.ends_with("Answer with a number."), "{prompt}");
            // Numbers are spelled out in the question so it is not a ready-made expression.
            assert!(!prompt.chars().any(|c| c.is_ascii_digit()), "{prompt}");
            forms.insert(
                prompt
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" "),
            );

            let n: u32 = challenge.answer.parse().expect("numeric answer");
            assert_eq!(challenge.answer, n.to_string());
            let word = words::number_to_words(n);
            let mut capitalised = word.clone();
            capitalised[..1].make_ascii_uppercase();
            for typed in [
                challenge.answer.clone(),
                format!(" {} ", challenge.answer),
                word.clone(),
                capitalised,
                word.replace('-', " "),
            ] {
                assert_eq!(
                    normalize_answer(&typed),
                    challenge.answer,
                    "{prompt} / {typed}"
                );
            }
        }
        // Addition (three phrasings), largest/smallest and letter counting all occur.
        for start in ["What is", "What do", "You have", "Which is", "How many"] {
            assert!(forms.contains(start), "{start} never generated: {forms:?}");
        }
    }

    #[test]
    fn letter_count_words_are_letters_only() {
        for word in text::words() {
            assert!(word.chars().all(|c| c.is_ascii_lowercase()), "{word}");
        }
    }

    /// Writes sample images for a person to look at: `cargo test -p latchkey-captcha -- --ignored`.
    #[test]
    #[ignore]
    fn write_sample_png() {
        let (answer, png_bytes, ..) = image(42);
        std::fs::write("/tmp/captcha-sample.png", &png_bytes).unwrap();
        eprintln!("/tmp/captcha-sample.png: {answer}");
        // A contact sheet of more samples at double size, easier to judge than one image.
        let (scale, count) = (2usize, 12u64);
        let (w, h) = (240 * scale, 80 * scale);
        let mut sheet = Vec::with_capacity(w * h * count as usize);
        for seed in 100..100 + count {
            let (answer, png_bytes, ..) = image(seed);
            eprintln!("sheet row {seed}: {answer}");
            let (_, pixels) = decode(&png_bytes);
            for y in 0..h {
                for x in 0..w {
                    sheet.push(pixels[(y / scale) * 240 + x / scale]);
                }
            }
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32 * count as u32);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&sheet).unwrap();
        writer.finish().unwrap();
        std::fs::write("/tmp/captcha-sheet.png", &out).unwrap();
    }

    /// Timing check, meaningful in release: `cargo test -p latchkey-captcha --release -- --ignored`.
    #[test]
    #[ignore]
    fn image_generation_is_fast() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let rounds = 200;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            generate(Variant::Image, &mut rng).unwrap();
        }
        let each = start.elapsed() / rounds;
        eprintln!("{each:?} per image");
        if !cfg!(debug_assertions) {
            assert!(each < std::time::Duration::from_millis(5), "{each:?}");
        }
    }
}
