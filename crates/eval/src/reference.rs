//! Floors and ceilings: the metrics of real data and of the degradation ladder, recorded once
//! in `data/pretrained/eval-reference.json` so every model's numbers can sit next to them.

use std::collections::BTreeMap;

use data::{COLS, DataSetName, ImageSet, PIXELS, ROWS, Scale};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::evaluator::{Evaluator, SampleScores};
use crate::ladder::{
    LadderCheck, PixelNeighbours, Rung, RungScores, check_ladder, ladder_scores, pixel_neighbours,
};

/// Images of each rung of the shipped ladder (a random draw of the training split for the
/// real floor): the sample count of the report's main scores.
pub const REFERENCE_IMAGES: usize = 10_000;

/// A known change to real images, to calibrate what a metric's value means.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Corruption {
    /// Gaussian pixel noise of this standard deviation, clipped to [0, 1].
    Noise { sigma: f32 },
    /// A Gaussian blur of this standard deviation in pixels.
    Blur { sigma: f32 },
}

impl Corruption {
    pub fn label(self) -> String {
        match self {
            Corruption::Noise { sigma } => format!("noise sigma {sigma}"),
            Corruption::Blur { sigma } => format!("blur sigma {sigma}"),
        }
    }

    /// Applies the corruption to `n x 784` unit pixels, deterministically.
    pub fn apply(self, images: &[f32]) -> Vec<f32> {
        match self {
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

/// The reference figures of one data set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSetReference {
    /// The test split scored against itself: trivially perfect on FID and the neighbour
    /// metrics, recorded for its nearest-training-image distances (unseen real images).
    pub real_test: SampleScores,
    /// Every rung of the ladder, [`REFERENCE_IMAGES`] images each; the first is the real
    /// training images, the floor of every distance.
    pub ladder: Vec<RungScores>,
    /// The neighbour metrics of every rung on raw pixels.
    pub pixel_space: Vec<PixelNeighbours>,
}

impl DataSetReference {
    /// The scores of real training images: what a perfect model would reach at this n.
    pub fn floor(&self) -> &SampleScores {
        self.rung(Rung::Real)
            .expect("the ladder holds the real images")
    }

    pub fn rung(&self, rung: Rung) -> Option<&SampleScores> {
        self.ladder
            .iter()
            .find(|r| r.rung == rung)
            .map(|r| &r.scores)
    }

    /// How each metric ranked this ladder.
    pub fn checks(&self) -> Vec<LadderCheck> {
        check_ladder(&self.ladder)
    }
}

/// Every data set's reference figures, by the data set's folder name.
pub type ShippedReferences = BTreeMap<String, DataSetReference>;

/// The shipped reference figures (`data/pretrained/eval-reference.json`) of `dataset`.
pub fn shipped_reference(dataset: DataSetName) -> anyhow::Result<DataSetReference> {
    let path = crate::pretrained_dir().join("eval-reference.json");
    let mut all: ShippedReferences = data::run::read_json(&path)?;
    all.remove(dataset.dir_name()).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no reference figures of {} (compute them: cargo run --release -p eval -- reference --dataset {})",
            path.display(),
            dataset.dir_name(),
            dataset.dir_name()
        )
    })
}

/// Scores the real test images and every rung of the ladder (from `train`, the evaluator's
/// data set) at [`REFERENCE_IMAGES`] images.
pub fn compute_reference(
    evaluator: &Evaluator,
    train: &ImageSet,
    autodiff: &burn::tensor::Device,
) -> anyhow::Result<DataSetReference> {
    eprintln!("scoring real test images ...");
    Ok(DataSetReference {
        real_test: evaluator.score(evaluator.test_pixels(), Scale::ZeroOne)?,
        ladder: ladder_scores(evaluator, train, REFERENCE_IMAGES, autodiff)?,
        pixel_space: pixel_neighbours(
            train,
            evaluator.test_pixels(),
            REFERENCE_IMAGES,
            &autodiff.clone().without_autodiff(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_ladders_hold_every_rung_and_their_verdict_metrics_pass() {
        for dataset in DataSetName::ALL {
            let reference = shipped_reference(dataset).unwrap();
            let floor = reference.floor();
            assert_eq!(floor.images, REFERENCE_IMAGES);
            assert!(floor.fid > 0.0 && floor.fid < 10.0, "{}", floor.fid);
            let rungs: Vec<Rung> = reference.ladder.iter().map(|r| r.rung).collect();
            assert_eq!(rungs, crate::ladder::LADDER);
            for check in reference.checks() {
                if crate::ladder::VERDICT_METRICS.contains(&check.metric) {
                    assert!(check.passed(), "{dataset}: {check:?}");
                }
            }
        }
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
