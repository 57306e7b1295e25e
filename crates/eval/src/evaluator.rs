//! `Evaluator`: scores a set of 28x28 samples against a data set with the shipped classifier.
//!
//! Generated samples are compared with the *test* split (features for the Fréchet distance
//! and precision/recall) and with the *training* split (nearest neighbours in pixel space: is
//! the model copying what it was trained on?).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use data::{DataSetName, ImageSet, PIXELS, Scale, Split};
use serde::{Deserialize, Serialize};

use crate::classifier::Classifier;
use crate::frechet::{Gaussian, fid_standard_error, frechet_distance};
use crate::kernel::{Kid, kid};
use crate::neighbours::{
    DC_NEIGHBOURS, DensityCoverage, PrecisionRecall, density_coverage, nearest_distances,
    precision_recall,
};
use crate::scores::{ClassScores, class_scores};
use crate::train::{ClassifierCard, load_classifier};
use crate::two_sample::{TwoSampleTest, two_sample_test};

/// Neighbours for improved precision and recall (Kynkäänniemi et al. use k = 3).
pub const PR_NEIGHBOURS: usize = 3;
/// Samples whose nearest training image is searched (pixel space, 784 dimensions).
pub const NEAREST_TRAIN_SAMPLES: usize = 1000;

/// Bootstrap resamples behind FID's standard error.
pub const FID_RESAMPLES: usize = 50;
/// Seed of every random draw of the verdict scores (bootstrap, KID subsets, the critic).
pub const VERDICT_SEED: u64 = 17;

/// Rows per KID subset at `n` samples: ten subsets (for the standard error), of between 100
/// and 1,000 rows (Bińkowski et al. use 1,000).
pub fn kid_subset_size(n: usize) -> usize {
    (n / 10).clamp(100, 1000)
}

/// The folder of the shipped classifiers and reference figures.
pub fn pretrained_dir() -> PathBuf {
    data::run::pretrained_dir()
}

/// Every metric of one set of samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleScores {
    pub images: usize,
    /// The classifier whose feature space the metrics use, e.g. "mnist-classifier".
    pub classifier: String,
    /// Squared Fréchet distance to the test split in the classifier's feature space.
    pub fid: f64,
    pub precision_recall: PrecisionRecall,
    /// Robust to real outliers, unlike precision (see [`DensityCoverage`]).
    #[serde(default)]
    pub density_coverage: DensityCoverage,
    pub classes: ClassScores,
    /// Mean and median pixel-space (L2, [0, 1] pixels) distance from up to
    /// `NEAREST_TRAIN_SAMPLES` samples to their nearest training image.
    pub nearest_train_mean: f64,
    pub nearest_train_median: f64,
    /// The scores the report's verdicts rest on, where they were computed
    /// ([`Evaluator::score_for_verdict`]: a section's final samples, not every epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictScores>,
}

/// FID's uncertainty, KID and the two-sample test: the scores that rank the degradation
/// ladder correctly on both data sets (`ladder`), each with its standard error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerdictScores {
    /// Bootstrap standard error of `fid` at this sample count ([`FID_RESAMPLES`] draws).
    pub fid_standard_error: f64,
    pub kid: Kid,
    /// A critic's held-out accuracy at telling these samples from real test images.
    pub two_sample: TwoSampleTest,
}

/// The shipped classifier with the statistics of the real data it compares samples with.
pub struct Evaluator {
    pub dataset: DataSetName,
    pub card: ClassifierCard,
    classifier: Classifier,
    device: Device,
    test_features: Vec<f32>,
    test_gaussian: Gaussian,
    test_pixels: Vec<f32>,
    train_pixels: Vec<f32>,
    feature_dim: usize,
}

impl Evaluator {
    /// Loads the classifier shipped in `pretrained` and the real data (test split for the
    /// feature statistics, training split for nearest neighbours).
    pub fn load(
        dataset: DataSetName,
        pretrained: &Path,
        data_dir: Option<&Path>,
        device: &Device,
    ) -> anyhow::Result<Self> {
        let train = ImageSet::load(dataset, Split::Train, data_dir)?;
        let test = ImageSet::load(dataset, Split::Test, data_dir)?;
        Self::with_sets(pretrained, &train, &test, device)
    }

    /// The same from splits a caller has already loaded (of one data set).
    pub fn with_sets(
        pretrained: &Path,
        train: &ImageSet,
        test: &ImageSet,
        device: &Device,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            train.name == test.name && train.split == Split::Train && test.split == Split::Test,
            "the evaluator needs the training and test splits of one data set"
        );
        let dataset = test.name;
        let (classifier, card) = load_classifier(pretrained, dataset, device)?;
        let feature_dim = card.config.model.features;
        let mut evaluator = Self {
            dataset,
            card,
            classifier,
            device: device.clone(),
            test_features: Vec::new(),
            test_gaussian: Gaussian::fit(&[0.0; 2], 1),
            test_pixels: unit_pixels(test),
            train_pixels: unit_pixels(train),
            feature_dim,
        };
        let (features, _) = evaluator.features_and_probabilities(&evaluator.test_pixels);
        evaluator.test_gaussian = Gaussian::fit(&features, feature_dim);
        evaluator.test_features = features;
        Ok(evaluator)
    }

    /// The test split's penultimate features (rows of [`Evaluator::feature_dim`]).
    pub fn test_features(&self) -> &[f32] {
        &self.test_features
    }

    pub fn feature_dim(&self) -> usize {
        self.feature_dim
    }

    /// Penultimate features and class probabilities of images with [0, 1] pixels.
    pub fn features_and_probabilities(&self, unit_images: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n = unit_images.len() / PIXELS;
        let mut features = Vec::with_capacity(n * self.feature_dim);
        let mut probabilities = Vec::with_capacity(n * 10);
        for chunk in unit_images.chunks(1000 * PIXELS) {
            let rows = chunk.len() / PIXELS;
            let x = Tensor::<2>::from_data(
                TensorData::new(chunk.to_vec(), [rows, PIXELS]),
                &self.device,
            );
            let f = self.classifier.features(x);
            let p = softmax(self.classifier.logits_from_features(f.clone()), 1);
            features.extend(f.into_data().try_to_vec::<f32>().expect("float features"));
            probabilities.extend(
                p.into_data()
                    .try_to_vec::<f32>()
                    .expect("float probabilities"),
            );
        }
        (features, probabilities)
    }

    /// The test split's images, [0, 1] pixels.
    pub fn test_pixels(&self) -> &[f32] {
        &self.test_pixels
    }

    /// Scores `images` (`n x 784` values in `range`).
    pub fn score(&self, images: &[f32], range: Scale) -> anyhow::Result<SampleScores> {
        check_samples(images)?;
        Ok(self.score_unit(&to_unit(images, range)).0)
    }

    /// Scores `images` with the verdict scores as well (FID's standard error, KID, the
    /// two-sample test; seconds more). `autodiff` trains the two-sample critic.
    pub fn score_for_verdict(
        &self,
        images: &[f32],
        range: Scale,
        autodiff: &Device,
    ) -> anyhow::Result<SampleScores> {
        check_samples(images)?;
        let unit = to_unit(images, range);
        let (mut scores, features) = self.score_unit(&unit);
        let dim = self.feature_dim;
        scores.verdict = Some(VerdictScores {
            fid_standard_error: fid_standard_error(
                &features,
                dim,
                &self.test_gaussian,
                FID_RESAMPLES,
                VERDICT_SEED,
            ),
            kid: kid(
                &features,
                &self.test_features,
                dim,
                kid_subset_size(scores.images),
                VERDICT_SEED,
            ),
            two_sample: two_sample_test(&unit, &self.test_pixels, VERDICT_SEED, autodiff),
        });
        Ok(scores)
    }

    /// [`Evaluator::score`] of a tensor with the verdict scores.
    pub fn score_tensor_for_verdict<const D: usize>(
        &self,
        samples: Tensor<D>,
        range: Scale,
        autodiff: &Device,
    ) -> anyhow::Result<SampleScores> {
        self.score_for_verdict(&data::figure::tensor_values(samples), range, autodiff)
    }

    /// The scores of [0, 1] images and their features.
    fn score_unit(&self, unit: &[f32]) -> (SampleScores, Vec<f32>) {
        let n = unit.len() / PIXELS;
        let (features, probabilities) = self.features_and_probabilities(unit);
        let fid = frechet_distance(
            &Gaussian::fit(&features, self.feature_dim),
            &self.test_gaussian,
        );
        let pr = precision_recall(
            &self.test_features,
            &features,
            self.feature_dim,
            PR_NEIGHBOURS,
            &self.device,
        );
        let subset = &unit[..n.min(NEAREST_TRAIN_SAMPLES) * PIXELS];
        let mut nearest = nearest_distances(subset, &self.train_pixels, PIXELS, &self.device);
        nearest.sort_by(f32::total_cmp);
        let scores = SampleScores {
            images: n,
            classifier: format!("{}-classifier", self.dataset.dir_name()),
            fid,
            precision_recall: pr,
            density_coverage: density_coverage(
                &self.test_features,
                &features,
                self.feature_dim,
                DC_NEIGHBOURS,
                &self.device,
            ),
            classes: class_scores(&probabilities, 10),
            nearest_train_mean: nearest.iter().map(|&d| d as f64).sum::<f64>()
                / nearest.len().max(1) as f64,
            nearest_train_median: nearest.get(nearest.len() / 2).copied().unwrap_or(0.0) as f64,
            verdict: None,
        };
        (scores, features)
    }

    /// Scores a `[n, 784]` or `[n, 1, 28, 28]` tensor of samples in `range`.
    pub fn score_tensor<const D: usize>(
        &self,
        samples: Tensor<D>,
        range: Scale,
    ) -> anyhow::Result<SampleScores> {
        self.score(&data::figure::tensor_values(samples), range)
    }
}

/// Every `*.png` in `dir` (sorted by name, at most `limit`), as [0, 1] pixels.
pub fn load_png_folder(dir: &Path, limit: usize) -> anyhow::Result<Vec<f32>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
        .collect();
    paths.sort();
    paths.truncate(limit);
    if paths.len() < 2 {
        bail!(
            "{} holds {} PNG files: at least 2 are needed",
            dir.display(),
            paths.len()
        );
    }
    let mut pixels = Vec::with_capacity(paths.len() * PIXELS);
    for path in &paths {
        let image = image::open(path)
            .with_context(|| format!("decoding {}", path.display()))?
            .to_luma8();
        if image.dimensions() != (28, 28) {
            bail!(
                "{} is {}x{}: samples must be 28x28",
                path.display(),
                image.width(),
                image.height()
            );
        }
        pixels.extend(image.as_raw().iter().map(|&p| p as f32 / 255.0));
    }
    Ok(pixels)
}

/// Largest magnitude of a sample value: every model here ends in a sigmoid or a tanh (a
/// tanh generator read on [0, 1] has its negative values shown black), so a value beyond it,
/// past rounding, is no pixel.
const SAMPLE_BOUND: f32 = 1.0 + 1e-3;

/// Refuses what is not a set of images: a length that is not whole 28x28 images, and values
/// that are NaN, infinite or beyond [`SAMPLE_BOUND`] (a diverged model), saying how many.
fn check_samples(images: &[f32]) -> anyhow::Result<()> {
    anyhow::ensure!(
        images.len().is_multiple_of(PIXELS) && !images.is_empty(),
        "{} sample values are not whole 28x28 images ({PIXELS} values each)",
        images.len()
    );
    let non_finite = images.iter().filter(|v| !v.is_finite()).count();
    let outside = (images.iter())
        .filter(|v| v.is_finite() && v.abs() > SAMPLE_BOUND)
        .count();
    anyhow::ensure!(
        non_finite == 0 && outside == 0,
        "{non_finite} sample values are NaN or infinite and {outside} lie outside [-1, 1]: \
         the model has diverged, and its samples cannot be scored"
    );
    Ok(())
}

fn to_unit(images: &[f32], range: Scale) -> Vec<f32> {
    images.iter().map(|&v| range.to_unit(v)).collect()
}

/// All pixels of a set scaled to [0, 1].
pub fn unit_pixels(set: &ImageSet) -> Vec<f32> {
    set.pixels().iter().map(|&p| p as f32 / 255.0).collect()
}

/// One line per metric, for the command line.
pub fn format_scores(label: &str, s: &SampleScores) -> String {
    let hist: Vec<String> = s
        .classes
        .histogram
        .iter()
        .map(ToString::to_string)
        .collect();
    format!(
        "{label}: {} images, classifier {}\n  FID {:.3}   precision {:.3}   recall {:.3} (k={})   \
         density {:.3}   coverage {:.3} (k={})\n  \
         classes covered {}/10   KL(hist||uniform) {:.4}   mean confidence {:.4}   IS {:.3}\n  \
         class histogram {}\n  nearest training image (L2, pixels): mean {:.3}, median {:.3}",
        s.images,
        s.classifier,
        s.fid,
        s.precision_recall.precision,
        s.precision_recall.recall,
        s.precision_recall.k,
        s.density_coverage.density,
        s.density_coverage.coverage,
        s.density_coverage.k,
        s.classes.classes_covered,
        s.classes.kl_to_uniform,
        s.classes.mean_confidence,
        s.classes.inception_score,
        hist.join(" "),
        s.nearest_train_mean,
        s.nearest_train_median
    ) + &s.verdict.as_ref().map_or(String::new(), |v| {
        format!(
            "\n  FID standard error {:.3}   KID {:.4} ± {:.4}   two-sample accuracy {:.1}% ± {:.1}",
            v.fid_standard_error,
            v.kid.kid,
            v.kid.standard_error,
            100.0 * v.two_sample.accuracy,
            100.0 * v.two_sample.standard_error
        )
    })
}

#[cfg(test)]
#[path = "evaluator_tests.rs"]
mod tests;
