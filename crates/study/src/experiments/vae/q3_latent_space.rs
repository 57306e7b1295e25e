//! VAE-Q3: the latent space. The strong MLP VAE at each latent size of the budget: the 2-D
//! model's decoded manifold and its test codes by class, straight-line interpolations
//! between test digits in the default-size model, prior samples of every size, and a table
//! of likelihood, KL, active units and sample quality against the latent size.

use crate::experiment::Question;
use anyhow::Context as _;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use data::figure::tensor_values;
use data::scatter::ScatterPlot;
use data::{CLASSES, PIXELS};
use eval::SampleScores;
use eval::scores::predicted_classes;
use gan::latent::lerp;
use serde_json::json;

use super::Setup;
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

/// What one latent size measured.
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

/// VAE-Q3: explore the latent space.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let device = ctx.ctx.device();
    let (k, digits) = ctx.budget.final_importance;
    let binary = ctx.binary_test(digits);
    let (grey, labels) = ctx.grey_test(CODED_DIGITS);
    // The preset's own latent size (VAE-Q1's run) and encoder widths, for the text.
    let preset = ctx.preset(Preset::Strong, Backbone::Mlp).model;
    let default_latent = preset.latent;
    let widths = std::iter::once(PIXELS).chain(preset.hidden.iter().copied());
    let encoder = widths.map(|w| w.to_string()).collect::<Vec<_>>().join("-");
    let mut rows = Vec::new();
    let (mut note, mut samples) = (String::new(), Vec::new());
    for latent in ctx.budget.latent_sizes {
        let (name, config) = latent_run(ctx, latent);
        let trained = ctx.train(&name, &config)?;
        note = ctx.epoch_note(&config);
        let model = trained.model.clone();
        let posterior = model.encode(grey.clone());
        let stats = LatentStatistics::of(&posterior);
        let (active, variances) = (stats.active_units, stats.mean_variance);
        let means = tensor_values(posterior.mean);
        samples.extend(tensor_values(ctx.samples(&trained, SHOWN)));
        rows.push(Row {
            elbo: test_elbo(&model, binary.clone(), EVAL_SEED),
            likelihood: estimate(&model, binary.clone(), k, EVAL_SEED, device),
            scores: ctx.score(ctx.samples(&trained, ctx.budget.eval_samples)),
            latent,
            name,
            model,
            means,
            active,
            variances,
        });
    }

    // The 2-D model: decoded Bernoulli means on a grid of prior quantiles (each tile stands
    // for an equal share of the prior's mass), z1 to the right and z2 up, as in the scatter.
    let flat = rows
        .iter()
        .find(|r| r.latent == 2)
        .context("VAE-Q3 needs latent size 2")?;
    let quantile = |i: usize| probit((i as f64 + 0.5) / SIDE as f64) as f32;
    let grid_codes: Vec<f32> = (0..SIDE * SIDE)
        .flat_map(|i| [quantile(i % SIDE), quantile(SIDE - 1 - i / SIDE)])
        .collect();
    let manifold = decode(&flat.model, grid_codes, 2, device);
    let manifold_figure = ctx.grid("vae-q3-manifold.png", &manifold, SIDE, None)?;
    let manifold_classes = predicted_classes(
        &ctx.evaluator.features_and_probabilities(&manifold).1,
        CLASSES,
    );
    let mut histogram = [0usize; CLASSES];
    for &(class, _) in &manifold_classes {
        histogram[class] += 1;
    }
    let classes_present = histogram.iter().filter(|&&n| n > 0).count();
    let manifold_confidence = manifold_classes.iter().map(|c| f64::from(c.1)).sum::<f64>()
        / manifold_classes.len() as f64;
    let points = (flat.means.chunks_exact(2).zip(&labels))
        .map(|(z, &label)| (z[0].into(), z[1].into(), label as usize))
        .collect();
    let title = format!("VAE-Q3: codes of {} test digits (latent 2)", labels.len());
    let classes = (0..CLASSES).map(|c| c.to_string()).collect();
    let scatter = ScatterPlot::new(title, "z1", "z2", points, classes);
    let (scatter_path, scatter_link) = ctx.ctx.figure("vae-q3-codes.png");
    scatter.save(&scatter_path)?;

    // Interpolations in the default-size model between test digits of classes c and c + 3:
    // the two posterior means and STEPS codes evenly spaced on the line between them.
    let wide = rows
        .iter()
        .find(|r| r.latent == default_latent)
        .context("VAE-Q3 needs the preset's latent size")?;
    let nth_of = |class: usize, n: usize| {
        (0..labels.len())
            .filter(|&i| labels[i] == class as u8)
            .nth(n)
    };
    let mut pairs = Vec::new();
    for a in 0..PAIRS {
        let b = (a + 3) % CLASSES;
        let ends = nth_of(a, 0)
            .zip(nth_of(b, 1))
            .context("too few test digits")?;
        pairs.push((a, b, ends));
    }
    let code = |i: usize| &wide.means[i * wide.latent..(i + 1) * wide.latent];
    let path_codes: Vec<f32> = pairs
        .iter()
        .flat_map(|&(_, _, (i, j))| lerp(code(i), code(j), STEPS).concat())
        .collect();
    let paths = decode(&wide.model, path_codes, wide.latent, device);
    let path_classes =
        predicted_classes(&ctx.evaluator.features_and_probabilities(&paths).1, CLASSES);
    let (mut end_confidence, mut inner_confidence, mut inner_on_ends) = (0.0, 0.0, 0usize);
    for (f, &(class, confidence)) in path_classes.iter().enumerate() {
        let (a, b, _) = pairs[f / STEPS];
        if f % STEPS == 0 || f % STEPS == STEPS - 1 {
            end_confidence += f64::from(confidence) / (2 * PAIRS) as f64;
        } else {
            inner_confidence += f64::from(confidence) / ((STEPS - 2) * PAIRS) as f64;
            inner_on_ends += usize::from(class == a || class == b);
        }
    }
    let inner_share = inner_on_ends as f64 / ((STEPS - 2) * PAIRS) as f64;
    let path_labels = pairs
        .iter()
        .flat_map(|&(a, b, _)| std::iter::repeat_n(format!("{a} to {b}"), STEPS))
        .collect();
    let sample_labels = rows
        .iter()
        .flat_map(|r| std::iter::repeat_n(format!("latent {}", r.latent), SHOWN))
        .collect();
    let paths_figure = ctx.grid(
        "vae-q3-interpolations.png",
        &paths,
        STEPS,
        Some(path_labels),
    )?;
    let samples_figure = ctx.grid("vae-q3-samples.png", &samples, SHOWN, Some(sample_labels))?;

    let mut table = format!(
        "| latent | run | test ELBO | log p(x), k = {k} | log p(x) - ELBO | reconstruction | KL | \
         active units | FID | classes covered | precision | recall |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for r in &rows {
        table.push_str(&format!(
            "| {} | `{}` | {:.2} | {:.2} ± {:.2} | {:.2} | {:.2} | {:.2} | {} of {} | {:.1} | {} | {:.3} | {:.3} |\n",
            r.latent, r.name, r.elbo.elbo, r.likelihood.mean, r.likelihood.standard_error,
            r.likelihood.mean - r.elbo.elbo, r.elbo.reconstruction, r.elbo.kl, r.active, r.latent,
            r.scores.fid, r.scores.classes.classes_covered,
            r.scores.precision_recall.precision, r.scores.precision_recall.recall,
        ));
    }
    // Which size won is computed, not asserted: it differs between the quick and full runs.
    let best_likelihood = rows
        .iter()
        .max_by(|a, b| a.likelihood.mean.total_cmp(&b.likelihood.mean))
        .context("a latent size")?
        .latent;
    let best_fid = rows
        .iter()
        .min_by(|a, b| a.scores.fid.total_cmp(&b.scores.fid))
        .context("a latent size")?
        .latent;
    let kl_rises = rows.windows(2).all(|w| w[1].elbo.kl > w[0].elbo.kl);
    let kl_trend = if kl_rises { "rises" } else { "does not rise" };
    let sizes = rows
        .iter()
        .map(|r| r.latent.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let (low, high) = (quantile(0), quantile(SIDE - 1));
    let (coded, grid_images, eval_samples) = (labels.len(), SIDE * SIDE, ctx.budget.eval_samples);
    let (inner, inner_percent) = ((STEPS - 2) * PAIRS, 100.0 * inner_share);

    let md = format!(
        "Strong MLP preset ({encoder} encoder, mirrored decoder, dynamically binarised \
         digits) at latent sizes {sizes}, {note}; the latent-{default_latent} model is VAE-Q1's \
         run. Codes of test digits are posterior means; images are Bernoulli means.\n\n\
         **The 2-D latent space.** First the decoded codes z = (z1, z2) at the prior's \
         quantiles {low:.2} ... {high:.2} on each axis ({SIDE} x {SIDE}, z1 to the right, z2 \
         up), then the codes of the first {coded} test digits, coloured by class.\n\n\
         {manifold_figure}\n\n![vae-q3-codes.png]({scatter_link})\n\n\
         The eval classifier finds {classes_present} of {CLASSES} classes among the {grid_images} grid \
         images, with mean confidence {manifold_confidence:.3}.\n\n\
         **Interpolations** (latent {default_latent}): each row decodes {STEPS} evenly spaced \
         points of the straight line between the codes of two test digits of different \
         classes (labels: the two classes).\n\n{paths_figure}\n\n\
         The classifier's mean confidence is {end_confidence:.3} on the two ends and \
         {inner_confidence:.3} on the {inner} images between them; {inner_percent:.0}% of \
         those are classed as one of the two end digits.\n\n\
         **Prior samples**, {SHOWN} per latent size (rows):\n\n{samples_figure}\n\n\
         **Against the latent size.** ELBO, its two terms and the importance-sampled \
         log-likelihood (Burda et al., k = {k}, ± its standard error) of the first {digits} \
         binarised test digits, nats per digit; active units: dimensions whose posterior mean \
         varies across the {coded} coded test digits with variance above {ACTIVE_VARIANCE}; \
         sample scores of {eval_samples} prior samples.\n\n{table}\n\
         **Reading.** The KL term pulls every digit's posterior towards the same N(0, I) and \
         the decoder is trained on noisy codes around each digit's mean, so the latent space \
         is continuous and filled: neighbouring codes decode to similar images, and the \
         manifold grid changes gradually from one digit into the next. With two dimensions \
         the codes form one cluster per class, with digits that look alike side by side; the \
         borders and gaps between clusters are codes few test digits use, where the decoder \
         draws blends of the neighbouring classes, and prior samples of the 2-D model land \
         there too. A straight line between two codes stays inside the region the (noisy) \
         codes of real digits fill, so its images change gradually and remain digit-like: \
         compare the classifier's confidence between the ends with that on the ends. A larger \
         code can describe each digit in more detail, lowering the reconstruction term at the \
         price of more KL (here the KL term {kl_trend} with every step in latent size); the \
         likelihood weighs both, and its best value here is at latent {best_likelihood}. The \
         model only pays KL for the dimensions it uses: those it does not need stay at the \
         prior, carry nothing about the digit and are not counted as active, so the active \
         units show how much of each code is in use. Sample quality depends on how well the \
         prior matches the codes of real digits: a code too small cannot keep digits apart \
         (blurred, blended samples), while the codes of a large one may leave regions of the \
         prior that no digit uses, where samples look like no digit; the lowest FID here is \
         at latent {best_fid}.\n"
    );
    let numbers: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({ "latent": r.latent, "run": r.name, "test_elbo": r.elbo,
                "log_likelihood": r.likelihood, "active_units": r.active,
                "posterior_mean_variances": r.variances, "scores": r.scores })
        })
        .collect();
    ctx.ctx.write_section(
        "VAE-Q3",
        &md,
        &json!({ "latent_sizes": numbers, "importance": { "k": k, "digits": digits },
            "coded_digits": labels.len(), "active_variance": ACTIVE_VARIANCE,
            "manifold": { "side": SIDE, "class_histogram": histogram,
                "classes_present": classes_present, "mean_confidence": manifold_confidence },
            "interpolation": { "latent": default_latent, "pairs": pairs, "steps": STEPS,
                "end_confidence": end_confidence, "inner_confidence": inner_confidence,
                "inner_share_end_classes": inner_share },
            "best_log_likelihood_latent": best_likelihood, "lowest_fid_latent": best_fid,
            "kl_rises_with_latent": kl_rises }),
    )
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
}
