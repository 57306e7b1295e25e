//! VAE-Q1: what a VAE optimises instead of the log-likelihood, and how far below it that is.

use burn::tensor::Tensor;
use data::plot::{LinePlot, Series};
use serde::{Deserialize, Serialize};

use super::{Setup, Trained};
use crate::answer::Answer;
use crate::experiment::Question;
use vae::epoch::EVAL_SEED;
use vae::gaps::{elbo, optimise_posteriors};
use vae::importance::{LikelihoodEstimate, estimate};
use vae::model::Backbone;
use vae::model::Posterior;
use vae::train::{Preset, TrainConfig};

pub static EXPERIMENT: Question = Question {
    id: "VAE-Q1",
    answers: &["VAE-Q1"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Digits, Adam steps and samples per step of the local posterior optimisation.
fn gap_budget(quick: bool) -> (usize, usize, usize) {
    if quick { (50, 100, 8) } else { (200, 500, 16) }
}

/// VAE-Q1's numbers: the bounds on the strong run's test log-likelihood, the gap split into
/// its two causes, and the course's loss scale.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Objective {
    /// The quick (CI) profile's small, briefly trained models; absent (false) in the full
    /// profile's numbers, which were written before the field existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// The strong MLP run's config.
    pub config: TrainConfig,
    /// The ELBO (k = 1) and the importance-sampled bounds at growing k, of the same binarised
    /// test digits (nats per image), k ascending.
    pub bounds: Vec<LikelihoodEstimate>,
    pub gap: GapSplit,
    pub loss_scaling: LossScaling,
    /// The strong run's training wall time, seconds.
    pub train_seconds: f64,
}

impl Answer for Objective {
    const ID: &'static str = "VAE-Q1";
}

/// The gap log p(x) - ELBO on the first test digits, split at the best Gaussian per digit.
/// Every ELBO and likelihood is in nats per image.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GapSplit {
    /// Test digits measured.
    pub digits: usize,
    /// Adam steps on each digit's Gaussian, and ELBO samples per step.
    pub steps: usize,
    pub samples: usize,
    /// The ELBO with the encoder's q(z|x).
    pub elbo_amortised: f64,
    /// The ELBO with each digit's Gaussian optimised, decoder fixed.
    pub elbo_optimised: f64,
    /// The importance-sampled log p(x), at the final k.
    pub log_px: f64,
}

/// The course preset trained with its loss as is and divided by 784: nats per image.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LossScaling {
    pub plain_test_elbo: f64,
    pub scaled_test_elbo: f64,
    /// The last epoch's mean train loss, in nats per image (the scale undone).
    pub plain_train_loss: f64,
    pub scaled_train_loss: f64,
}

fn run(ctx: &Setup) -> anyhow::Result<()> {
    let (name, config) = ctx.strong_mlp();
    let strong = ctx.train(name, &config)?;
    curves(ctx, &strong)?;
    let (k, digits) = ctx.budget.final_importance;
    let test = ctx.binary_test(digits);
    let bounds = bounds(&strong, &test, k, ctx);
    let gap = gap_split(ctx, &strong, &test, k);
    let numbers = Objective {
        quick: ctx.budget.quick,
        config,
        bounds,
        gap,
        loss_scaling: loss_scaling(ctx)?,
        train_seconds: strong.train_seconds(),
    };
    ctx.ctx.write_answer(&numbers)
}

/// The bound at k = 1 (the ELBO itself), 10, 100 and the final `k`: it tightens with k.
fn bounds(strong: &Trained, test: &Tensor<2>, k: usize, ctx: &Setup) -> Vec<LikelihoodEstimate> {
    let mut ks: Vec<usize> = [1, 10, 100].into_iter().filter(|&s| s < k).collect();
    ks.push(k);
    ks.iter()
        .map(|&s| estimate(&strong.model, test.clone(), s, EVAL_SEED, ctx.ctx.device()))
        .collect()
}

/// The gap split: the encoder's q, the best Gaussian per digit, the IWAE estimate.
fn gap_split(ctx: &Setup, strong: &Trained, test: &Tensor<2>, k: usize) -> GapSplit {
    let (gap_digits, steps, samples) = gap_budget(ctx.budget.quick);
    let digits = gap_digits.min(test.dims()[0]);
    let subset = test.clone().narrow(0, 0, digits);
    let amortised = strong.model.encode(subset.clone());
    let optimised = optimise_posteriors(
        &strong.model,
        subset.clone(),
        steps,
        samples,
        1e-2,
        EVAL_SEED,
    );
    let mean_elbo = |posterior: &Posterior| {
        let elbos = elbo(&strong.model, subset.clone(), posterior, 100, EVAL_SEED ^ 7);
        f64::from(elbos.mean().into_scalar::<f32>())
    };
    let elbo_amortised = mean_elbo(&amortised);
    let elbo_optimised = mean_elbo(&optimised);
    let log_px = estimate(&strong.model, subset, k, EVAL_SEED, ctx.ctx.device()).mean;
    GapSplit {
        digits,
        steps,
        samples,
        elbo_amortised,
        elbo_optimised,
        log_px,
    }
}

/// The per-epoch figures of the strong run: the bounds, and the ELBO's two terms.
fn curves(ctx: &Setup, strong: &Trained) -> anyhow::Result<()> {
    let pick = |f: fn(&super::Logged) -> Option<f64>| -> Vec<(f64, f64)> {
        strong
            .records
            .iter()
            .filter_map(|r| f(r).map(|v| (r.epoch as f64, v)))
            .collect()
    };
    let bounds = LinePlot::new(
        "VAE-Q1: bounds on the test log-likelihood",
        "epoch",
        "nats per digit",
    )
    .with_series(Series::new(
        "train ELBO (mean over the epoch)",
        pick(|r| Some(-r.record.mean.loss)),
    ))
    .with_series(Series::new(
        "test ELBO",
        pick(|r| r.record.test.map(|t| t.elbo)),
    ))
    .with_series(Series::new(
        "test IWAE bound",
        pick(|r| r.record.importance.as_ref().map(|i| i.mean)),
    ));
    let terms = LinePlot::new(
        "VAE-Q1: the two terms (test digits)",
        "epoch",
        "nats per digit",
    )
    .with_series(Series::new(
        "reconstruction −log p(x|z)",
        pick(|r| r.record.test.map(|t| t.reconstruction)),
    ))
    .with_series(Series::new(
        "KL(q(z|x) ‖ p(z))",
        pick(|r| r.record.test.map(|t| t.kl)),
    ));
    ctx.plot("vae-q1-bounds.png", &bounds)?;
    ctx.plot("vae-q1-terms.png", &terms)
}

/// The course preset trained twice, with its loss as is and divided by 784: Adam divides each
/// step by the root of the squared gradients' running mean, so a constant factor cancels.
fn loss_scaling(ctx: &Setup) -> anyhow::Result<LossScaling> {
    let base = ctx.preset(Preset::Course, Backbone::Mlp);
    let scaled_config = base.clone().with_loss_scale(1.0 / 784.0);
    let plain = ctx.train("course-mlp", &base)?;
    let scaled = ctx.train("course-mlp-scaled", &scaled_config)?;
    let elbo = |t: &Trained| {
        t.last()
            .ok()
            .and_then(|r| r.test)
            .map(|t| t.elbo)
            .unwrap_or(f64::NAN)
    };
    let loss = |t: &Trained| t.last().map(|r| r.mean.loss).unwrap_or(f64::NAN);
    Ok(LossScaling {
        plain_test_elbo: elbo(&plain),
        scaled_test_elbo: elbo(&scaled),
        plain_train_loss: loss(&plain),
        scaled_train_loss: loss(&scaled),
    })
}
