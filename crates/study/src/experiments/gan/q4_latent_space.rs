//! GAN-Q4: interpolations, traversals and the nearest training images of samples.

use crate::answer::Answer;
use crate::experiment::Question;
use burn::tensor::{Tensor, TensorData};
use data::PIXELS;
use data::figure::tensor_values;
use data::scaffold::fixed_normal;
use serde::{Deserialize, Serialize};

use super::Setup;
use gan::latent::{lerp, slerp, traversal};
use gan::model::Backbone;
use gan::sampling::unit_values;

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q4",
    answers: &["GAN-Q4"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Codes per interpolated path, and per traversed dimension.
const STEPS: usize = 10;
/// Latent dimensions traversed (at most the latent size).
const TRAVERSED: usize = 8;
/// Samples, and test digits, whose nearest training image is measured.
const MEASURED: usize = 1000;

/// GAN-Q4's numbers: what interpolating and traversing the latent space does to the images,
/// and how near the samples lie to the training set. Distances between images are pixel L2
/// on [0, 1] pixels (784 dimensions); norms are of latent codes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatentSpace {
    /// The quick (CI) profile's briefly trained generator.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// Dimension of the latent codes.
    pub latent: usize,
    /// Mean norm of the interpolated paths' end codes, drawn from N(0, I).
    pub code_norm_mean: f64,
    /// Mean norm of the straight paths' midpoints.
    pub lerp_midpoint_norm_mean: f64,
    /// Mean and largest distance between consecutive images of a path.
    pub lerp_step_mean: f64,
    pub lerp_step_max: f64,
    pub slerp_step_mean: f64,
    pub slerp_step_max: f64,
    /// Median distance of samples, and of test digits, to their nearest training image.
    pub nearest_train_median_samples: f64,
    pub nearest_train_median_test: f64,
    /// The smallest distance of any test digit to its nearest training image.
    pub nearest_train_min_test: f64,
    /// Samples nearer a training image than `nearest_train_min_test`.
    pub samples_closer_than_any_test: usize,
    /// The same distances divided by the image's own norm (its ink), so that a thin 1 and a
    /// bold 8 are read on one scale: median for samples and test digits, the smallest test
    /// digit's, and the samples relatively nearer than that (absent from numbers written
    /// before they were measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<RelativeNearest>,
}

/// Nearest-training-image distances divided by the image's norm.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RelativeNearest {
    pub median_samples: f64,
    pub median_test: f64,
    pub min_test: f64,
    pub samples_closer_than_any_test: usize,
}

impl Answer for LatentSpace {
    const ID: &'static str = "GAN-Q4";
}

/// GAN-Q4: interpolations, traversals and the nearest training images of samples.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let config = ctx.tuned(Backbone::Mlp);
    let generator = ctx.train("q1-tuned-mlp", &config)?.generator;
    let device = ctx.ctx.device();
    let latent = config.model.latent;
    let decode = |codes: Vec<Vec<f32>>| -> Vec<f32> {
        let n = codes.len();
        let z = Tensor::<2>::from_data(TensorData::new(codes.concat(), [n, latent]), device);
        unit_values(generator.forward(z), config.real_scale)
    };
    let code = |seed: u64| tensor_values(fixed_normal(1, latent, seed, device));
    let (mut lerps, mut slerps, mut norms) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..4u64 {
        let (a, b) = (code(100 + 2 * pair), code(101 + 2 * pair));
        let line = lerp(&a, &b, STEPS);
        norms.push((norm(&line[STEPS / 2]), norm(&a)));
        lerps.push(decode(line));
        slerps.push(decode(slerp(&a, &b, STEPS)));
    }
    let anchor = code(7);
    let traversals: Vec<f32> = (0..TRAVERSED.min(latent))
        .flat_map(|d| decode(traversal(&anchor, d, 3.0, STEPS)))
        .collect();
    let samples = unit_values(
        ctx.samples(&generator, &config, MEASURED),
        config.real_scale,
    );
    let nearest = nearest_train(ctx, &samples)?;
    let (lerp_step_mean, lerp_step_max) = frame_steps(&lerps);
    let (slerp_step_mean, slerp_step_max) = frame_steps(&slerps);
    ctx.grid("gan-q4-lerp.png", &lerps.concat(), STEPS, None)?;
    ctx.grid("gan-q4-slerp.png", &slerps.concat(), STEPS, None)?;
    ctx.grid("gan-q4-traversals.png", &traversals, STEPS, None)?;
    ctx.ctx.write_answer(&LatentSpace {
        quick: ctx.budget.quick,
        latent,
        code_norm_mean: norms.iter().map(|n| n.1 as f64).sum::<f64>() / norms.len() as f64,
        lerp_midpoint_norm_mean: norms.iter().map(|n| n.0 as f64).sum::<f64>() / norms.len() as f64,
        lerp_step_mean,
        lerp_step_max,
        slerp_step_mean,
        slerp_step_max,
        nearest_train_median_samples: nearest.sample_median,
        nearest_train_median_test: nearest.test_median,
        nearest_train_min_test: nearest.test_min,
        samples_closer_than_any_test: nearest.closer_than_any_test,
        relative: Some(nearest.relative),
    })
}

fn norm(code: &[f32]) -> f32 {
    code.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// How near samples lie to the training set, against test digits, which the model never saw.
struct Nearest {
    sample_median: f64,
    test_median: f64,
    test_min: f64,
    closer_than_any_test: usize,
    relative: RelativeNearest,
}

/// The memorisation check: the nearest training image (pixel L2) of `samples`, against the
/// same distance for test digits; writes the pairs of the first 16 samples as a figure.
fn nearest_train(ctx: &Setup, samples: &[f32]) -> anyhow::Result<Nearest> {
    let device = ctx.ctx.device();
    let unit_train = eval::evaluator::unit_pixels(ctx.train);
    let nearest = eval::neighbours::nearest_rows(samples, &unit_train, PIXELS, device);
    let test = ctx.test.clone().truncated(MEASURED);
    let test_nearest = eval::neighbours::nearest_distances(
        &eval::evaluator::unit_pixels(&test),
        &unit_train,
        PIXELS,
        device,
    );
    let sample_distances: Vec<f32> = nearest.iter().map(|n| n.1).collect();
    let relative = RelativeNearest::of(
        &relative_to_ink(&sample_distances, samples),
        &relative_to_ink(&test_nearest, &eval::evaluator::unit_pixels(&test)),
    );
    let test_min = min(&test_nearest);
    let pairs: Vec<f32> = (0..16)
        .flat_map(|i| {
            let sample = samples[i * PIXELS..(i + 1) * PIXELS].to_vec();
            let j = nearest[i].0;
            sample
                .into_iter()
                .chain(unit_train[j * PIXELS..(j + 1) * PIXELS].iter().copied())
        })
        .collect();
    let pair_labels = (0..16)
        .flat_map(|i| [format!("{:.1}", nearest[i].1), "nearest".to_string()])
        .collect();
    ctx.grid("gan-q4-nearest.png", &pairs, 8, Some(pair_labels))?;
    Ok(Nearest {
        sample_median: median(sample_distances.clone()),
        test_median: median(test_nearest),
        test_min,
        closer_than_any_test: sample_distances
            .iter()
            .filter(|&&d| (d as f64) < test_min)
            .count(),
        relative,
    })
}

fn median(mut d: Vec<f32>) -> f64 {
    d.sort_by(f32::total_cmp);
    d[d.len() / 2] as f64
}

fn min(d: &[f32]) -> f64 {
    d.iter().cloned().fold(f32::INFINITY, f32::min) as f64
}

/// Each image's distance divided by its own L2 norm (an image without ink keeps its
/// distance, read against a norm of 1).
fn relative_to_ink(distances: &[f32], images: &[f32]) -> Vec<f32> {
    distances
        .iter()
        .zip(images.chunks_exact(PIXELS))
        .map(|(d, image)| d / norm(image).max(1.0))
        .collect()
}

impl RelativeNearest {
    fn of(samples: &[f32], test: &[f32]) -> Self {
        let min_test = min(test);
        Self {
            median_samples: median(samples.to_vec()),
            median_test: median(test.to_vec()),
            min_test,
            samples_closer_than_any_test: samples
                .iter()
                .filter(|&&d| (d as f64) < min_test)
                .count(),
        }
    }
}

/// Mean and largest pixel distance between consecutive images of each row of decoded paths.
fn frame_steps(rows: &[Vec<f32>]) -> (f64, f64) {
    let steps: Vec<f64> = rows
        .iter()
        .flat_map(|row| {
            let images: Vec<&[f32]> = row.chunks_exact(PIXELS).collect();
            images
                .windows(2)
                .map(|w| {
                    w[0].iter()
                        .zip(w[1])
                        .map(|(a, b)| ((a - b) as f64).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mean = steps.iter().sum::<f64>() / steps.len().max(1) as f64;
    (mean, steps.iter().cloned().fold(0.0, f64::max))
}
