//! The design and sampling choices, measured: the training cost of three widths, the two
//! noise schedules on short runs, the guidance scale and the sampler.

use burn::module::Module;
use serde::{Deserialize, Serialize};

use super::{Model, Setup};
use creative::diffusion::Schedule;
use creative::evaluate::Evaluation;
use creative::sample::Sampler;
use creative::train::{DiffusionState, Preset};
use creative::unet::UNetConfig;

/// Batch of the timed training steps.
const TIMED_BATCH: usize = 64;

/// What one width costs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WidthCost {
    pub base_channels: usize,
    pub parameters: usize,
    pub ms_per_step: f64,
    pub images_per_second: f64,
}

/// Times `timed_steps` training steps (batch 64, after one untimed step) of the full
/// preset's network at each width of the budget.
pub fn widths(setup: &Setup) -> anyhow::Result<Vec<WidthCost>> {
    let budget = &setup.budget;
    let key = format!(
        "widths-{:?}-{}-threads{}",
        budget.widths,
        budget.timed_steps,
        data::threads::current()
    );
    setup.cached(&key, || {
        let device = setup.ctx.selected.autodiff();
        budget
            .widths
            .iter()
            .map(|&base| {
                let mut config = Preset::Full.config().with_batch_size(TIMED_BATCH);
                config.model = UNetConfig::new().with_base_channels(base);
                let mut state = DiffusionState::new(&config, &device);
                let warm_up = setup.train.clone().limited(TIMED_BATCH);
                state.train_epoch(0, &warm_up, &config, &device);
                let timed = setup
                    .train
                    .clone()
                    .limited(TIMED_BATCH * budget.timed_steps);
                let record = state.train_epoch(1, &timed, &config, &device);
                Ok(WidthCost {
                    base_channels: base,
                    parameters: state.model.num_params(),
                    ms_per_step: 1000.0 * record.train_seconds / budget.timed_steps as f64,
                    images_per_second: record.images_per_second,
                })
            })
            .collect()
    })
}

/// One schedule's short run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScheduleRun {
    pub schedule: Schedule,
    pub base_channels: usize,
    pub epochs: usize,
    pub train_images: usize,
    pub train_seconds: f64,
    pub evaluation: Evaluation,
}

/// The same short run with the linear and the cosine schedule, each scored at guidance 2.
pub fn schedules(setup: &Setup) -> anyhow::Result<Vec<ScheduleRun>> {
    let (base, epochs, images) = setup.budget.schedule_runs;
    [Schedule::Linear, Schedule::Cosine]
        .into_iter()
        .map(|schedule| {
            let mut config = Preset::Full.config();
            config.model = UNetConfig::new().with_base_channels(base);
            let config = config
                .with_schedule(schedule)
                .with_epochs(epochs)
                .with_train_limit(images);
            let name = format!("schedule-{schedule:?}").to_lowercase();
            let dir = setup.train_shared(&name, &config)?;
            let (config, unet) = creative::tasks::load_model(&dir, setup.ctx.device())?;
            let records: Vec<creative::train::EpochRecord> = data::run::read_records(&dir)?;
            let model = Model {
                dir,
                shipped: false,
                config,
                unet,
                record: serde_json::Value::Null,
                records,
            };
            let evaluation = setup.measure(
                &model,
                setup.budget.sweep_samples,
                2.0,
                Sampler::Ddim {
                    steps: setup.budget.sweep_ddim_steps,
                },
            )?;
            Ok(ScheduleRun {
                schedule,
                base_channels: base,
                epochs,
                train_images: images,
                train_seconds: model.records.iter().map(|r| r.train_seconds).sum(),
                evaluation,
            })
        })
        .collect()
}

/// The model's samples at every guidance scale of the budget.
pub fn guidance(setup: &Setup, model: &Model) -> anyhow::Result<Vec<Evaluation>> {
    let sampler = Sampler::Ddim {
        steps: setup.budget.sweep_ddim_steps,
    };
    setup
        .budget
        .guidance_scales
        .iter()
        .map(|&scale| setup.measure(model, setup.budget.sweep_samples, scale, sampler))
        .collect()
}

/// The model's samples (guidance 2) by DDIM at every step count of the budget, and by
/// ancestral DDPM through all T steps when the budget has samples for it.
pub fn samplers(setup: &Setup, model: &Model) -> anyhow::Result<Vec<Evaluation>> {
    let budget = &setup.budget;
    let mut settings: Vec<(usize, Sampler)> = budget
        .ddim_step_counts
        .iter()
        .map(|&steps| (budget.sweep_samples, Sampler::Ddim { steps }))
        .collect();
    if budget.ddpm_samples > 0 {
        settings.push((budget.ddpm_samples, Sampler::Ddpm));
    }
    settings
        .into_iter()
        .map(|(n, sampler)| setup.measure(model, n, 2.0, sampler))
        .collect()
}
