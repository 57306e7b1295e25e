//! Alternating GAN training: per batch, `discriminator_steps` updates of D on real images and
//! detached fakes, then one update of G through D, each player with its own Adam.

use std::path::Path;

use burn::config::Config;
use burn::optim::ModuleOptimizer;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use data::ema::Ema;
use data::scaffold::{descend, fixed_normal};
use data::{ImageTransform, Scale};
use serde::{Deserialize, Serialize};

use crate::loss::GanLoss;
use crate::model::{Backbone, Discriminator, GanConfig, Generator};

/// Everything a training run depends on; saved in the run's `config.json`.
#[derive(Config, Debug)]
pub struct TrainConfig {
    pub model: GanConfig,
    #[config(default = "GanLoss::NonSaturating")]
    pub loss: GanLoss,
    /// The range real images are shown to D in. The generator always ends in `tanh`, so
    /// anything but [-1, 1] lets D tell real from fake by the sign of a pixel alone (the
    /// course's script used [0, 1]).
    #[config(default = "Scale::MinusOneOne")]
    pub real_scale: Scale,
    #[config(default = 128)]
    pub batch_size: usize,
    #[config(default = 30)]
    pub epochs: usize,
    #[config(default = 2e-4)]
    pub generator_learning_rate: f64,
    #[config(default = 2e-4)]
    pub discriminator_learning_rate: f64,
    /// Adam's beta1 for both players (0.5 as in the DCGAN paper: momentum makes the game
    /// oscillate).
    #[config(default = 0.5)]
    pub beta1: f64,
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Discriminator updates per generator update.
    #[config(default = 1)]
    pub discriminator_steps: usize,
    /// Decay of the moving average of G's weights that samples are drawn from (0 = sample
    /// the last step's weights, as the course did). 0.999 averages over roughly the last
    /// thousand steps, two epochs at batch 128: the last step's weights jitter from batch to
    /// batch because the game never settles.
    #[config(default = 0.0)]
    pub generator_average_decay: f64,
    #[config(default = 0)]
    pub seed: u64,
    /// Train on the first N training images only (0 = all 60,000).
    #[config(default = 0)]
    pub train_limit: usize,
    /// Samples scored by the eval classifier after each epoch (FID, classes); 0 = none.
    #[config(default = 10_000)]
    pub eval_samples: usize,
    /// After every epoch, both losses are measured with the players held fixed on this many
    /// minibatches: the minibatch noise that the spread of the losses during training is read
    /// against (GAN-Q3). None = not measured.
    pub fixed_player_batches: Option<usize>,
    /// One-sided label smoothing: the target D is trained to give real images (none: 1; 0.9 in
    /// Salimans et al. 2016). Cross-entropy losses only.
    pub real_label: Option<f64>,
}

/// Named starting points; every field can still be overridden on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The course's script: latent 10, batch 512, Adam 1e-3 (0.5, 0.999), 50 epochs, the
    /// non-saturating loss, real images in [0, 1] while G ends in tanh.
    Course,
    /// Images in [-1, 1], latent 100, batch 128, Adam 2e-4 (DCGAN paper settings), samples
    /// from the moving average of G's weights (decay 0.999); 100 epochs for the MLP players, 30 for the convolutional ones (the shipped runs).
    Tuned,
}

impl Preset {
    pub fn config(self, backbone: Backbone) -> TrainConfig {
        match self {
            Preset::Course => TrainConfig::new(GanConfig::new(backbone).with_latent(10))
                .with_real_scale(Scale::ZeroOne)
                .with_batch_size(512)
                .with_epochs(50)
                .with_generator_learning_rate(1e-3)
                .with_discriminator_learning_rate(1e-3),
            Preset::Tuned => TrainConfig::new(
                GanConfig::new(backbone).with_dcgan_init(backbone != Backbone::Mlp),
            )
            .with_generator_average_decay(0.999)
            .with_epochs(match backbone {
                Backbone::Mlp => 100,
                Backbone::Cnn | Backbone::Dcgan => 30,
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Course => "course",
            Preset::Tuned => "tuned",
        }
    }
}

impl TrainConfig {
    /// Refuses settings out of their range, naming the field, the value and what is allowed,
    /// before anything is written (`train` calls it first).
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.batch_size > 1
                && self.epochs > 0
                && self.discriminator_steps > 0
                && self.model.latent > 0,
            "batch_size (at least 2), epochs, discriminator_steps and model.latent must be positive (change them with --set)"
        );
        let rate_ok = |rate: f64| rate.is_finite() && rate > 0.0;
        anyhow::ensure!(
            rate_ok(self.generator_learning_rate) && rate_ok(self.discriminator_learning_rate),
            "generator_learning_rate ({}) and discriminator_learning_rate ({}) must be positive and \
             finite (change them with --set)",
            self.generator_learning_rate,
            self.discriminator_learning_rate
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.beta1)
                && (0.0..1.0).contains(&self.beta2)
                && (0.0..1.0).contains(&self.model.dropout),
            "beta1 ({}), beta2 ({}) and model.dropout ({}) must lie in [0, 1) (change them with --set)",
            self.beta1,
            self.beta2,
            self.model.dropout
        );
        let dropout = self.model.dcgan_discriminator().dropout;
        anyhow::ensure!(
            (0.0..1.0).contains(&dropout),
            "model.dcgan_dropout ({dropout}) must lie in [0, 1) (change it with --set)"
        );
        anyhow::ensure!(
            self.real_label.is_none_or(|label| {
                label > 0.5 && label <= 1.0 && (label == 1.0 || self.loss != GanLoss::Hinge)
            }),
            "real_label ({:?}) must lie in (0.5, 1], and be 1 or null with the hinge loss \
             (smoothing is defined for the cross-entropy losses)",
            self.real_label
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.generator_average_decay),
            "generator_average_decay must lie in [0, 1) (0 = no average; change it with --set)"
        );
        anyhow::ensure!(
            self.fixed_player_batches.is_none_or(|n| n >= 2),
            "fixed_player_batches ({:?}) must be at least 2 (a spread needs two minibatches), or \
             null to skip the measurement",
            self.fixed_player_batches
        );
        Ok(())
    }

    /// D's loss on a real and a fake batch's logits, with `real_label`'s smoothing.
    pub fn discriminator_loss(&self, real_logits: Tensor<2>, fake_logits: Tensor<2>) -> Tensor<1> {
        self.loss.discriminator_with_real_label(
            real_logits,
            fake_logits,
            self.real_label.unwrap_or(1.0),
        )
    }

    pub fn transform(&self) -> ImageTransform {
        ImageTransform {
            scale: self.real_scale,
            seed: self.seed,
            ..Default::default()
        }
    }

    /// The checkpoint module samples are drawn from: the moving average when there is one.
    pub fn sampled_generator_name(&self) -> &'static str {
        if self.generator_average_decay > 0.0 {
            GENERATOR_AVERAGE
        } else {
            "generator"
        }
    }

    fn adam(&self) -> ModuleOptimizer {
        data::adam::FusedAdam::new(self.beta1 as f32, self.beta2 as f32, 1e-8).init()
    }
}

/// Checkpoint name of the moving average of G's weights.
const GENERATOR_AVERAGE: &str = "generator-average";

/// Both players, their optimisers and the average of G: what a checkpoint holds.
pub struct GanState {
    pub generator: Generator,
    pub discriminator: Discriminator,
    /// The moving average of G's weights, when `generator_average_decay` > 0.
    pub generator_average: Option<Ema<Generator>>,
    generator_optimizer: ModuleOptimizer,
    discriminator_optimizer: ModuleOptimizer,
}

impl data::Checkpointable for GanState {
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        data::run::save_module(dir, "generator", &self.generator)?;
        data::run::save_module(dir, "discriminator", &self.discriminator)?;
        if let Some(average) = &self.generator_average {
            average.save(dir, GENERATOR_AVERAGE)?;
        }
        data::run::save_optimizer(dir, "generator-optimizer", &self.generator_optimizer)?;
        data::run::save_optimizer(
            dir,
            "discriminator-optimizer",
            &self.discriminator_optimizer,
        )
    }

    fn load(self, dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            generator: data::run::load_module(dir, "generator", self.generator)?,
            discriminator: data::run::load_module(dir, "discriminator", self.discriminator)?,
            generator_average: match self.generator_average {
                Some(average) => Some(average.load(dir, GENERATOR_AVERAGE)?),
                None => None,
            },
            generator_optimizer: data::run::load_optimizer(
                dir,
                "generator-optimizer",
                self.generator_optimizer,
            )?,
            discriminator_optimizer: data::run::load_optimizer(
                dir,
                "discriminator-optimizer",
                self.discriminator_optimizer,
            )?,
        })
    }
}

/// What one training step measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    pub d_loss: f64,
    pub g_loss: f64,
    /// Mean D(x) on the real batch (before D's update).
    pub d_real: f64,
    /// Mean D(G(z)) on the fakes (before D's update).
    pub d_fake: f64,
    /// Fraction of real images D calls real (logit > 0).
    pub accuracy_real: f64,
    /// Fraction of fakes D calls fake.
    pub accuracy_fake: f64,
    /// L2 norm of all of D's parameter gradients (its last update of the step).
    pub grad_norm_d: f64,
    /// L2 norm of all of G's parameter gradients: how much signal reaches the generator.
    pub grad_norm_g: f64,
}

/// A field of [`StepStats`], named where a statistic is measured.
type StatField = fn(&mut StepStats) -> &mut f64;

impl GanState {
    /// Fresh players on `device` (an autodiff device), initialised from the device's stream.
    pub fn new(config: &TrainConfig, device: &Device) -> Self {
        let generator = config.model.init_generator(device);
        Self {
            generator_average: (config.generator_average_decay > 0.0)
                .then(|| Ema::new(&generator, config.generator_average_decay)),
            generator,
            discriminator: config.model.init_discriminator(device),
            generator_optimizer: config.adam(),
            discriminator_optimizer: config.adam(),
        }
    }

    /// The generator samples are drawn from: the moving average when there is one.
    pub fn sampled_generator(&self) -> &Generator {
        match &self.generator_average {
            Some(average) => &average.model,
            None => &self.generator,
        }
    }

    /// One D update on `real` and a batch of fakes; returns the loss, the logits and D's
    /// gradient norm.
    fn discriminator_step(
        &mut self,
        config: &TrainConfig,
        real: Tensor<2>,
        fake: Tensor<2>,
    ) -> (Tensor<1>, Tensor<2>, Tensor<2>, Tensor<1>) {
        let real_logits = self.discriminator.forward(real);
        let fake_logits = self.discriminator.forward(fake);
        let loss = config.discriminator_loss(real_logits.clone(), fake_logits.clone());
        let norm;
        (self.discriminator, norm) = descend(
            self.discriminator.clone(),
            &mut self.discriminator_optimizer,
            config.discriminator_learning_rate,
            &loss,
        );
        (
            loss.detach(),
            real_logits.detach(),
            fake_logits.detach(),
            norm,
        )
    }

    /// One training step on a batch of real images (on the autodiff device). The latent
    /// codes are drawn from `noise_seed` (see [`fixed_normal`]), so a step is reproducible
    /// whatever else uses the device's random stream.
    pub fn step(&mut self, real: Tensor<2>, config: &TrainConfig, noise_seed: u64) -> StepStats {
        let device = real.device();
        let [batch, _] = real.dims();
        let latent = |k: u64| fixed_normal(batch, config.model.latent, noise_seed ^ k, &device);
        // One generator forward serves both players, as in PyTorch's DCGAN example: D sees
        // it detached, G's update reuses its graph.
        let fake = self.generator.forward(latent(0));
        let (mut d_loss, real_logits, fake_logits, mut d_norm) =
            self.discriminator_step(config, real.clone(), fake.clone().detach());
        for k in 1..config.discriminator_steps {
            let extra = self.generator.forward(latent(k as u64)).detach();
            (d_loss, _, _, d_norm) = self.discriminator_step(config, real.clone(), extra);
        }

        let g_loss = config.loss.generator(self.discriminator.forward(fake));
        // The backward also reaches D's parameters; only G's gradients are used.
        let g_norm;
        (self.generator, g_norm) = descend(
            self.generator.clone(),
            &mut self.generator_optimizer,
            config.generator_learning_rate,
            &g_loss,
        );
        if let Some(average) = &mut self.generator_average {
            average.update(&self.generator);
        }

        let positive = |t: Tensor<2>| t.greater_elem(0.0).float().mean();
        // Each statistic beside the field it fills, read back from the device in one transfer.
        let measured: [(StatField, Tensor<1>); 8] = [
            (|s| &mut s.d_loss, d_loss.inner()),
            (|s| &mut s.g_loss, g_loss.detach().inner()),
            (
                |s| &mut s.d_real,
                sigmoid(real_logits.clone()).mean().inner(),
            ),
            (
                |s| &mut s.d_fake,
                sigmoid(fake_logits.clone()).mean().inner(),
            ),
            (|s| &mut s.accuracy_real, positive(real_logits).inner()),
            (
                |s| &mut s.accuracy_fake,
                (-positive(fake_logits)).add_scalar(1.0).inner(),
            ),
            (|s| &mut s.grad_norm_d, d_norm),
            (|s| &mut s.grad_norm_g, g_norm),
        ];
        let (fields, tensors): (Vec<StatField>, Vec<Tensor<1>>) = measured.into_iter().unzip();
        let values = data::figure::tensor_values(Tensor::cat(tensors, 0));
        let mut stats = StepStats::default();
        for (field, value) in fields.into_iter().zip(values) {
            *field(&mut stats) = f64::from(value);
        }
        stats
    }
}
