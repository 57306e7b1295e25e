//! Floors and ceilings: the metrics of real data and of corrupted real data, recorded once in
//! `data/pretrained/eval-reference.json` so every model's numbers can sit next to them.

use std::collections::BTreeMap;
use std::path::Path;

use data::{COLS, DataSetName, ImageSet, PIXELS, ROWS, Scale, Split};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::evaluator::{Evaluator, SampleScores, unit_pixels};

/// Images of the training split used as the "real samples" of the floor.
pub const REFERENCE_IMAGES: usize = 10_000;

/// A known change to real images, to calibrate what a metric's value means.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Corruption {
    /// Real training images unchanged: the floor of every distance.
    None,
    /// Gaussian pixel noise of this standard deviation, clipped to [0, 1].
    Noise { sigma: f32 },
    /// A Gaussian blur of this standard deviation in pixels.
    Blur { sigma: f32 },
}

impl Corruption {
    pub fn label(self) -> String {
        match self {
            Corruption::None => "real train images".into(),
            Corruption::Noise { sigma } => format!("noise sigma {sigma}"),
            Corruption::Blur { sigma } => format!("blur sigma {sigma}"),
        }
    }

    /// Applies the corruption to `n x 784` unit pixels, deterministically.
    pub fn apply(self, images: &[f32]) -> Vec<f32> {
        match self {
            Corruption::None => images.to_vec(),
            Corruption::Noise { sigma } => {
                let mut rng = StdRng::seed_from_u64(0);
                images
                    .iter()
                    .map(|&v| (v + sigma * standard_normal(&mut rng)).clamp(0.0, 1.0))
                    .collect()
            }
            Corruption::Blur { sigma } => images
                .chunks_exact(PIXELS)
                .flat_map(|img| blur(img, sigma))
                .collect(),
        }
    }
}

/// The corruptions recorded in the reference file.
pub const CORRUPTIONS: [Corruption; 5] = [
    Corruption::None,
    Corruption::Noise { sigma: 0.1 },
    Corruption::Noise { sigma: 0.3 },
    Corruption::Blur { sigma: 1.0 },
    Corruption::Blur { sigma: 2.0 },
];

pub use data::scaffold::standard_normal;

/// Separable Gaussian blur of one 28x28 image, zero outside the image.
fn blur(image: &[f32], sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil() as isize;
    let weights: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = weights.iter().sum();
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut out = vec![0.0; PIXELS];
        for r in 0..ROWS as isize {
            for c in 0..COLS as isize {
                let mut acc = 0.0;
                for (k, w) in weights.iter().enumerate() {
                    let o = k as isize - radius;
                    let (rr, cc) = if horizontal { (r, c + o) } else { (r + o, c) };
                    if (0..ROWS as isize).contains(&rr) && (0..COLS as isize).contains(&cc) {
                        acc += w * src[(rr * COLS as isize + cc) as usize];
                    }
                }
                out[(r * COLS as isize + c) as usize] = acc / total;
            }
        }
        out
    };
    pass(&pass(image, true), false)
}

/// The reference scores of one data set, by corruption label.
pub type Reference = BTreeMap<String, SampleScores>;

/// The label of the real-data floor: training digits scored against the test digits.
pub const REAL_FLOOR: &str = "real train images";

/// The shipped reference scores (`data/pretrained/eval-reference.json`) of `images` (a
/// corruption label or [`REAL_FLOOR`]) on `dataset`.
pub fn shipped_reference(dataset: DataSetName, images: &str) -> anyhow::Result<SampleScores> {
    let path = crate::pretrained_dir().join("eval-reference.json");
    let mut all: BTreeMap<String, Reference> = data::run::read_json(&path)?;
    all.get_mut(dataset.dir_name())
        .and_then(|reference| reference.remove(images))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no scores of {images:?} on {} (recompute it: cargo run --release -p eval -- reference --dataset {})",
                path.display(),
                dataset.dir_name(),
                dataset.dir_name()
            )
        })
}

/// Scores the first `REFERENCE_IMAGES` training images, clean and corrupted.
pub fn compute_reference(
    evaluator: &Evaluator,
    data_dir: Option<&Path>,
) -> anyhow::Result<Reference> {
    let train =
        ImageSet::load(evaluator.dataset, Split::Train, data_dir)?.truncated(REFERENCE_IMAGES);
    let clean = unit_pixels(&train);
    let mut reference = Reference::new();
    // The test split against itself is trivially perfect on FID and precision/recall; it is
    // recorded for its nearest-training-image distances, the reference for unseen digits.
    let test = ImageSet::load(evaluator.dataset, Split::Test, data_dir)?;
    eprintln!("scoring real test images ...");
    reference.insert(
        "real test images".into(),
        evaluator.score(&unit_pixels(&test), Scale::ZeroOne),
    );
    for corruption in CORRUPTIONS {
        eprintln!("scoring {} ...", corruption.label());
        reference.insert(
            corruption.label(),
            evaluator.score(&corruption.apply(&clean), Scale::ZeroOne),
        );
    }
    Ok(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_floor_is_the_training_digits_near_the_test_digits() {
        let floor = shipped_reference(DataSetName::Mnist, REAL_FLOOR).unwrap();
        assert_eq!(floor.images, REFERENCE_IMAGES);
        assert!(floor.fid > 0.0 && floor.fid < 10.0, "{}", floor.fid);
        let err = shipped_reference(DataSetName::Mnist, "no such images").unwrap_err();
        assert!(format!("{err:#}").contains("no scores of \"no such images\" on mnist"));
    }

    #[test]
    fn blur_keeps_the_mass_of_a_centred_dot_and_spreads_it() {
        let mut dot = vec![0.0; PIXELS];
        dot[14 * COLS + 14] = 1.0;
        let blurred = blur(&dot, 1.0);
        let mass: f32 = blurred.iter().sum();
        assert!((mass - 1.0).abs() < 1e-5, "{mass}");
        assert!(blurred[14 * COLS + 14] < 0.2);
        assert!(blurred[14 * COLS + 15] > 0.05);
        assert!((blurred[14 * COLS + 15] - blurred[15 * COLS + 14]).abs() < 1e-6);
    }

    #[test]
    fn noise_stays_in_range_and_has_the_requested_spread() {
        let grey = vec![0.5; 20 * PIXELS];
        let noisy = Corruption::Noise { sigma: 0.1 }.apply(&grey);
        assert!(noisy.iter().all(|v| (0.0..=1.0).contains(v)));
        let var: f32 = noisy.iter().map(|v| (v - 0.5).powi(2)).sum::<f32>() / noisy.len() as f32;
        assert!((var.sqrt() - 0.1).abs() < 0.005, "{}", var.sqrt());
    }
}
