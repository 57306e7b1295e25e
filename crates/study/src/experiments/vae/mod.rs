//! The experiments that answer VAE-Q1 to VAE-Q4, one file per question: each trains (or
//! reloads) the shared runs it needs, writes its figures, and writes its report section with
//! the numbers it measured. Quick and full budgets are declared once, in [`Budget`].

pub mod q1_objective;
pub mod q2_autoencoder;
pub mod q3_latent_space;
pub mod q4_versus_gan;

use crate::run_or_load::{NoSummary, SharedRun};
use crate::{Context, Experiment};
use anyhow::Context as _;
use burn::module::Module;
use burn::tensor::Tensor;
use data::plot::LinePlot;
use data::{ImageBatcher, ImageSet, ImageTransform};
use eval::{Evaluator, SampleScores};
use serde::Deserialize;

use vae::epoch::{EVAL_SEED, EpochRecord, binarised_test, sample_means, train_run};
use vae::model::{Backbone, Vae};
use vae::train::{Preset, TrainConfig, VaeState};

/// This crate's experiments, in report order.
pub static REGISTRY: &[&dyn Experiment] = &[
    &q1_objective::EXPERIMENT,
    &q2_autoencoder::EXPERIMENT,
    &q3_latent_space::EXPERIMENT,
    &q4_versus_gan::EXPERIMENT,
];

/// Sizes of the quick (CI) and full profiles, in one place.
#[derive(Clone, Debug)]
pub struct Budget {
    pub quick: bool,
    /// `(epochs, training digits)` of every MLP run in the quick profile (the full profile
    /// keeps each preset's epochs and all 60,000 digits).
    pub quick_mlp: (usize, usize),
    /// The same for the convolutional backbone.
    pub quick_conv: (usize, usize),
    /// Prior samples scored after every epoch and in the tables.
    pub eval_samples: usize,
    /// `(k, test digits)` of the importance-sampled likelihood measured after every epoch.
    pub epoch_importance: (usize, usize),
    /// `(k, test digits)` of the final models' importance-sampled likelihood.
    pub final_importance: (usize, usize),
    /// `(pre-training epochs per layer, fine-tuning epochs)` of the stacked auto-encoder.
    pub autoencoder_epochs: (usize, usize),
    /// Latent sizes compared in VAE-Q3.
    pub latent_sizes: [usize; 3],
}

impl Budget {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                quick_mlp: (4, 10_000),
                quick_conv: (2, 5_000),
                eval_samples: 1_000,
                epoch_importance: (50, 200),
                final_importance: (500, 200),
                autoencoder_epochs: (1, 3),
                latent_sizes: [2, 10, 32],
            }
        } else {
            Self {
                quick,
                quick_mlp: (0, 0),
                quick_conv: (0, 0),
                eval_samples: 10_000,
                epoch_importance: (100, 500),
                final_importance: (5_000, 1_000),
                autoencoder_epochs: (5, 20),
                latent_sizes: [2, 10, 32],
            }
        }
    }
}

impl Budget {
    /// The strong MLP VAE of every question, `(shared run name, config)`.
    pub fn strong_mlp(&self) -> (&'static str, TrainConfig) {
        (
            "strong-mlp",
            self.config(Preset::Strong.config(Backbone::Mlp)),
        )
    }

    /// Shrinks a config to CI size in quick mode (epochs, digits, KL warm-up); sets the
    /// per-epoch measurements of the profile.
    pub fn config(&self, config: TrainConfig) -> TrainConfig {
        let (k, images) = self.epoch_importance;
        let config = config
            .with_eval_samples(self.eval_samples)
            .with_importance_samples(k)
            .with_importance_images(images)
            .with_test_images(if self.quick { 2_000 } else { 10_000 });
        if !self.quick {
            return config;
        }
        let (epochs, digits) = match config.model.backbone {
            Backbone::Mlp => self.quick_mlp,
            Backbone::Conv => self.quick_conv,
        };
        let warmup = config.kl_warmup_epochs.min(epochs / 2);
        config
            .with_epochs(epochs)
            .with_train_limit(digits)
            .with_kl_warmup_epochs(warmup)
    }
}

/// One epoch as logged in `metrics.jsonl`.
#[derive(Clone, Debug, Deserialize)]
pub struct Logged {
    pub epoch: usize,
    pub wall_s: f64,
    #[serde(flatten)]
    pub record: EpochRecord,
}

/// A trained shared run: its config, model (evaluation mode), epoch records.
pub struct Trained {
    pub config: TrainConfig,
    pub model: Vae,
    pub records: Vec<Logged>,
}

impl Trained {
    /// Training wall time, summed over the epochs (evaluation excluded).
    pub fn train_seconds(&self) -> f64 {
        self.records.iter().map(|r| r.record.train_seconds).sum()
    }

    pub fn last(&self) -> anyhow::Result<&EpochRecord> {
        Ok(&self.records.last().context("the run has no epochs")?.record)
    }
}

/// What the VAE experiments share: the context, the budget, the data and the evaluator.
pub struct Setup<'a> {
    pub ctx: &'a Context,
    pub budget: Budget,
    pub train: &'a ImageSet,
    pub test: &'a ImageSet,
    pub evaluator: &'a Evaluator,
}

impl<'a> Setup<'a> {
    pub fn new(ctx: &'a Context) -> anyhow::Result<Self> {
        Ok(Self {
            budget: Budget::new(ctx.quick()),
            train: ctx.train_set()?,
            test: ctx.test_set()?,
            evaluator: ctx.evaluator()?,
            ctx,
        })
    }

    /// The strong MLP VAE's shared run, `(name, config)`: VAE-Q1 to VAE-Q4 all use this one
    /// run, so it is trained once (or loaded from the shipped weights).
    pub fn strong_mlp(&self) -> (&'static str, TrainConfig) {
        self.budget.strong_mlp()
    }

    /// `preset` for `backbone` at this profile's budget.
    pub fn preset(&self, preset: Preset, backbone: Backbone) -> TrainConfig {
        self.budget.config(preset.config(backbone))
    }

    /// The VAE of `config` (see [`Context::run_or_load`]): the shipped run trained with it,
    /// else the shared run `<name>-<config hash>`, loaded, resumed or trained now.
    pub fn train(&self, name: &str, config: &TrainConfig) -> anyhow::Result<Trained> {
        let device = self.ctx.device();
        let run = SharedRun {
            model: "vae",
            name,
            config,
            seed: config.seed,
        };
        let obtained = self.ctx.run_or_load(
            run,
            |run| {
                let train = self.train.clone().limited(config.train_limit);
                let selected = &self.ctx.selected;
                train_run(
                    run,
                    config,
                    &train,
                    self.test,
                    Some(self.evaluator),
                    selected,
                )
            },
            |_| NoSummary {},
            |state: VaeState| state.model.valid(),
            |dir| Ok(vae::tasks::load_model(dir, device)?.1),
        )?;
        Ok(Trained {
            config: config.clone(),
            model: obtained.model,
            records: data::run::read_records(&obtained.dir).context("reading the epoch records")?,
        })
    }

    /// The first `count` test digits, binarised once with the fixed seed every likelihood
    /// uses.
    pub fn binary_test(&self, count: usize) -> Tensor<2> {
        binarised_test(self.test, count, self.ctx.device())
    }

    /// The first `count` test digits as grey levels in [0, 1], and their labels.
    pub fn grey_test(&self, count: usize) -> (Tensor<2>, Vec<u8>) {
        let indices: Vec<usize> = (0..count.min(self.test.len())).collect();
        let batch = ImageBatcher::new(ImageTransform::default()).batch_indices(
            self.test,
            &indices,
            self.ctx.device(),
        );
        let labels = indices.iter().map(|&i| self.test.label(i)).collect();
        (batch.images, labels)
    }

    /// `count` decoded prior samples (Bernoulli means) of a trained model.
    pub fn samples(&self, trained: &Trained, count: usize) -> Tensor<2> {
        sample_means(
            &trained.model,
            trained.config.model.latent,
            count,
            EVAL_SEED,
            self.ctx.device(),
        )
    }

    /// Eval scores of `samples` `[n, 784]` in [0, 1], with the verdict scores.
    pub fn score(&self, samples: Tensor<2>) -> anyhow::Result<SampleScores> {
        let autodiff = self.ctx.selected.autodiff();
        (self.evaluator).score_tensor_for_verdict(samples, data::Scale::ZeroOne, &autodiff)
    }

    /// Writes a grid of `values` ([0, 1]), `cols` per row (row labels optional), as figure
    /// `file`.
    pub fn grid(
        &self,
        file: &str,
        values: &[f32],
        cols: usize,
        labels: Option<Vec<String>>,
    ) -> anyhow::Result<()> {
        self.ctx.digit_figure(file, values, cols, labels).map(drop)
    }

    /// Saves `plot` as figure `file`.
    pub fn plot(&self, file: &str, plot: &LinePlot) -> anyhow::Result<()> {
        self.ctx.plot_figure(file, plot).map(drop)
    }

    /// "N epochs over M training digits, batch B": how a run was trained.
    pub fn epoch_note(&self, config: &TrainConfig) -> String {
        format!(
            "{} epochs over {} training digits, batch {}",
            config.epochs,
            if config.train_limit > 0 {
                config.train_limit
            } else {
                self.train.len()
            },
            config.batch_size,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_profile_loads_the_shipped_strong_vae_and_a_changed_config_does_not() {
        let (name, full) = Budget::new(false).strong_mlp();
        assert!(
            data::run::shipped_with_config("vae", &full).is_some(),
            "data/pretrained/vae/{name} must hold the full profile's strong MLP run"
        );
        let quick = Budget::new(true).strong_mlp().1;
        assert!(data::run::shipped_with_config("vae", &quick).is_none());
    }

    /// The committed numbers are the full profile's: marked quick, every answer takes its
    /// quick branch, which must render from the same fields.
    #[test]
    fn every_answer_renders_its_quick_branch_from_the_committed_numbers() {
        use crate::answer::{Answer, render_json};
        fn quick<T: Answer>(results: &serde_json::Value) -> (&'static str, String) {
            let mut numbers = results["sections"][T::ID].clone();
            numbers["quick"] = true.into();
            let text = render_json::<T>(&numbers).unwrap();
            (T::ID, text)
        }
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/results.json");
        let results: serde_json::Value = data::run::read_json(&path).unwrap();
        for (id, text) in [
            quick::<q1_objective::Objective>(&results),
            quick::<q2_autoencoder::AutoencoderComparison>(&results),
            quick::<q3_latent_space::LatentSpace>(&results),
            quick::<q4_versus_gan::VersusGan>(&results),
        ] {
            assert!(text.contains("*Quick profile:"), "{id}: {text}");
        }
    }
}
