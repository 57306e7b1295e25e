//! RBM-Q1: what the course's scikit-learn RBM reports (pseudo-likelihoods) against the
//! likelihood itself (AIS), epoch by epoch.

use crate::answer::Answer;
use crate::experiment::Question;
use data::plot::{LinePlot, Series};
use serde::{Deserialize, Serialize};

use super::q1_protocol::Protocol;
use super::{Evaluation, Logged, Setup};
use rbm::ais::{AisEvaluation, Convergence, LogZEstimate};
use rbm::train::TrainConfig;

pub static EXPERIMENT: Question = Question {
    id: "RBM-Q1",
    answers: &["RBM-Q1"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// What the experiment adds to every epoch's record: AIS on the test digits.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AisEpoch {
    /// Nats per image.
    pub ais_test_log_likelihood: f64,
    /// Chains (of `Evaluation::chains`) that effectively carry the estimate.
    pub ais_ess: f64,
    /// Nats.
    pub log_z: f64,
}

/// RBM-Q1's numbers: one run monitored epoch by epoch, and the shipped strong RBM with its
/// ablations.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MonitoredRun {
    pub config: TrainConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    /// Every epoch's monitor (pseudo-likelihoods in nats per image, reconstruction error per
    /// pixel) and AIS on the test digits.
    pub epochs: Vec<Logged<AisEpoch>>,
    /// The shipped strong RBM's training and AIS score, when this checkout has it (optional,
    /// so numbers without it still read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strong: Option<StrongRun>,
    /// The strong RBM against its ablations; null without the strong run.
    pub protocol: Option<Protocol>,
}

impl Answer for MonitoredRun {
    const ID: &'static str = "RBM-Q1";
}

/// The shipped `strong` RBM: how it was trained and what AIS scores it (the longer of
/// `rbm evaluate`'s two schedules).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StrongRun {
    pub config: TrainConfig,
    /// Seconds of training, summed over its epochs.
    pub train_seconds: f64,
    pub estimate: LogZEstimate,
    pub test_images: usize,
    /// Nats per image.
    pub test_log_likelihood: f64,
    /// The longer schedule against the 4x shorter one.
    pub convergence: Convergence,
}

/// RBM-Q1: pseudo-likelihoods and the AIS likelihood of one run, epoch by epoch.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let config = ctx.base_config();
    let (_, records) = ctx.train::<AisEpoch>("q1", &config, |state| {
        let (ll, estimate) = ctx.log_likelihood(state, &config);
        let extra = AisEpoch {
            ais_test_log_likelihood: ll,
            ais_ess: estimate.effective_sample_size,
            log_z: estimate.log_z,
        };
        data::run::fields(&extra)
    })?;
    plot(ctx, &records)?;
    let protocol = data::run::shipped("rbm", "strong").map(|dir| {
        let (rows, missing) = super::q1_protocol::rows(&dir);
        Protocol::new(rows, &missing)
    });
    let numbers = MonitoredRun {
        config,
        evaluation: Some(ctx.evaluation()),
        epochs: records,
        strong: shipped_strong()?,
        protocol,
    };
    ctx.ctx.write_answer(&numbers)
}

fn plot(ctx: &Setup, records: &[Logged<AisEpoch>]) -> anyhow::Result<()> {
    let series = |pick: fn(&Logged<AisEpoch>) -> f64| -> Vec<(f64, f64)> {
        records.iter().map(|r| (r.epoch as f64, pick(r))).collect()
    };
    let (path, _) = ctx.ctx.figure("rbm-q1-likelihoods.png");
    LinePlot::new(
        "RBM-Q1: what is monitored, epoch by epoch",
        "epoch",
        "nats per image",
    )
    .with_series(Series::new(
        "pseudo-likelihood, exact (784 conditionals)",
        series(|r| r.metrics.pseudo_likelihood_exact),
    ))
    .with_series(Series::new(
        "pseudo-likelihood, scikit-learn (1 pixel x 784)",
        series(|r| r.metrics.pseudo_likelihood_stochastic),
    ))
    .with_series(Series::new(
        "test log-likelihood (AIS)",
        series(|r| r.extra.ais_test_log_likelihood),
    ))
    .save(&path)
}

/// The shipped `strong` RBM's config, training time and AIS score (its `ais.json`, written
/// by `rbm evaluate`), when this checkout has it: the likelihood a well-trained RBM reaches.
pub(super) fn shipped_strong() -> anyhow::Result<Option<StrongRun>> {
    let Some(dir) = data::run::shipped("rbm", "strong") else {
        return Ok(None);
    };
    let ais: AisEvaluation = data::run::read_json(&dir.join("ais.json"))?;
    let (config, _): (TrainConfig, _) = data::run::load_latest(&dir, "RBM")?;
    let records = data::run::read_records::<Logged<super::NoExtra>>(&dir)?;
    let train_seconds = records.iter().filter_map(|r| r.metrics.train_seconds).sum();
    Ok(Some(StrongRun {
        config,
        train_seconds,
        estimate: ais.long.estimate,
        test_images: ais.test_images,
        test_log_likelihood: ais.long.test_log_likelihood,
        convergence: ais.convergence,
    }))
}
