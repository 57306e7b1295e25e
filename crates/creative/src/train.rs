//! Training the noise predictor: per batch, each image gets a random step t and fresh
//! noise, its class is hidden with probability `class_dropout` (so the same network also
//! learns the unconditional model classifier-free guidance needs), one Adam step on the
//! noise-prediction loss, then the EMA of the weights moves.

use std::path::Path;

use burn::config::Config;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Int, Tensor, TensorData};
use data::scaffold::{descend, fixed_normal};
use data::{BatchOrder, ImageBatcher, ImageSet, ImageTransform, Scale, train_batches};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::diffusion::{NoiseSchedule, Schedule, noise_loss};
use crate::unet::{UNet, UNetConfig};
use data::ema::Ema;

/// Everything a training run depends on; saved in the run's `config.json`.
#[derive(Config, Debug)]
pub struct TrainConfig {
    pub model: UNetConfig,
    #[config(default = "Schedule::Cosine")]
    pub schedule: Schedule,
    /// T, the number of noise levels.
    #[config(default = 1000)]
    pub diffusion_steps: usize,
    /// 256 rather than DDPM's 128, with the learning rate doubled: a step of this small
    /// network on a GPU is bound by kernel launches, so fewer, larger steps train faster
    /// (wgpu on an H200: 1,900 images/s at 256 against 1,430 at 128).
    #[config(default = 256)]
    pub batch_size: usize,
    /// The noise-prediction loss is flat from about epoch 17 (0.069 on the shipped run).
    #[config(default = 20)]
    pub epochs: usize,
    #[config(default = 4e-4)]
    pub learning_rate: f64,
    /// Probability that a training image is shown without its class.
    #[config(default = 0.1)]
    pub class_dropout: f64,
    /// Decay of the weights' moving average that sampling uses.
    #[config(default = 0.999)]
    pub ema_decay: f64,
    #[config(default = 0)]
    pub seed: u64,
    /// Train on the first N training images only (0 = all 60,000).
    #[config(default = 0)]
    pub train_limit: usize,
    /// Score the moving average every this many epochs (none: never) on `score_samples`
    /// samples drawn the way the shipped model is evaluated (DDIM 50, guidance 2, one fixed
    /// seed), so FID and KID can be read against training length in `metrics.jsonl`.
    pub score_every: Option<usize>,
    /// Samples per score (none: 10,000, the measure; at least 10, one per class).
    pub score_samples: Option<usize>,
}

/// Named starting points; every field can still be overridden with `--set`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The reference model: base width 32 (channels 32/64/64), attention at 7x7, cosine
    /// schedule, T = 1000, batch 256, Adam 4e-4, 20 epochs (the shipped weights).
    Full,
    /// Minutes on a CPU: base width 16, 2 epochs over 4,096 images (for CI and a first look).
    Quick,
}

impl Preset {
    pub fn config(self) -> TrainConfig {
        match self {
            Preset::Full => TrainConfig::new(UNetConfig::new()),
            Preset::Quick => TrainConfig::new(UNetConfig::new().with_base_channels(16))
                .with_epochs(2)
                .with_train_limit(4_096),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Full => "full",
            Preset::Quick => "quick",
        }
    }
}

impl TrainConfig {
    /// Refuses settings out of their range, naming the field, the value and what is allowed,
    /// before anything is written (`train` calls it first).
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.batch_size > 0 && self.epochs > 0 && self.diffusion_steps >= 2,
            "batch_size and epochs must be positive and diffusion_steps at least 2 (change them with --set)"
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.class_dropout) && (0.0..1.0).contains(&self.ema_decay),
            "class_dropout ({}) and ema_decay ({}) must lie in [0, 1) (change them with --set)",
            self.class_dropout,
            self.ema_decay
        );
        anyhow::ensure!(
            self.learning_rate.is_finite() && self.learning_rate > 0.0,
            "learning_rate ({}) must be positive and finite (change it with --set)",
            self.learning_rate
        );
        anyhow::ensure!(
            self.score_every != Some(0),
            "score_every must be at least 1 epoch, or left out for no scores (change it with --set)"
        );
        anyhow::ensure!(
            self.score_samples() >= data::CLASSES,
            "score_samples ({}) must be at least {} (one per class) (change it with --set)",
            self.score_samples(),
            data::CLASSES
        );
        Ok(())
    }

    /// Samples per score during training.
    pub fn score_samples(&self) -> usize {
        self.score_samples.unwrap_or(10_000)
    }

    /// Whether the model is scored after `epoch` (counted from 0).
    pub fn scores_after(&self, epoch: usize) -> bool {
        self.score_every
            .is_some_and(|every| (epoch + 1).is_multiple_of(every))
    }

    pub fn noise_schedule(&self) -> NoiseSchedule {
        NoiseSchedule::new(self.schedule, self.diffusion_steps)
    }

    /// Images in [-1, 1], the range the noise is added in.
    pub fn transform(&self) -> ImageTransform {
        ImageTransform {
            scale: Scale::MinusOneOne,
            seed: self.seed,
            ..Default::default()
        }
    }
}

/// The network, its optimiser and its moving average: what a checkpoint holds.
pub struct DiffusionState {
    pub model: UNet,
    optimizer: ModuleOptimizer,
    pub ema: Ema<UNet>,
}

impl data::Checkpointable for DiffusionState {
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        data::run::save_module(dir, "model", &self.model)?;
        self.ema.save(dir, "ema")?;
        data::run::save_optimizer(dir, "optimizer", &self.optimizer)
    }

    fn load(self, dir: &Path) -> anyhow::Result<Self> {
        let (model, optimizer) = data::run::load_trained(dir, self.model, self.optimizer)?;
        Ok(Self {
            model,
            optimizer,
            ema: self.ema.load(dir, "ema")?,
        })
    }
}

/// One epoch, as logged.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Mean noise-prediction loss over the epoch's steps.
    pub loss: f64,
    pub train_seconds: f64,
    pub images_per_second: f64,
    /// The moving average's samples scored after this epoch (see `score_every`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<crate::evaluate::Evaluation>,
}

impl DiffusionState {
    /// A fresh network on `device` (an autodiff device), from the device's stream.
    pub fn new(config: &TrainConfig, device: &Device) -> Self {
        let model = config.model.init(device);
        Self {
            ema: Ema::new(&model, config.ema_decay),
            model,
            optimizer: data::adam::FusedAdam::new(0.9, 0.999, 1e-8).init(),
        }
    }

    /// One step on images `[batch, 1, 28, 28]` in [-1, 1] with their `classes`; steps, noise
    /// and hidden classes are drawn from `noise_seed`. Returns the loss.
    pub fn step(
        &mut self,
        images: Tensor<4>,
        classes: &[u8],
        config: &TrainConfig,
        schedule: &NoiseSchedule,
        noise_seed: u64,
    ) -> Tensor<1> {
        let device = images.device();
        let batch = classes.len();
        let mut rng = rand::rngs::StdRng::seed_from_u64(noise_seed);
        let steps: Vec<usize> = (0..batch)
            .map(|_| rng.random_range(0..schedule.steps()))
            .collect();
        let null = config.model.classes as i64;
        let shown: Vec<i64> = classes
            .iter()
            .map(|&c| {
                if rng.random::<f64>() < config.class_dropout {
                    null
                } else {
                    i64::from(c)
                }
            })
            .collect();
        let noise =
            fixed_normal(batch, data::PIXELS, noise_seed ^ 0x5EED, &device).reshape(images.dims());
        let noisy = schedule.q_sample(images, &steps, noise.clone());
        let t: Vec<f32> = steps.iter().map(|&s| s as f32).collect();
        let t = Tensor::<1>::from_data(TensorData::new(t, [batch]), &device);
        let class = Tensor::<1, Int>::from_data(TensorData::new(shown, [batch]), &device);
        let loss = noise_loss(self.model.forward(noisy, t, class), noise);
        (self.model, _) = descend(
            self.model.clone(),
            &mut self.optimizer,
            config.learning_rate,
            &loss,
        );
        self.ema.update(&self.model);
        loss.detach().inner()
    }

    /// Trains epoch `epoch` over `train` on the autodiff `device`.
    pub fn train_epoch(
        &mut self,
        epoch: usize,
        train: &ImageSet,
        config: &TrainConfig,
        device: &Device,
    ) -> EpochRecord {
        let schedule = config.noise_schedule();
        let batcher = ImageBatcher::new(config.transform());
        let order = BatchOrder::shuffled_full(config.batch_size, config.seed);
        let pass = train_batches(train.len(), order, epoch, |i, indices| {
            let images = batcher.batch_indices(train, indices, device).images;
            let images = images.reshape([indices.len(), 1, data::ROWS, data::COLS]);
            let classes: Vec<u8> = indices.iter().map(|&j| train.label(j)).collect();
            let seed = data::seed::step_seed(config.seed, epoch, i);
            self.step(images, &classes, config, &schedule, seed)
        });
        let values = data::figure::tensor_values(Tensor::cat(pass.results, 0));
        EpochRecord {
            loss: values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len().max(1) as f64,
            train_seconds: pass.seconds,
            images_per_second: pass.images_per_second,
            evaluation: None,
        }
    }
}
