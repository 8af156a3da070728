//! Rendering of the image challenge: stroke font, distortion, noise and PNG encoding.

use std::f32::consts::{PI, TAU};

use rand_core::RngCore;

use crate::font::{self, GRID_HEIGHT, GRID_WIDTH};
use crate::rng::{between, index, range, symmetric, unit};

/// Characters an image answer is drawn from. 0/O, 1/I/L are left out because they are
/// indistinguishable once distorted, which would fail people rather than robots.
pub(crate) const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Number of characters in an image answer: 31^6 ≈ 887 million possibilities.
pub(crate) const LENGTH: usize = 6;
/// Image width in pixels.
pub(crate) const WIDTH: u32 = 240;
/// Image height in pixels.
pub(crate) const HEIGHT: u32 = 80;

const W: usize = WIDTH as usize;
const H: usize = HEIGHT as usize;
/// Blank space kept at the left and right so rotated edge characters stay inside the image.
const MARGIN: f32 = 11.0;

/// Picks a random answer of [`LENGTH`] characters from [`ALPHABET`].
pub(crate) fn random_answer<R: RngCore + ?Sized>(rng: &mut R) -> String {
    (0..LENGTH)
        .map(|_| char::from(ALPHABET[index(rng, ALPHABET.len())]))
        .collect()
}

/// A coverage buffer: 0 is untouched background, 1 is full ink. Drawing in coverage rather
/// than final grey levels lets overlapping strokes merge (by `max`) without darkening joints,
/// and lets the warp resample one channel before colours are chosen.
struct Ink {
    cells: Vec<f32>,
}

impl Ink {
    fn new() -> Self {
        Self {
            cells: vec![0.0; W * H],
        }
    }

    /// Draws a segment with round caps as a distance-to-segment brush: pixels within `radius`
    /// of the segment are fully covered, with a one-pixel linear fall-off for anti-aliasing.
    fn segment(&mut self, a: (f32, f32), b: (f32, f32), radius: f32, strength: f32) {
        let pad = radius + 1.0;
        // Float-to-int casts saturate, so coordinates left of or above the image clamp to 0.
        let x0 = (a.0.min(b.0) - pad).floor() as usize;
        let y0 = (a.1.min(b.1) - pad).floor() as usize;
        let x1 = ((a.0.max(b.0) + pad).ceil() as usize).min(W - 1);
        let y1 = ((a.1.max(b.1) + pad).ceil() as usize).min(H - 1);
        if x0 > x1 || y0 > y1 {
            return;
        }
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len_sq = dx * dx + dy * dy;
        for y in y0..=y1 {
            let py = y as f32 + 0.5;
            for x in x0..=x1 {
                let px = x as f32 + 0.5;
                let t = if len_sq > f32::EPSILON {
                    (((px - a.0) * dx + (py - a.1) * dy) / len_sq).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (ex, ey) = (px - (a.0 + t * dx), py - (a.1 + t * dy));
                let distance = (ex * ex + ey * ey).sqrt();
                let coverage = (radius + 0.5 - distance).clamp(0.0, 1.0) * strength;
                let cell = &mut self.cells[y * W + x];
                if coverage > *cell {
                    *cell = coverage;
                }
            }
        }
    }

    fn polyline(&mut self, points: &[(f32, f32)], radius: f32, strength: f32) {
        for pair in points.windows(2) {
            self.segment(pair[0], pair[1], radius, strength);
        }
    }

    /// Bilinear sample at a fractional position; outside the image counts as background.
    fn sample(&self, x: f32, y: f32) -> f32 {
        // Shift so that integer coordinates land on pixel centres.
        let (x, y) = (x - 0.5, y - 0.5);
        let (fx, fy) = (x.floor(), y.floor());
        let (tx, ty) = (x - fx, y - fy);
        let at = |cx: f32, cy: f32| -> f32 {
            if cx < 0.0 || cy < 0.0 || cx >= W as f32 || cy >= H as f32 {
                0.0
            } else {
                self.cells[cy as usize * W + cx as usize]
            }
        };
        let top = at(fx, fy) * (1.0 - tx) + at(fx + 1.0, fy) * tx;
        let bottom = at(fx, fy + 1.0) * (1.0 - tx) + at(fx + 1.0, fy + 1.0) * tx;
        top * (1.0 - ty) + bottom * ty
    }
}

/// Draws the characters of `text`, each with its own scale, rotation and position jitter.
fn draw_text<R: RngCore + ?Sized>(ink: &mut Ink, text: &str, radius: f32, rng: &mut R) {
    let count = text.chars().count().max(1);
    let advance = (WIDTH as f32 - 2.0 * MARGIN) / count as f32;
    let mut points = Vec::with_capacity(16);
    for (i, c) in text.chars().enumerate() {
        // Pixels per grid unit; 6 units tall gives characters of roughly 38–44 px. Glyphs are
        // kept a little narrower than the grid so rotated neighbours rarely collide.
        let unit_size = range(rng, 6.3, 7.3);
        let scale_x = unit_size * range(rng, 0.78, 0.98);
        let scale_y = unit_size * range(rng, 0.92, 1.08);
        let angle = symmetric(rng, 20.0) * PI / 180.0;
        let (sin, cos) = angle.sin_cos();
        let centre_x = MARGIN + (i as f32 + 0.5) * advance + symmetric(rng, 2.5);
        let centre_y = HEIGHT as f32 / 2.0 + symmetric(rng, 6.0);
        for stroke in font::glyph(c) {
            points.clear();
            points.extend(stroke.iter().map(|&(gx, gy)| {
                // A small per-vertex wobble makes every instance of a glyph differ, so the
                // font cannot simply be template-matched.
                let lx = (gx - GRID_WIDTH / 2.0 + symmetric(rng, 0.12)) * scale_x;
                let ly = (gy - GRID_HEIGHT / 2.0 + symmetric(rng, 0.12)) * scale_y;
                (
                    centre_x + lx * cos - ly * sin,
                    centre_y + lx * sin + ly * cos,
                )
            }));
            ink.polyline(&points, radius, 1.0);
        }
    }
}

/// Draws thinner random curves and short lines across the text. They touch the characters so
/// that naive segmentation by connected components fails, but are thinner than the letter
/// strokes so a person still sees which marks belong to the text.
fn draw_clutter<R: RngCore + ?Sized>(ink: &mut Ink, radius: f32, rng: &mut R) {
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    for _ in 0..between(rng, 2, 3) {
        // A cubic Bézier from beyond the left edge to beyond the right edge.
        let p0 = (-5.0, range(rng, 0.2 * h, 0.8 * h));
        let p1 = (
            range(rng, 0.15 * w, 0.45 * w),
            range(rng, -0.2 * h, 1.2 * h),
        );
        let p2 = (
            range(rng, 0.55 * w, 0.85 * w),
            range(rng, -0.2 * h, 1.2 * h),
        );
        let p3 = (w + 5.0, range(rng, 0.2 * h, 0.8 * h));
        let points: Vec<(f32, f32)> = (0..=64)
            .map(|step| {
                let t = step as f32 / 64.0;
                let u = 1.0 - t;
                let (b0, b1, b2, b3) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
                (
                    b0 * p0.0 + b1 * p1.0 + b2 * p2.0 + b3 * p3.0,
                    b0 * p0.1 + b1 * p1.1 + b2 * p2.1 + b3 * p3.1,
                )
            })
            .collect();
        ink.polyline(
            &points,
            radius * range(rng, 0.3, 0.42),
            range(rng, 0.7, 0.9),
        );
    }
    for _ in 0..between(rng, 2, 4) {
        let start = (range(rng, 0.0, w), range(rng, 0.0, h));
        let length = range(rng, 30.0, 80.0);
        let direction = symmetric(rng, PI);
        let end = (
            start.0 + length * direction.cos(),
            start.1 + length * direction.sin(),
        );
        ink.segment(start, end, range(rng, 0.5, 0.9), range(rng, 0.6, 0.85));
    }
}

/// Renders `text` as an 8-bit greyscale raster of `WIDTH` × `HEIGHT`, row-major.
pub(crate) fn render<R: RngCore + ?Sized>(text: &str, rng: &mut R) -> Vec<u8> {
    // Pen radius in pixels: strokes are about 5 px wide, bold enough to survive the noise.
    let radius = range(rng, 2.1, 2.6);
    let mut ink = Ink::new();
    draw_text(&mut ink, text, radius, rng);
    draw_clutter(&mut ink, radius, rng);

    // A mild sine warp of the whole picture bends straight strokes and the baseline, which
    // defeats matching against the undistorted font while staying easy on human eyes.
    let warp_x = range(rng, 2.0, 3.5);
    let warp_y = range(rng, 3.0, 5.0);
    let period_x = range(rng, 45.0, 80.0);
    let period_y = range(rng, 70.0, 130.0);
    let phase_x = range(rng, 0.0, TAU);
    let phase_y = range(rng, 0.0, TAU);

    // Near-black ink on a near-white, slightly graded background.
    let foreground = range(rng, 20.0, 55.0);
    let background_left = range(rng, 228.0, 250.0);
    let background_right = range(rng, 228.0, 250.0);

    let mut pixels = vec![0u8; W * H];
    for y in 0..H {
        let shift_x = warp_x * (TAU * y as f32 / period_x + phase_x).sin();
        for x in 0..W {
            let shift_y = warp_y * (TAU * x as f32 / period_y + phase_y).sin();
            let coverage = ink.sample(x as f32 + 0.5 + shift_x, y as f32 + 0.5 + shift_y);
            let t = x as f32 / (W - 1) as f32;
            let background = background_left + (background_right - background_left) * t;
            let value = background - coverage * (background - foreground);
            pixels[y * W + x] = (value + 0.5).clamp(0.0, 255.0) as u8;
        }
    }

    // Light speckle: scattered mid-grey dots, too sparse and faint to hide any stroke.
    for _ in 0..(W * H / 45) {
        let at = index(rng, W * H);
        let grey = range(rng, 90.0, 255.0);
        let mix = range(rng, 0.4, 0.9);
        let old = f32::from(pixels[at]);
        pixels[at] = (old + (grey - old) * mix + 0.5).clamp(0.0, 255.0) as u8;
        // Occasionally a 2-pixel dot, so the noise is not just isolated pixels a median
        // filter would erase for free.
        if unit(rng) < 0.3 && at + 1 < W * H {
            pixels[at + 1] = pixels[at];
        }
    }
    pixels
}

/// Encodes a raster from [`render`] as an 8-bit greyscale PNG.
pub(crate) fn encode(pixels: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::with_capacity(pixels.len() / 2);
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(out)
}
