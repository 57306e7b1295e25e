//! Training an RBM by contrastive divergence (CD-k) or persistent contrastive divergence
//! (PCD-k), with momentum and weight decay, through genlab's run records and checkpoints.
//!
//! Neither the likelihood nor the pseudo-likelihood is optimised: the update is the CD/PCD
//! estimate of the likelihood gradient, `⟨vhᵀ⟩_data − ⟨vhᵀ⟩_model` with the model
//! expectation replaced by a few Gibbs steps. The pseudo-likelihoods are only monitored.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Int, Tensor, TensorData};
use data::momentum::MomentumStep;
use data::{BatchOrder, Binarise, ImageBatcher, ImageSet, ImageTransform, Scale};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::model::{Coupling, Rbm, RbmConfig};

/// How pixels are presented to the RBM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum InputMode {
    /// Grey levels in [0, 1] used as Bernoulli means (what scikit-learn and the course do).
    Grey,
    /// Pixels above 0.5 become 1.
    Threshold,
    /// A fresh Bernoulli sample of every image each epoch.
    Dynamic,
}

impl InputMode {
    pub fn binarise(self) -> Binarise {
        match self {
            InputMode::Grey => Binarise::None,
            InputMode::Threshold => Binarise::Threshold { threshold: 0.5 },
            InputMode::Dynamic => Binarise::Stochastic,
        }
    }
}

#[derive(Config, Debug)]
pub struct TrainConfig {
    pub model: RbmConfig,
    #[config(default = 0.01)]
    pub learning_rate: f64,
    /// The learning rate is multiplied by this after every epoch (1: constant). A decaying
    /// rate lets the CD noise average out at the end, which the likelihood rewards.
    #[config(default = 1.0)]
    pub learning_rate_decay: f64,
    #[config(default = 10)]
    pub batch_size: usize,
    #[config(default = 10)]
    pub epochs: usize,
    /// Gibbs steps `k` of CD-k / PCD-k (at the start of training when k is ramped).
    #[config(default = 1)]
    pub gibbs_steps: usize,
    /// Gibbs steps reached at the end of the ramp (0: `gibbs_steps` throughout).
    /// Salakhutdinov & Murray (2008) raised k during training: while the weights are far from
    /// good, CD-1 gives nearly the same update as CD-25 at a 25th of the cost.
    #[config(default = 0)]
    pub final_gibbs_steps: usize,
    /// Epochs over which k rises linearly from `gibbs_steps` to `final_gibbs_steps`.
    #[config(default = 0)]
    pub gibbs_ramp_epochs: usize,
    /// PCD: the negative chains persist across batches instead of restarting at the data.
    #[config(default = true)]
    pub persistent: bool,
    /// Number of persistent chains (0: the batch size, as scikit-learn).
    #[config(default = 0)]
    pub persistent_chains: usize,
    /// Momentum of the first `momentum_epochs` epochs.
    #[config(default = 0.0)]
    pub momentum: f64,
    /// Epochs trained with `momentum` before it switches to `final_momentum` (Hinton's
    /// practical guide: 0.5 while the weights are far from a good region, 0.9 after); 0 keeps
    /// `momentum` throughout.
    #[config(default = 0)]
    pub momentum_epochs: usize,
    #[config(default = 0.9)]
    pub final_momentum: f64,
    /// L2 penalty on the weights.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    #[config(default = "InputMode::Grey")]
    pub input: InputMode,
    /// Visit the training set in a new random order each epoch (scikit-learn does not).
    #[config(default = false)]
    pub shuffle: bool,
    #[config(default = 0)]
    pub seed: u64,
    /// Train on the first N training images only (0: all).
    #[config(default = 0)]
    pub train_limit: usize,
    /// Images (from the start of each split) on which the per-epoch metrics are computed.
    #[config(default = 1000)]
    pub monitor_images: usize,
}

/// The presets of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The course's scikit-learn `BernoulliRBM(n_components=10, learning_rate=0.01,
    /// batch_size=10, n_iter=10)`: PCD-1, chains starting at zero, grey pixels.
    Course,
    /// A 500-hidden RBM for good likelihoods (Salakhutdinov & Murray's CD25(500)): CD-k with k
    /// raised from 1 to 25, a decaying learning rate, momentum, weight decay, dynamic
    /// binarisation.
    Strong,
}

impl Preset {
    pub fn config(self) -> TrainConfig {
        match self {
            Preset::Course => TrainConfig::new(RbmConfig::new().with_hidden(10)),
            Preset::Strong => TrainConfig::new(RbmConfig::new().with_hidden(500))
                .with_learning_rate(0.05)
                .with_learning_rate_decay(0.99)
                .with_batch_size(100)
                .with_epochs(200)
                .with_gibbs_steps(1)
                .with_final_gibbs_steps(25)
                .with_gibbs_ramp_epochs(100)
                .with_persistent(false)
                .with_momentum(0.5)
                .with_momentum_epochs(5)
                .with_final_momentum(0.9)
                .with_weight_decay(2e-4)
                .with_input(InputMode::Dynamic)
                .with_shuffle(true),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Course => "course",
            Preset::Strong => "strong",
        }
    }
}

impl TrainConfig {
    /// Refuses settings out of their range, naming the field, the value and what is allowed,
    /// before anything is written (`train` calls it first).
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.batch_size > 0 && self.gibbs_steps > 0 && self.epochs > 0,
            "batch_size, gibbs_steps and epochs must be positive (change them with --set)"
        );
        anyhow::ensure!(
            self.model.hidden > 0 && self.model.visible == data::PIXELS && self.monitor_images > 0,
            "model.hidden ({}) and monitor_images ({}) must be positive and model.visible ({}) must \
             be {} (one unit per pixel; change them with --set)",
            self.model.hidden,
            self.monitor_images,
            self.model.visible,
            data::PIXELS
        );
        anyhow::ensure!(
            self.learning_rate.is_finite()
                && self.learning_rate > 0.0
                && self.weight_decay >= 0.0
                && (0.0..1.0).contains(&self.momentum)
                && (0.0..1.0).contains(&self.final_momentum),
            "learning_rate ({}) must be positive and finite, weight_decay ({}) at least 0, and \
             momentum ({}) and final_momentum ({}) in [0, 1) (change them with --set)",
            self.learning_rate,
            self.weight_decay,
            self.momentum,
            self.final_momentum
        );
        anyhow::ensure!(
            self.final_gibbs_steps == 0 || self.gibbs_ramp_epochs > 0,
            "final_gibbs_steps = {} needs gibbs_ramp_epochs > 0 (the epochs over which k rises; \
             change it with --set gibbs_ramp_epochs=N)",
            self.final_gibbs_steps
        );
        anyhow::ensure!(
            self.learning_rate_decay > 0.0 && self.learning_rate_decay <= 1.0,
            "learning_rate_decay = {} must be in (0, 1] (1 keeps the rate constant)",
            self.learning_rate_decay
        );
        Ok(())
    }

    pub fn transform(&self) -> ImageTransform {
        ImageTransform {
            scale: Scale::ZeroOne,
            binarise: self.input.binarise(),
            mask: None,
            seed: self.seed,
        }
    }

    /// The momentum of epoch `epoch` (counted from 0).
    pub fn momentum_at(&self, epoch: usize) -> f64 {
        if self.momentum_epochs == 0 || epoch < self.momentum_epochs {
            self.momentum
        } else {
            self.final_momentum
        }
    }

    /// The Gibbs steps `k` of epoch `epoch` (counted from 0): `gibbs_steps`, or the ramp
    /// towards `final_gibbs_steps`.
    pub fn gibbs_steps_at(&self, epoch: usize) -> usize {
        if self.final_gibbs_steps == 0 {
            return self.gibbs_steps;
        }
        if epoch >= self.gibbs_ramp_epochs {
            return self.final_gibbs_steps;
        }
        let (start, end) = (self.gibbs_steps as f64, self.final_gibbs_steps as f64);
        let fraction = epoch as f64 / self.gibbs_ramp_epochs as f64;
        (start + (end - start) * fraction).round() as usize
    }

    /// The update of epoch `epoch` (counted from 0).
    pub fn update_at(&self, epoch: usize) -> CdUpdate {
        CdUpdate {
            learning_rate: self.learning_rate * self.learning_rate_decay.powi(epoch as i32),
            momentum: self.momentum_at(epoch),
            weight_decay: self.weight_decay,
            gibbs_steps: self.gibbs_steps_at(epoch),
            persistent: self.persistent,
            coupling: Coupling::SYMMETRIC,
        }
    }

    /// Mean of every pixel over `set` as this config presents it (thresholded or grey): the
    /// base-rate model AIS starts from.
    pub fn pixel_means(&self, set: &ImageSet) -> Vec<f32> {
        let mut sums = vec![0f64; data::PIXELS];
        let threshold = self.input == InputMode::Threshold;
        for i in 0..set.len() {
            for (s, &p) in sums.iter_mut().zip(set.image(i)) {
                let value = p as f64 / 255.0;
                *s += if threshold {
                    (value > 0.5) as u8 as f64
                } else {
                    value
                };
            }
        }
        sums.iter().map(|s| (s / set.len() as f64) as f32).collect()
    }

    pub fn chains(&self) -> usize {
        if self.persistent_chains == 0 {
            self.batch_size
        } else {
            self.persistent_chains
        }
    }
}

/// One CD-k / PCD-k update's settings, apart from how images are presented: what an RBM
/// trained on other tensors (a DBM's layers, on hidden activations) shares with one trained
/// on images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CdUpdate {
    pub learning_rate: f64,
    pub momentum: f64,
    /// L2 penalty on the weights.
    pub weight_decay: f64,
    /// Gibbs steps `k`.
    pub gibbs_steps: usize,
    /// PCD: the negative chains continue from the state's persistent chains.
    pub persistent: bool,
    /// Both directions 1 for an RBM; doubled in one direction for a DBM's layers.
    pub coupling: Coupling,
}

/// Everything a checkpoint holds: the RBM, the momentum buffers and the persistent chains.
#[derive(Module, Debug)]
pub struct RbmState {
    pub rbm: Rbm,
    pub weights_velocity: Param<Tensor<2>>,
    pub visible_velocity: Param<Tensor<1>>,
    pub hidden_velocity: Param<Tensor<1>>,
    /// Hidden states of the persistent chains, `[chains, hidden]` (scikit-learn starts them
    /// at zero).
    pub chains: Param<Tensor<2>>,
}

impl RbmState {
    pub fn new(config: &TrainConfig, device: &Device) -> Self {
        let rbm = config.model.init(device);
        let (hidden, visible) = (config.model.hidden, config.model.visible);
        Self {
            rbm,
            weights_velocity: Param::from_tensor(Tensor::zeros([hidden, visible], device)),
            visible_velocity: Param::from_tensor(Tensor::zeros([visible], device)),
            hidden_velocity: Param::from_tensor(Tensor::zeros([hidden], device)),
            chains: Param::from_tensor(Tensor::zeros([config.chains(), hidden], device)),
        }
    }

    /// One CD-k / PCD-k update on the batch `v` (`[batch, visible]`, any values in [0, 1]).
    pub fn step(&mut self, v: Tensor<2>, update: &CdUpdate) {
        let [batch, _] = v.dims();
        let rbm = &self.rbm;
        let coupling = update.coupling;
        let h_data = sigmoid(rbm.hidden_input_coupled(v.clone(), coupling));
        let negative = if update.persistent {
            rbm.gibbs_from_hidden_coupled(self.chains.val(), update.gibbs_steps, coupling)
        } else {
            rbm.gibbs_from_visible_coupled(v.clone(), update.gibbs_steps, coupling)
        };
        let [chains, _] = negative.visible.dims();
        // ⟨h vᵀ⟩_data − ⟨h vᵀ⟩_model as one product whose inner dimension is batch + chains:
        // twice the depth of either term alone, which is where CPU GEMMs are weakest.
        let hidden_stats = Tensor::cat(
            vec![
                h_data.clone() / batch as f64,
                -negative.hidden_probabilities.clone() / chains as f64,
            ],
            0,
        );
        let visible_stats = Tensor::cat(vec![v.clone(), negative.visible.clone()], 0);
        let grad_w = hidden_stats.transpose().matmul(visible_stats);
        let grad_b =
            v.mean_dim(0).squeeze_dim::<1>(0) - negative.visible.mean_dim(0).squeeze_dim::<1>(0);
        let grad_c = h_data.mean_dim(0).squeeze_dim::<1>(0)
            - negative
                .hidden_probabilities
                .mean_dim(0)
                .squeeze_dim::<1>(0);

        let weights_step = MomentumStep {
            learning_rate: update.learning_rate,
            momentum: update.momentum,
            weight_decay: update.weight_decay,
        };
        let bias_step = weights_step.without_decay();
        weights_step.update(&mut self.rbm.weights, &mut self.weights_velocity, grad_w);
        bias_step.update(
            &mut self.rbm.visible_bias,
            &mut self.visible_velocity,
            grad_b,
        );
        bias_step.update(&mut self.rbm.hidden_bias, &mut self.hidden_velocity, grad_c);
        if update.persistent {
            self.chains = Param::from_tensor(negative.hidden);
        }
    }
}

/// Monitoring figures of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// scikit-learn's `score_samples` mean on the monitored training images.
    pub pseudo_likelihood_stochastic: f64,
    /// The exact pseudo-log-likelihood (all 784 conditionals), training images.
    pub pseudo_likelihood_exact: f64,
    /// Mean squared error of the mean-field reconstruction of test images.
    pub test_reconstruction_mse: f64,
    /// Mean free energy of test images minus that of training images: grows when the model
    /// overfits.
    pub free_energy_gap: f64,
    /// Wall time of the epoch's updates (not of this monitoring).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_seconds: Option<f64>,
}

/// Computes the monitoring figures on the first `monitor_images` of each split.
pub fn monitor(
    rbm: &Rbm,
    train: &ImageSet,
    test: &ImageSet,
    config: &TrainConfig,
    device: &Device,
) -> EpochMetrics {
    let batcher = ImageBatcher::new(config.transform());
    let first = |set: &ImageSet, n: usize| -> Tensor<2> {
        let indices: Vec<usize> = (0..n.min(set.len())).collect();
        batcher.batch_indices(set, &indices, device).images
    };
    let n = config.monitor_images;
    let train_v = first(train, n);
    let test_v = first(test, n);
    let [rows, visible] = train_v.dims();
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let flips: Vec<i64> = (0..rows)
        .map(|_| rng.random_range(0..visible as i64))
        .collect();
    let flips = Tensor::<1, Int>::from_data(TensorData::new(flips, [rows]), device);
    let exact_rows = rows.min(200);
    let mean = |t: Tensor<1>| t.mean().into_scalar::<f32>() as f64;
    let reconstruction = rbm.reconstruct(test_v.clone());
    EpochMetrics {
        pseudo_likelihood_stochastic: mean(
            rbm.pseudo_log_likelihood_stochastic(train_v.clone(), flips),
        ),
        pseudo_likelihood_exact: mean(
            rbm.pseudo_log_likelihood_exact(train_v.clone().slice([0..exact_rows, 0..visible])),
        ),
        test_reconstruction_mse: (reconstruction - test_v.clone())
            .powi_scalar(2)
            .mean()
            .into_scalar::<f32>() as f64,
        free_energy_gap: mean(rbm.free_energy(test_v)) - mean(rbm.free_energy(train_v)),
        train_seconds: None,
    }
}

/// Trains one epoch over `train` and returns its monitoring figures.
pub fn train_epoch(
    state: &mut RbmState,
    epoch: usize,
    train: &ImageSet,
    test: &ImageSet,
    config: &TrainConfig,
    device: &Device,
) -> anyhow::Result<EpochMetrics> {
    device.seed(data::run::epoch_seed(config.seed, epoch));
    let batcher = ImageBatcher::new(config.transform()).for_epoch(epoch as u64);
    let started = std::time::Instant::now();
    let order = BatchOrder {
        batch_size: config.batch_size,
        shuffle: config.shuffle,
        drop_last: false,
        seed: config.seed,
    };
    let batches = order.epoch(train.len(), epoch as u64);
    let update = config.update_at(epoch);
    let mut progress =
        data::progress::Progress::new(format!("epoch {}", epoch + 1), batches.len() as u64);
    for indices in &batches {
        let v = batcher.batch_indices(train, indices, device).images;
        state.step(v, &update);
        progress.inc(1);
    }
    // Waits for the last update before the clock stops.
    let _ = state.rbm.hidden_bias.val().sum().into_scalar::<f32>();
    let train_seconds = started.elapsed().as_secs_f64();
    progress.finish();
    let mut metrics = monitor(&state.rbm, train, test, config, device);
    metrics.train_seconds = Some(train_seconds);
    Ok(metrics)
}
