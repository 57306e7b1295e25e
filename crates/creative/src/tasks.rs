//! What the `creative` subcommands do, as library functions.

use std::path::{Path, PathBuf};

use data::figure::{digit_grid, save_png};
use data::run::{Resumed, epoch_progress};
use data::{ImageSet, SelectedDevice, Split};
use serde_json::json;

use crate::sample::{Request, Sampler, SamplingArgs, class_index, sample, unit_values};
use crate::train::{DiffusionState, TrainConfig};
use crate::unet::UNet;

/// Images per class in the grid written after every epoch.
const GRID_PER_CLASS: usize = 4;
/// DDIM steps of that grid: enough for recognisable samples, cheap next to an epoch.
const GRID_DDIM_STEPS: usize = 25;
/// Guidance scale of that grid.
const GRID_GUIDANCE: f64 = 2.0;
/// DDIM steps and guidance of the scores taken during training (`score_every`): `evaluate`'s
/// defaults, so with the run's seed at 0 the last score is what `evaluate` would measure.
const SCORE_DDIM_STEPS: usize = 50;
const SCORE_GUIDANCE: f64 = 2.0;

/// A grid of `per_class` samples of every class (one row per class) from `model`.
pub fn class_grid(
    model: &UNet,
    config: &TrainConfig,
    per_class: usize,
    request: (f64, Sampler, u64),
    device: &burn::tensor::Device,
) -> Vec<f32> {
    let (guidance, sampler, seed) = request;
    let classes = (0..config.model.classes)
        .flat_map(|c| std::iter::repeat_n(c, per_class))
        .collect();
    let request = Request {
        classes,
        guidance,
        sampler,
        seed,
    };
    unit_values(sample(
        model,
        &config.noise_schedule(),
        config.model.classes,
        &request,
        device,
    ))
}

/// Trains `config` as run `<runs>/creative/<name>` on `--dataset` (resuming it with
/// `--resume`); after every epoch a grid of EMA samples, one row per class, goes to
/// `<run>/samples/epoch-NNN.png`.
pub fn train(
    config: &TrainConfig,
    default_name: &str,
    args: &data::config::TrainArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    config.validate()?;
    let train = ImageSet::load(args.dataset(), Split::Train, data_dir)?.limited(config.train_limit);
    anyhow::ensure!(
        train.len() >= config.batch_size,
        "the batch size ({}) is larger than the training set ({} images)",
        config.batch_size,
        train.len()
    );
    let device = selected.autodiff();
    let plain = selected.device.clone();
    device.seed(config.seed);
    let mut run = args.open_run("creative", default_name, config, config.seed, selected)?;
    let Resumed {
        mut state,
        first_epoch,
    } = run.resume(DiffusionState::new(config, &device), config.epochs)?;
    let evaluator = (config.score_every.is_some())
        .then(|| eval::Evaluator::load(args.dataset(), &eval::pretrained_dir(), data_dir, &plain))
        .transpose()?;
    let mut progress = epoch_progress(first_epoch, config.epochs);
    for epoch in first_epoch..config.epochs {
        let mut record = state.train_epoch(epoch, &train, config, &device);
        data::run::ensure_not_diverged(epoch, &[("loss", record.loss)])?;
        let sampler = Sampler::Ddim {
            steps: GRID_DDIM_STEPS,
        };
        let grid = class_grid(
            &state.ema.model,
            config,
            GRID_PER_CLASS,
            (GRID_GUIDANCE, sampler, config.seed ^ 0xF1),
            &plain,
        );
        run.save_sample_grid(epoch, &grid, GRID_PER_CLASS)?;
        if let Some(evaluator) = evaluator.as_ref().filter(|_| config.scores_after(epoch)) {
            record.evaluation = Some(score(&state.ema.model, config, evaluator, epoch, &plain)?);
        }
        run.end_epoch(epoch, config.epochs, &state, &record, &mut progress)?;
    }
    progress.finish();
    let summary = json!({ "ema_updates": state.ema.updates });
    run.finish(&summary)?;
    println!("trained {}", run.dir.display());
    Ok(())
}

/// Scores `score_samples` samples of `model` after `epoch` as the shipped model is evaluated,
/// and prints FID, KID and class accuracy.
fn score(
    model: &UNet,
    config: &TrainConfig,
    evaluator: &eval::Evaluator,
    epoch: usize,
    device: &burn::tensor::Device,
) -> anyhow::Result<crate::evaluate::Evaluation> {
    let sampler = Sampler::Ddim {
        steps: SCORE_DDIM_STEPS,
    };
    let request = (config.score_samples(), SCORE_GUIDANCE, sampler, config.seed);
    let evaluation = crate::evaluate::measure(model, config, evaluator, request, device)?;
    let kid = (evaluation.scores.verdict.as_ref()).map_or(f64::NAN, |v| v.kid.kid);
    println!(
        "epoch {}: FID {:.2}, KID {:.4}, class accuracy {:.1}% ({} samples)",
        epoch + 1,
        evaluation.scores.fid,
        kid,
        100.0 * evaluation.class_accuracy,
        evaluation.samples
    );
    Ok(evaluation)
}

/// The config and the EMA weights of the run in `dir` (its newest checkpoint).
pub fn load_model(
    dir: &Path,
    device: &burn::tensor::Device,
) -> anyhow::Result<(TrainConfig, UNet)> {
    let (config, checkpoint): (TrainConfig, _) = data::run::load_latest(dir, "diffusion")?;
    let model = data::run::load_module(&checkpoint, "ema", config.model.init(device))?;
    Ok((config, model))
}

/// The name of the shipped run, `data/pretrained/creative/full`: the `full` preset.
pub const SHIPPED: &str = "full";

/// The run folder `run` names, or the shipped weights when it is left out.
pub fn run_or_shipped(run: Option<&Path>) -> anyhow::Result<PathBuf> {
    match run {
        Some(dir) => Ok(dir.to_owned()),
        None => data::run::shipped("creative", SHIPPED).ok_or_else(|| {
            anyhow::anyhow!(
                "no --run given and no shipped weights at {}: train a model with \
                 `cargo run --release -p creative -- train` and pass --run runs/creative/full",
                data::run::shipped_dir("creative", SHIPPED).display()
            )
        }),
    }
}

/// Copies the run's EMA weights (half precision), config, training log and evaluation to
/// the repository's shipped weights.
pub fn ship(args: &data::run::ShipArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    let (_, model) = load_model(&args.run, &selected.device)?;
    data::run::ship_module(args, "creative", &["evaluation.json"], "ema", &model)
}

#[derive(Clone, Debug, clap::Args)]
pub struct SampleArgs {
    /// The run folder, e.g. runs/creative/full (default: the shipped weights).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// A class name or index (sneaker, T-shirt, 7, ...); all ten classes, one row each, if left out.
    #[arg(long)]
    pub class: Option<String>,
    /// Images (of the class, or per class).
    #[arg(long, default_value_t = 8)]
    pub count: usize,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Output PNG (default: <run>/figures/samples.png, or creative-samples.png here for
    /// the shipped weights).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes a grid of samples of one class or of every class.
pub fn sample_grid(args: &SampleArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    anyhow::ensure!(args.count > 0, "--count must be positive");
    let run = run_or_shipped(args.run.as_deref())?;
    let (config, model) = load_model(&run, &selected.device)?;
    let sampler = args.sampling.sampler()?;
    let started = std::time::Instant::now();
    let (values, cols) = match &args.class {
        Some(name) => {
            let class = class_index(name)?;
            let request = Request {
                classes: vec![class; args.count],
                guidance: args.sampling.guidance,
                sampler,
                seed: args.sampling.seed,
            };
            let images = sample(
                &model,
                &config.noise_schedule(),
                config.model.classes,
                &request,
                &selected.device,
            );
            (
                unit_values(images),
                (args.count as f64).sqrt().ceil() as usize,
            )
        }
        None => (
            class_grid(
                &model,
                &config,
                args.count,
                (args.sampling.guidance, sampler, args.sampling.seed),
                &selected.device,
            ),
            args.count,
        ),
    };
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| data::run::output_path("creative", args.run.as_deref(), "samples.png"));
    save_png(&digit_grid(&values, cols, None), &path)?;
    println!(
        "wrote {} ({} images in {:.1} s)",
        path.display(),
        values.len() / data::PIXELS,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
