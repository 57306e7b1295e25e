//! Per-image transforms applied while a batch is drawn: scaling, binarisation, and masks
//! that hide part of an image for inpainting.

use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::dataset::{COLS, PIXELS, ROWS};

/// The range pixels are scaled to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// `p / 255`, the usual input of sigmoid/Bernoulli models.
    #[default]
    ZeroOne,
    /// `p / 127.5 - 1`, matching a generator that ends in `tanh`.
    MinusOneOne,
}

impl Scale {
    pub fn apply(self, pixel: u8) -> f32 {
        match self {
            Scale::ZeroOne => pixel as f32 / 255.0,
            Scale::MinusOneOne => pixel as f32 / 127.5 - 1.0,
        }
    }

    /// Maps a value of this range back to [0, 1], clamping what lies outside the range
    /// (e.g. the negative half of a tanh output read as [0, 1] data).
    pub fn to_unit(self, value: f32) -> f32 {
        match self {
            Scale::ZeroOne => value,
            Scale::MinusOneOne => (value + 1.0) / 2.0,
        }
        .clamp(0.0, 1.0)
    }
}

/// How grey pixels become binary ones (applied on the [0, 1] intensity, before scaling).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Binarise {
    /// Keep grey levels.
    #[default]
    None,
    /// 1 where the intensity exceeds the threshold, else 0.
    Threshold { threshold: f32 },
    /// 1 with probability equal to the intensity, drawn afresh every epoch ("dynamic
    /// binarisation"): the model sees a different binary sample of each digit every epoch.
    Stochastic,
}

pub use crate::seed::image_rng;

impl Binarise {
    /// Writes the binarised (or grey) [0, 1] intensities of `pixels` into `out`.
    pub fn apply(self, pixels: &[u8], out: &mut [f32], rng: &mut StdRng) {
        for (o, &p) in out.iter_mut().zip(pixels) {
            let intensity = p as f32 / 255.0;
            *o = match self {
                Binarise::None => intensity,
                Binarise::Threshold { threshold } => (intensity > threshold) as u8 as f32,
                Binarise::Stochastic => (rng.random::<f32>() < intensity) as u8 as f32,
            };
        }
    }
}

/// A quarter of the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quadrant {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

/// Which pixels are hidden. A mask is 1 where a pixel is known and 0 where it is missing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Mask {
    /// Rows `start..end` (0-based, end exclusive) are missing.
    Rows { start: usize, end: usize },
    /// Columns `start..end` are missing.
    Columns { start: usize, end: usize },
    /// The top `n` rows are missing.
    TopRows { n: usize },
    /// `n` rows centred on the middle of the image are missing.
    MiddleRows { n: usize },
    /// The bottom `n` rows are missing.
    BottomRows { n: usize },
    /// The left `n` columns are missing.
    LeftColumns { n: usize },
    /// The right `n` columns are missing.
    RightColumns { n: usize },
    /// Each pixel is missing with probability `p`, drawn per image.
    PixelDropout { p: f32 },
    /// One quarter is missing.
    Quadrant { quadrant: Quadrant },
}

impl Mask {
    /// The missing row range of a row mask, clamped to the image.
    fn row_range(self) -> Option<(usize, usize)> {
        let clamp = |s: usize, e: usize| (s.min(ROWS), e.min(ROWS));
        match self {
            Mask::Rows { start, end } => Some(clamp(start, end)),
            Mask::TopRows { n } => Some(clamp(0, n)),
            Mask::MiddleRows { n } => {
                let n = n.min(ROWS);
                let start = (ROWS - n) / 2;
                Some((start, start + n))
            }
            Mask::BottomRows { n } => Some((ROWS - n.min(ROWS), ROWS)),
            _ => None,
        }
    }

    fn column_range(self) -> Option<(usize, usize)> {
        match self {
            Mask::Columns { start, end } => Some((start.min(COLS), end.min(COLS))),
            Mask::LeftColumns { n } => Some((0, n.min(COLS))),
            Mask::RightColumns { n } => Some((COLS - n.min(COLS), COLS)),
            _ => None,
        }
    }

    /// Fills `known` (PIXELS values) with 1 for known pixels and 0 for missing ones. `rng`
    /// is only drawn from by random masks.
    pub fn fill(self, known: &mut [f32], rng: &mut StdRng) {
        debug_assert_eq!(known.len(), PIXELS);
        for (i, k) in known.iter_mut().enumerate() {
            let (r, c) = (i / COLS, i % COLS);
            let missing = if let Some((s, e)) = self.row_range() {
                (s..e).contains(&r)
            } else if let Some((s, e)) = self.column_range() {
                (s..e).contains(&c)
            } else {
                match self {
                    Mask::PixelDropout { p } => rng.random::<f32>() < p,
                    Mask::Quadrant { quadrant } => {
                        let (top, left) = (r < ROWS / 2, c < COLS / 2);
                        match quadrant {
                            Quadrant::TopLeft => top && left,
                            Quadrant::TopRight => top && !left,
                            Quadrant::BottomLeft => !top && left,
                            Quadrant::BottomRight => !top && !left,
                        }
                    }
                    _ => unreachable!("row and column masks are handled above"),
                }
            };
            *k = if missing { 0.0 } else { 1.0 };
        }
    }

    /// A short name for file names and figure labels, e.g. `top-rows-8`.
    pub fn label(self) -> String {
        match self {
            Mask::Rows { start, end } => format!("rows-{start}-{end}"),
            Mask::Columns { start, end } => format!("columns-{start}-{end}"),
            Mask::TopRows { n } => format!("top-rows-{n}"),
            Mask::MiddleRows { n } => format!("middle-rows-{n}"),
            Mask::BottomRows { n } => format!("bottom-rows-{n}"),
            Mask::LeftColumns { n } => format!("left-columns-{n}"),
            Mask::RightColumns { n } => format!("right-columns-{n}"),
            Mask::PixelDropout { p } => format!("dropout-{p}"),
            Mask::Quadrant { quadrant } => format!("quadrant-{quadrant:?}").to_lowercase(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_of(mask: Mask) -> Vec<f32> {
        let mut known = vec![0.0; PIXELS];
        mask.fill(&mut known, &mut image_rng(0, 0, 0));
        known
    }

    fn missing_rows(known: &[f32]) -> Vec<usize> {
        (0..ROWS)
            .filter(|r| known[r * COLS..(r + 1) * COLS].iter().all(|&k| k == 0.0))
            .collect()
    }

    #[test]
    fn scales_cover_their_ranges() {
        assert_eq!(Scale::ZeroOne.apply(0), 0.0);
        assert_eq!(Scale::ZeroOne.apply(255), 1.0);
        assert_eq!(Scale::MinusOneOne.apply(0), -1.0);
        assert_eq!(Scale::MinusOneOne.apply(255), 1.0);
        assert!((Scale::MinusOneOne.to_unit(Scale::MinusOneOne.apply(51)) - 0.2).abs() < 1e-6);
    }

    #[test]
    fn row_masks_hide_the_rows_they_name() {
        assert_eq!(
            missing_rows(&mask_of(Mask::TopRows { n: 3 })),
            vec![0, 1, 2]
        );
        assert_eq!(
            missing_rows(&mask_of(Mask::BottomRows { n: 2 })),
            vec![26, 27]
        );
        assert_eq!(
            missing_rows(&mask_of(Mask::MiddleRows { n: 4 })),
            vec![12, 13, 14, 15]
        );
        assert_eq!(
            missing_rows(&mask_of(Mask::Rows { start: 5, end: 7 })),
            vec![5, 6]
        );
        // Asking for more rows than exist hides the whole image, it does not panic.
        assert_eq!(
            missing_rows(&mask_of(Mask::MiddleRows { n: 40 })).len(),
            ROWS
        );
        let known = mask_of(Mask::TopRows { n: 3 });
        assert_eq!(known.iter().filter(|&&k| k == 0.0).count(), 3 * COLS);
    }

    #[test]
    fn column_and_quadrant_masks_hide_the_right_pixels() {
        let known = mask_of(Mask::RightColumns { n: 5 });
        for r in 0..ROWS {
            for c in 0..COLS {
                assert_eq!(known[r * COLS + c] == 0.0, c >= 23);
            }
        }
        let known = mask_of(Mask::Quadrant {
            quadrant: Quadrant::BottomLeft,
        });
        assert_eq!(known.iter().filter(|&&k| k == 0.0).count(), PIXELS / 4);
        assert_eq!(known[27 * COLS], 0.0);
        assert_eq!(known[27 * COLS + 27], 1.0);
        assert_eq!(known[0], 1.0);
    }

    #[test]
    fn dropout_hides_about_p_of_the_pixels() {
        let mut total = 0;
        for i in 0..50 {
            let mut known = vec![0.0; PIXELS];
            Mask::PixelDropout { p: 0.3 }.fill(&mut known, &mut image_rng(1, 0, i));
            total += known.iter().filter(|&&k| k == 0.0).count();
        }
        let fraction = total as f64 / (50 * PIXELS) as f64;
        assert!((fraction - 0.3).abs() < 0.02, "{fraction}");
    }

    #[test]
    fn threshold_binarisation_is_exact() {
        let mut out = [0.0; 4];
        Binarise::Threshold { threshold: 0.5 }.apply(
            &[0, 127, 128, 255],
            &mut out,
            &mut image_rng(0, 0, 0),
        );
        assert_eq!(out, [0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn stochastic_binarisation_has_the_pixel_mean_and_changes_every_epoch() {
        let pixels = vec![64u8; PIXELS]; // intensity 0.251
        let mut epoch0 = vec![0.0; PIXELS];
        let mut epoch1 = vec![0.0; PIXELS];
        let mut again0 = vec![0.0; PIXELS];
        Binarise::Stochastic.apply(&pixels, &mut epoch0, &mut image_rng(9, 0, 3));
        Binarise::Stochastic.apply(&pixels, &mut epoch1, &mut image_rng(9, 1, 3));
        Binarise::Stochastic.apply(&pixels, &mut again0, &mut image_rng(9, 0, 3));
        assert!(epoch0.iter().all(|&v| v == 0.0 || v == 1.0));
        assert_eq!(epoch0, again0, "same seed, epoch and image: same sample");
        assert_ne!(epoch0, epoch1, "a new epoch draws a new sample");
        let mean = epoch0.iter().sum::<f32>() / PIXELS as f32;
        assert!((mean - 64.0 / 255.0).abs() < 0.05, "{mean}");
    }
}
