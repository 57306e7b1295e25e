//! Training a DBM: greedy layer-wise pre-training of two RBMs with the rbm crate's CD
//! update (the bottom one with a doubled up pass, the top one with a doubled down pass),
//! then joint training of the assembled DBM: mean-field for the data-dependent statistics,
//! persistent Gibbs chains for the model's (Salakhutdinov & Hinton 2009).
//!
//! One run goes through `bottom_epochs + top_epochs + joint_epochs` epochs in that order; a
//! checkpoint after each holds all three stages, so `--resume` continues wherever the
//! previous sitting stopped.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use data::{BatchOrder, ImageBatcher, ImageSet, ImageTransform, Scale};
use rbm::train::{CdUpdate, InputMode};
use rbm::{Coupling, RbmConfig, RbmState};
use serde::{Deserialize, Serialize};

use crate::joint::{JointState, assemble, bottom_features};
use crate::model::DbmConfig;

#[derive(Config, Debug)]
pub struct TrainConfig {
    pub model: DbmConfig,
    /// Epochs of the bottom RBM (`v`–`h¹`, CD-1, doubled up pass).
    #[config(default = 64)]
    pub bottom_epochs: usize,
    /// Epochs of the top RBM (`h¹`–`h²`, doubled down pass).
    #[config(default = 120)]
    pub top_epochs: usize,
    /// The top RBM's CD-k: k rises linearly from 1 to this over its epochs.
    #[config(default = 6)]
    pub top_max_gibbs_steps: usize,
    /// Joint training epochs of the assembled DBM.
    #[config(default = 500)]
    pub joint_epochs: usize,
    #[config(default = 0.05)]
    pub pretrain_learning_rate: f64,
    #[config(default = 48)]
    pub pretrain_batch_size: usize,
    /// Learning rate of joint training at its first epoch; epoch `e` of joint training uses
    /// `joint_learning_rate / (1 + e / learning_rate_halving_epochs)`.
    #[config(default = 0.001)]
    pub joint_learning_rate: f64,
    #[config(default = 100)]
    pub learning_rate_halving_epochs: usize,
    #[config(default = 100)]
    pub batch_size: usize,
    /// Persistent Gibbs chains of joint training.
    #[config(default = 100)]
    pub persistent_chains: usize,
    /// Gibbs sweeps of the persistent chains per update.
    #[config(default = 5)]
    pub gibbs_sweeps: usize,
    /// Mean-field updates per batch at most...
    #[config(default = 50)]
    pub mean_field_steps: usize,
    /// ...or fewer, once no unit moves by more than this.
    #[config(default = 1e-4)]
    pub mean_field_tolerance: f64,
    /// Momentum of the first `momentum_epochs` epochs of every stage, `final_momentum` after.
    #[config(default = 0.5)]
    pub momentum: f64,
    #[config(default = 5)]
    pub momentum_epochs: usize,
    #[config(default = 0.9)]
    pub final_momentum: f64,
    /// L2 penalty on the weights (every stage).
    #[config(default = 2e-4)]
    pub weight_decay: f64,
    #[config(default = "InputMode::Dynamic")]
    pub input: InputMode,
    #[config(default = 0)]
    pub seed: u64,
    /// Train on the first N training images only (0: all).
    #[config(default = 0)]
    pub train_limit: usize,
    /// Test images the per-epoch bound (without `log Z`) is averaged over.
    #[config(default = 500)]
    pub monitor_images: usize,
}

/// The presets of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The recipe of the course's pre-trained 784-512-1024 DBM: bottom RBM CD-1 for 64
    /// epochs at lr 0.05, batch 48; top RBM CD-1..6 for 120; joint PCD with 100 chains, up
    /// to 50 mean-field updates, batch 100, 500 epochs.
    Course,
    /// A small DBM (784-64-128) trained for a few epochs: a smoke test of the whole recipe.
    Quick,
}

impl Preset {
    pub fn config(self) -> TrainConfig {
        match self {
            Preset::Course => TrainConfig::new(DbmConfig::new()),
            Preset::Quick => {
                TrainConfig::new(DbmConfig::new().with_hidden_1(64).with_hidden_2(128))
                    .with_bottom_epochs(2)
                    .with_top_epochs(2)
                    .with_joint_epochs(2)
                    .with_mean_field_steps(10)
                    .with_train_limit(6000)
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Course => "course",
            Preset::Quick => "quick",
        }
    }
}

/// Which stage a (run-wide, 0-based) epoch belongs to, and its index within the stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "stage", content = "stage_epoch")]
pub enum Stage {
    Bottom(usize),
    Top(usize),
    Joint(usize),
}

impl TrainConfig {
    /// Refuses settings out of their range, naming the field, the value and what is allowed,
    /// before anything is written (`train` calls it first).
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.batch_size > 0
                && self.pretrain_batch_size > 0
                && self.persistent_chains > 0
                && self.gibbs_sweeps > 0
                && self.epochs() > 0,
            "batch sizes, persistent_chains, gibbs_sweeps and the epochs must be positive (change them with --set)"
        );
        let m = &self.model;
        anyhow::ensure!(
            m.hidden_1 > 0
                && m.hidden_2 > 0
                && m.visible == data::PIXELS
                && self.monitor_images > 0
                && self.mean_field_steps > 0,
            "model.hidden_1 ({}), model.hidden_2 ({}), monitor_images ({}) and mean_field_steps ({}) \
             must be positive and model.visible ({}) must be {} (one unit per pixel; change them \
             with --set)",
            m.hidden_1,
            m.hidden_2,
            self.monitor_images,
            self.mean_field_steps,
            m.visible,
            data::PIXELS
        );
        let rate = |r: f64| r.is_finite() && r > 0.0;
        anyhow::ensure!(
            rate(self.pretrain_learning_rate)
                && rate(self.joint_learning_rate)
                && self.weight_decay >= 0.0
                && self.mean_field_tolerance >= 0.0
                && (0.0..1.0).contains(&self.momentum)
                && (0.0..1.0).contains(&self.final_momentum),
            "pretrain_learning_rate ({}) and joint_learning_rate ({}) must be positive and finite, \
             weight_decay ({}) and mean_field_tolerance ({}) at least 0, and momentum ({}) and \
             final_momentum ({}) in [0, 1) (change them with --set)",
            self.pretrain_learning_rate,
            self.joint_learning_rate,
            self.weight_decay,
            self.mean_field_tolerance,
            self.momentum,
            self.final_momentum
        );
        Ok(())
    }

    pub fn epochs(&self) -> usize {
        self.bottom_epochs + self.top_epochs + self.joint_epochs
    }

    pub fn stage(&self, epoch: usize) -> Stage {
        if epoch < self.bottom_epochs {
            Stage::Bottom(epoch)
        } else if epoch < self.bottom_epochs + self.top_epochs {
            Stage::Top(epoch - self.bottom_epochs)
        } else {
            Stage::Joint(epoch - self.bottom_epochs - self.top_epochs)
        }
    }

    pub fn transform(&self) -> ImageTransform {
        ImageTransform {
            scale: Scale::ZeroOne,
            binarise: self.input.binarise(),
            mask: None,
            seed: self.seed,
        }
    }

    /// Test digits thresholded at 0.5: one fixed binary test set whatever the training input
    /// mode, for the likelihood bound (`dbm evaluate`, the experiments) and the shipped check.
    pub fn test_batcher(&self) -> ImageBatcher {
        ImageBatcher::new(ImageTransform {
            binarise: data::Binarise::Threshold { threshold: 0.5 },
            ..self.transform()
        })
    }

    fn momentum_at(&self, stage_epoch: usize) -> f64 {
        if stage_epoch < self.momentum_epochs {
            self.momentum
        } else {
            self.final_momentum
        }
    }

    fn rbm_config(&self, visible: usize, hidden: usize) -> rbm::TrainConfig {
        rbm::TrainConfig::new(
            RbmConfig::new()
                .with_visible(visible)
                .with_hidden(hidden)
                .with_init_std(self.model.init_std),
        )
        .with_batch_size(self.pretrain_batch_size)
        .with_persistent(false)
    }

    /// The CD update of a pre-training epoch.
    pub fn pretrain_update(&self, stage: Stage) -> CdUpdate {
        let (stage_epoch, gibbs_steps, coupling) = match stage {
            Stage::Bottom(e) => (e, 1, Coupling::DOUBLED_UP),
            Stage::Top(e) => {
                let span = self.top_epochs.saturating_sub(1).max(1);
                let rise = (self.top_max_gibbs_steps.max(1) - 1) * e / span;
                (e, 1 + rise, Coupling::DOUBLED_DOWN)
            }
            Stage::Joint(_) => panic!("joint epochs have no CD update"),
        };
        CdUpdate {
            learning_rate: self.pretrain_learning_rate,
            momentum: self.momentum_at(stage_epoch),
            weight_decay: self.weight_decay,
            gibbs_steps,
            persistent: false,
            coupling,
        }
    }

    /// The learning rate of joint epoch `e`.
    pub fn joint_learning_rate_at(&self, e: usize) -> f64 {
        self.joint_learning_rate
            / (1.0 + e as f64 / self.learning_rate_halving_epochs.max(1) as f64)
    }
}

/// Everything a checkpoint holds: both RBMs and the joint state.
#[derive(Module, Debug)]
pub struct DbmTraining {
    pub bottom: RbmState,
    pub top: RbmState,
    pub joint: JointState,
}

impl DbmTraining {
    pub fn new(config: &TrainConfig, device: &Device) -> Self {
        let m = &config.model;
        let bottom = RbmState::new(&config.rbm_config(m.visible, m.hidden_1), device);
        let top = RbmState::new(&config.rbm_config(m.hidden_1, m.hidden_2), device);
        let dbm = assemble(&bottom.rbm, &top.rbm);
        let chains = Tensor::zeros([config.persistent_chains, m.hidden_1], device);
        Self {
            bottom,
            top,
            joint: JointState::new(dbm, chains),
        }
    }
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    #[serde(flatten)]
    pub stage: Stage,
    pub train_seconds: f64,
    /// Joint epochs: the learning rate and the mean number of mean-field updates per batch.
    pub learning_rate: Option<f64>,
    pub mean_field_steps: Option<f64>,
    /// Joint epochs: the mean of `−E(v, μ) + H(μ)` on the monitored test images (the
    /// variational bound plus `log Z`, which is not estimated every epoch).
    pub bound_unnormalised: Option<f64>,
}

/// Trains run-wide epoch `epoch` (a pre-training or a joint epoch) over `train`.
pub fn train_epoch(
    state: &mut DbmTraining,
    epoch: usize,
    train: &ImageSet,
    test: &ImageSet,
    config: &TrainConfig,
    device: &Device,
) -> anyhow::Result<EpochRecord> {
    device.seed(data::run::epoch_seed(config.seed, epoch));
    let stage = config.stage(epoch);
    let batcher = ImageBatcher::new(config.transform()).for_epoch(epoch as u64);
    let batch_size = match stage {
        Stage::Joint(_) => config.batch_size,
        _ => config.pretrain_batch_size,
    };
    let order = BatchOrder {
        batch_size,
        shuffle: true,
        drop_last: false,
        seed: config.seed,
    };
    let batches = order.epoch(train.len(), epoch as u64);
    if let Stage::Joint(0) = stage {
        // Assembled once, at the first joint epoch; the chains start at the doubled
        // bottom-up features of the first training images.
        let dbm = assemble(&state.bottom.rbm, &state.top.rbm);
        let first: Vec<usize> = (0..config.persistent_chains.min(train.len())).collect();
        let v = batcher.batch_indices(train, &first, device).images;
        let (_, chains) = data::sampling::sigmoid_bernoulli(
            state
                .bottom
                .rbm
                .hidden_input_coupled(v, Coupling::DOUBLED_UP),
        );
        state.joint = JointState::new(dbm, chains);
    }
    let started = std::time::Instant::now();
    let mut progress = data::progress::Progress::new(
        format!("epoch {} ({stage:?})", epoch + 1),
        batches.len() as u64,
    );
    let mut mean_field_total = 0usize;
    let joint = |e: usize| (config.joint_learning_rate_at(e), config.momentum_at(e));
    for indices in &batches {
        let v = batcher.batch_indices(train, indices, device).images;
        match stage {
            Stage::Bottom(_) => state.bottom.step(v, &config.pretrain_update(stage)),
            Stage::Top(_) => {
                let features = bottom_features(&state.bottom.rbm, v);
                state.top.step(features, &config.pretrain_update(stage))
            }
            Stage::Joint(e) => {
                let (learning_rate, momentum) = joint(e);
                mean_field_total += state.joint.step(v, config, learning_rate, momentum);
            }
        }
        progress.inc(1);
    }
    let train_seconds = started.elapsed().as_secs_f64();
    progress.finish();
    let mut record = EpochRecord {
        stage,
        train_seconds,
        learning_rate: None,
        mean_field_steps: None,
        bound_unnormalised: None,
    };
    if let Stage::Joint(e) = stage {
        let indices: Vec<usize> = (0..config.monitor_images.min(test.len())).collect();
        let v = ImageBatcher::new(config.transform())
            .batch_indices(test, &indices, device)
            .images;
        let dbm = &state.joint.dbm;
        let (mu1, mu2, _) = dbm.mean_field(
            v.clone(),
            config.mean_field_steps,
            config.mean_field_tolerance,
        );
        record.learning_rate = Some(joint(e).0);
        record.mean_field_steps = Some(mean_field_total as f64 / batches.len().max(1) as f64);
        record.bound_unnormalised = Some(
            dbm.variational_bound_unnormalised(v, mu1, mu2)
                .mean()
                .into_scalar::<f32>() as f64,
        );
    }
    Ok(record)
}
