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
use crate::frechet::{Gaussian, frechet_distance};
use crate::neighbours::{
    DC_NEIGHBOURS, DensityCoverage, PrecisionRecall, density_coverage, nearest_distances,
    precision_recall,
};
use crate::scores::{ClassScores, class_scores};
use crate::train::{ClassifierCard, load_classifier};

/// Neighbours for improved precision and recall (Kynkäänniemi et al. use k = 3).
pub const PR_NEIGHBOURS: usize = 3;
/// Samples whose nearest training image is searched (pixel space, 784 dimensions).
pub const NEAREST_TRAIN_SAMPLES: usize = 1000;

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
}

/// The shipped classifier with the statistics of the real data it compares samples with.
pub struct Evaluator {
    pub dataset: DataSetName,
    pub card: ClassifierCard,
    classifier: Classifier,
    device: Device,
    test_features: Vec<f32>,
    test_gaussian: Gaussian,
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
            train_pixels: unit_pixels(train),
            feature_dim,
        };
        let (features, _) = evaluator.features_and_probabilities(&unit_pixels(test));
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

    /// Scores `images` (`n x 784` values in `range`).
    pub fn score(&self, images: &[f32], range: Scale) -> SampleScores {
        assert!(images.len().is_multiple_of(PIXELS), "whole 28x28 images");
        let unit: Vec<f32> = images.iter().map(|&v| range.to_unit(v)).collect();
        let n = unit.len() / PIXELS;
        let (features, probabilities) = self.features_and_probabilities(&unit);
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
        SampleScores {
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
        }
    }

    /// Scores a `[n, 784]` or `[n, 1, 28, 28]` tensor of samples in `range`.
    pub fn score_tensor<const D: usize>(&self, samples: Tensor<D>, range: Scale) -> SampleScores {
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
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, width: u32, value: u8) {
        image::GrayImage::from_pixel(width, 28, image::Luma([value]))
            .save(path)
            .unwrap();
    }

    #[test]
    fn a_folder_of_pngs_loads_in_name_order_as_unit_pixels() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("b.png"), 28, 255);
        write_png(&dir.path().join("a.png"), 28, 0);
        std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
        let pixels = load_png_folder(dir.path(), 100).unwrap();
        assert_eq!(pixels.len(), 2 * PIXELS);
        assert_eq!((pixels[0], pixels[PIXELS]), (0.0, 1.0));
        assert!(
            load_png_folder(dir.path(), 1)
                .err()
                .unwrap()
                .to_string()
                .contains("at least 2")
        );
    }

    #[test]
    fn a_png_of_the_wrong_size_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("a.png"), 28, 0);
        write_png(&dir.path().join("wide.png"), 32, 0);
        let err = load_png_folder(dir.path(), 100).err().unwrap().to_string();
        assert!(err.contains("wide.png") && err.contains("28x28"), "{err}");
    }
}
