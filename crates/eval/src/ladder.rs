//! The degradation ladder: real training images made worse in known ways, each of which a
//! trustworthy score must rank below the real images. A *fidelity* score (FID, KID, the
//! two-sample test) must rank every rung worse than the real training images; a *diversity*
//! score must rank the rungs that drop variety (collapsed classes, copies of one image, the
//! class means) worse as well. A score that fails its ladder is not fit to be a verdict.

use data::{CLASSES, ImageSet, PIXELS, Scale};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::evaluator::{Evaluator, SampleScores, unit_pixels};
use crate::kernel::{Kid, kid};
use crate::reference::Corruption;
use crate::two_sample::{TwoSampleTest, two_sample_test};

/// One rung of the ladder.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Rung {
    /// The real training images unchanged: the floor every other rung must stay above.
    Real,
    /// A pixel-level corruption (noise or blur) of every image.
    Corrupted { corruption: Corruption },
    /// Only the images of the first `classes` classes.
    Collapsed { classes: usize },
    /// The first image of each class, repeated.
    OnePerClass,
    /// The mean image of each class, repeated.
    ClassMeans,
    /// Each image's pixels in a random order.
    ShuffledPixels,
    /// A `fraction` of the pixels set to 0 or 1 at random.
    SaltAndPepper { fraction: f32 },
}

impl Rung {
    /// Whether the rung removes variety (what a diversity score must catch).
    pub fn drops_variety(self) -> bool {
        matches!(
            self,
            Rung::Collapsed { .. } | Rung::OnePerClass | Rung::ClassMeans
        )
    }

    /// `n` images of this rung made from `train` ([0, 1] pixels, row-major), seeded.
    pub fn images(self, train: &ImageSet, n: usize, seed: u64) -> Vec<f32> {
        let n = n.min(train.len());
        // A random draw of the training images: the splits are stored in an order that
        // groups writers, so the first n would not stand for the whole set.
        let first =
            crate::kernel::shuffled_rows(&unit_pixels(train), PIXELS, seed)[..n * PIXELS].to_vec();
        let mut rng = StdRng::seed_from_u64(seed);
        match self {
            Rung::Real => first,
            Rung::Corrupted { corruption } => corruption.apply(&first),
            Rung::Collapsed { classes } => {
                let kept = (0..train.len()).filter(|&i| (train.label(i) as usize) < classes);
                repeat_rows(&kept.collect::<Vec<_>>(), train, n)
            }
            Rung::OnePerClass => {
                let firsts: Vec<usize> = (0..CLASSES as u8)
                    .filter_map(|c| (0..train.len()).find(|&i| train.label(i) == c))
                    .collect();
                repeat_rows(&firsts, train, n)
            }
            Rung::ClassMeans => {
                let means = class_means(train);
                (0..n).flat_map(|i| means[i % CLASSES].clone()).collect()
            }
            Rung::ShuffledPixels => first
                .chunks_exact(PIXELS)
                .flat_map(|image| {
                    let mut image = image.to_vec();
                    image.shuffle(&mut rng);
                    image
                })
                .collect(),
            Rung::SaltAndPepper { fraction } => first
                .iter()
                .map(|&v| match rng.random::<f32>() < fraction {
                    true => rng.random::<bool>() as u8 as f32,
                    false => v,
                })
                .collect(),
        }
    }
}

/// The ladder the report's scores are checked on.
pub const LADDER: [Rung; 11] = [
    Rung::Real,
    Rung::Corrupted {
        corruption: Corruption::Noise { sigma: 0.1 },
    },
    Rung::Corrupted {
        corruption: Corruption::Noise { sigma: 0.3 },
    },
    Rung::Corrupted {
        corruption: Corruption::Blur { sigma: 1.0 },
    },
    Rung::Corrupted {
        corruption: Corruption::Blur { sigma: 2.0 },
    },
    Rung::Collapsed { classes: 4 },
    Rung::OnePerClass,
    Rung::ClassMeans,
    Rung::ShuffledPixels,
    Rung::SaltAndPepper { fraction: 0.1 },
    Rung::SaltAndPepper { fraction: 0.3 },
];

/// Every score of one rung, against the test split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RungScores {
    pub rung: Rung,
    pub scores: SampleScores,
    pub kid: Kid,
    pub two_sample: TwoSampleTest,
}

/// Scores `n` images of every rung of [`LADDER`] made from `train` against the evaluator's
/// test split; `autodiff` trains the two-sample critics.
pub fn ladder_scores(
    evaluator: &Evaluator,
    train: &ImageSet,
    test_pixels: &[f32],
    n: usize,
    autodiff: &burn::tensor::Device,
) -> Vec<RungScores> {
    LADDER
        .iter()
        .map(|&rung| {
            let images = rung.images(train, n, LADDER_SEED);
            let (features, _) = evaluator.features_and_probabilities(&images);
            let dim = evaluator.feature_dim();
            RungScores {
                rung,
                scores: evaluator.score(&images, Scale::ZeroOne),
                kid: kid(
                    &features,
                    evaluator.test_features(),
                    dim,
                    KID_SUBSET,
                    LADDER_SEED,
                ),
                two_sample: two_sample_test(&images, test_pixels, LADDER_SEED, autodiff),
            }
        })
        .collect()
}

/// Seed of the rungs' randomness and of the two-sample critics.
const LADDER_SEED: u64 = 17;
/// Rows per KID subset (four subsets of the test's 1,000 images).
const KID_SUBSET: usize = 250;

/// `n` images cycling through `rows` of `train`, [0, 1] pixels.
fn repeat_rows(rows: &[usize], train: &ImageSet, n: usize) -> Vec<f32> {
    (0..n)
        .flat_map(|i| {
            train
                .image(rows[i % rows.len()])
                .iter()
                .map(|&p| p as f32 / 255.0)
        })
        .collect()
}

/// The mean image of each class, [0, 1] pixels.
fn class_means(train: &ImageSet) -> Vec<Vec<f32>> {
    let mut sums = vec![vec![0f64; PIXELS]; CLASSES];
    let mut counts = [0usize; CLASSES];
    for i in 0..train.len() {
        let class = train.label(i) as usize;
        counts[class] += 1;
        for (s, &p) in sums[class].iter_mut().zip(train.image(i)) {
            *s += p as f64 / 255.0;
        }
    }
    sums.iter()
        .zip(counts)
        .map(|(s, c)| s.iter().map(|v| (v / c.max(1) as f64) as f32).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use data::{DataSetName, Split};

    /// FID, KID and the two-sample test rank every rung below the real training images;
    /// recall ranks the rungs that drop variety below them too. (Precision and density do
    /// not pass: blurred digits score as well as real ones in the classifier's features.)
    #[test]
    fn fid_kid_and_the_two_sample_test_rank_every_mnist_rung_below_real_images() {
        let device = Device::flex();
        let train = ImageSet::load(DataSetName::Mnist, Split::Train, None).unwrap();
        let test = ImageSet::load(DataSetName::Mnist, Split::Test, None).unwrap();
        let evaluator =
            Evaluator::with_sets(&crate::pretrained_dir(), &train, &test, &device).unwrap();
        let rungs = ladder_scores(
            &evaluator,
            &train,
            &unit_pixels(&test),
            1_000,
            &device.autodiff(),
        );
        let real = &rungs[0];
        assert_eq!(real.rung, Rung::Real);
        let off_chance = (real.two_sample.accuracy - 0.5).abs();
        assert!(
            off_chance < 3.0 * real.two_sample.standard_error + 0.02,
            "random training images against test images: {:?}",
            real.two_sample
        );
        let chance = (real.two_sample.accuracy - 0.5).abs();
        assert!(
            chance < 3.0 * real.two_sample.standard_error + 0.02,
            "training against test images: {:?}",
            real.two_sample
        );
        for r in &rungs[1..] {
            let name = format!("{:?}", r.rung);
            assert!(
                r.scores.fid > real.scores.fid,
                "FID of {name}: {} vs {}",
                r.scores.fid,
                real.scores.fid
            );
            assert!(
                r.kid.kid > real.kid.kid,
                "KID of {name}: {:?} vs {:?}",
                r.kid,
                real.kid
            );
            assert!(
                r.two_sample.accuracy > real.two_sample.accuracy,
                "two-sample accuracy of {name}: {:?} vs {:?}",
                r.two_sample,
                real.two_sample
            );
            if r.rung.drops_variety() {
                let (recall, floor) = (
                    r.scores.precision_recall.recall,
                    real.scores.precision_recall.recall,
                );
                assert!(recall < floor, "recall of {name}: {recall} vs {floor}");
            }
        }
    }
}
