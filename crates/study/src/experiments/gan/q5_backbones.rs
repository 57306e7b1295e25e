//! GAN-Q5: MLP vs the course CNN vs DCGAN, at equal epochs and at equal wall time, each
//! against its aim; which of the DCGAN's players slows it (see [`super::q5_players`]).

use crate::answer::Answer;
use crate::experiment::Question;
use anyhow::Context as _;
use burn::module::Module;
use data::plot::{LinePlot, Series};
use eval::SampleScores;
use serde::{Deserialize, Serialize};

use super::q5_discriminator_changes::{
    ChangedRun, change_the_discriminator, change_the_generator, deeper_dcgan_run,
};
use super::q5_players::{Pairing, swap_the_players};
use super::{Logged, Setup, Trained};
use gan::model::Backbone;
use gan::sampling::unit_values;
use gan::train::TrainConfig;

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q5",
    answers: &["GAN-Q5"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// GAN-Q5's numbers: the three backbones under the tuned preset, read at one epoch, at equal
/// wall time and at their last epoch against their aims; the swap of players, the DCGAN's
/// one-change runs, and the DCGAN with both third layers against the aim.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Backbones {
    /// The quick (CI) profile's short runs on a subset of the digits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// The epoch at which all three backbones are compared.
    pub compared_epoch: usize,
    /// MLP, course CNN, DCGAN, in that order.
    pub backbones: Vec<BackboneRun>,
    /// The MLP read at each convolutional backbone's wall time for the compared epochs.
    pub equal_wall_time: Vec<EqualWallTime>,
    /// Real training digits scored against the test digits: the floor no generator can beat.
    pub real_floor: SampleScores,
    /// The epoch at which the pairings of players are read.
    pub swap_epoch: usize,
    /// Course CNN with course CNN, DCGAN with DCGAN, then the two swapped pairings.
    pub swapped_players: Vec<Pairing>,
    /// The course CNN, the DCGAN, then the DCGAN with one change to its discriminator at a
    /// time, all read at `swap_epoch`.
    #[serde(default)]
    pub discriminator_changes: Vec<ChangedRun>,
    /// The course CNN, the DCGAN with the third convolution in its discriminator, then that
    /// DCGAN with one change to its generator at a time, all read at `swap_epoch`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generator_changes: Vec<ChangedRun>,
    /// The DCGAN with both third layers (the discriminator's convolution and the generator's
    /// layer), trained on for the aim: no longer the peers' network.
    pub deeper_dcgan: BackboneRun,
}

impl Answer for Backbones {
    const ID: &'static str = "GAN-Q5";
}

/// One backbone (or the deeper DCGAN): its compared run, and its longest run (the peers'
/// DCGAN's trained on for its aim; for the others, the compared run itself).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackboneRun {
    pub backbone: Backbone,
    /// The name the report gives it.
    pub label: String,
    /// The compared run's configuration.
    pub config: TrainConfig,
    pub generator_parameters: usize,
    pub discriminator_parameters: usize,
    /// Mean training seconds per epoch of the compared run.
    pub seconds_per_epoch: f64,
    /// Training images per second over the compared epoch.
    pub images_per_second: f64,
    /// Wall time (seconds, evaluation included) when the compared epoch ended.
    pub seconds_to_compared_epoch: f64,
    /// Samples scored after the compared epoch.
    pub at_compared_epoch: SampleScores,
    /// Samples scored after the longest run's last epoch, and that epoch.
    pub last_epoch: usize,
    pub last: SampleScores,
    /// The aims of the last epoch: FID, and class KL to uniform (nats) where there is one.
    pub fid_aim: f64,
    pub class_kl_aim: Option<f64>,
    /// Every scored epoch of the longest run.
    pub progress: Vec<Progress>,
}

/// One scored epoch of a run.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Progress {
    pub epoch: usize,
    pub fid: f64,
    pub precision: f64,
    pub recall: f64,
    /// The discriminator's mean accuracy on real and fake images over the epoch (0-1).
    pub d_accuracy: f64,
}

/// The MLP at a convolutional backbone's wall time for the compared epochs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EqualWallTime {
    pub backbone: Backbone,
    pub seconds: f64,
    /// The MLP's last epoch finished within `seconds`, and its FID.
    pub mlp_epochs: usize,
    pub mlp_fid: f64,
    /// Whether the MLP's run had ended before `seconds` (so `mlp_epochs` is all it trained).
    pub mlp_ended_earlier: bool,
    /// That backbone's FID after the compared epochs.
    pub fid: f64,
}

/// What the tuned players should reach: (FID in the eval classifier's space, class KL to
/// uniform). The convolutional aim holds for both convolutional backbones.
fn aims(backbone: Backbone) -> (f64, Option<f64>) {
    match backbone {
        Backbone::Mlp => (30.0, None),
        Backbone::Cnn | Backbone::Dcgan => (10.0, Some(0.02)),
    }
}

/// The backbone as the report names it.
pub fn label(backbone: Backbone) -> &'static str {
    match backbone {
        Backbone::Mlp => "MLP",
        Backbone::Cnn => "course CNN",
        Backbone::Dcgan => "DCGAN",
    }
}

/// The shared run of `backbone` in this comparison, `(name, config)`: the tuned preset;
/// the DCGAN trains `backbone_epochs.0` epochs, the MLP longer so that it can also be read at
/// the wall time the convolutional ones took, and the course CNN as long as its reference
/// run (`course_cnn_epochs`; every run is scored after every epoch, so all three are also
/// read at `backbone_epochs.0`). The VAE-Q4 comparison trains (or reloads) the same runs.
pub fn backbone_run(ctx: &Setup, backbone: Backbone) -> (String, TrainConfig) {
    let (epochs, mlp_epochs) = ctx.budget.backbone_epochs;
    let config = ctx.tuned(backbone).with_epochs(match backbone {
        Backbone::Mlp => mlp_epochs,
        Backbone::Cnn => ctx.budget.course_cnn_epochs,
        Backbone::Dcgan => epochs,
    });
    // Same data per epoch for all three: in quick mode, the convolutional budget.
    let config = match ctx.budget.backbone_train_limit {
        0 => config,
        limit => config.with_train_limit(limit),
    };
    (format!("q5-{backbone:?}").to_lowercase(), config)
}

/// GAN-Q5's DCGAN trained on as long as the course CNN (`dcgan_reference_epochs`), the one
/// read against the aim; `None` where that is no longer than its compared run.
pub fn dcgan_reference_run(ctx: &Setup) -> Option<(String, TrainConfig)> {
    let (_, config) = backbone_run(ctx, Backbone::Dcgan);
    let epochs = ctx.budget.dcgan_reference_epochs;
    (epochs > config.epochs).then(|| ("q5-dcgan-reference".to_string(), config.with_epochs(epochs)))
}

/// A backbone's compared run and its longest run (the same run except for the peers' DCGAN).
struct Runs {
    backbone: Backbone,
    /// The name the report gives it.
    label: &'static str,
    config: TrainConfig,
    compared: Trained,
    longest: Option<Trained>,
}

impl Runs {
    fn longest(&self) -> &Trained {
        self.longest.as_ref().unwrap_or(&self.compared)
    }
}

/// GAN-Q5: trains (or reloads) the three backbones, the swapped players, the DCGAN's
/// one-change runs and the deeper DCGAN, writes the figures and the answer.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for backbone in [Backbone::Mlp, Backbone::Cnn, Backbone::Dcgan] {
        let (name, config) = backbone_run(ctx, backbone);
        let compared = ctx.train(&name, &config)?;
        let longest = match (backbone, dcgan_reference_run(ctx)) {
            (Backbone::Dcgan, Some((name, config))) => Some(ctx.train(&name, &config)?),
            _ => None,
        };
        runs.push(Runs {
            backbone,
            label: label(backbone),
            config,
            compared,
            longest,
        });
    }
    let (name, config) = deeper_dcgan_run(ctx);
    let deeper = Runs {
        backbone: Backbone::Dcgan,
        label: "DCGAN with both third layers",
        compared: ctx.train(&name, &config)?,
        config,
        longest: None,
    };
    let compared_epoch = ctx.budget.backbone_epochs.0;
    write_figures(ctx, &runs, &deeper)?;
    let backbones = (runs.iter())
        .map(|r| backbone_numbers(r, compared_epoch))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (cnn, dcgan) = (&runs[1].longest().records, &runs[2].longest().records);
    let swapped_players = swap_the_players(ctx, cnn, dcgan)?;
    let discriminator_changes = change_the_discriminator(ctx, cnn, dcgan)?;
    let generator_changes = change_the_generator(ctx, &discriminator_changes)?;
    ctx.ctx.write_answer(&Backbones {
        quick: ctx.budget.quick,
        compared_epoch,
        equal_wall_time: equal_wall_time(&backbones, &runs[0].compared.records),
        backbones,
        real_floor: eval::reference::shipped_reference(data::DataSetName::Mnist)?
            .floor()
            .clone(),
        swap_epoch: ctx.budget.swap_epochs,
        swapped_players,
        discriminator_changes,
        generator_changes,
        deeper_dcgan: backbone_numbers(&deeper, compared_epoch)?,
    })
}

/// FID against wall time for each backbone's longest run, and 32 samples of each and of the
/// deeper DCGAN (whose shipped run trained on two threads where the others had one, so its
/// wall time is not comparable).
fn write_figures(ctx: &Setup, runs: &[Runs], deeper: &Runs) -> anyhow::Result<()> {
    let mut fid = LinePlot::new("GAN-Q5: FID against training time", "seconds", "FID").log_y(true);
    for run in runs {
        let points = (run.longest().records.iter())
            .map(|r| Ok((r.wall_s, r.scores()?.fid)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        fid = fid.with_series(Series::new(run.label, points));
    }
    let shown = || runs.iter().chain([deeper]);
    let grids: Vec<f32> = shown()
        .flat_map(|run| {
            let samples = ctx.samples(&run.longest().generator, &run.config, 32);
            unit_values(samples, run.config.real_scale)
        })
        .collect();
    let labels = shown()
        .flat_map(|r| std::iter::repeat_n(r.label.to_string(), 32))
        .collect();
    ctx.plot("gan-q5-fid-time.png", &fid)?;
    ctx.grid("gan-q5-samples.png", &grids, 16, Some(labels))
}

fn backbone_numbers(run: &Runs, compared_epoch: usize) -> anyhow::Result<BackboneRun> {
    let records = &run.compared.records;
    let compared = at_epoch(records, compared_epoch)?;
    let last = run.longest().records.last().context("an epoch")?;
    let seconds_per_epoch =
        records.iter().map(|r| r.record.train_seconds).sum::<f64>() / records.len() as f64;
    let (fid_aim, class_kl_aim) = aims(run.backbone);
    Ok(BackboneRun {
        backbone: run.backbone,
        label: run.label.to_string(),
        config: run.config.clone(),
        generator_parameters: run.compared.generator.num_params(),
        discriminator_parameters: run.compared.discriminator_parameters,
        seconds_per_epoch,
        images_per_second: compared.record.images_per_second,
        seconds_to_compared_epoch: compared.wall_s,
        at_compared_epoch: compared.scores()?.clone(),
        last_epoch: last.epoch,
        last: last.scores()?.clone(),
        fid_aim,
        class_kl_aim,
        progress: progress(&run.longest().records)?,
    })
}

fn at_epoch(records: &[Logged], epoch: usize) -> anyhow::Result<&Logged> {
    (records.iter().find(|r| r.epoch == epoch))
        .with_context(|| format!("a run of GAN-Q5 is shorter than {epoch} epochs"))
}

/// Every scored epoch of a run.
pub fn progress(records: &[Logged]) -> anyhow::Result<Vec<Progress>> {
    records
        .iter()
        .map(|r| {
            let scores = r.scores()?;
            let mean = &r.record.mean;
            Ok(Progress {
                epoch: r.epoch,
                fid: scores.fid,
                precision: scores.precision_recall.precision,
                recall: scores.precision_recall.recall,
                d_accuracy: (mean.accuracy_real + mean.accuracy_fake) / 2.0,
            })
        })
        .collect()
}

/// The MLP's last epoch finished within each convolutional backbone's time for the compared
/// epochs.
fn equal_wall_time(backbones: &[BackboneRun], mlp: &[Logged]) -> Vec<EqualWallTime> {
    let mlp_end = mlp.last().map_or(0.0, |r| r.wall_s);
    (backbones.iter().filter(|b| b.backbone != Backbone::Mlp))
        .filter_map(|b| {
            let seconds = b.seconds_to_compared_epoch;
            let within = mlp.iter().rfind(|r| r.wall_s <= seconds)?;
            Some(EqualWallTime {
                backbone: b.backbone,
                seconds,
                mlp_epochs: within.epoch,
                mlp_fid: within.scores().ok()?.fid,
                mlp_ended_earlier: mlp_end < seconds,
                fid: b.at_compared_epoch.fid,
            })
        })
        .collect()
}
