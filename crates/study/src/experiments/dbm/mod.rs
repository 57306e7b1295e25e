//! The experiments that answer DBM-Q1 and DBM-Q2, one file per question. Both study the
//! same DBM and an RBM trained like its bottom layer; the quick (CI) and full sizes are
//! declared once, in [`Budget`]. The full profile's DBM is the `course` preset: where the
//! repository ships that run (`data/pretrained/dbm/course`), it is loaded instead of trained
//! (hours on a CPU).

pub mod q1_filters;
pub mod q2_published;
pub mod q2_samples;

use crate::run_or_load::{NoSummary, SharedRun, seeded_epochs};
use crate::{Context, Experiment};
use burn::tensor::{Distribution, Tensor};
use data::ImageSet;
use rbm::ais::{AisConfig, LogZEstimate, base_rate_bias};
use serde::Serialize;

use dbm::ais::{estimate_log_z, mean_log_likelihood_bound};
use dbm::model::{Dbm, DbmConfig};
use dbm::train::{DbmTraining, EpochRecord, TrainConfig, train_epoch};
use dbm::trained::Trained;

/// This crate's experiments, in report order.
pub static REGISTRY: &[&dyn Experiment] = &[&q1_filters::EXPERIMENT, &q2_samples::EXPERIMENT];

/// Sizes of the quick (CI) and full profiles, in one place.
#[derive(Clone, Debug)]
pub struct Budget {
    pub hidden: [usize; 2],
    /// Epochs of the bottom RBM, the top RBM and joint training.
    pub epochs: [usize; 3],
    /// Training digits (0: all 60,000).
    pub train_limit: usize,
    /// Test digits the likelihoods average over.
    pub test_images: usize,
    /// Intermediate distributions of AIS (100 chains; the 4x check runs in `dbm evaluate`).
    pub ais_betas: usize,
    /// Chains drawn, and scored, per way of sampling.
    pub chains: usize,
}

impl Budget {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                hidden: [128, 256],
                epochs: [3, 3, 3],
                train_limit: 10_000,
                test_images: 1000,
                ais_betas: 1000,
                chains: 1000,
            }
        } else {
            Self {
                hidden: [512, 1024],
                epochs: [64, 120, 500],
                train_limit: 0,
                test_images: 10_000,
                ais_betas: 20_000,
                chains: 10_000,
            }
        }
    }

    /// The DBM's training config: in the full profile, that of the `course` preset (and so
    /// of the shipped weights).
    pub fn dbm_config(&self) -> TrainConfig {
        let [h1, h2] = self.hidden;
        let [bottom, top, joint] = self.epochs;
        TrainConfig::new(DbmConfig::new().with_hidden_1(h1).with_hidden_2(h2))
            .with_bottom_epochs(bottom)
            .with_top_epochs(top)
            .with_joint_epochs(joint)
            .with_train_limit(self.train_limit)
    }
}

/// What the DBM experiments share: the context, the budget and the data.
pub struct Setup<'a> {
    pub ctx: &'a Context,
    pub budget: Budget,
    pub train: &'a ImageSet,
    pub test: &'a ImageSet,
}

/// A trained DBM with its training log: what both questions need, whether it was trained
/// here or loaded from the shipped weights.
pub struct TrainedDbm {
    pub config: TrainConfig,
    pub dbm: Dbm,
    /// First-layer states of the persistent chains at the end of joint training,
    /// `[persistent_chains, hidden_1]`.
    pub chains: Tensor<2>,
    pub records: Vec<EpochRecord>,
    /// The shipped run it was loaded from (none when trained here).
    pub shipped: Option<std::path::PathBuf>,
}

/// What a DBM run trained here records at its end besides its wall time.
#[derive(Serialize)]
struct DbmSummary {
    /// Units per layer: visible, first hidden, second hidden.
    sizes: [usize; 3],
}

/// The RBM the DBM is compared with: its first layer's size, trained as the DBM's bottom
/// RBM is, but on its own (CD-1, symmetric coupling) by the rbm crate.
pub struct TrainedRbm {
    pub config: rbm::TrainConfig,
    pub state: rbm::RbmState,
    pub train_seconds: f64,
}

impl<'a> Setup<'a> {
    pub fn new(ctx: &'a Context) -> anyhow::Result<Self> {
        Ok(Self {
            budget: Budget::new(ctx.quick()),
            train: ctx.train_set()?,
            test: ctx.test_set()?,
            ctx,
        })
    }

    pub fn dbm_config(&self) -> TrainConfig {
        self.budget.dbm_config()
    }

    /// The DBM of both questions (see [`Context::run_or_load`]): the shipped run when it was
    /// trained with this config, otherwise the shared run `course-<hash>`.
    pub fn dbm(&self) -> anyhow::Result<TrainedDbm> {
        let config = self.dbm_config();
        let device = self.ctx.device();
        let run = SharedRun {
            model: "dbm",
            name: "course",
            config: &config,
            seed: config.seed,
        };
        let obtained = self.ctx.run_or_load(
            run,
            |run| {
                let train = self.train.clone().limited(config.train_limit);
                let init = || DbmTraining::new(&config, device);
                let epoch = |state: &mut DbmTraining, epoch| {
                    train_epoch(state, epoch, &train, self.test, &config, device)
                };
                seeded_epochs(
                    run,
                    device,
                    config.seed,
                    init,
                    config.epochs(),
                    epoch,
                    &mut [],
                )
            },
            |state| DbmSummary {
                sizes: state.joint.dbm.sizes(),
            },
            |state| (state.joint.dbm, state.joint.chains.val()),
            |dir| {
                // Seeded as a shared run is, so that what the experiment draws next repeats.
                device.seed(config.seed);
                let trained = Trained::load(dir, device)?;
                Ok((trained.dbm, trained.chains))
            },
        )?;
        let (dbm, chains) = obtained.model;
        Ok(TrainedDbm {
            records: data::run::read_records(&obtained.dir)?,
            shipped: obtained.shipped.then_some(obtained.dir),
            config,
            dbm,
            chains,
        })
    }

    /// The comparison RBM (shared run `dbm-comparison-<hash>` of the rbm crate).
    /// RBM-Q1's strong RBM as shipped, with its AIS evaluation on stochastically binarised
    /// test digits; `None` where this checkout does not ship it.
    pub fn strong_rbm(
        &self,
    ) -> anyhow::Result<Option<(rbm::tasks::Trained, Option<rbm::ais::AisEvaluation>)>> {
        let Some(dir) = data::run::shipped("rbm", "strong") else {
            return Ok(None);
        };
        let trained = rbm::tasks::Trained::load(&dir, self.ctx.device())?;
        let ais_path = dir.join(rbm::tasks::ais_file(
            trained.config.input,
            rbm::InputMode::Dynamic,
        ));
        let evaluation = data::run::read_json(&ais_path).ok();
        Ok(Some((trained, evaluation)))
    }

    pub fn rbm(&self, dbm: &TrainConfig) -> anyhow::Result<TrainedRbm> {
        let config = rbm::TrainConfig::new(rbm::RbmConfig::new().with_hidden(dbm.model.hidden_1))
            .with_learning_rate(dbm.pretrain_learning_rate)
            .with_batch_size(dbm.pretrain_batch_size)
            .with_epochs(dbm.bottom_epochs)
            .with_persistent(false)
            .with_momentum(dbm.momentum)
            .with_momentum_epochs(dbm.momentum_epochs)
            .with_final_momentum(dbm.final_momentum)
            .with_weight_decay(dbm.weight_decay)
            .with_input(dbm.input)
            .with_shuffle(true)
            .with_train_limit(dbm.train_limit)
            .with_monitor_images(500);
        let device = self.ctx.device();
        let run = SharedRun {
            model: "rbm",
            name: "dbm-comparison",
            config: &config,
            seed: config.seed,
        };
        let obtained = self.ctx.run_or_load(
            run,
            |run| {
                let train = self.train.clone().limited(config.train_limit);
                let init = || rbm::RbmState::new(&config, device);
                let epoch = |state: &mut rbm::RbmState, epoch| {
                    rbm::train::train_epoch(state, epoch, &train, self.test, &config, device)
                };
                seeded_epochs(
                    run,
                    device,
                    config.seed,
                    init,
                    config.epochs,
                    epoch,
                    &mut [],
                )
            },
            |_| NoSummary {},
            |state| state,
            |dir| Ok(rbm::tasks::Trained::load(dir, device)?.state),
        )?;
        let records: Vec<rbm::train::EpochMetrics> = data::run::read_records(&obtained.dir)?;
        let train_seconds = records.iter().filter_map(|r| r.train_seconds).sum();
        Ok(TrainedRbm {
            config,
            state: obtained.model,
            train_seconds,
        })
    }

    /// Thresholded test digits: one fixed binary test set for both models.
    pub fn test_images(&self) -> Tensor<2> {
        let indices: Vec<usize> = (0..self.budget.test_images.min(self.test.len())).collect();
        self.dbm_config()
            .test_batcher()
            .batch_indices(self.test, &indices, self.ctx.device())
            .images
    }

    fn ais(&self) -> AisConfig {
        AisConfig::new()
            .with_chains(100)
            .with_betas(self.budget.ais_betas)
    }

    /// The base-rate model both AIS runs start from (the pixels' grey-level means).
    fn base_rate(&self, input: rbm::train::InputMode) -> Vec<f32> {
        let presented = rbm::TrainConfig::new(rbm::RbmConfig::new()).with_input(input);
        base_rate_bias(&presented.pixel_means(self.train), self.train.len())
    }

    /// The DBM's test bound and the AIS estimate of its `log Z`.
    pub fn dbm_log_likelihood(&self, dbm: &Dbm, config: &TrainConfig) -> (f64, LogZEstimate) {
        let base = self.base_rate(config.input);
        let estimate = estimate_log_z(dbm, &base, &self.ais(), self.ctx.device());
        let bound = mean_log_likelihood_bound(
            dbm,
            self.test_images(),
            estimate.log_z,
            config.mean_field_steps,
        );
        (bound, estimate)
    }

    /// The RBM's test log-likelihood by the rbm crate's AIS.
    pub fn rbm_log_likelihood(&self, trained: &TrainedRbm) -> (f64, LogZEstimate) {
        let base = self.base_rate(trained.config.input);
        let estimate =
            rbm::ais::estimate_log_z(&trained.state.rbm, &base, &self.ais(), self.ctx.device());
        let ll =
            rbm::ais::mean_log_likelihood(&trained.state.rbm, self.test_images(), estimate.log_z);
        (ll, estimate)
    }

    /// Fair-coin states `[chains, units]` from the device's stream.
    pub fn coins(&self, chains: usize, units: usize) -> Tensor<2> {
        Tensor::<2>::random([chains, units], Distribution::Default, self.ctx.device())
            .lower_elem(0.5)
            .float()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full profile studies the `course` preset's DBM, so that it loads the shipped
    /// weights (whose config is that preset's) instead of training for hours.
    #[test]
    fn the_full_profile_trains_the_course_preset() {
        let json = |config: &TrainConfig| serde_json::to_value(config).unwrap();
        let course = dbm::train::Preset::Course.config();
        assert_eq!(json(&Budget::new(false).dbm_config()), json(&course));
        assert_ne!(json(&Budget::new(true).dbm_config()), json(&course));
    }
}
