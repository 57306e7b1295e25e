//! What the `rbm` subcommands do, as library functions: training a run, estimating its
//! likelihood by AIS, Gibbs sampling, reconstructions and inpainting.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::{Device, Distribution, Tensor};
use data::figure::{digit_grid, save_png, tensor_values};
use data::run::{Resumed, epoch_progress};
use data::{DataSetName, ImageBatcher, ImageSet, ImageTransform, Mask, SelectedDevice, Split};
use serde_json::json;

use crate::ais::{
    AisConfig, AisEvaluation, ExactScore, LogZEstimate, ScheduleScore, base_rate_bias,
    estimate_log_z, mean_log_likelihood,
};
use crate::inpaint::{Completion, complete, missing_mse};
use crate::train::{InputMode, RbmState, TrainConfig, monitor, train_epoch};

/// Trains `config` as run `<runs>/rbm/<name>` on `--dataset` (resuming it with `--resume`).
pub fn train(
    config: &TrainConfig,
    default_name: &str,
    args: &data::config::TrainArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.batch_size > 0 && config.gibbs_steps > 0 && config.epochs > 0,
        "batch_size, gibbs_steps and epochs must be positive (change them with --set)"
    );
    anyhow::ensure!(
        config.model.hidden > 0
            && config.model.visible == data::PIXELS
            && config.monitor_images > 0,
        "model.hidden ({}) and monitor_images ({}) must be positive and model.visible ({}) must \
         be {} (one unit per pixel; change them with --set)",
        config.model.hidden,
        config.monitor_images,
        config.model.visible,
        data::PIXELS
    );
    anyhow::ensure!(
        config.learning_rate.is_finite()
            && config.learning_rate > 0.0
            && config.weight_decay >= 0.0
            && (0.0..1.0).contains(&config.momentum)
            && (0.0..1.0).contains(&config.final_momentum),
        "learning_rate ({}) must be positive and finite, weight_decay ({}) at least 0, and \
         momentum ({}) and final_momentum ({}) in [0, 1) (change them with --set)",
        config.learning_rate,
        config.weight_decay,
        config.momentum,
        config.final_momentum
    );
    anyhow::ensure!(
        config.final_gibbs_steps == 0 || config.gibbs_ramp_epochs > 0,
        "final_gibbs_steps = {} needs gibbs_ramp_epochs > 0 (the epochs over which k rises; \
         change it with --set gibbs_ramp_epochs=N)",
        config.final_gibbs_steps
    );
    anyhow::ensure!(
        config.learning_rate_decay > 0.0 && config.learning_rate_decay <= 1.0,
        "learning_rate_decay = {} must be in (0, 1] (1 keeps the rate constant)",
        config.learning_rate_decay
    );
    let (device, dataset) = (&selected.device, args.dataset());
    let test = ImageSet::load(dataset, Split::Test, data_dir)?;
    let train = ImageSet::load(dataset, Split::Train, data_dir)?.limited(config.train_limit);
    let mut run = args.open_run("rbm", default_name, config, config.seed, selected)?;
    device.seed(config.seed);
    let Resumed {
        mut state,
        first_epoch,
    } = run.resume(RbmState::new(config, device), config.epochs)?;
    let mut progress = epoch_progress(first_epoch, config.epochs);
    for epoch in first_epoch..config.epochs {
        let record = train_epoch(&mut state, epoch, &train, &test, config, device)?;
        data::run::ensure_finite(
            epoch,
            &[
                ("test_reconstruction_mse", record.test_reconstruction_mse),
                ("pseudo_likelihood_exact", record.pseudo_likelihood_exact),
            ],
        )?;
        run.end_epoch(epoch, config.epochs, &state, &record, &mut progress)?;
    }
    progress.finish();
    let metrics = monitor(&state.rbm, &train, &test, config, device);
    run.finish(json!({ "final": metrics }))?;
    println!("trained {}: {}", run.dir.display(), json!(metrics));
    Ok(())
}

/// The file (`<name>.bpk`) of a shipped run's checkpoint that holds the RBM.
const SHIPPED_RBM: &str = "rbm";

/// Copies the run's RBM (half precision), config, training log and AIS result to the
/// repository's shipped weights.
pub fn ship(args: &data::run::ShipArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    let trained = Trained::load(&args.run, &selected.device)?;
    data::run::ship_module(
        args,
        "rbm",
        &[
            "ais.json",
            "ais-test-dynamic.json",
            "ais-test-threshold.json",
        ],
        SHIPPED_RBM,
        &trained.state.rbm,
    )
}

/// A trained run: its config, newest checkpoint and the data set it was trained on.
pub struct Trained {
    pub dir: PathBuf,
    pub config: TrainConfig,
    pub state: RbmState,
    pub dataset: DataSetName,
}

impl Trained {
    pub fn load(dir: &Path, device: &Device) -> anyhow::Result<Self> {
        let (config, checkpoint): (TrainConfig, _) = data::run::load_latest(dir, "RBM")?;
        let mut state = RbmState::new(&config, device);
        if checkpoint.join(format!("{SHIPPED_RBM}.bpk")).is_file() {
            // A shipped run: the RBM alone; momentum and chains start afresh.
            state.rbm = data::run::load_module(&checkpoint, SHIPPED_RBM, state.rbm)?;
        } else {
            state = data::Checkpointable::load(state, &checkpoint)?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            dataset: data::run::run_dataset(dir),
            config,
            state,
        })
    }

    fn set(&self, split: Split, data_dir: Option<&Path>) -> anyhow::Result<ImageSet> {
        Ok(ImageSet::load(self.dataset, split, data_dir)?)
    }

    /// The first `count` images of `set` as the model sees them (binarised as in training;
    /// dynamic binarisation draws the epoch-0 sample).
    pub fn images(&self, set: &ImageSet, count: usize, device: &Device) -> Tensor<2> {
        self.images_as(self.config.input, set, count, device)
    }

    /// The same images presented as `input` says (a likelihood compares runs trained on
    /// differently binarised digits only on the same test digits).
    pub fn images_as(
        &self,
        input: InputMode,
        set: &ImageSet,
        count: usize,
        device: &Device,
    ) -> Tensor<2> {
        let indices: Vec<usize> = (0..count.min(set.len())).collect();
        ImageBatcher::new(self.config.clone().with_input(input).transform())
            .batch_indices(set, &indices, device)
            .images
    }

    fn write_grid(
        &self,
        file: &str,
        values: &[f32],
        cols: usize,
        labels: Option<Vec<String>>,
    ) -> anyhow::Result<()> {
        let path = self.dir.join("figures").join(file);
        save_png(&digit_grid(values, cols, labels), &path)?;
        println!("wrote {}", path.display());
        Ok(())
    }
}

#[derive(Clone, Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The run folder, e.g. runs/rbm/course.
    #[arg(long)]
    pub run: PathBuf,
    #[command(flatten)]
    pub ais: AisArgs,
    /// How the test digits are binarised for the score (default: as the run was trained);
    /// several, comma-separated, are scored against the same log Z. `dynamic` draws them
    /// stochastically, as the published scores do; a run scored another way than it was
    /// trained writes `ais-test-<input>.json` beside its `ais.json`.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub test_input: Vec<InputMode>,
}

impl EvaluateArgs {
    /// The binarisations to score, each once, in the order asked: the training one when none
    /// was asked for.
    pub fn test_inputs(&self, trained_as: InputMode) -> Vec<InputMode> {
        let mut inputs: Vec<InputMode> = Vec::new();
        for &input in &self.test_input {
            if !inputs.contains(&input) {
                inputs.push(input);
            }
        }
        if inputs.is_empty() {
            inputs.push(trained_as);
        }
        inputs
    }
}

/// Where `evaluate` writes its result: `ais.json` for test digits presented as in training,
/// `ais-test-<input>.json` otherwise.
pub fn ais_file(trained_as: InputMode, tested_as: InputMode) -> String {
    if trained_as == tested_as {
        "ais.json".into()
    } else {
        format!("ais-test-{}.json", input_name(tested_as))
    }
}

/// The input mode as the command line spells it.
pub fn input_name(input: InputMode) -> String {
    clap::ValueEnum::to_possible_value(&input)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// How the likelihood is estimated: AIS chains and temperatures, test images (the rbm and
/// dbm crates' `evaluate` share them).
#[derive(Clone, Debug, clap::Args)]
pub struct AisArgs {
    /// Annealing chains (at least 2: the effective sample size needs a spread of weights).
    #[arg(long, default_value_t = 100, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..))]
    pub chains: usize,
    /// Intermediate distributions, at least 2 (from the base rate model to the RBM); the
    /// estimate is repeated with 4x as many to check it has converged.
    #[arg(long, default_value_t = 14_500, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..))]
    pub betas: usize,
    /// Test images the log-likelihood is averaged over (at least 1).
    #[arg(long, default_value_t = 10_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub test_images: usize,
}

/// AIS with `--betas` and 4x as many temperatures, the exact value for small models, the
/// convergence verdict; written to `<run>/ais.json`.
pub fn evaluate(
    args: &EvaluateArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let device = &selected.device;
    let trained = Trained::load(&args.run, device)?;
    let (config, rbm) = (&trained.config, &trained.state.rbm);
    let train = trained.set(Split::Train, data_dir)?;
    let test_set = trained.set(Split::Test, data_dir)?;
    let tested: Vec<(InputMode, Tensor<2>)> = args
        .test_inputs(config.input)
        .into_iter()
        .map(|input| {
            let images = trained.images_as(input, &test_set, args.ais.test_images, device);
            (input, images)
        })
        .collect();
    for (input, _) in &tested {
        println!(
            "test digits: {} ({})",
            input_name(*input),
            if *input == config.input {
                "as in training"
            } else {
                "not as in training"
            }
        );
    }
    let base = base_rate_bias(&config.pixel_means(&train), train.len());
    let short = log_z(rbm, &base, args, config.seed, 1, device);
    let long = log_z(rbm, &base, args, config.seed, 4, device);
    let exact = (rbm.hidden() <= 20).then(|| {
        let exact = crate::ais::exact_log_z(rbm, device);
        println!(
            "exact (2^{} hidden states enumerated): log Z = {exact:.2}",
            rbm.hidden()
        );
        exact
    });
    let convergence = crate::ais::convergence(&short, &long);
    if convergence.converged {
        println!(
            "converged: log Z moved by {:.2} nats with the 4x longer schedule, ESS {:.0}% of the chains",
            convergence.log_z_shift,
            100.0 * convergence.ess_fraction
        );
    } else {
        println!(
            "NOT converged ({}): do not report this estimate as a result; try more --chains or --betas",
            convergence.problems.join("; ")
        );
    }
    for (input, test_v) in tested {
        let score = |log_z: f64| {
            let ll = mean_log_likelihood(rbm, test_v.clone(), log_z);
            println!(
                "  test log-likelihood ({}, log Z {log_z:.2}): {ll:.2} nats",
                input_name(input)
            );
            ll
        };
        let evaluation = AisEvaluation {
            test_input: input,
            test_images: test_v.dims()[0],
            short: ScheduleScore {
                test_log_likelihood: score(short.log_z),
                estimate: short.clone(),
            },
            long: ScheduleScore {
                test_log_likelihood: score(long.log_z),
                estimate: long.clone(),
            },
            exact: exact.map(|log_z| ExactScore {
                log_z,
                test_log_likelihood: score(log_z),
            }),
            convergence: convergence.clone(),
        };
        data::run::write_json(&args.run.join(ais_file(config.input, input)), &evaluation)?;
    }
    Ok(())
}

/// AIS with `factor` times `--betas` temperatures, printed as it is reported.
fn log_z(
    rbm: &crate::model::Rbm,
    base: &[f32],
    args: &EvaluateArgs,
    seed: u64,
    factor: usize,
    device: &Device,
) -> LogZEstimate {
    let ais = AisConfig::new()
        .with_chains(args.ais.chains)
        .with_betas(args.ais.betas * factor)
        .with_seed(seed);
    let started = std::time::Instant::now();
    let estimate = estimate_log_z(rbm, base, &ais, device);
    println!(
        "AIS {} chains x {} temperatures: log Z = {:.2} (+3se {:.2}, -3se {}), ESS {:.1} ({:.0} s)",
        ais.chains,
        ais.betas,
        estimate.log_z,
        estimate.log_z_high,
        estimate
            .log_z_low
            .map_or("-inf".into(), |l| format!("{l:.2}")),
        estimate.effective_sample_size,
        started.elapsed().as_secs_f64()
    );
    estimate
}

#[derive(Clone, Debug, clap::Args)]
pub struct SampleArgs {
    /// The run folder, e.g. runs/rbm/course.
    #[arg(long)]
    pub run: PathBuf,
    /// Numbers of Gibbs steps after which the chains are shown.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000")]
    pub steps: Vec<usize>,
    /// Start from test digits instead of uniform noise.
    #[arg(long)]
    pub from_test: bool,
    #[arg(long, default_value_t = 10)]
    pub chains: usize,
}

/// Writes `<run>/figures/samples-from-{noise,test}.png`: the chains after each of `--steps`.
pub fn sample(
    args: &SampleArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let device = &selected.device;
    let trained = Trained::load(&args.run, device)?;
    let start = if args.from_test {
        trained.images(&trained.set(Split::Test, data_dir)?, args.chains, device)
    } else {
        Tensor::<2>::random(
            [args.chains, trained.config.model.visible],
            Distribution::Bernoulli(0.5),
            device,
        )
    };
    let mut steps = args.steps.clone();
    steps.sort_unstable();
    let rows: Vec<Vec<f32>> = std::iter::once(start.clone())
        .chain(trained.state.rbm.gibbs_snapshots(start, &steps))
        .map(tensor_values)
        .collect();
    let labels = std::iter::once("start".to_string())
        .chain(steps.iter().map(|s| format!("{s} steps")))
        .flat_map(|l| std::iter::repeat_n(l, args.chains))
        .collect();
    let file = if args.from_test {
        "samples-from-test.png"
    } else {
        "samples-from-noise.png"
    };
    trained.write_grid(file, &rows.concat(), args.chains, Some(labels))
}

/// Writes `<run>/figures/reconstructions.png` and prints the reconstruction error.
pub fn reconstruct(
    dir: &Path,
    count: usize,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let device = &selected.device;
    let trained = Trained::load(dir, device)?;
    let v = trained.images(&trained.set(Split::Test, data_dir)?, count, device);
    let reconstruction = trained.state.rbm.reconstruct(v.clone());
    let error = (reconstruction.clone() - v.clone())
        .powi_scalar(2)
        .mean()
        .into_scalar::<f32>();
    let values = [tensor_values(v), tensor_values(reconstruction)].concat();
    trained.write_grid("reconstructions.png", &values, count, None)?;
    println!("reconstruction MSE {error:.5} on {count} test digits");
    Ok(())
}

#[derive(Clone, Debug, clap::Args)]
pub struct InpaintArgs {
    /// The run folder, e.g. runs/rbm/course.
    #[arg(long)]
    pub run: PathBuf,
    /// How the missing pixels are filled in.
    #[arg(long, value_enum, default_value_t = Completion::Clamped)]
    pub how: Completion,
    /// The hidden part, as JSON, e.g. '{"kind":"top-rows","n":8}'.
    #[arg(long, default_value = r#"{"kind":"bottom-rows","n":12}"#)]
    pub mask: String,
    #[arg(long, default_value_t = 100)]
    pub gibbs_steps: usize,
    #[arg(long, default_value_t = 20)]
    pub count: usize,
}

/// Writes `<run>/figures/inpaint-<mask>.png` (originals, with the hole, completed) and
/// prints the error on the missing pixels.
pub fn inpaint(
    args: &InpaintArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let device = &selected.device;
    let trained = Trained::load(&args.run, device)?;
    let mask: Mask = serde_json::from_str(&args.mask)
        .context("--mask: e.g. '{\"kind\":\"top-rows\",\"n\":8}'")?;
    let test = trained.set(Split::Test, data_dir)?;
    let batcher = ImageBatcher::new(ImageTransform {
        mask: Some(mask),
        ..trained.config.transform()
    });
    let indices: Vec<usize> = (0..args.count.min(test.len())).collect();
    let batch = batcher.batch_indices(&test, &indices, device);
    let known = batch
        .known
        .clone()
        .expect("a masked batch carries its mask");
    let clean = batch
        .clean
        .clone()
        .expect("a masked batch carries the clean images");
    let completed = complete(
        &trained.state.rbm,
        batch.images.clone(),
        known.clone(),
        args.gibbs_steps,
        args.how,
    );
    let error = missing_mse(completed.clone(), clean.clone(), known);
    let values = [
        tensor_values(clean),
        tensor_values(batch.images),
        tensor_values(completed),
    ]
    .concat();
    trained.write_grid(
        &format!("inpaint-{}.png", mask.label()),
        &values,
        args.count,
        None,
    )?;
    println!("mean squared error on the missing pixels: {error:.5}");
    Ok(())
}
