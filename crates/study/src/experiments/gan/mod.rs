//! The experiments that answer GAN-Q1 to GAN-Q6, one file per question: each trains (or
//! reloads) the runs it needs as shared runs, writes its figures, and writes its report
//! section with the numbers it measured. Quick and full budgets are declared once, in
//! [`Budget`].

pub mod q1_losses;
pub mod q2_strong_discriminator;
pub mod q3_stability;
pub mod q4_latent_space;
pub mod q5_backbones;
mod q5_discriminator_changes;
mod q5_players;
pub mod q6_families;

use crate::run_or_load::{NoSummary, SharedRun};
use crate::{Context, Experiment};
use anyhow::Context as _;
use burn::module::Module;
use burn::tensor::Tensor;
use data::ImageSet;
use data::plot::{LinePlot, Series};
use eval::{Evaluator, SampleScores};
use serde::Deserialize;

use gan::epoch::{EpochRecord, train_run};
use gan::model::{Backbone, Generator};
use gan::sampling::{EVAL_SEED, load_generator, sample};
use gan::train::{Preset, StepStats, TrainConfig};

/// This crate's experiments, in report order. GAN-Q6 compares the families, so it runs
/// after every other family's experiments.
pub static REGISTRY: &[&dyn Experiment] = &[
    &q1_losses::EXPERIMENT,
    &q2_strong_discriminator::EXPERIMENT,
    &q3_stability::EXPERIMENT,
    &q4_latent_space::EXPERIMENT,
    &q5_backbones::EXPERIMENT,
    &q6_families::EXPERIMENT,
];

/// Sizes of the quick (CI) and full profiles, in one place.
#[derive(Clone, Debug)]
pub struct Budget {
    pub quick: bool,
    /// `(epochs, training digits)` of MLP runs in the quick profile (the full profile keeps
    /// each preset's epochs and all 60,000 digits).
    pub quick_mlp: (usize, usize),
    /// The same for the convolutional backbones: a few thousand images per epoch on two CPU
    /// cores.
    pub quick_conv: (usize, usize),
    /// Samples scored after every epoch.
    pub eval_samples: usize,
    /// Epochs of GAN-Q2's four settings.
    pub strong_discriminator_epochs: usize,
    /// Epochs of GAN-Q3's three seeds (0: the tuned preset's).
    pub stability_epochs: usize,
    /// GAN-Q5: epochs of the convolutional backbones and of the MLP (which trains longer to
    /// be read at their wall times), and the digits per epoch of all three (0: all).
    pub backbone_epochs: (usize, usize),
    /// GAN-Q5: epochs of the course CNN, the convolutional reference model (read at
    /// `backbone_epochs.0` beside the others, and at its end against the aim).
    pub course_cnn_epochs: usize,
    /// GAN-Q5: epochs of the DCGAN read against the aim, as long as the course CNN (its run
    /// compared at equal epochs, which VAE-Q4 matches, stops at `backbone_epochs.0`).
    pub dcgan_reference_epochs: usize,
    pub backbone_train_limit: usize,
    /// GAN-Q5: epochs of the runs that swap one player between the course CNN and the DCGAN,
    /// read beside both at that epoch (at most `backbone_epochs.0`).
    pub swap_epochs: usize,
    /// GAN-Q5: epochs of the DCGAN with both third layers (the discriminator's convolution and
    /// the generator's transposed convolution), read against the aim (at least
    /// `backbone_epochs.0`, where it is compared, and at most `course_cnn_epochs`, which it is
    /// read beside).
    pub deeper_dcgan_epochs: usize,
    /// Samples scored for the cross-family comparison.
    pub family_samples: usize,
}

impl Budget {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                quick_mlp: (5, 10_240),
                quick_conv: (2, 2_560),
                eval_samples: 2_000,
                strong_discriminator_epochs: 3,
                stability_epochs: 0,
                backbone_epochs: (2, 12),
                course_cnn_epochs: 2,
                dcgan_reference_epochs: 2,
                backbone_train_limit: 2_560,
                swap_epochs: 2,
                deeper_dcgan_epochs: 2,
                family_samples: 1000,
            }
        } else {
            Self {
                quick,
                quick_mlp: (0, 0),
                quick_conv: (0, 0),
                eval_samples: 10_000,
                strong_discriminator_epochs: 15,
                stability_epochs: 30,
                backbone_epochs: (30, 100),
                course_cnn_epochs: 100,
                dcgan_reference_epochs: 100,
                backbone_train_limit: 0,
                swap_epochs: 10,
                deeper_dcgan_epochs: 50,
                family_samples: 10_000,
            }
        }
    }
}

/// One epoch as logged in `metrics.jsonl`.
#[derive(Clone, Debug, Deserialize)]
pub struct Logged {
    pub epoch: usize,
    pub wall_s: f64,
    #[serde(flatten)]
    pub record: EpochRecord,
}

impl Logged {
    fn scores(&self) -> anyhow::Result<&SampleScores> {
        self.record
            .scores
            .as_ref()
            .context("the run was trained without evaluation")
    }
}

/// A trained run as the experiments read it: the generator (evaluation mode), the size of
/// the discriminator it was trained against (shipped runs keep only the generator) and the
/// epoch records.
pub struct Trained {
    pub generator: Generator,
    pub discriminator_parameters: usize,
    pub records: Vec<Logged>,
}

/// What a GAN experiment keeps of the two players.
struct Players {
    /// The generator samples are drawn from (its weight average where there is one).
    generator: Generator,
    discriminator_parameters: usize,
}

/// What the GAN experiments share: the context, the budget, the data and the evaluator.
pub struct Setup<'a> {
    pub ctx: &'a Context,
    pub budget: Budget,
    pub train: &'a ImageSet,
    pub test: &'a ImageSet,
    pub evaluator: &'a Evaluator,
}

impl<'a> Setup<'a> {
    pub fn new(ctx: &'a Context) -> anyhow::Result<Self> {
        Ok(Self {
            budget: Budget::new(ctx.quick()),
            train: ctx.train_set()?,
            test: ctx.test_set()?,
            evaluator: ctx.evaluator()?,
            ctx,
        })
    }

    /// The tuned preset at this profile's budget.
    pub fn tuned(&self, backbone: Backbone) -> TrainConfig {
        self.budget(Preset::Tuned.config(backbone), backbone)
    }

    /// Shrinks a config to CI size in quick mode; in full mode keeps the preset's epochs.
    fn budget(&self, config: TrainConfig, backbone: Backbone) -> TrainConfig {
        let config = config.with_eval_samples(self.budget.eval_samples);
        if !self.budget.quick {
            return config;
        }
        let (epochs, images) = match backbone {
            Backbone::Mlp => self.budget.quick_mlp,
            Backbone::Cnn | Backbone::Dcgan => self.budget.quick_conv,
        };
        config.with_epochs(epochs).with_train_limit(images)
    }

    /// The GAN of `config` (see [`Context::run_or_load`]): the shipped run trained with it,
    /// else the shared run `<name>-<config hash>`, loaded, resumed or trained now.
    pub fn train(&self, name: &str, config: &TrainConfig) -> anyhow::Result<Trained> {
        let device = self.ctx.device();
        let run = SharedRun {
            model: "gan",
            name,
            config,
            seed: config.seed,
        };
        let obtained = self.ctx.run_or_load(
            run,
            |run| {
                let train = self.train.clone().limited(config.train_limit);
                train_run(
                    run,
                    config,
                    &train,
                    Some(self.evaluator),
                    &self.ctx.selected,
                )
            },
            |_| NoSummary {},
            |state| Players {
                generator: state.sampled_generator().valid(),
                discriminator_parameters: state.discriminator.num_params(),
            },
            |dir| {
                Ok(Players {
                    generator: load_generator(dir, device)?.1,
                    discriminator_parameters: config.model.init_discriminator(device).num_params(),
                })
            },
        )?;
        Ok(Trained {
            generator: obtained.model.generator,
            discriminator_parameters: obtained.model.discriminator_parameters,
            records: data::run::read_records(&obtained.dir).context("reading the epoch records")?,
        })
    }

    pub fn samples(&self, generator: &Generator, config: &TrainConfig, count: usize) -> Tensor<2> {
        sample(
            generator,
            config.model.latent,
            count,
            EVAL_SEED,
            self.ctx.device(),
        )
    }

    /// Writes a grid of `values` ([0, 1]) as figure `file`; the templates link it by name.
    fn grid(
        &self,
        file: &str,
        values: &[f32],
        cols: usize,
        labels: Option<Vec<String>>,
    ) -> anyhow::Result<()> {
        self.ctx.digit_figure(file, values, cols, labels).map(drop)
    }

    /// Saves `plot` as figure `file`; the templates link it by name.
    fn plot(&self, file: &str, plot: &LinePlot) -> anyhow::Result<()> {
        self.ctx.plot_figure(file, plot).map(drop)
    }

    fn epoch_note(&self, config: &TrainConfig) -> String {
        let average = match config.generator_average_decay {
            0.0 => String::new(),
            decay => format!(", samples from G's weight average (decay {decay})"),
        };
        format!(
            "{} epochs over {} training digits, batch {}, {} samples scored per epoch{average}",
            config.epochs,
            if config.train_limit > 0 {
                config.train_limit
            } else {
                self.train.len()
            },
            config.batch_size,
            config.eval_samples
        )
    }
}

/// Per-step series of one figure over a whole run, x = global step. Every epoch is drawn at
/// the [`common_window`]: otherwise a shipped run's whole last epoch, with its step-to-step
/// noise, would look like a burst at the end.
fn step_series(name: &str, records: &[Logged], pick: fn(&StepStats) -> f64) -> Series {
    let window = common_window(records);
    let mut points = Vec::new();
    let mut before = 0.0;
    for r in records {
        points
            .extend((windowed(&r.record, pick, window).into_iter()).map(|(x, y)| (before + x, y)));
        before += r.record.step_count() as f64;
    }
    Series::new(name, points)
}

/// The coarsest window any epoch of a run was thinned to (a shipped run keeps its last epoch
/// whole): every epoch is read at it, so that all its epochs compare.
fn common_window(records: &[Logged]) -> usize {
    (records.iter())
        .map(|r| r.record.step_stride.max(1))
        .max()
        .unwrap_or(1)
}

/// One epoch's step figure as means over `window` steps (a thinned record's own windows,
/// averaged further where `window` is coarser): each mean's position in the epoch (in steps)
/// and its value.
fn windowed(record: &EpochRecord, pick: fn(&StepStats) -> f64, window: usize) -> Vec<(f64, f64)> {
    let per_window = (window / record.step_stride.max(1)).max(1);
    let positioned: Vec<(f64, f64)> = (record.positioned_steps())
        .map(|(step, s)| (step, pick(s)))
        .collect();
    (positioned.chunks(per_window))
        .map(|chunk| {
            let n = chunk.len() as f64;
            let (x, y) = (chunk.iter()).fold((0.0, 0.0), |(x, y), (cx, cy)| (x + cx, y + cy));
            (x / n, y / n)
        })
        .collect()
}

/// Per-epoch series of an eval figure.
fn epoch_series(
    name: &str,
    records: &[Logged],
    pick: fn(&SampleScores) -> f64,
) -> anyhow::Result<Series> {
    let points = records
        .iter()
        .map(|r| Ok((r.epoch as f64, pick(r.scores()?))))
        .collect::<anyhow::Result<_>>()?;
    Ok(Series::new(name, points))
}

fn constant(name: &str, records: &[Logged], value: f64) -> Series {
    let steps: usize = records.iter().map(|r| r.record.step_count()).sum();
    Series::new(name, vec![(1.0, value), (steps.max(2) as f64, value)])
}

/// Standard deviation of a step figure over the last epoch: how much the game oscillates.
fn last_epoch_std(records: &[Logged], pick: fn(&StepStats) -> f64) -> f64 {
    let Some(last) = records.last() else {
        return f64::NAN;
    };
    let values: Vec<f64> = last.record.steps.iter().map(pick).collect();
    gan::fixed_players::Spread::of(&values).std
}

#[cfg(test)]
mod tests {
    use crate::answer::render_json;

    /// A shipped run's thinned epochs (windows of 4 steps) and its whole last epoch are drawn
    /// at the same window: the last epoch's 8 steps become 2 points, at their windows' centres.
    #[test]
    fn every_epoch_of_a_step_plot_is_drawn_at_the_same_window() {
        let epoch = |steps: Vec<f64>, stride: usize, count: usize| super::Logged {
            epoch: 1,
            wall_s: 0.0,
            record: gan::epoch::EpochRecord {
                steps: (steps.into_iter())
                    .map(|d_loss| gan::train::StepStats {
                        d_loss,
                        ..Default::default()
                    })
                    .collect(),
                step_stride: stride,
                step_count: Some(count),
                ..Default::default()
            },
        };
        let records = [
            epoch(vec![1.0, 2.0], 4, 8),
            epoch(vec![0.0, 2.0, 0.0, 2.0, 4.0, 4.0, 4.0, 4.0], 1, 8),
        ];
        let series = super::step_series("D", &records, |s| s.d_loss);
        assert_eq!(
            series.points,
            vec![(2.5, 1.0), (6.5, 2.0), (10.5, 1.0), (14.5, 4.0)]
        );
    }

    /// The committed (full-profile) numbers of `id`, marked as the quick profile's.
    fn as_quick(id: &str) -> serde_json::Value {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/results.json");
        let results: serde_json::Value = data::run::read_json(&path).unwrap();
        let mut numbers = results["sections"][id].clone();
        numbers["quick"] = true.into();
        numbers
    }

    #[test]
    fn the_quick_profile_renders_a_smoke_test_note_instead_of_the_answer() {
        // Each text with the lead-in of its full-profile answer, which must not show.
        let texts = [
            (
                render_json::<super::q1_losses::LossCurves>(&as_quick("GAN-Q1")),
                "**What do the curves show?**",
            ),
            (
                render_json::<super::q2_strong_discriminator::StrongDiscriminator>(&as_quick(
                    "GAN-Q2",
                )),
                "**What happens when",
            ),
            (
                render_json::<super::q3_stability::Stability>(&as_quick("GAN-Q3")),
                "**Do GANs converge?**",
            ),
            (
                render_json::<super::q4_latent_space::LatentSpace>(&as_quick("GAN-Q4")),
                "**What does walking",
            ),
            (
                render_json::<super::q5_backbones::Backbones>(&as_quick("GAN-Q5")),
                "**Does the CNN backbone help?**",
            ),
        ];
        for (text, answer) in texts {
            let text = text.unwrap();
            assert!(text.contains("*Quick profile:"), "{text}");
            assert!(!text.contains(answer), "{text}");
        }
    }
}
