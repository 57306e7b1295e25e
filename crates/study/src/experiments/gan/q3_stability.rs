//! GAN-Q3: seeds, FID and classes over epochs, loss oscillation, the course's mode
//! preference.

use crate::answer::Answer;
use crate::experiment::Question;
use anyhow::Context as _;
use data::plot::{LinePlot, Series};
use eval::SampleScores;
use serde::{Deserialize, Serialize};

use super::{Logged, Setup, common_window, epoch_series, last_epoch_std, windowed};
use gan::epoch::EpochRecord;
use gan::fixed_players::Spread;
use gan::model::Backbone;
use gan::train::StepStats;
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
    /// The configuration the seeds share (seed 0 also measures its losses' minibatch noise
    /// after every epoch, half an hour of CPU time per seed); absent from runs written before
    /// it was recorded.
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
    /// The last epoch's spread of each loss against the minibatch noise of its final players
    /// held fixed; absent from runs that did not measure the noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<LossNoise>,
    /// The same for the first epoch, over means of as many steps as the run's thinned
    /// records hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_first_epoch: Option<LossNoise>,
}

/// How far the spread of the losses during one epoch exceeds minibatch noise.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct LossNoise {
    /// Minibatches the fixed players were measured on.
    pub batches: usize,
    /// Steps each value the spread is taken over is the mean of (1: single steps).
    #[serde(default = "one")]
    pub window: usize,
    pub d_loss: NoiseRatio,
    pub g_loss: NoiseRatio,
}

fn one() -> usize {
    1
}

/// One loss: its standard deviation over minibatches with the players held fixed, and the
/// spread during training divided by it (about 1 when the steps differ by noise alone).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct NoiseRatio {
    pub fixed_std: f64,
    pub ratio: f64,
    /// Correlation of each logged value with the next: near 0 for noise, positive for a drift,
    /// negative for a zigzag from step to step.
    pub lag_1_autocorrelation: f64,
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
    let mut noise = None;
    let mut seeds = Vec::new();
    for seed in [0u64, 1, 2] {
        let config = match seed {
            0 => base
                .clone()
                .with_fixed_player_batches(Some(FIXED_PLAYER_BATCHES)),
            _ => base.clone().with_seed(seed),
        };
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
        noise = noise.or_else(|| noise_plot(seed, &records));
        seeds.push(seed_run(seed, &records)?);
    }
    // The course run of GAN-Q1: which digits does it favour?
    let course = ctx.budget(Preset::Course.config(Backbone::Mlp), Backbone::Mlp);
    let course_records = ctx.train("q1-course-mlp", &course)?.records;
    let course_final = course_records.last().context("an epoch")?.scores()?.clone();
    ctx.plot("gan-q3-fid.png", &fid)?;
    ctx.plot("gan-q3-class-kl.png", &kl)?;
    if let Some(noise) = &noise {
        ctx.plot("gan-q3-loss-noise.png", noise)?;
    }
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
        noise: records.last().and_then(|last| loss_noise(last, 1)),
        noise_first_epoch: (records.first())
            .and_then(|first| loss_noise(first, common_window(records))),
    })
}

/// An epoch's [`LossNoise`] over means of `window` steps, where the epoch measured its
/// players' noise.
fn loss_noise(logged: &Logged, window: usize) -> Option<LossNoise> {
    Some(LossNoise {
        batches: logged.record.fixed_players?.batches,
        window,
        d_loss: noise_ratio(&logged.record, LOSSES[0].1, window)?,
        g_loss: noise_ratio(&logged.record, LOSSES[1].1, window)?,
    })
}

/// Seed `seed`'s ratio of spread to noise for both losses over its epochs, where it measured
/// its noise.
fn noise_plot(seed: u64, records: &[Logged]) -> Option<LinePlot> {
    let window = common_window(records);
    let mut plot = LinePlot::new(
        format!("GAN-Q3: spread of seed {seed}'s losses during each epoch ÷ minibatch noise"),
        "epoch",
        format!("ratio, means of {window} step(s) (1 = noise alone)"),
    );
    for (loss, pick) in LOSSES {
        let points: Vec<(f64, f64)> = (records.iter())
            .filter_map(|r| Some((r.epoch as f64, noise_ratio(&r.record, pick, window)?.ratio)))
            .collect();
        if points.is_empty() {
            return None;
        }
        plot = plot.with_series(Series::new(format!("{loss} loss"), points));
    }
    Some(plot)
}

/// Minibatches seed 0's players are held fixed on after every epoch: the standard deviation
/// of their losses is then known to about 9% (1/sqrt(2 (n - 1))).
const FIXED_PLAYER_BATCHES: usize = 64;

/// A loss of a logged step.
type Pick = fn(&StepStats) -> f64;

/// The two losses, by name.
const LOSSES: [(&str, Pick); 2] = [("D", |s| s.d_loss), ("G", |s| s.g_loss)];

/// One loss of an epoch: the standard deviation of its logged values, as means over `window`
/// steps (a thinned record's own windows, averaged further where `window` is coarser), over
/// the minibatch noise of such a mean with the epoch's final players held fixed. None where
/// the noise was not measured.
fn noise_ratio(record: &EpochRecord, pick: Pick, window: usize) -> Option<NoiseRatio> {
    let fixed = record.fixed_players?;
    let fixed_std = pick(&StepStats {
        d_loss: fixed.d_loss.std,
        g_loss: fixed.g_loss.std,
        ..Default::default()
    });
    let values: Vec<f64> = (windowed(record, pick, window).into_iter())
        .map(|(_, value)| value)
        .collect();
    let stride = record.step_stride.max(1);
    let steps_per_value = (window / stride).max(1) * stride;
    let noise_of_mean = fixed_std / (steps_per_value as f64).sqrt();
    Some(NoiseRatio {
        fixed_std,
        ratio: Spread::of(&values).std / noise_of_mean,
        lag_1_autocorrelation: lag_1_autocorrelation(&values),
    })
}

/// Correlation of consecutive values about their mean (0 for fewer than two values).
fn lag_1_autocorrelation(values: &[f64]) -> f64 {
    let mean = Spread::of(values).mean;
    let centred: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let variance: f64 = centred.iter().map(|v| v * v).sum();
    let covariance: f64 = centred.windows(2).map(|pair| pair[0] * pair[1]).sum();
    if variance > 0.0 {
        covariance / variance
    } else {
        0.0
    }
}

/// Largest minus smallest value.
fn spread(values: impl Iterator<Item = f64> + Clone) -> f64 {
    values.clone().fold(f64::NEG_INFINITY, f64::max) - values.fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn a_zigzag_correlates_negatively_a_drift_positively() {
        use super::lag_1_autocorrelation;
        let zigzag = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0];
        assert!((lag_1_autocorrelation(&zigzag) + 5.0 / 6.0).abs() < 1e-12);
        let drift: Vec<f64> = (0..10).map(f64::from).collect();
        assert!(lag_1_autocorrelation(&drift) > 0.6);
        assert_eq!(lag_1_autocorrelation(&[2.0, 2.0]), 0.0);
    }

    #[test]
    fn the_spread_is_the_largest_minus_the_smallest_value() {
        assert_eq!(spread([71.8, 58.5, 57.7].into_iter()), 71.8 - 57.7);
    }
}
