//! VAE training: one Adam step per batch on the negative ELBO (summed binary cross-entropy
//! plus the KL term, optionally weighted by beta and warmed up), the `course` and `strong`
//! presets, and the state a checkpoint holds.

use std::path::Path;

use burn::config::Config;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor};
use data::scaffold::{descend, fixed_normal};
use data::{Binarise, ImageTransform};
use serde::{Deserialize, Serialize};

use crate::loss::elbo_terms;
use crate::model::{Backbone, Vae, VaeConfig};

/// Everything a training run depends on; saved in the run's `config.json`.
#[derive(Config, Debug)]
pub struct TrainConfig {
    pub model: VaeConfig,
    /// How training digits become Bernoulli targets: grey levels (`{"kind":"none"}`) or a
    /// fresh binary sample of every digit every epoch (`{"kind":"stochastic"}`, "dynamic
    /// binarisation", the setting of the published likelihoods).
    #[config(default = "Binarise::None")]
    pub binarise: Binarise,
    #[config(default = 128)]
    pub batch_size: usize,
    #[config(default = 50)]
    pub epochs: usize,
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// The learning rate is multiplied by this after every epoch (1 = constant).
    #[config(default = 1.0)]
    pub learning_rate_decay: f64,
    #[config(default = 0.9)]
    pub beta1: f64,
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Weight of the KL term in the optimised loss (beta-VAE; 1 = the ELBO).
    #[config(default = 1.0)]
    pub kl_weight: f64,
    /// Epochs over which the KL weight rises linearly from 0 to `kl_weight` (0 = none):
    /// keeps latent units from collapsing to the prior before the decoder uses them.
    #[config(default = 0)]
    pub kl_warmup_epochs: usize,
    /// The optimised loss is multiplied by this (the logged nats are not). Adam's steps do
    /// not depend on it (up to its epsilon): VAE-Q1 measures that.
    #[config(default = 1.0)]
    pub loss_scale: f64,
    #[config(default = 0)]
    pub seed: u64,
    /// Train on the first N training images only (0 = all 60,000).
    #[config(default = 0)]
    pub train_limit: usize,
    /// Test digits whose ELBO is measured after every epoch (0 = none).
    #[config(default = 10_000)]
    pub test_images: usize,
    /// Prior samples scored by the eval classifier after every epoch (0 = none).
    #[config(default = 2_000)]
    pub eval_samples: usize,
    /// Importance samples per test digit for the per-epoch log-likelihood (0 = none).
    #[config(default = 0)]
    pub importance_samples: usize,
    /// Test digits of that per-epoch log-likelihood.
    #[config(default = 500)]
    pub importance_images: usize,
}

/// Named starting points; every field can still be overridden with `--set`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The course's notebook: 784 -> 128 -> latent 10 and back, grey-level targets, Adam
    /// 1e-3 with betas (0.5, 0.999), batch 512, 50 epochs.
    Course,
    /// 784-512-256 / latent 32, dynamically binarised digits, batch 100, Adam 1e-3 decaying
    /// by 1% an epoch, KL warm-up over 10 epochs, 200 epochs.
    Strong,
    /// The peers' networks (`torch_vae_mlp.py`, `torch_vae_conv.py`): latent 20, grey
    /// targets, Adam 1e-3, batch 128; the MLP 784-512-256, the conv net 32/64 channels.
    Peer,
}

impl Preset {
    pub fn config(self, backbone: Backbone) -> TrainConfig {
        let model = VaeConfig::new(backbone);
        match self {
            Preset::Course => TrainConfig::new(model.with_hidden(vec![128]).with_latent(10))
                .with_beta1(0.5)
                .with_batch_size(512),
            Preset::Strong => TrainConfig::new(model.with_latent(32).with_channels([64, 128]))
                .with_binarise(Binarise::Stochastic)
                .with_batch_size(100)
                .with_epochs(200)
                .with_learning_rate_decay(0.99)
                .with_kl_warmup_epochs(10),
            Preset::Peer => TrainConfig::new(model).with_epochs(10),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Course => "course",
            Preset::Strong => "strong",
            Preset::Peer => "peer",
        }
    }
}

impl TrainConfig {
    /// Refuses settings out of their range, naming the field, the value and what is allowed,
    /// before anything is written (`train` calls it first).
    pub fn validate(&self) -> anyhow::Result<()> {
        let m = &self.model;
        anyhow::ensure!(
            self.batch_size > 0
                && self.epochs > 0
                && m.latent > 0
                && m.hidden.iter().all(|&w| w > 0)
                && m.channels.iter().all(|&c| c > 0),
            "batch_size ({}), epochs ({}), model.latent ({}), every model.hidden width ({:?}) \
             and model.channels ({:?}) must be positive (change them with --set)",
            self.batch_size,
            self.epochs,
            m.latent,
            m.hidden,
            m.channels
        );
        let positive = |v: f64| v.is_finite() && v > 0.0;
        anyhow::ensure!(
            positive(self.learning_rate)
                && positive(self.loss_scale)
                && self.learning_rate_decay > 0.0
                && self.learning_rate_decay <= 1.0
                && self.kl_weight.is_finite()
                && self.kl_weight >= 0.0,
            "learning_rate ({}) and loss_scale ({}) must be positive and finite, \
             learning_rate_decay ({}) in (0, 1] and kl_weight ({}) finite and at least 0 (change \
             them with --set)",
            self.learning_rate,
            self.loss_scale,
            self.learning_rate_decay,
            self.kl_weight
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.beta1) && (0.0..1.0).contains(&self.beta2),
            "beta1 ({}) and beta2 ({}) must lie in [0, 1) (change them with --set)",
            self.beta1,
            self.beta2
        );
        Ok(())
    }

    /// How training batches are drawn: [0, 1] targets, binarised as configured.
    pub fn transform(&self) -> ImageTransform {
        ImageTransform {
            binarise: self.binarise,
            seed: self.seed,
            ..Default::default()
        }
    }

    /// The learning rate of epoch `epoch` (0-based).
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        self.learning_rate * self.learning_rate_decay.powi(epoch as i32)
    }

    /// The KL weight at fractional epoch `progress` (epoch + share of its batches done).
    pub fn kl_weight_at(&self, progress: f64) -> f64 {
        if self.kl_warmup_epochs == 0 {
            return self.kl_weight;
        }
        self.kl_weight * (progress / self.kl_warmup_epochs as f64).min(1.0)
    }

    fn adam(&self) -> ModuleOptimizer {
        data::adam::FusedAdam::new(self.beta1 as f32, self.beta2 as f32, 1e-8).init()
    }
}

/// The model and its optimiser: what a checkpoint holds.
pub struct VaeState {
    pub model: Vae,
    optimizer: ModuleOptimizer,
}

impl data::Checkpointable for VaeState {
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        data::run::save_trained(dir, &self.model, &self.optimizer)
    }

    fn load(self, dir: &Path) -> anyhow::Result<Self> {
        let (model, optimizer) = data::run::load_trained(dir, self.model, self.optimizer)?;
        Ok(Self { model, optimizer })
    }
}

/// What one step measured, nats per image (means over the batch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    /// The negative ELBO: reconstruction + KL (the KL unweighted).
    pub loss: f64,
    /// -log p(x|z): summed binary cross-entropy.
    pub reconstruction: f64,
    pub kl: f64,
    /// L2 norm of all parameter gradients (of the scaled loss).
    pub grad_norm: f64,
}

impl VaeState {
    /// A fresh model on `device` (an autodiff device), initialised from the device's stream.
    pub fn new(config: &TrainConfig, device: &Device) -> Self {
        Self {
            model: config.model.init(device),
            optimizer: config.adam(),
        }
    }

    /// One Adam step on a batch `[batch, 784]` of targets in [0, 1]; the posterior noise is
    /// drawn from `noise_seed`, so a step is reproducible.
    pub fn step(
        &mut self,
        images: Tensor<2>,
        config: &TrainConfig,
        learning_rate: f64,
        kl_weight: f64,
        noise_seed: u64,
    ) -> StepStats {
        let device = images.device();
        let [batch, _] = images.dims();
        let eps = fixed_normal(batch, config.model.latent, noise_seed, &device);
        let terms = elbo_terms(&self.model, images, eps);
        let objective = terms.reconstruction.clone() + terms.kl.clone() * kl_weight;
        let loss = objective.mean() * config.loss_scale;
        let norm;
        (self.model, norm) = descend(
            self.model.clone(),
            &mut self.optimizer,
            learning_rate,
            &loss,
        );
        let figures = Tensor::cat(
            vec![
                terms.reconstruction.detach().mean().inner(),
                terms.kl.detach().mean().inner(),
                norm,
            ],
            0,
        );
        let v = data::figure::tensor_values(figures);
        StepStats {
            loss: f64::from(v[0] + v[1]),
            reconstruction: f64::from(v[0]),
            kl: f64::from(v[1]),
            grad_norm: f64::from(v[2]),
        }
    }
}
