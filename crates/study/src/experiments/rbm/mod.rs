//! The experiments that answer RBM-Q1 to RBM-Q5, one file per question: each trains or
//! loads what it needs, writes its figures, and writes its typed numbers, which fill its
//! template (`crates/study/templates/RBM-Q<n>.md`). Their quick and full budgets are
//! declared once, in [`Budget`].

pub mod q1_protocol;
pub mod q1_pseudo_likelihood;
pub mod q2_sweeps;
pub mod q3_gibbs_steps;
pub mod q4_missing_parts;
pub mod q5_rows_removed;

use crate::run_or_load::{SharedRun, seeded_epochs};
use crate::{Context, Experiment};
use anyhow::Context as _;
use burn::tensor::{Device, Int, Tensor};
use data::{ImageBatcher, ImageSet, ImageTransform, Mask};
use eval::classifier::Classifier;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use rbm::ais::{AisConfig, LogZEstimate, base_rate_bias, estimate_log_z, mean_log_likelihood};
use rbm::model::RbmConfig;
use rbm::train::{EpochMetrics, InputMode, RbmState, TrainConfig, monitor, train_epoch};

/// This crate's experiments, in report order.
pub static REGISTRY: &[&dyn Experiment] = &[
    &q1_pseudo_likelihood::EXPERIMENT,
    &q2_sweeps::EXPERIMENT,
    &q3_gibbs_steps::EXPERIMENT,
    &q4_missing_parts::EXPERIMENT,
];

/// Sizes of the quick (CI) and full profiles, in one place.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Hidden units of the model RBM-Q1 and Q3 to Q5 study.
    pub hidden: usize,
    pub epochs: usize,
    /// Training digits (0: all 60,000).
    pub train_limit: usize,
    /// Test digits every evaluation averages over.
    pub test_images: usize,
    /// Test digits each completion of RBM-Q4 and Q5 averages over (two dozen completions of
    /// `completion_steps` iterations each: the full test set would take half an hour on two
    /// cores for a classifier accuracy already within about a percentage point at 2000).
    pub completion_images: usize,
    /// Intermediate distributions of AIS (100 chains).
    pub ais_betas: usize,
    /// RBM-Q2's sweeps: hidden units at `sweep_learning_rate`, then the other learning rates
    /// at each of `sweep_rate_hidden` hidden units.
    pub sweep_hidden: &'static [usize],
    pub sweep_learning_rate: f64,
    pub sweep_learning_rates: &'static [f64],
    pub sweep_rate_hidden: &'static [usize],
    /// `k` of the CD-k run RBM-Q3 compares with CD-1 and PCD-1.
    pub long_cd_steps: usize,
    /// Iterations of each completion in RBM-Q4 and Q5.
    pub completion_steps: usize,
}

impl Budget {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                hidden: 64,
                epochs: 3,
                train_limit: 10_000,
                test_images: 1000,
                completion_images: 1000,
                ais_betas: 1000,
                sweep_hidden: &[10, 64, 256],
                sweep_learning_rate: 0.05,
                sweep_learning_rates: &[0.005, 0.5],
                sweep_rate_hidden: &[10],
                long_cd_steps: 10,
                completion_steps: 50,
            }
        } else {
            Self {
                hidden: 500,
                epochs: 20,
                train_limit: 0,
                test_images: 10_000,
                completion_images: 2000,
                ais_betas: 14_500,
                // 0.01: PCD-1 at the base model's 0.05 trains models whose AIS estimates rest
                // on one chain; 10 and 20 hidden units have an exact likelihood.
                sweep_hidden: &[10, 20, 64, 256, 500],
                sweep_learning_rate: 0.01,
                sweep_learning_rates: &[0.001, 0.05, 0.1],
                sweep_rate_hidden: &[20, 500],
                long_cd_steps: 25,
                completion_steps: 200,
            }
        }
    }
}

/// What the profile set for a section beyond its configs. Optional in each section's
/// numbers, so that numbers written before it was recorded still read (their template
/// knows the budget they were written with).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The quick (CI) profile's small, briefly trained models rather than the full ones.
    pub quick: bool,
    /// Test digits every evaluation averages over.
    pub test_images: usize,
    /// AIS chains (independent annealing runs).
    pub chains: usize,
    /// AIS intermediate distributions (temperatures).
    pub betas: usize,
    /// Test digits each completion of RBM-Q4 and Q5 averages over.
    pub completion_images: usize,
    /// Iterations of each completion of RBM-Q4 and Q5.
    pub completion_steps: usize,
}

impl Evaluation {
    fn of(budget: &Budget, quick: bool) -> Self {
        Self {
            quick,
            test_images: budget.test_images,
            chains: AIS_CHAINS,
            betas: budget.ais_betas,
            completion_images: budget.completion_images,
            completion_steps: budget.completion_steps,
        }
    }
}

/// Chains of every AIS estimate.
const AIS_CHAINS: usize = 100;

/// An epoch of a run as logged in `metrics.jsonl`, with the fields the experiment's hook
/// added.
#[derive(Clone, Debug, serde::Serialize, Deserialize)]
pub struct Logged<Extra> {
    pub epoch: usize,
    pub wall_s: f64,
    #[serde(flatten)]
    pub metrics: EpochMetrics,
    #[serde(flatten)]
    pub extra: Extra,
}

/// No extra fields.
#[derive(Clone, Debug, Default, serde::Serialize, Deserialize)]
pub struct NoExtra {}

/// What an RBM run trained here records at its end besides its wall time: the monitor's
/// measures of the final RBM.
#[derive(serde::Serialize)]
struct RbmSummary {
    #[serde(rename = "final")]
    last: EpochMetrics,
}

/// What the RBM experiments share: the context, the budget and the data.
pub struct Setup<'a> {
    pub ctx: &'a Context,
    pub budget: Budget,
    pub train: &'a ImageSet,
    pub test: &'a ImageSet,
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

    pub fn device(&self) -> &Device {
        self.ctx.device()
    }

    fn evaluation(&self) -> Evaluation {
        Evaluation::of(&self.budget, self.ctx.quick())
    }

    fn ais(&self) -> AisConfig {
        AisConfig::new()
            .with_chains(AIS_CHAINS)
            .with_betas(self.budget.ais_betas)
    }

    /// The binarised model that RBM-Q1 and Q3 to Q5 study.
    fn base_config(&self) -> TrainConfig {
        TrainConfig::new(RbmConfig::new().with_hidden(self.budget.hidden))
            .with_learning_rate(0.05)
            .with_batch_size(20)
            .with_momentum(0.5)
            .with_input(InputMode::Threshold)
            .with_shuffle(true)
            .with_monitor_images(500)
            .with_epochs(self.budget.epochs)
            .with_train_limit(self.budget.train_limit)
    }

    fn train_subset(&self, config: &TrainConfig) -> ImageSet {
        self.train.clone().limited(config.train_limit)
    }

    /// The shipped run of `config` with its records, if this checkout has one (None after
    /// `--retrain`): what an experiment reads where it would not train a model (RBM-Q3's
    /// strong RBM).
    fn shipped<Extra: serde::de::DeserializeOwned>(
        &self,
        config: &TrainConfig,
    ) -> anyhow::Result<Option<(RbmState, Vec<Logged<Extra>>)>> {
        let Some(dir) = data::run::shipped_with_config("rbm", config) else {
            return Ok(None);
        };
        let trained = rbm::tasks::Trained::load(&dir, self.device())?;
        let records = data::run::read_records(&dir)
            .with_context(|| format!("reading the epoch records of {}", dir.display()))?;
        Ok(Some((trained.state, records)))
    }

    /// The RBM of `config` (see [`Context::run_or_load`]) with its records: the shipped run
    /// trained with it, loaded with its records, extras included (ship the run whose
    /// experiment recorded the most: RBM-Q1's, with AIS every epoch); else the shared run
    /// `<name>-<config hash>`, loaded, resumed or trained now, calling `after_epoch` after
    /// every epoch for extra figures (merged into the epoch's record).
    fn train<Extra: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        config: &TrainConfig,
        mut after_epoch: impl FnMut(&RbmState) -> anyhow::Result<Map<String, Value>>,
    ) -> anyhow::Result<(RbmState, Vec<Logged<Extra>>)> {
        let device = self.device();
        let train = self.train_subset(config);
        let run = SharedRun {
            model: "rbm",
            name,
            config,
            seed: config.seed,
        };
        let obtained = self.ctx.run_or_load(
            run,
            |run| {
                let mut hook = |state: &RbmState, _epoch: usize| after_epoch(state);
                let init = || RbmState::new(config, device);
                let epoch = |state: &mut RbmState, epoch| {
                    train_epoch(state, epoch, &train, self.test, config, device)
                };
                seeded_epochs(
                    run,
                    device,
                    config.seed,
                    init,
                    config.epochs,
                    epoch,
                    &mut [&mut hook],
                )
            },
            |state| RbmSummary {
                last: monitor(&state.rbm, &train, self.test, config, device),
            },
            |state| state,
            |dir| Ok(rbm::tasks::Trained::load(dir, device)?.state),
        )?;
        let records = data::run::read_records(&obtained.dir)
            .with_context(|| format!("reading the epoch records of {}", obtained.dir.display()))?;
        Ok((obtained.model, records))
    }

    /// The evaluation's test images as `config` presents them, and their labels.
    fn test_batch(&self, config: &TrainConfig, mask: Option<Mask>) -> data::ImageBatch {
        self.first_test_images(config, mask, self.budget.test_images)
    }

    /// The first `count` test images as `config` presents them, and their labels.
    fn first_test_images(
        &self,
        config: &TrainConfig,
        mask: Option<Mask>,
        count: usize,
    ) -> data::ImageBatch {
        let indices: Vec<usize> = (0..count.min(self.test.len())).collect();
        ImageBatcher::new(ImageTransform {
            mask,
            ..config.transform()
        })
        .batch_indices(self.test, &indices, self.device())
    }

    fn log_likelihood(&self, state: &RbmState, config: &TrainConfig) -> (f64, LogZEstimate) {
        let base = base_rate_bias(&config.pixel_means(self.train), self.train.len());
        let estimate = estimate_log_z(&state.rbm, &base, &self.ais(), self.device());
        let v = self.test_batch(config, None).images;
        (mean_log_likelihood(&state.rbm, v, estimate.log_z), estimate)
    }

    fn classifier(&self) -> anyhow::Result<Classifier> {
        Ok(eval::train::load_classifier(
            &eval::pretrained_dir(),
            data::DataSetName::Mnist,
            self.device(),
        )?
        .0)
    }
}

/// Fraction of images the classifier assigns to their label.
fn accuracy(classifier: &Classifier, images: Tensor<2>, labels: Tensor<1, Int>) -> f64 {
    let n = labels.dims()[0] as f64;
    let predicted = classifier.forward(images).argmax(1).squeeze_dim::<1>(1);
    predicted.equal(labels).int().sum().into_scalar::<i64>() as f64 / n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_results() -> Value {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/results.json");
        data::run::read_json(&path).unwrap()
    }

    /// Section `id`'s committed numbers with `fields` set, rendered.
    fn render(results: &Value, id: &str, fields: Vec<(&str, Value)>) -> String {
        let mut numbers = results["sections"][id].clone();
        for (name, value) in fields {
            numbers[name] = value;
        }
        let templated = crate::experiments::templated_section(id).expect("templated");
        (templated.render)(&numbers).unwrap()
    }

    /// A quick run's numbers render: the quick branch of every RBM template names only
    /// fields such numbers hold and no check of the full profile's claims (here the committed
    /// full-profile numbers, marked as a quick run's, which would pass those checks).
    #[test]
    fn every_rbm_section_renders_its_quick_profile() {
        let results = committed_results();
        let quick = serde_json::to_value(Evaluation::of(&Budget::new(true), true)).unwrap();
        for id in ["RBM-Q1", "RBM-Q2", "RBM-Q3", "RBM-Q4", "RBM-Q5"] {
            let text = render(&results, id, vec![("evaluation", quick.clone())]);
            assert!(text.starts_with("*Quick profile"), "{id}: {text}");
            assert!(text.contains("1,000 test digits"), "{id}: {text}");
        }
    }

    /// The optional numbers a full run now records show: the shipped strong run's training
    /// and AIS (RBM-Q1), the model's own samples (RBM-Q3), the intact digits' accuracy
    /// (RBM-Q4).
    #[test]
    fn a_full_run_s_optional_numbers_show_in_its_sections() {
        let results = committed_results();
        let full = serde_json::to_value(Evaluation::of(&Budget::new(false), false)).unwrap();
        let strong = q1_pseudo_likelihood::shipped_strong()
            .unwrap()
            .expect("shipped");
        let q1 = render(
            &results,
            "RBM-Q1",
            vec![
                ("evaluation", full.clone()),
                ("strong", serde_json::to_value(strong).unwrap()),
            ],
        );
        assert!(
            q1.contains(
                "**-85.16 nats** (ESS 76.7; log Z moved 0.01 nats from the 4x shorter \
                 schedule: converged by the project's rule)"
            ) && q1.contains("(3948 s of training"),
            "{q1}"
        );
        let q3 = render(&results, "RBM-Q3", vec![]);
        assert!(
            q3.contains("The 10,000 chains from noise after 1000 steps, scored as samples by the eval classifier: told from real digits 99.8%"),
            "{q3}"
        );
        let q4 = render(&results, "RBM-Q4", vec![("accuracy_intact", 0.988.into())]);
        assert!(
            q4.contains("82.8% (intact digits: 98.8%)")
                && q4.contains("Classifier accuracy on the intact digits: 98.8%."),
            "{q4}"
        );
    }

    /// The ablation table reads each run against the strong one, leaves an estimate AIS has
    /// not converged on out of the ranking, and gives the commands for what is missing.
    #[test]
    fn the_strong_preset_s_ablations_are_ranked_by_converged_estimates_only() {
        let results = committed_results();
        let mut protocol: q1_protocol::Protocol =
            serde_json::from_value(results["sections"]["RBM-Q1"]["protocol"].clone()).unwrap();
        let cd_1 = protocol.rows.iter_mut().find(|r| r.run == "strong-cd-1");
        cd_1.expect("a CD-1 row").score.converged = false;
        let missing = [&q1_protocol::ABLATIONS[2]];
        let protocol = q1_protocol::Protocol::new(protocol.rows, &missing);
        let q1 = render(
            &results,
            "RBM-Q1",
            vec![("protocol", serde_json::to_value(protocol).unwrap())],
        );
        assert!(
            q1.contains("| -106.41 | -21.25 | 90.8 of 100 | no (the 4x shorter schedule gave "),
            "{q1}"
        );
        assert!(
            q1.contains(
                "converged estimates only): a constant learning rate, instead of x0.99 per \
                 epoch (-8.81 nats);"
            ),
            "the unconverged CD-1 row is not ranked: {q1}"
        );
        assert!(
            q1.contains(
                "Not measured here: no weight decay, instead of 2e-4 (`rbm train --preset \
                 strong --name strong-no-weight-decay --set weight-decay=0`); then"
            ),
            "{q1}"
        );
    }
}
