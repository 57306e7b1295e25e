//! GAN-Q3: seeds, FID and classes over epochs, loss oscillation, the course's mode
//! preference.

use crate::answer::Answer;
use crate::experiment::Question;
use anyhow::Context as _;
use data::plot::LinePlot;
use eval::SampleScores;
use serde::{Deserialize, Serialize};

use super::{Logged, Setup, epoch_series, last_epoch_std};
use gan::model::Backbone;
use gan::train::{Preset, TrainConfig};

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q3",
    answers: &["GAN-Q3"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// GAN-Q3's numbers: one configuration trained with three seeds, and where GAN-Q1's course
/// run ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stability {
    /// The quick (CI) profile's short runs on a subset of the digits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// The configuration of seed 0 (the others differ only in their seed); absent from runs
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<TrainConfig>,
    pub seeds: Vec<SeedRun>,
    /// Largest minus smallest final FID across the seeds.
    pub final_fid_spread: f64,
    /// GAN-Q1's course run, scored after its last epoch.
    pub course_final: SampleScores,
}

impl Answer for Stability {
    const ID: &'static str = "GAN-Q3";
}

/// One seed's run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeedRun {
    pub seed: u64,
    /// Its samples scored after the last epoch.
    #[serde(rename = "final")]
    pub last: SampleScores,
    /// The lowest FID of any epoch, and that epoch.
    pub best_fid: f64,
    pub best_epoch: usize,
    /// Standard deviations of the D and G losses (nats) over the last epoch's steps.
    pub d_loss_std_last_epoch: f64,
    pub g_loss_std_last_epoch: f64,
}

/// GAN-Q3: seeds, FID and classes over epochs, loss oscillation, the course's mode preference.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let tuned = ctx.tuned(Backbone::Mlp);
    let base = match ctx.budget.stability_epochs {
        0 => tuned.clone(),
        epochs => tuned.clone().with_epochs(epochs),
    };
    let mut fid = LinePlot::new("GAN-Q3: FID over epochs, three seeds", "epoch", "FID").log_y(true);
    let mut kl = LinePlot::new(
        "GAN-Q3: KL(class histogram || uniform) over epochs",
        "epoch",
        "KL (nats)",
    );
    let mut seeds = Vec::new();
    for seed in [0u64, 1, 2] {
        let config = base.clone().with_seed(seed);
        let name = if serde_json::to_value(&config)? == serde_json::to_value(&tuned)? {
            "q1-tuned-mlp".to_string()
        } else {
            format!("q3-seed-{seed}")
        };
        let records = ctx.train(&name, &config)?.records;
        fid = fid.with_series(epoch_series(&format!("seed {seed}"), &records, |s| s.fid)?);
        kl = kl.with_series(epoch_series(&format!("seed {seed}"), &records, |s| {
            s.classes.kl_to_uniform
        })?);
        seeds.push(seed_run(seed, &records)?);
    }
    // The course run of GAN-Q1: which digits does it favour?
    let course = ctx.budget(Preset::Course.config(Backbone::Mlp), Backbone::Mlp);
    let course_records = ctx.train("q1-course-mlp", &course)?.records;
    let course_final = course_records.last().context("an epoch")?.scores()?.clone();
    ctx.plot("gan-q3-fid.png", &fid)?;
    ctx.plot("gan-q3-class-kl.png", &kl)?;
    ctx.ctx.write_answer(&Stability {
        quick: ctx.budget.quick,
        config: Some(base),
        final_fid_spread: spread(seeds.iter().map(|s| s.last.fid)),
        seeds,
        course_final,
    })
}

fn seed_run(seed: u64, records: &[Logged]) -> anyhow::Result<SeedRun> {
    let last = records.last().context("an epoch")?.scores()?.clone();
    let (best_epoch, best_fid) = records
        .iter()
        .map(|r| Ok((r.epoch, r.scores()?.fid)))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .context("an epoch")?;
    Ok(SeedRun {
        seed,
        last,
        best_fid,
        best_epoch,
        d_loss_std_last_epoch: last_epoch_std(records, |s| s.d_loss),
        g_loss_std_last_epoch: last_epoch_std(records, |s| s.g_loss),
    })
}

/// Largest minus smallest value.
fn spread(values: impl Iterator<Item = f64> + Clone) -> f64 {
    values.clone().fold(f64::NEG_INFINITY, f64::max) - values.fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn the_spread_is_the_largest_minus_the_smallest_value() {
        assert_eq!(spread([71.8, 58.5, 57.7].into_iter()), 71.8 - 57.7);
    }
}
