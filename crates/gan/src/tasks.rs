//! What the `gan` subcommands do, as library functions.

use std::path::{Path, PathBuf};

use data::figure::{digit_grid, save_png};
use data::{ImageSet, SelectedDevice, Split};
use serde_json::json;

use crate::epoch::train_run;
use crate::sampling::{self, EVAL_SEED, load_generator, score_samples, unit_values};
use crate::train::TrainConfig;

/// Trains `config` as run `<runs>/gan/<name>` on `--dataset` (resuming it with `--resume`),
/// then scores `eval_samples` samples of the final generator.
pub fn train(
    config: &TrainConfig,
    default_name: &str,
    args: &data::config::TrainArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    config.validate()?;
    let dataset = args.dataset();
    let train = ImageSet::load(dataset, Split::Train, data_dir)?.limited(config.train_limit);
    anyhow::ensure!(
        train.len() >= config.batch_size,
        "the batch size ({}) is larger than the training set ({} images)",
        config.batch_size,
        train.len()
    );
    let evaluator = if config.eval_samples > 0 {
        Some(eval::Evaluator::load(
            dataset,
            &eval::pretrained_dir(),
            data_dir,
            &selected.device,
        )?)
    } else {
        None
    };
    let mut run = args.open_run("gan", default_name, config, config.seed, selected)?;
    let state = train_run(&mut run, config, &train, evaluator.as_ref(), selected)?;
    let samples = sampling::sample(
        state.sampled_generator(),
        config.model.latent,
        config.eval_samples.max(100),
        EVAL_SEED,
        &selected.device,
    );
    let summary = match &evaluator {
        Some(e) => json!({ "final": score_samples(e, samples, config)? }),
        None => json!({}),
    };
    run.finish(&summary)?;
    println!("trained {}: {}", run.dir.display(), summary);
    Ok(())
}

/// Copies the run's generator (half precision), config, training log and summary to the
/// repository's shipped weights, where the full report profile loads it instead of training.
/// The discriminator stays behind: nothing the report measures samples from it. The
/// per-step records are kept as means over windows of [`SHIPPED_STEP_WINDOW`] steps.
pub fn ship(args: &data::run::ShipArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    let (config, generator) = load_generator(&args.run, &selected.device)?;
    data::run::ship_module(
        args,
        "gan",
        &[],
        config.sampled_generator_name(),
        &generator,
    )?;
    data::run::thin_step_records(
        &args.destination("gan")?.join("metrics.jsonl"),
        SHIPPED_STEP_WINDOW,
    )
}

/// Steps per mean in a shipped run's records: ~47 points an epoch of 468 steps, enough for
/// GAN-Q1's loss curves at a tenth of the bytes.
pub const SHIPPED_STEP_WINDOW: usize = 10;

#[derive(Clone, Debug, clap::Args)]
pub struct SampleArgs {
    /// The run folder, e.g. runs/gan/tuned-mlp.
    #[arg(long)]
    pub run: PathBuf,
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Seed of the latent codes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output PNG (default: <run>/samples.png).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes a grid of `--count` samples.
pub fn sample(args: &SampleArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    anyhow::ensure!(args.count > 0, "--count must be positive");
    let (config, generator) = load_generator(&args.run, &selected.device)?;
    let samples = sampling::sample(
        &generator,
        config.model.latent,
        args.count,
        args.seed,
        &selected.device,
    );
    let cols = (args.count as f64).sqrt().ceil() as usize;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| args.run.join("samples.png"));
    save_png(
        &digit_grid(&unit_values(samples, config.real_scale), cols, None),
        &path,
    )?;
    println!("wrote {}", path.display());
    Ok(())
}

#[derive(Clone, Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The run folder, e.g. runs/gan/tuned-mlp.
    #[arg(long)]
    pub run: PathBuf,
    #[arg(long, default_value_t = 10_000)]
    pub samples: usize,
}

/// Scores `--samples` samples against the data set the run was trained on.
pub fn evaluate(
    args: &EvaluateArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    anyhow::ensure!(args.samples >= 2, "--samples must be at least 2");
    let device = &selected.device;
    let (config, generator) = load_generator(&args.run, device)?;
    let dataset = data::run::run_dataset(&args.run);
    let evaluator = eval::Evaluator::load(dataset, &eval::pretrained_dir(), data_dir, device)?;
    let images = sampling::sample(
        &generator,
        config.model.latent,
        args.samples,
        EVAL_SEED,
        device,
    );
    let scores = score_samples(&evaluator, images, &config)?;
    println!(
        "{}",
        eval::format_scores(&args.run.display().to_string(), &scores)
    );
    Ok(())
}
