//! VAE-Q3: the latent space. The strong MLP VAE at each latent size of the budget: the 2-D
//! model's decoded manifold and its test codes by class, straight-line interpolations
//! between test digits in the default-size model, prior samples of every size, and a table
//! of likelihood, KL, active units and sample quality against the latent size.

use anyhow::Context as _;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use data::CLASSES;
use data::figure::tensor_values;
use data::scatter::ScatterPlot;
use eval::SampleScores;
use eval::scores::predicted_classes;
use gan::latent::lerp;
use serde::{Deserialize, Serialize};

use super::Setup;
use crate::answer::Answer;
use crate::experiment::Question;
use vae::epoch::{EVAL_SEED, TestElbo, test_elbo};
use vae::importance::{LikelihoodEstimate, estimate};
use vae::latent::{ACTIVE_VARIANCE, LatentStatistics};
use vae::model::{Backbone, Vae};
use vae::train::{Preset, TrainConfig};

pub static EXPERIMENT: Question = Question {
    id: "VAE-Q3",
    answers: &["VAE-Q3"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Codes per axis of the 2-D manifold grid.
const SIDE: usize = 20;
/// Test digits whose codes are plotted and count the active units.
const CODED_DIGITS: usize = 5000;
/// Pairs of test digits interpolated, images per interpolation, prior samples shown.
const PAIRS: usize = 8;
const STEPS: usize = 10;
const SHOWN: usize = 16;

/// The shared run of latent size `latent`: the strong MLP preset with that code size; at
/// the preset's own size it is VAE-Q1's run `strong-mlp`, trained once for both.
fn latent_run(ctx: &Setup, latent: usize) -> (String, TrainConfig) {
    let (name, mut config) = ctx.strong_mlp();
    if latent == config.model.latent {
        return (name.into(), config);
    }
    config.model.latent = latent;
    (format!("q3-latent-{latent}"), config)
}

/// VAE-Q3's numbers: the strong MLP VAE at each latent size, its 2-D manifold and its
/// interpolations.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatentSpace {
    /// The quick (CI) profile's small, briefly trained models; absent (false) in the full
    /// profile's numbers, which were written before the field existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// One entry per latent size, smallest first.
    pub latent_sizes: Vec<LatentSize>,
    pub importance: Importance,
    /// Test digits whose codes are plotted and count the active units.
    pub coded_digits: usize,
    /// A unit is active when its posterior mean's variance across the coded digits exceeds
    /// this (latent units; the prior's variance is 1).
    pub active_variance: f64,
    pub manifold: Manifold,
    pub interpolation: Interpolation,
    /// The latent size (dimensions) with the highest log-likelihood, and with the lowest FID.
    pub best_log_likelihood_latent: usize,
    pub lowest_fid_latent: usize,
    /// Whether the test KL rises with every step in latent size.
    pub kl_rises_with_latent: bool,
}

impl Answer for LatentSpace {
    const ID: &'static str = "VAE-Q3";
}

/// What one latent size measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatentSize {
    /// Latent dimensions.
    pub latent: usize,
    /// The shared run's name.
    pub run: String,
    /// The ELBO and its terms on the binarised test digits, nats per image.
    pub test_elbo: TestElbo,
    /// The importance-sampled log p(x) of the same digits, nats per image.
    pub log_likelihood: LikelihoodEstimate,
    pub active_units: usize,
    /// Per unit: the variance across the coded digits of the posterior mean.
    pub posterior_mean_variances: Vec<f64>,
    /// Scores of the profile's prior samples.
    pub scores: SampleScores,
}

/// The importance sampling of every log-likelihood: `k` samples for each of the first
/// `digits` binarised test digits.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Importance {
    pub k: usize,
    pub digits: usize,
}

/// The 2-D model's decoded grid of prior quantiles, as the eval classifier sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifold {
    /// Codes per axis.
    pub side: usize,
    /// Grid images per predicted class.
    pub class_histogram: [usize; CLASSES],
    pub classes_present: usize,
    /// The classifier's mean confidence over the grid, fraction in [0, 1].
    pub mean_confidence: f64,
}

/// One interpolated line: (class of the first digit, class of the second, (test index of
/// the first, test index of the second)), the shape the report's numbers hold.
pub type Pair = (usize, usize, (usize, usize));

/// Straight lines between the codes of two test digits, in the preset's latent size.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Interpolation {
    /// Latent dimensions of the model interpolated in.
    pub latent: usize,
    pub pairs: Vec<Pair>,
    /// Images per line, the two ends included.
    pub steps: usize,
    /// The classifier's mean confidence (fraction in [0, 1]) on the ends and on the images
    /// between them.
    pub end_confidence: f64,
    pub inner_confidence: f64,
    /// Fraction in [0, 1] of the images between the ends classed as one of the two end
    /// classes.
    pub inner_share_end_classes: f64,
}

/// One latent size's model and measurements.
struct Row {
    latent: usize,
    name: String,
    model: Vae,
    /// Posterior means of the coded test digits, `[CODED_DIGITS, latent]` row-major.
    means: Vec<f32>,
    elbo: TestElbo,
    likelihood: LikelihoodEstimate,
    active: usize,
    variances: Vec<f64>,
    scores: SampleScores,
}

impl Row {
    fn numbers(&self) -> LatentSize {
        LatentSize {
            latent: self.latent,
            run: self.name.clone(),
            test_elbo: self.elbo,
            log_likelihood: self.likelihood.clone(),
            active_units: self.active,
            posterior_mean_variances: self.variances.clone(),
            scores: self.scores.clone(),
        }
    }
}

/// VAE-Q3: explore the latent space.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let (k, digits) = ctx.budget.final_importance;
    let binary = ctx.binary_test(digits);
    let (grey, labels) = ctx.grey_test(CODED_DIGITS);
    let (rows, samples) = measure_sizes(ctx, &binary, &grey, k)?;
    let flat = row_of(&rows, 2)?;
    let manifold = manifold(ctx, flat)?;
    codes_scatter(ctx, flat, &labels)?;
    let default_latent = ctx.preset(Preset::Strong, Backbone::Mlp).model.latent;
    let interpolation = interpolation(ctx, row_of(&rows, default_latent)?, &labels)?;
    let sample_labels = rows
        .iter()
        .flat_map(|r| std::iter::repeat_n(format!("latent {}", r.latent), SHOWN))
        .collect();
    ctx.grid("vae-q3-samples.png", &samples, SHOWN, Some(sample_labels))?;
    let numbers = LatentSpace {
        quick: ctx.budget.quick,
        latent_sizes: rows.iter().map(Row::numbers).collect(),
        importance: Importance { k, digits },
        coded_digits: labels.len(),
        active_variance: ACTIVE_VARIANCE,
        manifold,
        interpolation,
        best_log_likelihood_latent: best_log_likelihood_latent(&rows)?,
        lowest_fid_latent: lowest_fid_latent(&rows)?,
        kl_rises_with_latent: rows.windows(2).all(|w| w[1].elbo.kl > w[0].elbo.kl),
    };
    ctx.ctx.write_answer(&numbers)
}

fn row_of(rows: &[Row], latent: usize) -> anyhow::Result<&Row> {
    rows.iter()
        .find(|r| r.latent == latent)
        .with_context(|| format!("VAE-Q3 needs latent size {latent}"))
}

/// Trains (or loads) the model of every latent size of the budget and measures it; returns
/// the rows and `SHOWN` prior samples of each size, in order.
fn measure_sizes(
    ctx: &Setup,
    binary: &Tensor<2>,
    grey: &Tensor<2>,
    k: usize,
) -> anyhow::Result<(Vec<Row>, Vec<f32>)> {
    let device = ctx.ctx.device();
    let (mut rows, mut samples) = (Vec::new(), Vec::new());
    for latent in ctx.budget.latent_sizes {
        let (name, config) = latent_run(ctx, latent);
        let trained = ctx.train(&name, &config)?;
        let model = trained.model.clone();
        let posterior = model.encode(grey.clone());
        let stats = LatentStatistics::of(&posterior);
        let (active, variances) = (stats.active_units, stats.mean_variance);
        let means = tensor_values(posterior.mean);
        samples.extend(tensor_values(ctx.samples(&trained, SHOWN)));
        rows.push(Row {
            elbo: test_elbo(&model, binary.clone(), EVAL_SEED),
            likelihood: estimate(&model, binary.clone(), k, EVAL_SEED, device),
            scores: ctx.score(ctx.samples(&trained, ctx.budget.eval_samples))?,
            latent,
            name,
            model,
            means,
            active,
            variances,
        });
    }
    Ok((rows, samples))
}

/// The 2-D model's decoded Bernoulli means on a grid of prior quantiles (each tile stands
/// for an equal share of the prior's mass), z1 to the right and z2 up, as in the scatter;
/// written as a figure and classified.
fn manifold(ctx: &Setup, flat: &Row) -> anyhow::Result<Manifold> {
    let quantile = |i: usize| probit((i as f64 + 0.5) / SIDE as f64) as f32;
    let grid_codes: Vec<f32> = (0..SIDE * SIDE)
        .flat_map(|i| [quantile(i % SIDE), quantile(SIDE - 1 - i / SIDE)])
        .collect();
    let images = decode(&flat.model, grid_codes, 2, ctx.ctx.device());
    ctx.grid("vae-q3-manifold.png", &images, SIDE, None)?;
    let classes = predicted_classes(
        &ctx.evaluator.features_and_probabilities(&images).1,
        CLASSES,
    );
    let mut class_histogram = [0usize; CLASSES];
    for &(class, _) in &classes {
        class_histogram[class] += 1;
    }
    let confidence = classes.iter().map(|c| f64::from(c.1)).sum::<f64>();
    Ok(Manifold {
        side: SIDE,
        classes_present: class_histogram.iter().filter(|&&n| n > 0).count(),
        class_histogram,
        mean_confidence: confidence / classes.len() as f64,
    })
}

/// The scatter of the 2-D model's codes of the coded test digits, coloured by class.
fn codes_scatter(ctx: &Setup, flat: &Row, labels: &[u8]) -> anyhow::Result<()> {
    let points = (flat.means.chunks_exact(2).zip(labels))
        .map(|(z, &label)| (z[0].into(), z[1].into(), label as usize))
        .collect();
    let title = format!("VAE-Q3: codes of {} test digits (latent 2)", labels.len());
    let classes = (0..CLASSES).map(|c| c.to_string()).collect();
    let scatter = ScatterPlot::new(title, "z1", "z2", points, classes);
    scatter.save(&ctx.ctx.figure("vae-q3-codes.png").0)
}

/// Interpolations in `wide` between test digits of classes c and c + 3: the two posterior
/// means and `STEPS` codes evenly spaced on the line between them, decoded, written as a
/// figure and classified.
fn interpolation(ctx: &Setup, wide: &Row, labels: &[u8]) -> anyhow::Result<Interpolation> {
    let pairs = interpolation_pairs(labels)?;
    let code = |i: usize| &wide.means[i * wide.latent..(i + 1) * wide.latent];
    let path_codes: Vec<f32> = pairs
        .iter()
        .flat_map(|&(_, _, (i, j))| lerp(code(i), code(j), STEPS).concat())
        .collect();
    let paths = decode(&wide.model, path_codes, wide.latent, ctx.ctx.device());
    let classes = predicted_classes(&ctx.evaluator.features_and_probabilities(&paths).1, CLASSES);
    let path_labels = pairs
        .iter()
        .flat_map(|&(a, b, _)| std::iter::repeat_n(format!("{a} to {b}"), STEPS))
        .collect();
    ctx.grid(
        "vae-q3-interpolations.png",
        &paths,
        STEPS,
        Some(path_labels),
    )?;
    Ok(path_confidence(wide.latent, pairs, &classes))
}

/// The first digit of class c and the second of class c + 3 (mod 10), for c < `PAIRS`.
fn interpolation_pairs(labels: &[u8]) -> anyhow::Result<Vec<Pair>> {
    let nth_of = |class: usize, n: usize| {
        (0..labels.len())
            .filter(|&i| labels[i] == class as u8)
            .nth(n)
    };
    (0..PAIRS)
        .map(|a| {
            let b = (a + 3) % CLASSES;
            let ends = nth_of(a, 0)
                .zip(nth_of(b, 1))
                .context("too few test digits")?;
            Ok((a, b, ends))
        })
        .collect()
}

/// The classifier's confidence on the ends and the inner images of each line, and how many
/// inner images it classes as one of the ends; `classes` holds (class, confidence) per image,
/// `STEPS` per pair.
fn path_confidence(latent: usize, pairs: Vec<Pair>, classes: &[(usize, f32)]) -> Interpolation {
    let (mut end_confidence, mut inner_confidence, mut inner_on_ends) = (0.0, 0.0, 0usize);
    for (f, &(class, confidence)) in classes.iter().enumerate() {
        let (a, b, _) = pairs[f / STEPS];
        if f % STEPS == 0 || f % STEPS == STEPS - 1 {
            end_confidence += f64::from(confidence) / (2 * PAIRS) as f64;
        } else {
            inner_confidence += f64::from(confidence) / ((STEPS - 2) * PAIRS) as f64;
            inner_on_ends += usize::from(class == a || class == b);
        }
    }
    Interpolation {
        latent,
        pairs,
        steps: STEPS,
        end_confidence,
        inner_confidence,
        inner_share_end_classes: inner_on_ends as f64 / ((STEPS - 2) * PAIRS) as f64,
    }
}

/// The latent size with the highest importance-sampled log-likelihood.
fn best_log_likelihood_latent(rows: &[Row]) -> anyhow::Result<usize> {
    let best = rows
        .iter()
        .max_by(|a, b| a.likelihood.mean.total_cmp(&b.likelihood.mean))
        .context("a latent size")?;
    Ok(best.latent)
}

/// The latent size whose prior samples have the lowest FID.
fn lowest_fid_latent(rows: &[Row]) -> anyhow::Result<usize> {
    let best = rows
        .iter()
        .min_by(|a, b| a.scores.fid.total_cmp(&b.scores.fid))
        .context("a latent size")?;
    Ok(best.latent)
}

/// Bernoulli means (sigmoid of the logits) decoded from `codes`, rows of `latent` values.
fn decode(model: &Vae, codes: Vec<f32>, latent: usize, device: &Device) -> Vec<f32> {
    let rows = codes.len() / latent;
    let z = Tensor::<2>::from_data(TensorData::new(codes, [rows, latent]), device);
    tensor_values(sigmoid(model.decode(z)))
}

/// Φ(x), the standard normal's distribution function, by Marsaglia's (2004) series
/// Φ(x) = 1/2 + φ(x) (x + x³/3 + x⁵/(3·5) + ...), summed until the terms vanish.
fn normal_cdf(x: f64) -> f64 {
    let (mut term, mut sum, mut n) = (x, x, 1.0);
    while term.abs() > 1e-17 * sum.abs() {
        n += 2.0;
        term *= x * x / n;
        sum += term;
    }
    0.5 + sum * (-0.5 * x * x).exp() / std::f64::consts::TAU.sqrt()
}

/// Φ⁻¹(p), the standard normal's quantile (probit) function, by bisection on Φ over
/// [-8, 8] (Φ(-8) ~ 6e-16: every quantile a grid asks for lies inside).
fn probit(p: f64) -> f64 {
    let (mut lo, mut hi) = (-8.0, 8.0);
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q3_probit_matches_known_normal_quantiles() {
        // Known quantiles, the tails included, and the symmetry Φ⁻¹(1 - p) = -Φ⁻¹(p).
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_985),
            (0.841_344_746_068_543, 1.0),
            (0.001, -3.090_232_306),
            (0.025, -1.959_963_985),
        ] {
            assert!((probit(p) - z).abs() < 1e-7, "probit({p}) = {}", probit(p));
            assert!((probit(1.0 - p) + z).abs() < 1e-7);
        }
    }

    #[test]
    fn path_confidence_separates_the_ends_from_the_images_between() {
        let pairs: Vec<Pair> = (0..PAIRS).map(|a| (a, (a + 3) % CLASSES, (0, 0))).collect();
        // Ends: their own classes at 0.9; between: the second end's class at 0.6, then a
        // class of neither end at 0.4, alternately.
        let classes: Vec<(usize, f32)> = (0..PAIRS * STEPS)
            .map(|f| {
                let (a, b, _) = pairs[f / STEPS];
                match f % STEPS {
                    0 => (a, 0.9),
                    s if s == STEPS - 1 => (b, 0.9),
                    s if s % 2 == 0 => (b, 0.6),
                    _ => ((a + 1) % CLASSES, 0.4),
                }
            })
            .collect();
        let path = path_confidence(32, pairs, &classes);
        assert!((path.end_confidence - 0.9).abs() < 1e-6);
        assert!((path.inner_confidence - 0.5).abs() < 1e-6);
        assert!((path.inner_share_end_classes - 0.5).abs() < 1e-12);
        assert_eq!((path.latent, path.steps), (32, STEPS));
    }
}
