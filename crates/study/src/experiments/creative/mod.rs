//! The experiment that answers CREATIVE: the diffusion model's design choices measured
//! (widths, schedules), its samples scored (class accuracy, FID and the rest), the
//! guidance and sampler trade-offs, and a VAE and a GAN trained on the same data by the
//! project's own crates. The quick (CI) and full sizes are declared once, in [`Budget`];
//! every measurement is cached by what it depends on, so a second report run is cheap.

mod baselines;
mod question;
mod sweeps;
mod trade_offs;

use std::path::PathBuf;

use crate::run_or_load::{SharedRun, seeded_epochs};
use crate::{Context, Experiment};
use anyhow::Context as _;
use data::{DataSetName, ImageSet, Split};
use eval::Evaluator;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use creative::evaluate::{Evaluation, measure};
use creative::sample::Sampler;
use creative::train::{DiffusionState, EpochRecord, Preset, TrainConfig};
use creative::unet::UNet;

pub use question::{DiffusionStudy, TrainingRun};

/// This crate's experiments, in report order.
pub static REGISTRY: &[&dyn Experiment] = &[&question::EXPERIMENT];

/// Sizes of the quick (CI) and full profiles, in one place.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Budget {
    /// The quick (CI) profile's small sizes rather than the full ones.
    pub quick: bool,
    /// Samples of the headline evaluation (the measure: 10,000).
    pub eval_samples: usize,
    /// Samples per setting of the guidance and sampler sweeps and of the baselines.
    pub sweep_samples: usize,
    /// DDIM steps of the headline evaluation.
    pub ddim_steps: usize,
    /// DDIM steps of the guidance sweep and the schedules' short runs.
    pub sweep_ddim_steps: usize,
    pub guidance_scales: Vec<f64>,
    pub ddim_step_counts: Vec<usize>,
    /// Samples drawn by ancestral DDPM through all T steps (0: left out).
    pub ddpm_samples: usize,
    /// Base widths (channels) whose training step is timed, and the steps timed at each.
    pub widths: Vec<usize>,
    pub timed_steps: usize,
    /// `(base width, epochs, training images)` of the short runs comparing schedules.
    pub schedule_runs: (usize, usize, usize),
    /// `(epochs, training images)` of the VAE and of the GAN trained for comparison.
    pub vae_run: (usize, usize),
    pub gan_run: (usize, usize),
}

impl Budget {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                eval_samples: 200,
                sweep_samples: 100,
                ddim_steps: 10,
                sweep_ddim_steps: 10,
                guidance_scales: vec![1.0, 2.0, 4.0],
                ddim_step_counts: vec![5, 10],
                ddpm_samples: 0,
                widths: vec![8, 16],
                timed_steps: 1,
                schedule_runs: (8, 1, 1_024),
                vae_run: (1, 2_000),
                gan_run: (1, 2_000),
            }
        } else {
            Self {
                quick,
                eval_samples: 10_000,
                // Sweeps at 500 samples keep the full section near half an hour on two
                // cores; each table gives the real-data floor at the same count.
                sweep_samples: 500,
                ddim_steps: 50,
                sweep_ddim_steps: 25,
                guidance_scales: vec![0.0, 1.0, 2.0, 3.0, 5.0],
                ddim_step_counts: vec![10, 25, 50, 100],
                ddpm_samples: 50,
                widths: vec![16, 32, 48],
                timed_steps: 3,
                schedule_runs: (16, 3, 20_000),
                vae_run: (50, 0),
                gan_run: (30, 0),
            }
        }
    }
}

/// The diffusion model the section studies.
pub struct Model {
    /// Where it came from: the shipped folder or a run trained here.
    pub dir: PathBuf,
    pub shipped: bool,
    pub config: TrainConfig,
    pub unet: UNet,
    pub records: Vec<EpochRecord>,
    /// The run's config.json (backend, command line).
    pub record: serde_json::Value,
}

/// What a diffusion run trained here records at its end besides its wall time.
#[derive(Serialize)]
struct DiffusionSummary {
    /// Updates of the weights' moving average (the sampled model).
    ema_updates: u64,
}

/// What the parts of the section share: the context, the budget, Fashion-MNIST and its
/// evaluator.
pub struct Setup<'a> {
    pub ctx: &'a Context,
    pub budget: Budget,
    pub train: ImageSet,
    pub test: ImageSet,
    pub evaluator: Evaluator,
}

impl<'a> Setup<'a> {
    pub fn new(ctx: &'a Context) -> anyhow::Result<Self> {
        let dir = ctx.data_dir.as_deref();
        let train = ImageSet::load(DataSetName::FashionMnist, Split::Train, dir)?;
        let test = ImageSet::load(DataSetName::FashionMnist, Split::Test, dir)?;
        let evaluator = Evaluator::with_sets(&eval::pretrained_dir(), &train, &test, ctx.device())?;
        Ok(Self {
            budget: Budget::new(ctx.quick()),
            ctx,
            train,
            test,
            evaluator,
        })
    }

    /// The shipped weights when they are the `full` preset's; otherwise that preset (the
    /// `quick` one in the quick profile) trained as a shared run here.
    pub fn model(&self) -> anyhow::Result<Model> {
        let full = Preset::Full.config();
        let shipped = data::run::shipped_with_config("creative", &full);
        let dir = match shipped.clone() {
            Some(dir) => dir,
            None => {
                let preset = if self.budget.quick {
                    Preset::Quick
                } else {
                    Preset::Full
                };
                self.train_shared(preset.name(), &preset.config())?
            }
        };
        let (config, unet) = creative::tasks::load_model(&dir, self.ctx.device())?;
        Ok(Model {
            records: data::run::read_records(&dir)?,
            record: data::run::read_json(&dir.join("config.json"))?,
            shipped: shipped.is_some(),
            dir,
            config,
            unet,
        })
    }

    /// The run of `config` on Fashion-MNIST (see [`Context::run_or_load`]): the shipped run
    /// of that config (`data/pretrained/creative/`), else the shared run
    /// `creative/<name>-<hash>`, loaded, resumed or trained now. Returns its folder.
    pub fn train_shared(&self, name: &str, config: &TrainConfig) -> anyhow::Result<PathBuf> {
        let device = self.ctx.selected.autodiff();
        let run = SharedRun {
            model: "creative",
            name,
            config,
            seed: config.seed,
        };
        let obtained = self.ctx.run_or_load(
            run,
            |run| {
                let train = self.train.clone().limited(config.train_limit);
                let init = || DiffusionState::new(config, &device);
                let epoch = |state: &mut DiffusionState, epoch| {
                    Ok(state.train_epoch(epoch, &train, config, &device))
                };
                let seeded = self.ctx.device();
                seeded_epochs(
                    run,
                    seeded,
                    config.seed,
                    init,
                    config.epochs,
                    epoch,
                    &mut [],
                )
            },
            |state| DiffusionSummary {
                ema_updates: state.ema.updates,
            },
            |_| (),
            |_| Ok(()),
        )?;
        Ok(obtained.dir)
    }

    /// `compute()`, or its result saved by an earlier report run under `key` (which must
    /// name everything the result depends on) in the runs folder.
    pub fn cached<T: Serialize + DeserializeOwned>(
        &self,
        key: &str,
        compute: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let dir = self.ctx.runs_dir.join("creative/measurements");
        cached_in(&dir, key, compute)
    }

    /// `n` guided samples of `model` scored, cached by the model's identity and the setting.
    pub fn measure(
        &self,
        model: &Model,
        n: usize,
        guidance: f64,
        sampler: Sampler,
    ) -> anyhow::Result<Evaluation> {
        let key = format!(
            "{}-{}-n{n}-g{guidance}-{}",
            data::run::config_hash(&model.config),
            model.records.len(),
            sampler_label(sampler).replace(' ', "")
        );
        let compute = || {
            measure(
                &model.unet,
                &model.config,
                &self.evaluator,
                (n, guidance, sampler, 0),
                self.ctx.device(),
            )
        };
        if model.shipped {
            // Sampling thousands of images from the shipped model takes most of an hour on a
            // CPU, and the result is fixed by its weights: it is kept (and shipped) beside them.
            return cached_in(&model.dir.join(SHIPPED_MEASUREMENTS), &key, compute);
        }
        self.cached(&key, compute)
    }

    /// The real-data floor at `n` images: the first `n` training images scored like samples
    /// (FID and recall depend on the sample count, so every table compares at equal `n`).
    pub fn floor(&self, n: usize) -> anyhow::Result<eval::SampleScores> {
        let pixels = eval::evaluator::unit_pixels(&self.train.clone().limited(n));
        self.cached(&format!("floor-fashion-n{n}"), || {
            let autodiff = self.ctx.selected.autodiff();
            (self.evaluator).score_for_verdict(&pixels, data::Scale::ZeroOne, &autodiff)
        })
    }
}

/// The folder of a shipped model's measurements, beside its weights.
pub const SHIPPED_MEASUREMENTS: &str = "measurements";

/// The value saved as `<dir>/<key>.json`, or `compute()` saved there.
fn cached_in<T: Serialize + DeserializeOwned>(
    dir: &std::path::Path,
    key: &str,
    compute: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let path = dir.join(format!("{key}.json"));
    if let Ok(value) = data::run::read_json(&path) {
        return Ok(value);
    }
    let value = compute()?;
    data::run::write_json(&path, &value)
        .with_context(|| format!("caching a measurement in {}", path.display()))?;
    Ok(value)
}

/// The sampler's name in the measurements' cache keys (spaces removed there): "DDIM 50" or
/// "DDPM (all T steps)".
fn sampler_label(sampler: Sampler) -> String {
    match sampler {
        Sampler::Ddpm => "DDPM (all T steps)".to_owned(),
        Sampler::Ddim { steps } => format!("DDIM {steps}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measurement_is_computed_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first: f64 = cached_in(dir.path(), "m", || Ok(1.5)).unwrap();
        let again: f64 = cached_in(dir.path(), "m", || panic!("measured twice")).unwrap();
        assert_eq!((first, again), (1.5, 1.5));
        assert!(dir.path().join("m.json").is_file());
        let failed: anyhow::Result<f64> = cached_in(dir.path(), "n", || anyhow::bail!("no"));
        assert!(failed.is_err() && !dir.path().join("n.json").exists());
    }

    /// Every sweep measurement shipped beside the diffusion model is keyed by the shipped
    /// config's hash: a changed config cannot read another model's scores.
    #[test]
    fn the_shipped_measurements_belong_to_the_shipped_model() {
        let dir = data::run::shipped_dir("creative", "full");
        let (config, _): (TrainConfig, _) = data::run::load_latest(&dir, "diffusion").unwrap();
        let hash = data::run::config_hash(&config);
        let entries = std::fs::read_dir(dir.join(SHIPPED_MEASUREMENTS)).unwrap();
        let names: Vec<String> = entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.is_empty());
        for name in names {
            assert!(
                name.starts_with(&format!("{hash}-")),
                "{name} is not of {hash}"
            );
        }
    }
}
