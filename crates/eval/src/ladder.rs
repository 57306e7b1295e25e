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

use crate::evaluator::{Evaluator, PR_NEIGHBOURS, SampleScores, VERDICT_SEED};
use crate::neighbours::{
    DC_NEIGHBOURS, DensityCoverage, PrecisionRecall, density_coverage, precision_recall,
};
use crate::reference::Corruption;

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
    /// One image of each class, repeated.
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

    /// A short name for tables, e.g. "blur σ 2".
    pub fn label(self) -> String {
        match self {
            Rung::Real => "real train images".into(),
            Rung::Corrupted { corruption } => corruption.label(),
            Rung::Collapsed { classes } => format!("{classes} classes only"),
            Rung::OnePerClass => "one image per class".into(),
            Rung::ClassMeans => "class-mean images".into(),
            Rung::ShuffledPixels => "shuffled pixels".into(),
            Rung::SaltAndPepper { fraction } => format!("salt and pepper {fraction}"),
        }
    }

    /// `n` images of this rung made from `train` ([0, 1] pixels, row-major), seeded.
    pub fn images(self, train: &ImageSet, n: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        // A random order of the training images: the splits are stored in an order that
        // groups writers, so the first n would not stand for the whole set.
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rng);
        let n = n.min(train.len());
        let drawn = rows(&order[..n], train);
        match self {
            Rung::Real => drawn,
            Rung::Corrupted { corruption } => corruption.apply(&drawn),
            Rung::Collapsed { classes } => {
                let kept: Vec<usize> = (order.iter().copied())
                    .filter(|&i| (train.label(i) as usize) < classes)
                    .collect();
                cycled(&kept, train, n)
            }
            Rung::OnePerClass => {
                let firsts: Vec<usize> = (0..CLASSES as u8)
                    .filter_map(|c| order.iter().copied().find(|&i| train.label(i) == c))
                    .collect();
                cycled(&firsts, train, n)
            }
            Rung::ClassMeans => {
                let means = class_means(train);
                (0..n).flat_map(|i| means[i % CLASSES].clone()).collect()
            }
            Rung::ShuffledPixels => drawn
                .chunks_exact(PIXELS)
                .flat_map(|image| {
                    let mut image = image.to_vec();
                    image.shuffle(&mut rng);
                    image
                })
                .collect(),
            Rung::SaltAndPepper { fraction } => drawn
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

/// Every score of one rung, against the test split (with the verdict scores).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RungScores {
    pub rung: Rung,
    pub scores: SampleScores,
}

/// Scores `n` images of every rung of [`LADDER`] made from `train` against the evaluator's
/// test split; `autodiff` trains the two-sample critics.
pub fn ladder_scores(
    evaluator: &Evaluator,
    train: &ImageSet,
    n: usize,
    autodiff: &burn::tensor::Device,
) -> anyhow::Result<Vec<RungScores>> {
    LADDER
        .iter()
        .map(|&rung| {
            eprintln!("scoring {} ...", rung.label());
            let images = rung.images(train, n, VERDICT_SEED);
            Ok(RungScores {
                rung,
                scores: evaluator.score_for_verdict(&images, Scale::ZeroOne, autodiff)?,
            })
        })
        .collect()
}

/// Precision, recall, density and coverage of one rung computed on the raw pixels rather
/// than the classifier's features: whether the neighbour metrics' failure is the feature
/// space's or their own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PixelNeighbours {
    pub rung: Rung,
    pub precision_recall: PrecisionRecall,
    pub density_coverage: DensityCoverage,
}

/// [`PixelNeighbours`] of every rung of [`LADDER`] at `n` images against `test` pixels.
pub fn pixel_neighbours(
    train: &ImageSet,
    test: &[f32],
    n: usize,
    device: &burn::tensor::Device,
) -> Vec<PixelNeighbours> {
    let test = &test[..n.min(test.len() / PIXELS) * PIXELS];
    LADDER
        .iter()
        .map(|&rung| {
            eprintln!("pixel space: {} ...", rung.label());
            let images = rung.images(train, n, VERDICT_SEED);
            PixelNeighbours {
                rung,
                precision_recall: precision_recall(test, &images, PIXELS, PR_NEIGHBOURS, device),
                density_coverage: density_coverage(test, &images, PIXELS, DC_NEIGHBOURS, device),
            }
        })
        .collect()
}

/// What a score is meant to measure: which rungs it must rank below real images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Every degraded rung must score worse than the real images.
    Fidelity,
    /// The rungs that drop variety must score worse than the real images.
    Diversity,
}

/// A score the report could print as a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    Fid,
    Kid,
    TwoSample,
    Precision,
    Density,
    Recall,
    Coverage,
    ClassesCovered,
    ClassKl,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::Fid,
        Metric::Kid,
        Metric::TwoSample,
        Metric::Precision,
        Metric::Density,
        Metric::Recall,
        Metric::Coverage,
        Metric::ClassesCovered,
        Metric::ClassKl,
    ];

    pub fn purpose(self) -> Purpose {
        match self {
            Metric::Fid | Metric::Kid | Metric::TwoSample | Metric::Precision | Metric::Density => {
                Purpose::Fidelity
            }
            Metric::Recall | Metric::Coverage | Metric::ClassesCovered | Metric::ClassKl => {
                Purpose::Diversity
            }
        }
    }

    /// The score oriented so that larger is worse; `None` without verdict scores.
    pub fn badness(self, s: &SampleScores) -> Option<f64> {
        let verdict = s.verdict.as_ref();
        Some(match self {
            Metric::Fid => s.fid,
            Metric::Kid => verdict?.kid.kid,
            Metric::TwoSample => verdict?.two_sample.accuracy,
            Metric::Precision => -s.precision_recall.precision,
            Metric::Density => -s.density_coverage.density,
            Metric::Recall => -s.precision_recall.recall,
            Metric::Coverage => -s.density_coverage.coverage,
            Metric::ClassesCovered => -(s.classes.classes_covered as f64),
            Metric::ClassKl => s.classes.kl_to_uniform,
        })
    }

    /// Whether `rung` must score worse than real images on this metric.
    pub fn must_catch(self, rung: Rung) -> bool {
        rung != Rung::Real && (self.purpose() == Purpose::Fidelity || rung.drops_variety())
    }
}

/// How one metric did on one ladder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LadderCheck {
    pub metric: Metric,
    pub purpose: Purpose,
    /// The rungs it had to rank below real images and did not (empty: it passed).
    pub missed: Vec<String>,
}

impl LadderCheck {
    pub fn passed(&self) -> bool {
        self.missed.is_empty()
    }
}

/// Every metric's check on `rungs` (whose first rung is the real images).
pub fn check_ladder(rungs: &[RungScores]) -> Vec<LadderCheck> {
    let real = rungs
        .iter()
        .find(|r| r.rung == Rung::Real)
        .expect("the ladder holds the real images");
    Metric::ALL
        .iter()
        .map(|&metric| {
            let floor = metric.badness(&real.scores);
            let missed = rungs
                .iter()
                .filter(|r| metric.must_catch(r.rung))
                .filter(|r| match (metric.badness(&r.scores), floor) {
                    (Some(rung), Some(floor)) => rung <= floor,
                    _ => true,
                })
                .map(|r| r.rung.label())
                .collect();
            LadderCheck {
                metric,
                purpose: metric.purpose(),
                missed,
            }
        })
        .collect()
}

/// The metrics the report prints as verdicts: each passes its ladder on both data sets
/// (checked by this module's tests and, on the shipped ladders, by the report).
pub const VERDICT_METRICS: [Metric; 5] = [
    Metric::Fid,
    Metric::Kid,
    Metric::TwoSample,
    Metric::Recall,
    Metric::Coverage,
];

/// The images of `indices`, [0, 1] pixels.
fn rows(indices: &[usize], train: &ImageSet) -> Vec<f32> {
    (indices.iter())
        .flat_map(|&i| train.image(i).iter().map(|&p| p as f32 / 255.0))
        .collect()
}

/// `n` images cycling through `indices` of `train`, [0, 1] pixels.
fn cycled(indices: &[usize], train: &ImageSet, n: usize) -> Vec<f32> {
    let cycle: Vec<usize> = (0..n).map(|i| indices[i % indices.len()]).collect();
    rows(&cycle, train)
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

    /// Every verdict metric passes the ladder of `dataset` at 1,000 images a rung, and real
    /// training images cannot be told from test images.
    fn verdict_metrics_pass_the_ladder(dataset: DataSetName) {
        let device = Device::flex();
        let train = ImageSet::load(dataset, Split::Train, None).unwrap();
        let test = ImageSet::load(dataset, Split::Test, None).unwrap();
        let evaluator =
            Evaluator::with_sets(&crate::pretrained_dir(), &train, &test, &device).unwrap();
        let rungs = ladder_scores(&evaluator, &train, 1_000, &device.autodiff()).unwrap();
        let real = rungs[0].scores.verdict.clone().unwrap().two_sample;
        assert_eq!(rungs[0].rung, Rung::Real);
        assert!(
            (real.accuracy - 0.5).abs() < 3.0 * real.standard_error + 0.02,
            "random training images against test images: {real:?}"
        );
        let checks = check_ladder(&rungs);
        for metric in VERDICT_METRICS {
            let check = checks.iter().find(|c| c.metric == metric).unwrap();
            assert!(check.passed(), "{dataset}: {check:?}");
        }
    }

    #[test]
    fn verdict_metrics_rank_every_mnist_rung_below_real_images() {
        verdict_metrics_pass_the_ladder(DataSetName::Mnist);
    }

    #[test]
    fn verdict_metrics_rank_every_fashion_mnist_rung_below_real_images() {
        verdict_metrics_pass_the_ladder(DataSetName::FashionMnist);
    }

    fn scores(fid: f64, recall: f64) -> SampleScores {
        serde_json::from_value(serde_json::json!({
            "images": 10, "classifier": "c", "fid": fid,
            "precision_recall": { "precision": 0.9, "recall": recall, "k": 3 },
            "density_coverage": { "density": 1.0, "coverage": 0.9, "k": 5 },
            "classes": { "histogram": [1,1,1,1,1,1,1,1,1,1], "classes_covered": 10,
                         "kl_to_uniform": 0.0, "mean_confidence": 0.9, "inception_score": 9.0 },
            "nearest_train_mean": 1.0, "nearest_train_median": 1.0
        }))
        .unwrap()
    }

    #[test]
    fn a_metric_that_scores_a_rung_as_well_as_real_images_fails_and_names_it() {
        let rung = |rung, fid, recall| RungScores {
            rung,
            scores: scores(fid, recall),
        };
        let blur = Rung::Corrupted {
            corruption: Corruption::Blur { sigma: 2.0 },
        };
        let rungs = [
            rung(Rung::Real, 2.0, 0.9),
            rung(blur, 2.0, 0.95),
            rung(Rung::OnePerClass, 50.0, 0.9),
        ];
        let checks = check_ladder(&rungs);
        let check = |m| checks.iter().find(|c| c.metric == m).unwrap().clone();
        assert_eq!(check(Metric::Fid).missed, vec!["blur sigma 2".to_string()]);
        // Recall need not catch blur (it keeps variety), but must catch the copies.
        assert_eq!(check(Metric::Recall).missed, vec!["one image per class"]);
        // Without verdict scores KID cannot pass.
        assert!(!check(Metric::Kid).passed());
        assert!(
            check(Metric::Precision)
                .missed
                .contains(&"blur sigma 2".to_string())
        );
    }
}
