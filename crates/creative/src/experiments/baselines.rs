//! A VAE and a GAN trained on Fashion-MNIST by the project's own crates, scored like the
//! diffusion model's samples: what the diffusion model is measured against.

use std::path::{Path, PathBuf};

use burn::module::Module;
use data::{Binarise, Run, Scale};
use serde::{Deserialize, Serialize};

use super::Setup;

/// Seed of the baselines' scored samples.
const SAMPLE_SEED: u64 = 0xBA5E;

/// One baseline: what it is, what it cost, how its samples score.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub model: String,
    pub epochs: usize,
    pub train_images: usize,
    pub train_seconds: f64,
    pub parameters: usize,
    pub scores: eval::SampleScores,
    /// Grid of 64 samples, [0, 1] pixels.
    pub grid: Vec<f32>,
}

/// Another crate's shared run `<model>/<name>` of `config`: loaded with `from_shipped` when
/// the repository ships a run of that config (`data/pretrained/<model>/`), else trained (or
/// reloaded, or resumed) with `train` and reduced to what is sampled with `from_state`.
/// Returns that and the run's folder, whose records give the training time.
fn shipped_or_trained<C: Serialize, S, M>(
    setup: &Setup,
    (model, name): (&str, &str),
    (config, seed): (&C, u64),
    train: impl FnOnce(&mut Run) -> anyhow::Result<S>,
    from_state: impl FnOnce(S) -> M,
    from_shipped: impl FnOnce(&Path) -> anyhow::Result<M>,
) -> anyhow::Result<(M, PathBuf)> {
    if let Some(dir) = data::run::shipped_with_config(model, config) {
        println!(
            "{model}: loading the shipped run {} (same config)",
            dir.display()
        );
        return Ok((from_shipped(&dir)?, dir));
    }
    let options = setup.ctx.shared_run(model, name, config);
    let mut run = Run::start(model, name, &options, config, seed, &setup.ctx.selected)?;
    let finished = run.is_finished();
    let state = train(&mut run)?;
    if !finished {
        run.finish(serde_json::json!({}))?;
    }
    Ok((from_state(state), run.dir))
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
    let (model, dir) = shipped_or_trained(
        setup,
        ("vae", "fashion-strong-mlp"),
        (&config, config.seed),
        |run| vae::epoch::train_run(run, &config, &train, &setup.test, None, selected),
        |state| state.model.valid(),
        |dir| Ok(vae::tasks::load_model(dir, device)?.1),
    )?;
    let records: Vec<vae::experiments::Logged> = data::run::read_records(&dir)?;
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
        scores: setup.evaluator.score_tensor(samples, Scale::ZeroOne),
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
    let (generator, dir) = shipped_or_trained(
        setup,
        ("gan", "fashion-tuned-mlp"),
        (&config, config.seed),
        |run| gan::epoch::train_run(run, &config, &train, None, selected),
        |state| state.sampled_generator().clone(),
        |dir| Ok(gan::sampling::load_generator(dir, device)?.1),
    )?;
    let generator = &generator;
    let records: Vec<gan::experiments::Logged> = data::run::read_records(&dir)?;
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
        scores: gan::sampling::score_samples(&setup.evaluator, samples, &config),
        grid: gan::sampling::unit_values(grid, config.real_scale),
    })
}
