//! GAN-Q4: interpolations, traversals and the nearest training images of samples.

use crate::experiment::Question;
use burn::tensor::{Tensor, TensorData};
use data::PIXELS;
use data::figure::tensor_values;
use data::scaffold::fixed_normal;
use serde_json::json;

use super::Setup;
use gan::latent::{lerp, slerp, traversal};
use gan::model::Backbone;
use gan::sampling::unit_values;

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q4",
    answers: &["GAN-Q4"],
    run: |ctx| run(&Setup::new(ctx)?),
};

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
    let steps = 10;
    let (mut lerps, mut slerps, mut norms) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..4u64 {
        let (a, b) = (code(100 + 2 * pair), code(101 + 2 * pair));
        let line = lerp(&a, &b, steps);
        let mid = &line[steps / 2];
        norms.push((
            mid.iter().map(|x| x * x).sum::<f32>().sqrt(),
            a.iter().map(|x| x * x).sum::<f32>().sqrt(),
        ));
        lerps.push(decode(line));
        slerps.push(decode(slerp(&a, &b, steps)));
    }
    let dims = 8.min(latent);
    let anchor = code(7);
    let traversals: Vec<f32> = (0..dims)
        .flat_map(|d| decode(traversal(&anchor, d, 3.0, steps)))
        .collect();

    // Memorisation check: nearest training image (pixel L2) of samples, against the same
    // distance for test digits, which the model never saw.
    let unit_train = eval::evaluator::unit_pixels(ctx.train);
    let samples = unit_values(ctx.samples(&generator, &config, 1000), config.real_scale);
    let nearest = eval::neighbours::nearest_rows(&samples, &unit_train, PIXELS, device);
    let test = ctx.test.clone().truncated(1000);
    let test_nearest = eval::neighbours::nearest_distances(
        &eval::evaluator::unit_pixels(&test),
        &unit_train,
        PIXELS,
        device,
    );
    let median = |mut d: Vec<f32>| {
        d.sort_by(f32::total_cmp);
        d[d.len() / 2] as f64
    };
    let sample_median = median(nearest.iter().map(|n| n.1).collect());
    let test_median = median(test_nearest.clone());
    let test_min = test_nearest.iter().cloned().fold(f32::INFINITY, f32::min) as f64;
    let closer_than_any_test = nearest.iter().filter(|n| (n.1 as f64) < test_min).count();
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

    let (lerp_mean_step, lerp_max_step) = frame_steps(&lerps);
    let (slerp_mean_step, slerp_max_step) = frame_steps(&slerps);
    let mean_norm = norms.iter().map(|n| n.1 as f64).sum::<f64>() / norms.len() as f64;
    let mean_mid = norms.iter().map(|n| n.0 as f64).sum::<f64>() / norms.len() as f64;
    let md = format!(
        "Generator: MLP, tuned preset (the GAN-Q1 run), latent dimension {latent}.\n\n\
         **Interpolations.** Each row walks from one code to another in {steps} steps, straight \
         (lerp) and along the great circle (slerp):\n\n{}\n\n{}\n\n\
         The codes' mean norm is {mean_norm:.2} (sqrt({latent}) = {:.2}); the midpoints of the \
         straight lines have mean norm {mean_mid:.2}: lerp passes through codes far inside the shell \
         where N(0, I) puts almost all its mass, which the generator was rarely trained on, while \
         slerp stays on it. Pixel distance (L2) between consecutive images of a row: lerp mean \
         {lerp_mean_step:.2}, largest {lerp_max_step:.2}; slerp mean {slerp_mean_step:.2}, largest \
         {slerp_max_step:.2}. A largest step far above the mean marks a jump, where the path \
         crosses from one digit to another abruptly instead of morphing.\n\n\
         **Traversals.** Rows: latent dimensions 0-{}, each swept from -3 to 3 with the others fixed:\n\n{}\n\n\
         Nothing in GAN training asks one latent dimension to control one factor (there is no \
         disentanglement objective), so a traversal can change several attributes at once; the \
         rows show what each of these dimensions does in this run.\n\n\
         **Memorisation.** Pairs: a sample (its distance above it) and its nearest training image \
         (pixel L2 on [0, 1] pixels, 784 dimensions):\n\n{}\n\n\
         | | median distance to the nearest training image |\n|---|---:|\n\
         | 1000 generated samples | {sample_median:.2} |\n| 1000 test digits (never trained on) | {test_median:.2} |\n\n\
         {closer_than_any_test} of 1000 samples are closer to a training image than the closest \
         test digit is ({test_min:.2}). Samples no closer to the training set than unseen digits \
         are new images, not copies.\n",
        ctx.grid("gan-q4-lerp.png", &lerps.concat(), steps, None)?,
        ctx.grid("gan-q4-slerp.png", &slerps.concat(), steps, None)?,
        (latent as f64).sqrt(),
        dims - 1,
        ctx.grid("gan-q4-traversals.png", &traversals, steps, None)?,
        ctx.grid("gan-q4-nearest.png", &pairs, 8, Some(pair_labels))?,
    );
    ctx.ctx.write_section(
        "GAN-Q4",
        &md,
        &json!({ "latent": latent, "code_norm_mean": mean_norm,
            "lerp_step_mean": lerp_mean_step, "lerp_step_max": lerp_max_step,
            "slerp_step_mean": slerp_mean_step, "slerp_step_max": slerp_max_step, "lerp_midpoint_norm_mean": mean_mid,
            "nearest_train_median_samples": sample_median, "nearest_train_median_test": test_median,
            "nearest_train_min_test": test_min, "samples_closer_than_any_test": closer_than_any_test }),
    )
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
