//! Drawing from a trained generator: samples from fixed codes, the per-epoch grid, the
//! values as images, and loading a run's generator.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use data::Scale;
use data::scaffold::{fixed_normal, in_chunks};
use eval::{Evaluator, SampleScores};

use crate::model::Generator;
use crate::train::TrainConfig;

/// Samples of a generator in evaluation mode (batch norm on running statistics, no
/// dropout), `[count, 784]` in (-1, 1), from codes drawn from `seed`.
pub fn sample(
    generator: &Generator,
    latent: usize,
    count: usize,
    seed: u64,
    device: &Device,
) -> Tensor<2> {
    let generator = generator.valid();
    in_chunks(count, 1000, |rows, i| {
        generator.forward(fixed_normal(
            rows,
            latent,
            seed.wrapping_add(i as u64),
            device,
        ))
    })
}

/// How a generator's samples are read as images: in the range of the real data it was
/// trained against (a [0, 1]-trained generator's negative outputs are clamped to black).
pub fn score_samples(
    evaluator: &Evaluator,
    samples: Tensor<2>,
    config: &TrainConfig,
) -> anyhow::Result<SampleScores> {
    evaluator.score_tensor(samples, config.real_scale)
}

/// Fraction of values below zero.
pub fn negative_fraction(samples: &[f32]) -> f64 {
    samples.iter().filter(|&&v| v < 0.0).count() as f64 / samples.len().max(1) as f64
}

/// The fixed-noise grid written after every epoch: 8 x 8 samples, in the data's range.
pub fn sample_grid(generator: &Generator, config: &TrainConfig, device: &Device) -> Vec<f32> {
    let samples = sample(
        generator,
        config.model.latent,
        64,
        config.seed ^ 0xF1,
        device,
    );
    unit_values(samples, config.real_scale)
}

/// Sample values mapped to [0, 1] as the data's range reads them.
pub fn unit_values(samples: Tensor<2>, scale: Scale) -> Vec<f32> {
    data::figure::tensor_values(samples)
        .into_iter()
        .map(|v| scale.to_unit(v))
        .collect()
}

/// Seed of the latent codes every evaluation draws: the same codes after every epoch.
pub const EVAL_SEED: u64 = 0xE7A1;

/// The config and trained generator of the run in `dir` (its newest checkpoint; the moving
/// average of the weights where the run keeps one), on `device`.
pub fn load_generator(dir: &Path, device: &Device) -> anyhow::Result<(TrainConfig, Generator)> {
    let (config, checkpoint): (TrainConfig, _) = data::run::load_latest(dir, "GAN")?;
    let generator = data::run::load_module(
        &checkpoint,
        config.sampled_generator_name(),
        config.model.init_generator(device),
    )?;
    Ok((config, generator))
}
