//! GAN-Q2: a discriminator much stronger than the generator, with both generator losses.

use crate::answer::Answer;
use crate::experiment::Question;
use anyhow::Context as _;
use data::plot::LinePlot;
use eval::SampleScores;
use serde::{Deserialize, Serialize};

use super::{Logged, Setup, step_series};
use gan::loss::GanLoss;
use gan::model::Backbone;
use gan::sampling::unit_values;
use gan::train::TrainConfig;

/// Samples shown of each setting: one row of the grid.
const SAMPLES_PER_SETTING: usize = 12;

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q2",
    answers: &["GAN-Q2"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// GAN-Q2's numbers: the four settings, balanced or strong D with either generator loss.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StrongDiscriminator {
    /// The quick (CI) profile's short runs on a subset of the digits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// In the order balanced minimax, balanced non-saturating, strong D minimax, strong D
    /// non-saturating.
    pub settings: Vec<Setting>,
}

impl Answer for StrongDiscriminator {
    const ID: &'static str = "GAN-Q2";
}

/// One setting's run, read at its first and last epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Setting {
    /// E.g. "strong D, minimax".
    pub setting: String,
    pub config: TrainConfig,
    /// Mean L2 norm of G's parameter gradients over the first epoch's steps.
    pub grad_norm_g_first_epoch: f64,
    /// The same over the last epoch's steps.
    pub grad_norm_g_last_epoch: f64,
    /// Mean D(G(z)) over the last epoch, a probability in [0, 1].
    pub d_fake_last_epoch: f64,
    /// Fraction in [0, 1] of fakes D called fake over the last epoch (absent from runs
    /// scored before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_fake_last_epoch: Option<f64>,
    /// The last epoch's samples scored by the eval classifier.
    pub scores: SampleScores,
}

/// The four settings: balanced or strong D (learning rate 10x G's, 5 D updates per G update),
/// each with the minimax and the non-saturating generator loss.
fn settings(ctx: &Setup) -> [(&'static str, TrainConfig); 4] {
    let base = ctx.tuned(Backbone::Mlp);
    let epochs = ctx.budget.strong_discriminator_epochs;
    let strong = |c: TrainConfig| {
        c.with_epochs(epochs)
            .with_discriminator_learning_rate(10.0 * base.generator_learning_rate)
            .with_discriminator_steps(5)
    };
    [
        (
            "balanced, minimax",
            base.clone().with_epochs(epochs).with_loss(GanLoss::Minimax),
        ),
        ("balanced, non-saturating", base.clone().with_epochs(epochs)),
        (
            "strong D, minimax",
            strong(base.clone().with_loss(GanLoss::Minimax)),
        ),
        ("strong D, non-saturating", strong(base.clone())),
    ]
}

/// GAN-Q2: a discriminator much stronger than the generator, with both generator losses.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let mut norms = LinePlot::new(
        "GAN-Q2: gradient norm reaching G, per step",
        "step",
        "||grad G||",
    )
    .log_y(true);
    let mut settings_read = Vec::new();
    let mut grids = Vec::new();
    let mut row_labels = Vec::new();
    for (label, config) in settings(ctx) {
        let slug = label.replace([',', ' '], "-").replace("--", "-");
        let trained = ctx.train(&format!("q2-{slug}"), &config)?;
        grids.push(unit_values(
            ctx.samples(&trained.generator, &config, SAMPLES_PER_SETTING),
            config.real_scale,
        ));
        row_labels.extend(std::iter::repeat_n(label.to_string(), SAMPLES_PER_SETTING));
        norms = norms.with_series(step_series(label, &trained.records, |s| s.grad_norm_g));
        settings_read.push(setting(label, config, &trained.records)?);
    }
    ctx.plot("gan-q2-generator-gradient.png", &norms)?;
    ctx.grid(
        "gan-q2-samples.png",
        &grids.concat(),
        SAMPLES_PER_SETTING,
        Some(row_labels),
    )?;
    ctx.ctx.write_answer(&StrongDiscriminator {
        quick: ctx.budget.quick,
        settings: settings_read,
    })
}

fn setting(label: &str, config: TrainConfig, records: &[Logged]) -> anyhow::Result<Setting> {
    let first = records.first().context("an epoch")?;
    let last = records.last().context("an epoch")?;
    Ok(Setting {
        setting: label.to_string(),
        config,
        grad_norm_g_first_epoch: first.record.mean.grad_norm_g,
        grad_norm_g_last_epoch: last.record.mean.grad_norm_g,
        d_fake_last_epoch: last.record.mean.d_fake,
        accuracy_fake_last_epoch: Some(last.record.mean.accuracy_fake),
        scores: last.scores()?.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_writes_tiny_and_huge_values_as_powers_of_ten() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/results.json");
        let results: serde_json::Value = data::run::read_json(&path).unwrap();
        let text =
            crate::answer::render_json::<StrongDiscriminator>(&results["sections"]["GAN-Q2"])
                .unwrap();
        for shown in [
            "2.0 × 10^-10",
            "1.1 × 10^-13",
            "9.3 × 10^-4",
            "3.0102",
            "226.1",
        ] {
            assert!(text.contains(shown), "{shown} in {text}");
        }
    }
}
