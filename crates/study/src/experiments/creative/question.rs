//! CREATIVE: a class-conditional diffusion model on Fashion-MNIST, every choice discussed
//! with the measurement behind it.

use std::cell::RefCell;
use std::path::PathBuf;

use crate::answer::Answer;
use crate::experiment::Question;
use data::plot::{LinePlot, Series};
use eval::SampleScores;
use serde::{Deserialize, Serialize};

use super::baselines::{self, Baseline};
use super::sweeps::{self, ScheduleRun, WidthCost};
use super::trade_offs::{self, flat_from};
use super::{Budget, Model, Setup};
use creative::evaluate::Evaluation;
use creative::sample::{Request, Sampler, sample_observed, unit_values};
use creative::train::TrainConfig;

pub static EXPERIMENT: Question = Question {
    id: "CREATIVE",
    answers: &["CREATIVE"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Noise levels at which the trajectory figure shows x_t (T = 1000 steps, 999 = pure noise);
/// the CREATIVE template names them under the figure.
const TRAJECTORY_STEPS: [usize; 8] = [999, 900, 700, 500, 300, 150, 50, 0];

/// CREATIVE's numbers: the studied diffusion model, its design sweeps, its samples' scores
/// next to the real-data floor, and the VAE and GAN baselines.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DiffusionStudy {
    /// The profile's sizes; `budget.quick` tells the CI profile from the full one.
    pub budget: Budget,
    /// Where the studied model's weights were read from.
    pub model_dir: PathBuf,
    /// Whether they are the shipped weights rather than a run trained by this report.
    pub shipped: bool,
    pub config: TrainConfig,
    /// The training step's cost at each base width of the budget.
    pub widths: Vec<WidthCost>,
    /// The same short run with the linear and the cosine schedule.
    pub schedules: Vec<ScheduleRun>,
    /// `budget.eval_samples` samples, DDIM `budget.ddim_steps`, guidance 2.
    pub headline: Evaluation,
    /// The first `headline.samples` training images scored like samples.
    pub floor_headline: SampleScores,
    /// `budget.sweep_samples` samples (DDIM `budget.sweep_ddim_steps`) per guidance scale.
    pub guidance: Vec<Evaluation>,
    /// Guidance 2 by DDIM at each step count of the budget, then ancestral DDPM.
    pub samplers: Vec<Evaluation>,
    /// The first `budget.sweep_samples` training images scored like samples.
    pub floor_sweep: SampleScores,
    pub vae: Baseline,
    pub gan: Baseline,
    /// The evaluation classifier's accuracy on the real test split, fraction in [0, 1].
    pub classifier_test_accuracy: f64,
    /// The studied model's training run (absent from numbers written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingRun>,
    /// The real test images scored like samples (`data/pretrained/eval-reference.json`):
    /// how far new real images lie from the training set (absent from numbers written
    /// before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_test_images: Option<SampleScores>,
}

impl Answer for DiffusionStudy {
    const ID: &'static str = "CREATIVE";
}

/// The studied model's training run, from its epoch records and its `config.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainingRun {
    /// Epochs trained.
    pub epochs: usize,
    /// Seconds of training, summed over the epochs.
    pub train_seconds: f64,
    /// The first epoch (counted from 1) whose loss is within 5% of the last epoch's.
    pub flat_from_epoch: Option<usize>,
    /// The backend that trained it and why, as the run recorded it.
    pub backend: Option<String>,
}

impl TrainingRun {
    fn of(model: &Model) -> Self {
        let backend = model.record["backend_reason"].as_str();
        Self {
            backend: backend.map(str::to_owned),
            epochs: model.records.len(),
            train_seconds: model.records.iter().map(|r| r.train_seconds).sum(),
            flat_from_epoch: flat_from(&model.records).map(|epoch| epoch + 1),
        }
    }
}

fn run(setup: &Setup) -> anyhow::Result<()> {
    let budget = &setup.budget;
    let model = setup.model()?;
    let widths = sweeps::widths(setup)?;
    let schedules = sweeps::schedules(setup)?;
    let headline = headline(setup, &model)?;
    let guidance = sweeps::guidance(setup, &model)?;
    let samplers = sweeps::samplers(setup, &model)?;
    let (vae, gan) = (baselines::vae(setup)?, baselines::gan(setup)?);
    let floor_headline = setup.floor(headline.samples)?;
    let floor_sweep = setup.floor(budget.sweep_samples)?;
    loss_figure(setup, &model)?;
    sample_figures(setup, &model)?;
    let real_test_images = real_test_images()?;
    trade_offs::guidance_figure(setup, &guidance)?;
    trade_offs::baseline_figures(setup, &vae, &gan)?;
    let numbers = DiffusionStudy {
        budget: budget.clone(),
        model_dir: model.dir.clone(),
        shipped: model.shipped,
        training: Some(TrainingRun::of(&model)),
        config: model.config,
        widths,
        schedules,
        headline,
        floor_headline,
        guidance,
        samplers,
        floor_sweep,
        vae,
        gan,
        classifier_test_accuracy: setup.evaluator.card.test_accuracy,
        real_test_images: Some(real_test_images),
    };
    setup.ctx.write_answer(&numbers)
}

/// The headline evaluation: the shipped `evaluation.json` when it measured this setting at
/// this size, otherwise measured (and cached) now.
fn headline(setup: &Setup, model: &Model) -> anyhow::Result<Evaluation> {
    let sampler = Sampler::Ddim {
        steps: setup.budget.ddim_steps,
    };
    let n = setup.budget.eval_samples;
    let saved: Option<Evaluation> = data::run::read_json(&model.dir.join("evaluation.json")).ok();
    match saved {
        Some(e) if e.samples == n && e.sampler == sampler && (e.guidance - 2.0).abs() < 1e-9 => {
            Ok(e)
        }
        _ => setup.measure(model, n, 2.0, sampler),
    }
}

/// The training loss per epoch of the studied model.
fn loss_figure(setup: &Setup, model: &Model) -> anyhow::Result<()> {
    let curve = LinePlot::new(
        "CREATIVE: noise-prediction loss per epoch",
        "epoch",
        "mean squared error of the predicted noise",
    )
    .with_series(Series::new(
        "training loss",
        model
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| ((i + 1) as f64, r.loss))
            .collect(),
    ));
    setup.ctx.plot_figure("creative-loss.png", &curve)?;
    Ok(())
}

/// Ten samples per class (guidance 2, DDIM 50), then four denoising trajectories.
fn sample_figures(setup: &Setup, model: &Model) -> anyhow::Result<()> {
    let ctx = setup.ctx;
    let per_class = 10;
    let grid = creative::tasks::class_grid(
        &model.unet,
        &model.config,
        per_class,
        (2.0, Sampler::Ddim { steps: 50 }, 11),
        ctx.device(),
    );
    ctx.digit_figure("creative-classes.png", &grid, per_class, None)?;
    ctx.digit_figure(
        "creative-trajectory.png",
        &trajectory(model, ctx.device()),
        TRAJECTORY_STEPS.len(),
        None,
    )?;
    Ok(())
}

/// Four samples (classes 0, 5, 7, 9), x_t at each of [`TRAJECTORY_STEPS`], one row each.
fn trajectory(model: &Model, device: &burn::tensor::Device) -> Vec<f32> {
    let classes = vec![0, 5, 7, 9];
    let snapshots = RefCell::new(Vec::new());
    let request = Request {
        classes: classes.clone(),
        guidance: 2.0,
        sampler: Sampler::Ddpm,
        seed: 3,
    };
    let last = sample_observed(
        &model.unet,
        &model.config.noise_schedule(),
        model.config.model.classes,
        &request,
        device,
        |x, t| {
            if TRAJECTORY_STEPS[..TRAJECTORY_STEPS.len() - 1].contains(&t) {
                snapshots
                    .borrow_mut()
                    .push(unit_values(x.clone().clamp(-1.0, 1.0)));
            }
        },
    );
    let mut columns = snapshots.into_inner();
    columns.push(unit_values(last));
    // Row-major: sample i's column j is snapshot j's image i.
    (0..classes.len())
        .flat_map(|i| {
            columns
                .iter()
                .flat_map(move |c| c[i * data::PIXELS..(i + 1) * data::PIXELS].to_vec())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The real Fashion-MNIST test images scored like samples, shipped in
/// `data/pretrained/eval-reference.json`.
fn real_test_images() -> anyhow::Result<SampleScores> {
    Ok(eval::reference::shipped_reference(data::DataSetName::FashionMnist)?.real_test)
}

#[cfg(test)]
mod tests {
    use super::*;
    use creative::train::EpochRecord;

    fn records(losses: &[f64]) -> Vec<EpochRecord> {
        losses
            .iter()
            .map(|&loss| EpochRecord {
                loss,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn the_loss_flattens_at_the_first_epoch_within_five_percent_of_the_last() {
        assert_eq!(flat_from(&records(&[0.5, 0.2, 0.104, 0.11, 0.1])), Some(2));
        assert_eq!(flat_from(&records(&[0.1, 0.2])), Some(0));
        assert_eq!(flat_from(&[]), None);
    }

    /// CREATIVE's numbers as `cargo xtask render` reads them: the last full run's.
    fn committed() -> serde_json::Value {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/results.json");
        let results: serde_json::Value = data::run::read_json(&path).unwrap();
        results["sections"]["CREATIVE"].clone()
    }

    #[test]
    fn the_quick_profile_states_no_claim_its_numbers_need_not_support() {
        let mut numbers = committed();
        numbers["budget"]["quick"] = true.into();
        // Samples harder to classify than real images: a broken claim of the full profile.
        numbers["headline"]["class_accuracy"] = 0.2.into();
        let text = crate::answer::render_json::<DiffusionStudy>(&numbers).unwrap();
        assert!(text.starts_with("*Quick profile"), "{text}");
        numbers["budget"]["quick"] = false.into();
        let err = crate::answer::render_json::<DiffusionStudy>(&numbers).unwrap_err();
        assert!(format!("{err:#}").contains("easier to classify"), "{err:#}");
    }

    #[test]
    fn numbers_without_the_training_run_or_the_real_test_images_render_without_them() {
        let mut numbers = committed();
        let fields = numbers.as_object_mut().unwrap();
        fields.remove("training");
        fields.remove("real_test_images");
        let text = crate::answer::render_json::<DiffusionStudy>(&numbers).unwrap();
        assert!(
            !text.contains("not copies") && !text.contains("epochs in"),
            "{text}"
        );
    }

    #[test]
    fn new_real_images_lie_a_positive_distance_from_the_training_set() {
        let distance = real_test_images().unwrap().nearest_train_mean;
        assert!(distance > 1.0 && distance < 10.0, "{distance}");
    }
}
