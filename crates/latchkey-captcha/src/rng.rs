//! Small sampling helpers on top of `RngCore`.
//!
//! `rand_core` alone has no range or float sampling and pulling in `rand` for a handful of calls
//! is not worth it; these are the few primitives the generators need.

use rand_core::RngCore;

/// A uniform integer in `0..n` (0 when `n` is 0), without modulo bias.
///
/// Lemire's multiply-and-reject method: bias would be negligible for our small `n`, but an unbiased
/// sampler costs nothing and keeps every alphabet character exactly equally likely.
pub(crate) fn below<R: RngCore + ?Sized>(rng: &mut R, n: u32) -> u32 {
    if n <= 1 {
        return 0;
    }
    let threshold = n.wrapping_neg() % n;
    loop {
        let product = u64::from(rng.next_u32()) * u64::from(n);
        // The low half tells whether this draw fell into the over-represented remainder.
        if (product as u32) >= threshold {
            return (product >> 32) as u32;
        }
    }
}

/// A uniform integer in `lo..=hi`.
pub(crate) fn between<R: RngCore + ?Sized>(rng: &mut R, lo: u32, hi: u32) -> u32 {
    lo + below(rng, hi - lo + 1)
}

/// A uniform index into a slice of length `len`.
pub(crate) fn index<R: RngCore + ?Sized>(rng: &mut R, len: usize) -> usize {
    below(rng, u32::try_from(len).unwrap_or(u32::MAX)) as usize
}

/// A uniform float in `[0, 1)` using the 24 bits an `f32` mantissa can hold exactly.
pub(crate) fn unit<R: RngCore + ?Sized>(rng: &mut R) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// A uniform float in `[lo, hi)`.
pub(crate) fn range<R: RngCore + ?Sized>(rng: &mut R, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * unit(rng)
}

/// A uniform float in `[-amplitude, amplitude)`.
pub(crate) fn symmetric<R: RngCore + ?Sized>(rng: &mut R, amplitude: f32) -> f32 {
    range(rng, -amplitude, amplitude)
}
