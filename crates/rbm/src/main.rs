//! `cargo run --release -p rbm -- train | evaluate | sample | reconstruct | inpaint`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::{Device, Distribution, Tensor};
use clap::{Args, Parser, Subcommand};
use data::figure::{digit_grid, save_png, tensor_values};
use data::{
    CommonArgs, DataSetName, ImageBatcher, ImageSet, ImageTransform, Mask, Run, RunOptions, Split,
};
use rbm::ais::{AisConfig, base_rate_bias, estimate_log_z, mean_log_likelihood};
use rbm::inpaint::{Completion, complete, missing_mse};
use rbm::train::{InputMode, Preset, RbmState, TrainConfig, train_epoch};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "rbm",
    about = "Bernoulli RBMs on MNIST: train, evaluate (AIS), sample, reconstruct, inpaint"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train an RBM from a preset, optionally overriding its settings.
    Train(Box<TrainArgs>),
    /// Estimate the test log-likelihood by annealed importance sampling.
    Evaluate {
        /// The run folder, e.g. runs/rbm/course.
        #[arg(long)]
        run: PathBuf,
        #[arg(long, default_value_t = 100)]
        chains: usize,
        /// Intermediate distributions; the estimate is repeated with 4x as many to check it
        /// has converged.
        #[arg(long, default_value_t = 14_500)]
        betas: usize,
        /// Test images the log-likelihood is averaged over.
        #[arg(long, default_value_t = 10_000)]
        test_images: usize,
    },
    /// Run Gibbs chains and write a grid of their states after each number of steps.
    Sample {
        #[arg(long)]
        run: PathBuf,
        /// Numbers of Gibbs steps after which the chains are shown.
        #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000")]
        steps: Vec<usize>,
        /// Start from test digits instead of uniform noise.
        #[arg(long)]
        from_test: bool,
        #[arg(long, default_value_t = 10)]
        chains: usize,
    },
    /// Run the experiment answering one study question and write its report section.
    Experiment {
        /// RBM-Q1, RBM-Q3, RBM-Q4 or RBM-Q5 (RBM-Q4 also writes RBM-Q5).
        id: String,
        #[command(flatten)]
        args: data::section::ExperimentArgs,
    },
    /// Mean-field reconstructions of unseen test digits.
    Reconstruct {
        #[arg(long)]
        run: PathBuf,
        #[arg(long, default_value_t = 20)]
        count: usize,
    },
    /// Fill in hidden parts of test digits with the known pixels clamped.
    Inpaint {
        #[arg(long)]
        run: PathBuf,
        /// How the missing pixels are filled in.
        #[arg(long, value_enum, default_value_t = Completion::Clamped)]
        how: Completion,
        /// The hidden part, as JSON, e.g. '{"kind":"top-rows","n":8}'.
        #[arg(long, default_value = r#"{"kind":"bottom-rows","n":12}"#)]
        mask: String,
        #[arg(long, default_value_t = 100)]
        gibbs_steps: usize,
        #[arg(long, default_value_t = 20)]
        count: usize,
    },
}

#[derive(Args)]
struct TrainArgs {
    #[arg(long, value_enum, default_value_t = Preset::Course)]
    preset: Preset,
    /// A JSON config file (as saved in a run's config.json "config"), instead of a preset.
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    hidden: Option<usize>,
    #[arg(long)]
    learning_rate: Option<f64>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    gibbs_steps: Option<usize>,
    /// Persistent chains (PCD) or restarts at the data (CD).
    #[arg(long)]
    persistent: Option<bool>,
    #[arg(long)]
    momentum: Option<f64>,
    /// Epochs at --momentum before switching to --final-momentum (0: never switch).
    #[arg(long)]
    momentum_epochs: Option<usize>,
    #[arg(long)]
    final_momentum: Option<f64>,
    #[arg(long)]
    weight_decay: Option<f64>,
    #[arg(long, value_enum)]
    input: Option<InputMode>,
    #[arg(long)]
    seed: Option<u64>,
    /// Train on the first N training images only.
    #[arg(long)]
    train_limit: Option<usize>,
    #[command(flatten)]
    run: RunOptions,
}

impl TrainArgs {
    fn config(&self) -> anyhow::Result<TrainConfig> {
        let mut c = match &self.config {
            Some(path) => data::run::read_json(path)?,
            None => self.preset.config(),
        };
        if let Some(v) = self.hidden {
            c.model.hidden = v;
        }
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(v) = self.$field { c.$field = v; })* };
        }
        set!(
            learning_rate,
            batch_size,
            epochs,
            gibbs_steps,
            persistent,
            momentum,
            momentum_epochs,
            final_momentum,
            weight_decay,
            input,
            seed,
            train_limit
        );
        anyhow::ensure!(
            c.batch_size > 0 && c.gibbs_steps > 0 && c.epochs > 0,
            "batch size, Gibbs steps and epochs must be positive"
        );
        Ok(c)
    }
}

fn main() {
    data::exit_on_error(|| run(Cli::parse()));
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let selected = cli.common.device()?;
    let device = selected.device.clone();
    let data_dir = cli.common.data_dir.as_deref();
    if let Command::Experiment { id, args } = &cli.command {
        let ctx = rbm::experiments::context(args, &selected, data_dir)?;
        return rbm::experiments::run(id, &ctx);
    }
    let test = ImageSet::load(DataSetName::Mnist, Split::Test, data_dir)?;
    match cli.command {
        Command::Experiment { .. } => unreachable!("handled above"),
        Command::Train(args) => {
            let config = args.config()?;
            let mut train = ImageSet::load(DataSetName::Mnist, Split::Train, data_dir)?;
            if config.train_limit > 0 {
                train = train.truncated(config.train_limit);
            }
            let mut run = Run::start(
                "rbm",
                args.preset.name(),
                &args.run,
                &config,
                config.seed,
                &selected,
            )?;
            device.seed(config.seed);
            let state = RbmState::new(&config, &device);
            let state = run.train_epochs(state, config.epochs, |state, epoch| {
                train_epoch(state, epoch, &train, &test, &config, &device)
            })?;
            let metrics = rbm::train::monitor(&state.rbm, &train, &test, &config, &device);
            run.finish(json!({ "final": metrics }))?;
            println!("trained {}: {}", run.dir.display(), json!(metrics));
        }
        Command::Evaluate {
            run,
            chains,
            betas,
            test_images,
        } => {
            let (config, state) = load_run(&run, &device)?;
            let train = ImageSet::load(DataSetName::Mnist, Split::Train, data_dir)?;
            let means: Vec<f32> = rbm::experiments::pixel_means(&train, &config);
            let base = base_rate_bias(&means, train.len());
            let test_v = images(&test.clone().truncated(test_images), &config, &device);
            let mut results = Vec::new();
            let mut estimates = Vec::new();
            for factor in [1, 4] {
                let ais = AisConfig::new()
                    .with_chains(chains)
                    .with_betas(betas * factor)
                    .with_seed(config.seed);
                let started = std::time::Instant::now();
                let estimate = estimate_log_z(&state.rbm, &base, &ais, &device);
                let ll = mean_log_likelihood(&state.rbm, test_v.clone(), estimate.log_z);
                println!(
                    "AIS {} chains x {} temperatures: log Z = {:.2} (+3se {:.2}, -3se {}), ESS {:.1}; test log-likelihood {:.2} nats ({:.0} s)",
                    chains,
                    betas * factor,
                    estimate.log_z,
                    estimate.log_z_high,
                    estimate
                        .log_z_low
                        .map_or("-inf".into(), |l| format!("{l:.2}")),
                    estimate.effective_sample_size,
                    ll,
                    started.elapsed().as_secs_f64()
                );
                results.push(json!({ "estimate": estimate, "test_log_likelihood": ll, "test_images": test_v.dims()[0] }));
                estimates.push(estimate);
            }
            if state.rbm.hidden() <= 20 {
                let exact = rbm::ais::exact_log_z(&state.rbm, &device);
                let ll = mean_log_likelihood(&state.rbm, test_v.clone(), exact);
                println!(
                    "exact (2^{} hidden states enumerated): log Z = {exact:.2}; test log-likelihood {ll:.2} nats",
                    state.rbm.hidden()
                );
                results.push(json!({ "exact_log_z": exact, "test_log_likelihood": ll }));
            }
            let verdict = rbm::ais::convergence(&estimates[0], &estimates[1]);
            if verdict.converged {
                println!(
                    "converged: log Z moved by {:.2} nats with the 4x longer schedule, ESS {:.0}% of the chains",
                    verdict.log_z_shift,
                    100.0 * verdict.ess_fraction
                );
            } else {
                println!(
                    "NOT converged ({}): do not report this estimate as a result; try more --chains or --betas",
                    verdict.problems.join("; ")
                );
            }
            data::run::write_json(
                &run.join("ais.json"),
                &json!({ "runs": results, "convergence": verdict }),
            )?;
        }
        Command::Sample {
            run,
            steps,
            from_test,
            chains,
        } => {
            let (config, state) = load_run(&run, &device)?;
            let start = if from_test {
                images(&test.clone().truncated(chains), &config, &device)
            } else {
                Tensor::<2>::random(
                    [chains, config.model.visible],
                    Distribution::Bernoulli(0.5),
                    &device,
                )
            };
            let mut rows = vec![tensor_values(start.clone())];
            let mut v = start;
            let mut done = 0;
            let mut steps = steps;
            steps.sort_unstable();
            for target in &steps {
                let state_k = state.rbm.gibbs_from_visible(v, target - done);
                rows.push(tensor_values(state_k.visible_probabilities));
                v = state_k.visible;
                done = *target;
            }
            let labels = std::iter::once("start".to_string())
                .chain(steps.iter().map(|s| format!("{s} steps")))
                .flat_map(|l| std::iter::repeat_n(l, chains))
                .collect();
            let path = run.join("figures").join(if from_test {
                "samples-from-test.png"
            } else {
                "samples-from-noise.png"
            });
            write_grid(&rows.concat(), chains, Some(labels), &path)?;
        }
        Command::Reconstruct { run, count } => {
            let (config, state) = load_run(&run, &device)?;
            let v = images(&test.clone().truncated(count), &config, &device);
            let reconstruction = state.rbm.reconstruct(v.clone());
            let error = (reconstruction.clone() - v.clone())
                .powi_scalar(2)
                .mean()
                .into_scalar::<f32>();
            let path = run.join("figures/reconstructions.png");
            write_grid(
                &[tensor_values(v), tensor_values(reconstruction)].concat(),
                count,
                None,
                &path,
            )?;
            println!("reconstruction MSE {error:.5} on {count} test digits");
        }
        Command::Inpaint {
            run,
            how,
            mask,
            gibbs_steps,
            count,
        } => {
            let (config, state) = load_run(&run, &device)?;
            let mask: Mask = serde_json::from_str(&mask)
                .context("--mask: e.g. '{\"kind\":\"top-rows\",\"n\":8}'")?;
            let batcher = ImageBatcher::new(ImageTransform {
                mask: Some(mask),
                ..config.transform()
            });
            let indices: Vec<usize> = (0..count.min(test.len())).collect();
            let batch = batcher.batch_indices(&test, &indices, &device);
            let known = batch
                .known
                .clone()
                .expect("a masked batch carries its mask");
            let clean = batch
                .clean
                .clone()
                .expect("a masked batch carries the clean images");
            let completed = complete(
                &state.rbm,
                batch.images.clone(),
                known.clone(),
                gibbs_steps,
                how,
            );
            let error = missing_mse(completed.clone(), clean.clone(), known);
            let path = run
                .join("figures")
                .join(format!("inpaint-{}.png", mask.label()));
            write_grid(
                &[
                    tensor_values(clean),
                    tensor_values(batch.images),
                    tensor_values(completed),
                ]
                .concat(),
                count,
                None,
                &path,
            )?;
            println!("mean squared error on the missing pixels: {error:.5}");
        }
    }
    Ok(())
}

/// Reads a run's config and newest checkpoint.
fn load_run(dir: &Path, device: &Device) -> anyhow::Result<(TrainConfig, RbmState)> {
    let record: serde_json::Value = data::run::read_json(&dir.join("config.json"))?;
    let config: TrainConfig =
        serde_json::from_value(record["config"].clone()).context("the run's config")?;
    let latest = data::run::latest_checkpoint(dir)?
        .with_context(|| format!("{} has no checkpoint: train it first", dir.display()))?;
    let state = RbmState::new(&config, device);
    let state = data::Checkpointable::load(state, &dir.join("checkpoints").join(&latest.folder))?;
    Ok((config, state))
}

/// All images of `set` as the model sees them (binarised as in training; dynamic
/// binarisation draws the epoch-0 sample).
fn images(set: &ImageSet, config: &TrainConfig, device: &Device) -> Tensor<2> {
    let indices: Vec<usize> = (0..set.len()).collect();
    ImageBatcher::new(config.transform())
        .batch_indices(set, &indices, device)
        .images
}

fn write_grid(
    values: &[f32],
    cols: usize,
    labels: Option<Vec<String>>,
    path: &Path,
) -> anyhow::Result<()> {
    let grid = digit_grid(values, cols, labels);
    save_png(&grid, path)?;
    println!("wrote {}", path.display());
    Ok(())
}
