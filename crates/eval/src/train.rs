//! Training the domain classifier with burn-train's supervised `Learner`: plain supervised
//! learning, so the framework's loop, metrics and checkpoints are used as they are.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::config::Config;
use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::optim::AdamConfig;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use data::{DataSetName, ImageBatcher, ImageSet, ImageTransform, SelectedDevice, Split};
use serde::{Deserialize, Serialize};

use crate::classifier::{Classifier, ClassifierConfig};

/// Everything that decides a trained classifier, saved beside its weights.
#[derive(Config, Debug)]
pub struct TrainClassifierConfig {
    pub model: ClassifierConfig,
    #[config(default = 5)]
    pub epochs: usize,
    #[config(default = 128)]
    pub batch_size: usize,
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    #[config(default = 42)]
    pub seed: u64,
    /// Data-loading threads.
    #[config(default = 2)]
    pub workers: usize,
    /// Train on the first `limit` training images only (0: all), for quick runs.
    #[config(default = 0)]
    pub limit: usize,
}

/// What the shipped weights were measured to do: written next to them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassifierCard {
    pub dataset: DataSetName,
    pub config: TrainClassifierConfig,
    pub test_accuracy: f64,
    pub test_images: usize,
    pub train_seconds: f64,
    pub backend: String,
    pub burn_version: String,
}

/// Accuracy of `model` on `set` (inference mode, batches of 1000).
pub fn accuracy(model: &Classifier, set: &ImageSet, device: &burn::tensor::Device) -> f64 {
    let batcher = ImageBatcher::new(ImageTransform::default());
    let mut correct = 0usize;
    for start in (0..set.len()).step_by(1000) {
        let indices: Vec<usize> = (start..(start + 1000).min(set.len())).collect();
        let batch = batcher.batch_indices(set, &indices, device);
        let predicted = model.forward(batch.images).argmax(1).squeeze_dim::<1>(1);
        correct += predicted
            .equal(batch.labels)
            .int()
            .sum()
            .into_scalar::<i64>() as usize;
    }
    correct as f64 / set.len() as f64
}

/// Trains a classifier on `dataset` and writes `<out>/<dataset>-classifier.bpk` and
/// `.json` (config and measured test accuracy). The Learner's own logs and checkpoints go
/// to `work_dir`; `resume_epoch` continues from one of its checkpoints.
pub fn train_classifier(
    dataset: DataSetName,
    config: &TrainClassifierConfig,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
    work_dir: &Path,
    out_dir: &Path,
    resume_epoch: Option<usize>,
) -> anyhow::Result<ClassifierCard> {
    let device = selected.autodiff();
    device.seed(config.seed);
    let mut train = ImageSet::load(dataset, Split::Train, data_dir)?;
    if config.limit > 0 {
        train = train.truncated(config.limit);
    }
    let test = ImageSet::load(dataset, Split::Test, data_dir)?;

    let batcher = ImageBatcher::new(ImageTransform::default());
    let loader_train = DataLoaderBuilder::new(batcher.clone())
        .batch_size(config.batch_size)
        .shuffle(config.seed)
        .num_workers(config.workers)
        .set_device(device.clone())
        .build(train);
    let loader_test = DataLoaderBuilder::new(batcher)
        .batch_size(1000)
        .num_workers(config.workers)
        .set_device(device.clone())
        .build(test.clone());

    let mut training = SupervisedTraining::new(work_dir, loader_train, loader_test)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .with_default_checkpointers()
        .renderer(Box::new(crate::renderer::ProgressRenderer::new()))
        .num_epochs(config.epochs)
        .summary();
    if let Some(epoch) = resume_epoch {
        training = training.checkpoint(epoch);
    }
    let started = Instant::now();
    let model = config.model.init(&device);
    let learner = Learner::new(model, AdamConfig::new().init(), config.learning_rate);
    let result = training.launch(learner);
    let train_seconds = started.elapsed().as_secs_f64();

    let model = result.model.valid();
    let test_accuracy = accuracy(&model, &test, &selected.device);
    let card = ClassifierCard {
        dataset,
        config: config.clone(),
        test_accuracy,
        test_images: test.len(),
        train_seconds,
        backend: selected.reason.clone(),
        burn_version: "0.22.1".into(),
    };
    let (weights, card_path) = shipped_paths(out_dir, dataset);
    std::fs::create_dir_all(out_dir)?;
    model
        .save_file(&weights)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", weights.display()))?;
    data::run::write_checksum(&weights)?;
    data::run::write_json(&card_path, &card)?;
    Ok(card)
}

/// The newest epoch checkpointed by the Learner in `work_dir`, for `--resume`.
pub fn latest_learner_checkpoint(work_dir: &Path) -> Option<usize> {
    std::fs::read_dir(work_dir.join("checkpoint"))
        .ok()?
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().to_string();
            name.strip_prefix("model-")?
                .strip_suffix(".bpk")?
                .parse()
                .ok()
        })
        .max()
}

/// `<dir>/<dataset>-classifier.bpk` and `.json`.
pub fn shipped_paths(dir: &Path, dataset: DataSetName) -> (PathBuf, PathBuf) {
    let stem = format!("{}-classifier", dataset.dir_name());
    (
        dir.join(format!("{stem}.bpk")),
        dir.join(format!("{stem}.json")),
    )
}

/// Loads shipped classifier weights and their card.
pub fn load_classifier(
    dir: &Path,
    dataset: DataSetName,
    device: &burn::tensor::Device,
) -> anyhow::Result<(Classifier, ClassifierCard)> {
    let (weights, card_path) = shipped_paths(dir, dataset);
    let card: ClassifierCard = data::run::read_json(&card_path).with_context(|| {
        format!(
            "no trained {dataset} classifier in {}: train one with \
             `cargo run --release -p eval -- train-classifier --dataset {}`",
            dir.display(),
            dataset.dir_name()
        )
    })?;
    data::run::verify_checksum(&weights)?;
    let model = card
        .config
        .model
        .init(device)
        .try_load_file(&weights)
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot load the classifier weights ({e:?}); the file is corrupt or does not \
                 match {}: retrain with `cargo run --release -p eval -- train-classifier --dataset {}`",
                weights.display(),
                card_path.display(),
                dataset.dir_name()
            )
        })?;
    Ok((model, card))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn write_untrained(dir: &Path, device: &Device) -> PathBuf {
        let config = TrainClassifierConfig::new(ClassifierConfig::new());
        let card = ClassifierCard {
            dataset: DataSetName::Mnist,
            config: config.clone(),
            test_accuracy: 0.1,
            test_images: 0,
            train_seconds: 0.0,
            backend: "flex".into(),
            burn_version: "0.22.1".into(),
        };
        let (weights, card_path) = shipped_paths(dir, DataSetName::Mnist);
        config.model.init(device).save_file(&weights).unwrap();
        data::run::write_json(&card_path, &card).unwrap();
        weights
    }

    #[test]
    fn saved_weights_load_back_identically() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let weights = write_untrained(dir.path(), &device);
        let saved = ClassifierConfig::new()
            .init(&device)
            .try_load_file(&weights)
            .unwrap();
        let (loaded, card) = load_classifier(dir.path(), DataSetName::Mnist, &device).unwrap();
        let x = burn::tensor::Tensor::<2>::ones([2, 784], &device);
        let a = saved
            .forward(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let b = loaded.forward(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(a, b);
        assert_eq!(card.dataset, DataSetName::Mnist);
    }

    #[test]
    fn a_corrupted_weight_file_fails_with_a_clear_error() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let weights = write_untrained(dir.path(), &device);
        let bytes = std::fs::read(&weights).unwrap();
        std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_classifier(dir.path(), DataSetName::Mnist, &device)
            .err()
            .unwrap();
        let msg = format!("{err:#}");
        assert!(msg.contains(&weights.display().to_string()), "{msg}");
        assert!(msg.contains("train-classifier --dataset mnist"), "{msg}");

        let garbage: Vec<u8> = (0..bytes.len()).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&weights, garbage).unwrap();
        assert!(load_classifier(dir.path(), DataSetName::Mnist, &device).is_err());
    }

    #[test]
    fn a_missing_classifier_says_how_to_train_one() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let err = load_classifier(dir.path(), DataSetName::FashionMnist, &device)
            .err()
            .unwrap();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("train-classifier --dataset fashion-mnist"),
            "{msg}"
        );
    }
}
