//! `rbm evaluate`: the test log-likelihood of a trained run by annealed importance sampling
//! (and, for models of up to 20 hidden units, exactly), on the digits binarised as asked.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use data::{SelectedDevice, Split};

use crate::ais::{
    AisConfig, AisEvaluation, ExactScore, LogZEstimate, ScheduleScore, base_rate_bias,
    estimate_log_z, mean_log_likelihood,
};
use crate::tasks::Trained;
use crate::train::InputMode;

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
