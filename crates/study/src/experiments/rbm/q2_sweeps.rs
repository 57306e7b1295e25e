//! RBM-Q2: hidden units, learning rate and training length against reconstructions and
//! likelihood. Models of up to 20 hidden units get their exact likelihood, every epoch;
//! larger ones an AIS estimate, whose error the small ones measure.

use crate::answer::Answer;
use crate::experiment::Question;
use data::figure::{digit_grid, save_png, tensor_values};
use data::plot::{LinePlot, Series};
use rbm::RbmState;
use rbm::ais::{EXACT_MAX_HIDDEN, LogZEstimate, exact_log_z, mean_log_likelihood};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::{Evaluation, Logged, Setup};
use rbm::train::TrainConfig;

pub static EXPERIMENT: Question = Question {
    id: "RBM-Q2",
    answers: &["RBM-Q2"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// One setting of the sweeps, trained and scored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepRun {
    /// E.g. "64 hidden, lr 0.05".
    pub setting: String,
    pub config: TrainConfig,
    /// Nats per test image, by `ais`.
    pub ais_test_log_likelihood: f64,
    pub ais: LogZEstimate,
    /// Nats per test image with the exact `log Z`, for models of up to
    /// [`EXACT_MAX_HIDDEN`] hidden units (absent from numbers written before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_test_log_likelihood: Option<f64>,
    /// Every epoch's monitor (pseudo-likelihoods in nats per image, reconstruction error per
    /// pixel), with the exact likelihood where there is one.
    pub epochs: Vec<Logged<ExactPerEpoch>>,
}

/// The exact test log-likelihood after an epoch, nats per image (small models only).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ExactPerEpoch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_log_likelihood_exact: Option<f64>,
}

/// RBM-Q2's numbers: the runs of both sweeps, hidden units then learning rates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sweeps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    pub runs: Vec<SweepRun>,
}

impl Answer for Sweeps {
    const ID: &'static str = "RBM-Q2";
}

/// Every setting of the sweeps with its label: the hidden units at the sweep's learning
/// rate, then the other learning rates at each of the sweep's rate-sweep sizes.
fn settings(ctx: &Setup) -> Vec<(String, TrainConfig)> {
    let budget = &ctx.budget;
    let with = |hidden: usize, learning_rate: f64| {
        let mut c = ctx.base_config().with_learning_rate(learning_rate);
        c.model.hidden = hidden;
        (format!("{hidden} hidden, lr {learning_rate}"), c)
    };
    let by_hidden = budget
        .sweep_hidden
        .iter()
        .map(|&hidden| with(hidden, budget.sweep_learning_rate));
    let by_rate = budget.sweep_rate_hidden.iter().flat_map(|&hidden| {
        budget
            .sweep_learning_rates
            .iter()
            .map(move |&learning_rate| with(hidden, learning_rate))
    });
    by_hidden.chain(by_rate).collect()
}

/// RBM-Q2: hidden units, learning rate and training length.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let base = ctx.base_config();
    let originals = ctx
        .test_batch(&base, None)
        .images
        .slice([0..10, 0..data::PIXELS]);
    let mut rows = vec![tensor_values(originals.clone())];
    let mut mse_plot = LinePlot::new(
        "RBM-Q2: reconstruction error of test digits",
        "epoch",
        "mean squared error",
    )
    .log_y(true);
    let mut runs = Vec::new();
    let mut exact_plot = LinePlot::new(
        "RBM-Q2: exact test log-likelihood",
        "epoch",
        "nats per test digit",
    );
    for (i, (label, config)) in settings(ctx).into_iter().enumerate() {
        let exact = |state: &RbmState| exact_log_likelihood(ctx, state, &config);
        let (state, records) =
            ctx.train::<ExactPerEpoch>(&format!("q2-{i}"), &config, |state| {
                let mut extra = Map::new();
                if let Some(ll) = exact(state) {
                    extra.insert("test_log_likelihood_exact".into(), ll.into());
                }
                Ok(extra)
            })?;
        let (ll, estimate) = ctx.log_likelihood(&state, &config);
        mse_plot = mse_plot.with_series(Series::new(
            label.clone(),
            records
                .iter()
                .map(|r| (r.epoch as f64, r.metrics.test_reconstruction_mse))
                .collect(),
        ));
        let exact_points: Vec<(f64, f64)> = records
            .iter()
            .filter_map(|r| Some((r.epoch as f64, r.extra.test_log_likelihood_exact?)))
            .collect();
        if !exact_points.is_empty() {
            exact_plot = exact_plot.with_series(Series::new(label.clone(), exact_points));
        }
        rows.push(tensor_values(state.rbm.reconstruct(originals.clone())));
        runs.push(SweepRun {
            setting: label,
            // The hook scored the final state after the last epoch.
            exact_test_log_likelihood: (records.last())
                .and_then(|r| r.extra.test_log_likelihood_exact),
            config,
            ais_test_log_likelihood: ll,
            ais: estimate,
            epochs: records,
        });
    }
    let (exact_path, _) = ctx.ctx.figure("rbm-q2-exact-likelihood.png");
    exact_plot.save(&exact_path)?;
    let (grid_path, _) = ctx.ctx.figure("rbm-q2-reconstructions.png");
    save_png(&digit_grid(&rows.concat(), 10, None), &grid_path)?;
    let (plot_path, _) = ctx.ctx.figure("rbm-q2-reconstruction-error.png");
    mse_plot.save(&plot_path)?;
    ctx.ctx.write_answer(&Sweeps {
        evaluation: Some(ctx.evaluation()),
        runs,
    })
}

/// The test log-likelihood with the exact `log Z`, for a model small enough to enumerate.
fn exact_log_likelihood(ctx: &Setup, state: &RbmState, config: &TrainConfig) -> Option<f64> {
    (config.model.hidden <= EXACT_MAX_HIDDEN).then(|| {
        let log_z = exact_log_z(&state.rbm, ctx.device());
        mean_log_likelihood(&state.rbm, ctx.test_batch(config, None).images, log_z)
    })
}
