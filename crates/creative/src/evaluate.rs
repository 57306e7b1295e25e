//! How good the samples are, as the issue measures it: the share the Fashion-MNIST classifier
//! reads as the class that was asked for, and the eval crate's metrics (FID against the test
//! split, precision/recall, density/coverage, nearest training images).

use std::path::{Path, PathBuf};

use data::{CLASSES, Scale, SelectedDevice};
use eval::SampleScores;
use serde::{Deserialize, Serialize};

use crate::sample::{Request, Sampler, SamplingArgs, sample, unit_values};
use crate::tasks::load_model;
use crate::train::TrainConfig;
use crate::unet::UNet;
use burn::tensor::Device;

/// Samples drawn per network call batch: bounds the memory of a long evaluation.
const CHUNK: usize = 500;

#[derive(Clone, Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The run folder, e.g. runs/creative/full (default: the shipped weights).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Samples, spread evenly over the ten classes (the measure uses 10,000).
    #[arg(long, default_value_t = 1000)]
    pub samples: usize,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

/// What `evaluate` measured, written to `<run>/evaluation.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Evaluation {
    pub samples: usize,
    pub guidance: f64,
    pub sampler: Sampler,
    /// Share of samples the classifier assigns to the class asked for.
    pub class_accuracy: f64,
    pub scores: SampleScores,
    /// Milliseconds per sample.
    pub ms_per_sample: f64,
}

/// Share of rows of `probabilities` (`[n, CLASSES]`, row-major) whose largest entry is at
/// `asked[i]`.
pub fn class_accuracy(probabilities: &[f32], asked: &[usize]) -> f64 {
    let predicted = eval::scores::predicted_classes(probabilities, CLASSES);
    let hits = predicted
        .iter()
        .zip(asked)
        .filter(|((c, _), a)| c == *a)
        .count();
    hits as f64 / asked.len().max(1) as f64
}

/// Draws `--samples` guided samples of the run (classes in turn) and measures them against
/// the data set the run was trained on; writes `<run>/evaluation.json` (for the shipped
/// weights, `creative-evaluation.json` here).
pub fn evaluate(
    args: &EvaluateArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.samples >= CLASSES,
        "--samples must be at least {CLASSES}"
    );
    let device = &selected.device;
    let run = crate::tasks::run_or_shipped(args.run.as_deref())?;
    let (config, model) = load_model(&run, device)?;
    let dataset = data::run::run_dataset(&run);
    let evaluator = eval::Evaluator::load(dataset, &eval::pretrained_dir(), data_dir, device)?;
    let sampler = args.sampling.sampler()?;
    let evaluation = measure(
        &model,
        &config,
        &evaluator,
        (
            args.samples,
            args.sampling.guidance,
            sampler,
            args.sampling.seed,
        ),
        device,
    )?;
    let path = data::run::output_path("creative", args.run.as_deref(), "evaluation.json");
    data::run::write_json(&path, &evaluation)?;
    println!(
        "{}: class accuracy {:.2}% of {} samples (guidance {}, {:?}); {}\nwrote {}",
        run.display(),
        100.0 * evaluation.class_accuracy,
        args.samples,
        args.sampling.guidance,
        sampler,
        eval::format_scores("samples", &evaluation.scores),
        path.display()
    );
    Ok(())
}

/// Draws `samples` images (classes in turn) with `guidance` and `sampler` from `seed`, in
/// chunks, and scores them with `evaluator`.
pub fn measure(
    model: &UNet,
    config: &TrainConfig,
    evaluator: &eval::Evaluator,
    (samples, guidance, sampler, seed): (usize, f64, Sampler, u64),
    device: &Device,
) -> anyhow::Result<Evaluation> {
    let asked: Vec<usize> = (0..samples).map(|i| i % CLASSES).collect();
    let schedule = config.noise_schedule();
    let started = std::time::Instant::now();
    let mut values = Vec::with_capacity(samples * data::PIXELS);
    let mut progress = data::progress::Progress::new("sampling", samples as u64);
    for (i, classes) in asked.chunks(CHUNK).enumerate() {
        let request = Request {
            classes: classes.to_vec(),
            guidance,
            sampler,
            seed: data::seed::mix(seed, 3, i as u64),
        };
        values.extend(unit_values(sample(
            model,
            &schedule,
            config.model.classes,
            &request,
            device,
        )));
        progress.inc(classes.len() as u64);
    }
    progress.finish();
    let ms_per_sample = started.elapsed().as_secs_f64() * 1000.0 / samples.max(1) as f64;
    let (_, probabilities) = evaluator.features_and_probabilities(&values);
    Ok(Evaluation {
        samples,
        guidance,
        sampler,
        class_accuracy: class_accuracy(&probabilities, &asked),
        scores: evaluator.score_for_verdict(&values, Scale::ZeroOne, &device.clone().autodiff())?,
        ms_per_sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_accuracy_counts_the_rows_whose_arg_max_is_the_asked_class() {
        let mut probabilities = vec![0.0f32; 3 * CLASSES];
        probabilities[7] = 0.9; // row 0 reads 7
        probabilities[CLASSES + 2] = 0.6; // row 1 reads 2
        probabilities[2 * CLASSES] = 0.5; // row 2 reads 0
        assert_eq!(class_accuracy(&probabilities, &[7, 2, 1]), 2.0 / 3.0);
        assert_eq!(class_accuracy(&[], &[]), 0.0);
    }
}
