//! RBM-Q2: hidden units, learning rate and training length against reconstructions and
//! likelihood.

use crate::answer::Answer;
use crate::experiment::Question;
use data::figure::{digit_grid, save_png, tensor_values};
use data::plot::{LinePlot, Series};
use rbm::ais::LogZEstimate;
use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::{Evaluation, Logged, NoExtra, Setup};
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
    /// Every epoch's monitor (pseudo-likelihoods in nats per image, reconstruction error per
    /// pixel).
    pub epochs: Vec<Logged<NoExtra>>,
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

/// Every setting of the sweeps with its label: the hidden units at the base learning rate,
/// then the other learning rates at the base hidden units.
fn settings(ctx: &Setup) -> Vec<(String, TrainConfig)> {
    let base = ctx.base_config();
    let mut settings: Vec<(String, TrainConfig)> = Vec::new();
    for &hidden in ctx.budget.sweep_hidden {
        let mut c = base.clone();
        c.model.hidden = hidden;
        settings.push((format!("{hidden} hidden, lr {}", c.learning_rate), c));
    }
    for &lr in ctx.budget.sweep_learning_rates {
        let mut c = base.clone();
        c.learning_rate = lr;
        if lr != base.learning_rate {
            settings.push((format!("{} hidden, lr {lr}", c.model.hidden), c));
        }
    }
    settings
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
    for (i, (label, config)) in settings(ctx).into_iter().enumerate() {
        let (state, records) =
            ctx.train::<NoExtra>(&format!("q2-{i}"), &config, |_| Ok(Map::new()))?;
        let (ll, estimate) = ctx.log_likelihood(&state, &config);
        mse_plot = mse_plot.with_series(Series::new(
            label.clone(),
            records
                .iter()
                .map(|r| (r.epoch as f64, r.metrics.test_reconstruction_mse))
                .collect(),
        ));
        rows.push(tensor_values(state.rbm.reconstruct(originals.clone())));
        runs.push(SweepRun {
            setting: label,
            config,
            ais_test_log_likelihood: ll,
            ais: estimate,
            epochs: records,
        });
    }
    let (grid_path, _) = ctx.ctx.figure("rbm-q2-reconstructions.png");
    save_png(&digit_grid(&rows.concat(), 10, None), &grid_path)?;
    let (plot_path, _) = ctx.ctx.figure("rbm-q2-reconstruction-error.png");
    mse_plot.save(&plot_path)?;
    ctx.ctx.write_answer(&Sweeps {
        evaluation: Some(ctx.evaluation()),
        runs,
    })
}
