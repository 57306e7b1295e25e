//! What the `vae` subcommands do, as library functions.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use data::figure::{digit_grid, save_png, tensor_values};
use data::{ImageBatcher, ImageSet, ImageTransform, SelectedDevice, Split};
use serde_json::json;

use crate::epoch::{EVAL_SEED, binarised_test, sample_means, test_elbo, train_run};
use crate::importance::estimate;
use crate::model::Vae;
use crate::train::TrainConfig;

/// Trains `config` as run `<runs>/vae/<name>` on `--dataset` (resuming it with `--resume`),
/// then measures the final model's test ELBO and sample scores.
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
    let test = ImageSet::load(dataset, Split::Test, data_dir)?;
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
    let mut run = args.open_run("vae", default_name, config, config.seed, selected)?;
    let state = train_run(
        &mut run,
        config,
        &train,
        &test,
        evaluator.as_ref(),
        selected,
    )?;
    let model = state.model.valid();
    let device = &selected.device;
    let elbo = test_elbo(&model, binarised_test(&test, 0, device), EVAL_SEED);
    let scores = (evaluator.as_ref()).map(|e| {
        let samples = sample_means(
            &model,
            config.model.latent,
            config.eval_samples,
            EVAL_SEED,
            device,
        );
        e.score_tensor(samples, data::Scale::ZeroOne)
    });
    let scores = scores.transpose()?;
    let summary = json!({ "test": elbo, "scores": scores });
    run.finish(&summary)?;
    println!("trained {}: {}", run.dir.display(), summary);
    Ok(())
}

/// The config and trained model of the run in `dir` (its newest checkpoint), on `device`.
pub fn load_model(dir: &Path, device: &Device) -> anyhow::Result<(TrainConfig, Vae)> {
    let (config, checkpoint): (TrainConfig, _) = data::run::load_latest(dir, "VAE")?;
    let model = data::run::load_module(&checkpoint, "model", config.model.init(device))?;
    Ok((config, model))
}

/// Copies the run's model (half precision), config, training log and likelihood to the
/// repository's shipped weights, where the full report profile loads it instead of training.
pub fn ship(args: &data::run::ShipArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    let (_, model) = load_model(&args.run, &selected.device)?;
    data::run::ship_module(args, "vae", &["likelihood.json"], "model", &model)
}

#[derive(Clone, Debug, clap::Args)]
pub struct SampleArgs {
    /// The run folder, e.g. runs/vae/strong-mlp.
    #[arg(long)]
    pub run: PathBuf,
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Seed of the prior codes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output PNG (default: <run>/samples.png).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes a grid of `--count` decoded prior samples (Bernoulli means).
pub fn sample(args: &SampleArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    anyhow::ensure!(args.count > 0, "--count must be positive");
    let (config, model) = load_model(&args.run, &selected.device)?;
    let samples = sample_means(
        &model,
        config.model.latent,
        args.count,
        args.seed,
        &selected.device,
    );
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| args.run.join("samples.png"));
    let cols = (args.count as f64).sqrt().ceil() as usize;
    save_png(&digit_grid(&tensor_values(samples), cols, None), &path)?;
    println!("wrote {}", path.display());
    Ok(())
}

#[derive(Clone, Debug, clap::Args)]
pub struct DigitsArgs {
    /// The run folder, e.g. runs/vae/strong-mlp.
    #[arg(long)]
    pub run: PathBuf,
    /// How many test digits (the first ones of the test set).
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    /// Output file (default: in the run folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The first `count` grey test digits and their labels.
fn test_digits(
    run: &Path,
    count: usize,
    data_dir: Option<&Path>,
    device: &Device,
) -> anyhow::Result<(Tensor<2>, Vec<u8>)> {
    anyhow::ensure!(count > 0, "--count must be positive");
    let test = ImageSet::load(data::run::run_dataset(run), Split::Test, data_dir)?;
    let indices: Vec<usize> = (0..count.min(test.len())).collect();
    let batch = ImageBatcher::new(ImageTransform::default()).batch_indices(&test, &indices, device);
    let labels = indices.iter().map(|&i| test.label(i)).collect();
    Ok((batch.images, labels))
}

/// Writes the posterior means of test digits as CSV: label, then one column per latent
/// dimension (default: <run>/codes.csv).
pub fn encode(
    args: &DigitsArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let (config, model) = load_model(&args.run, &selected.device)?;
    let (images, labels) = test_digits(&args.run, args.count, data_dir, &selected.device)?;
    let means = tensor_values(model.encode(images).mean);
    let latent = config.model.latent;
    let mut csv = String::from("label");
    (0..latent).for_each(|j| csv.push_str(&format!(",z{j}")));
    csv.push('\n');
    for (i, label) in labels.iter().enumerate() {
        csv.push_str(&label.to_string());
        means[i * latent..(i + 1) * latent]
            .iter()
            .for_each(|v| csv.push_str(&format!(",{v}")));
        csv.push('\n');
    }
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| args.run.join("codes.csv"));
    data::run::write_atomically(&path, |w| std::io::Write::write_all(w, csv.as_bytes()))?;
    println!(
        "wrote {} ({} digits, latent {latent})",
        path.display(),
        labels.len()
    );
    Ok(())
}

/// Writes test digits (odd rows) above their reconstructions from the posterior means (even
/// rows), 10 per row (default: <run>/reconstructions.png).
pub fn reconstruct(
    args: &DigitsArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let (_, model) = load_model(&args.run, &selected.device)?;
    let (images, _) = test_digits(&args.run, args.count.min(100), data_dir, &selected.device)?;
    let recon = sigmoid(model.decode(model.encode(images.clone()).mean));
    let (originals, recon) = (tensor_values(images), tensor_values(recon));
    let row = 10 * data::PIXELS;
    let values: Vec<f32> = originals
        .chunks(row)
        .zip(recon.chunks(row))
        .flat_map(|(o, r)| o.iter().chain(r).copied())
        .collect();
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| args.run.join("reconstructions.png"));
    save_png(&digit_grid(&values, 10, None), &path)?;
    println!("wrote {}", path.display());
    Ok(())
}

#[derive(Clone, Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The run folder, e.g. runs/vae/strong-mlp.
    #[arg(long)]
    pub run: PathBuf,
    /// Importance samples per test digit (k of the IWAE bound).
    #[arg(long, default_value_t = 5000)]
    pub samples: usize,
    /// How many test digits (the first ones; their fixed binary sample).
    #[arg(long, default_value_t = 1000)]
    pub images: usize,
}

/// The importance-sampled log-likelihood and the ELBO of the binarised test digits; written
/// to `<run>/likelihood.json`.
pub fn evaluate(
    args: &EvaluateArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.samples > 0 && args.images > 0,
        "--samples and --images must be positive"
    );
    let device = &selected.device;
    let (_, model) = load_model(&args.run, device)?;
    let test = ImageSet::load(data::run::run_dataset(&args.run), Split::Test, data_dir)?;
    let images = binarised_test(&test, args.images, device);
    let started = std::time::Instant::now();
    let elbo = test_elbo(&model, images.clone(), EVAL_SEED);
    let likelihood = estimate(&model, images, args.samples, EVAL_SEED, device);
    let result = json!({ "elbo": elbo, "importance": likelihood,
        "seconds": started.elapsed().as_secs_f64() });
    data::run::write_json(&args.run.join("likelihood.json"), &result)?;
    println!(
        "{}: log p(x) >= {:.2} +- {:.2} nats (k = {}, {} test digits); ELBO {:.2}",
        args.run.display(),
        likelihood.mean,
        likelihood.standard_error,
        likelihood.samples,
        likelihood.images,
        elbo.elbo
    );
    Ok(())
}
