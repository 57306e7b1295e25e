//! GAN-Q1: the loss curves of the course's set-up and of the tuned one, read against the
//! game's equilibrium.

use crate::answer::Answer;
use crate::experiment::Question;
use data::plot::LinePlot;
use eval::SampleScores;
use serde::{Deserialize, Serialize};

use super::{Logged, Setup, Trained, constant, step_series};
use gan::model::Backbone;
use gan::sampling::unit_values;
use gan::train::{Preset, StepStats, TrainConfig};

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q1",
    answers: &["GAN-Q1"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// GAN-Q1's numbers: every epoch of the MLP GAN trained with the course's preset and with the
/// tuned one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LossCurves {
    /// The quick (CI) profile's short runs on a subset of the digits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// The course preset's run, then the tuned preset's.
    pub runs: Vec<PresetRun>,
}

impl Answer for LossCurves {
    const ID: &'static str = "GAN-Q1";
}

/// One preset's run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PresetRun {
    pub preset: Preset,
    pub config: TrainConfig,
    pub epochs: Vec<EpochNumbers>,
}

/// One epoch of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochNumbers {
    pub epoch: usize,
    /// The epoch's mean step figures: losses in nats, D's outputs and accuracies as
    /// fractions in [0, 1], gradient norms.
    pub mean: StepStats,
    /// The epoch's samples scored by the eval classifier.
    pub scores: Option<SampleScores>,
    /// Fraction in [0, 1] of those samples' pixels below 0.
    pub negative_pixel_fraction: Option<f64>,
}

/// GAN-Q1: the loss curves of the course's set-up and of the tuned one, read against the
/// game's equilibrium.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for preset in [Preset::Course, Preset::Tuned] {
        let config = ctx.budget(preset.config(Backbone::Mlp), Backbone::Mlp);
        let trained = ctx.train(&format!("q1-{}-mlp", preset.name()), &config)?;
        figures(ctx, preset, &config, &trained)?;
        runs.push(PresetRun {
            preset,
            epochs: trained.records.iter().map(epoch_numbers).collect(),
            config,
        });
    }
    ctx.ctx.write_answer(&LossCurves {
        quick: ctx.budget.quick,
        runs,
    })
}

fn epoch_numbers(r: &Logged) -> EpochNumbers {
    EpochNumbers {
        epoch: r.epoch,
        mean: r.record.mean,
        scores: r.record.scores.clone(),
        negative_pixel_fraction: r.record.negative_pixel_fraction,
    }
}

/// The preset's loss and output curves and a grid of its samples.
fn figures(
    ctx: &Setup,
    preset: Preset,
    config: &TrainConfig,
    trained: &Trained,
) -> anyhow::Result<()> {
    let records = &trained.records;
    let name = preset.name();
    let loss = config.loss;
    let losses = LinePlot::new(
        format!("GAN-Q1: losses per step, {name} preset (MLP)"),
        "step",
        "loss",
    )
    .with_series(step_series("D loss", records, |s| s.d_loss))
    .with_series(step_series("G loss", records, |s| s.g_loss))
    .with_series(constant(
        "D loss at equilibrium (2 ln 2)",
        records,
        loss.discriminator_at_equilibrium(),
    ))
    .with_series(constant(
        "G loss at equilibrium (ln 2)",
        records,
        loss.generator_at_equilibrium(),
    ));
    let outputs = LinePlot::new(
        format!("GAN-Q1: discriminator outputs per step, {name} preset"),
        "step",
        "mean D",
    )
    .with_series(step_series("D(x)", records, |s| s.d_real))
    .with_series(step_series("D(G(z))", records, |s| s.d_fake))
    .with_series(constant("equilibrium 1/2", records, 0.5));
    ctx.plot(&format!("gan-q1-{name}-losses.png"), &losses)?;
    ctx.plot(&format!("gan-q1-{name}-outputs.png"), &outputs)?;
    let samples = ctx.samples(&trained.generator, config, 64);
    ctx.grid(
        &format!("gan-q1-{name}-samples.png"),
        &unit_values(samples, config.real_scale),
        16,
        None,
    )
}
