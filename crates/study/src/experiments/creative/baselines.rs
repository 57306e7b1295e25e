//! A VAE and a GAN trained on Fashion-MNIST by the project's own crates, scored like the
//! diffusion model's samples: what the diffusion model is measured against.

use burn::module::Module;
use data::{Binarise, Scale};
use serde::{Deserialize, Serialize};

use super::Setup;
use crate::run_or_load::{NoSummary, Obtained, SharedRun};

/// Seed of the baselines' scored samples.
const SAMPLE_SEED: u64 = 0xBA5E;

/// One baseline: what it is, what it cost, how its samples score.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Baseline {
    /// The model in words, e.g. "GAN, MLP players (tuned preset, latent 100)".
    pub model: String,
    pub epochs: usize,
    /// Training images per epoch.
    pub train_images: usize,
    /// Seconds of training, summed over the epochs.
    pub train_seconds: f64,
    pub parameters: usize,
    /// Its `budget.sweep_samples` samples scored against the test split.
    pub scores: eval::SampleScores,
    /// Grid of 64 samples, [0, 1] pixels: a figure's pixels, not one of the section's
    /// numbers.
    #[serde(skip)]
    pub grid: Vec<f32>,
}

/// The VAE: the strong MLP preset (784-512-256 / 32) on grey targets (Fashion-MNIST's grey
/// levels carry the texture that binarising would erase), at the budget's epochs.
pub fn vae(setup: &Setup) -> anyhow::Result<Baseline> {
    use vae::model::Backbone;
    let (epochs, images) = setup.budget.vae_run;
    let config = vae::train::Preset::Strong
        .config(Backbone::Mlp)
        .with_binarise(Binarise::None)
        .with_epochs(epochs)
        .with_train_limit(images)
        .with_test_images(0)
        .with_eval_samples(0);
    let selected = &setup.ctx.selected;
    let train = setup.train.clone().limited(config.train_limit);
    let device = setup.ctx.device();
    let run = SharedRun {
        model: "vae",
        name: "fashion-strong-mlp",
        config: &config,
        seed: config.seed,
    };
    let Obtained { model, dir, .. } = setup.ctx.run_or_load(
        run,
        |run| vae::epoch::train_run(run, &config, &train, &setup.test, None, selected),
        |_| NoSummary {},
        |state| state.model.valid(),
        |dir| Ok(vae::tasks::load_model(dir, device)?.1),
    )?;
    let records: Vec<crate::experiments::vae::Logged> = data::run::read_records(&dir)?;
    let latent = config.model.latent;
    let n = setup.budget.sweep_samples;
    let samples = vae::epoch::sample_means(&model, latent, n, SAMPLE_SEED, device);
    let grid = vae::epoch::sample_means(&model, latent, 64, SAMPLE_SEED, device);
    Ok(Baseline {
        model: format!(
            "VAE, MLP 784-{:?}-{latent} (strong preset, grey targets)",
            config.model.hidden
        ),
        epochs,
        train_images: train.len(),
        train_seconds: records.iter().map(|r| r.record.train_seconds).sum(),
        parameters: model.num_params(),
        scores: (setup.evaluator).score_tensor_for_verdict(
            samples,
            Scale::ZeroOne,
            &setup.ctx.selected.autodiff(),
        )?,
        grid: data::figure::tensor_values(grid),
    })
}

/// The GAN: the MLP players of the tuned preset, at the budget's epochs.
pub fn gan(setup: &Setup) -> anyhow::Result<Baseline> {
    use gan::model::Backbone;
    let (epochs, images) = setup.budget.gan_run;
    let config = gan::train::Preset::Tuned
        .config(Backbone::Mlp)
        .with_epochs(epochs)
        .with_train_limit(images)
        .with_eval_samples(0);
    let selected = &setup.ctx.selected;
    let train = setup.train.clone().limited(config.train_limit);
    let device = setup.ctx.device();
    let run = SharedRun {
        model: "gan",
        name: "fashion-tuned-mlp",
        config: &config,
        seed: config.seed,
    };
    let Obtained {
        model: generator,
        dir,
        ..
    } = setup.ctx.run_or_load(
        run,
        |run| gan::epoch::train_run(run, &config, &train, None, selected),
        |_| NoSummary {},
        |state| state.sampled_generator().clone(),
        |dir| Ok(gan::sampling::load_generator(dir, device)?.1),
    )?;
    let generator = &generator;
    let records: Vec<crate::experiments::gan::Logged> = data::run::read_records(&dir)?;
    let latent = config.model.latent;
    let n = setup.budget.sweep_samples;
    let samples = gan::sampling::sample(generator, latent, n, SAMPLE_SEED, device);
    let grid = gan::sampling::sample(generator, latent, 64, SAMPLE_SEED, device);
    Ok(Baseline {
        model: format!("GAN, MLP players (tuned preset, latent {latent})"),
        epochs,
        train_images: train.len(),
        train_seconds: records.iter().map(|r| r.record.train_seconds).sum(),
        parameters: generator.num_params(),
        scores: gan::sampling::score_samples(&setup.evaluator, samples, &config)?,
        grid: gan::sampling::unit_values(grid, config.real_scale),
    })
}
