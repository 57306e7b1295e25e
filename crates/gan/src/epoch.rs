//! Training epochs: the alternating steps over the data, then the per-epoch grid and
//! scores, through the run's checkpoints.

use burn::tensor::Device;
use data::run::{Resumed, epoch_progress};
use data::{BatchOrder, ImageBatcher, ImageSet, Run, SelectedDevice, train_batches};
use eval::{Evaluator, SampleScores};
use serde::{Deserialize, Serialize};

use crate::fixed_players::{FixedPlayerLosses, fixed_player_losses};
use crate::sampling::{EVAL_SEED, negative_fraction, sample, sample_grid};
use crate::train::{GanState, StepStats, TrainConfig};

/// Means of the step figures over one epoch, and every step's figures.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EpochRecord {
    pub mean: StepStats,
    pub steps: Vec<StepStats>,
    /// Steps each entry of `steps` is the mean of: 1 as trained, more in a shipped run's
    /// thinned records ([`data::run::thin_step_records`]).
    #[serde(default = "one_step", skip_serializing_if = "is_one_step")]
    pub step_stride: usize,
    /// The epoch's number of steps, when `steps` was thinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_count: Option<usize>,
    /// Wall time of the epoch's updates (not of the evaluation).
    pub train_seconds: f64,
    pub images_per_second: f64,
    /// Eval metrics of `eval_samples` samples, when scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<SampleScores>,
    /// Fraction of those samples' pixels below 0: the part of tanh's range a [0, 1] data
    /// set never uses (added with the scores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_pixel_fraction: Option<f64>,
    /// Both losses of the epoch's final players over many minibatches, when the config asks
    /// for them (`fixed_player_batches`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_players: Option<FixedPlayerLosses>,
}

fn one_step() -> usize {
    1
}

fn is_one_step(stride: &usize) -> bool {
    *stride == 1
}

impl EpochRecord {
    /// How many steps the epoch had.
    pub fn step_count(&self) -> usize {
        self.step_count.unwrap_or(self.steps.len())
    }

    /// Each entry of `steps` with the step of the epoch it stands for (1-based; the middle
    /// of its window in thinned records).
    pub fn positioned_steps(&self) -> impl Iterator<Item = (f64, &StepStats)> {
        let stride = self.step_stride.max(1);
        let count = self.step_count();
        self.steps.iter().enumerate().map(move |(j, s)| {
            let first = j * stride + 1;
            let last = ((j + 1) * stride).min(count.max(first));
            ((first + last) as f64 / 2.0, s)
        })
    }
}

/// Trains one epoch over `train` on the autodiff `device`.
pub fn train_epoch(
    state: &mut GanState,
    epoch: usize,
    train: &ImageSet,
    config: &TrainConfig,
    device: &Device,
) -> EpochRecord {
    // Dropout masks come from the device's stream.
    device.seed(data::run::epoch_seed(config.seed, epoch));
    let batcher = ImageBatcher::new(config.transform()).for_epoch(epoch as u64);
    let order = BatchOrder::shuffled_full(config.batch_size, config.seed);
    let pass = train_batches(train.len(), order, epoch, |i, indices| {
        let real = batcher.batch_indices(train, indices, device).images;
        let noise_seed = data::seed::step_seed(config.seed, epoch, i);
        state.step(real, config, noise_seed)
    });
    EpochRecord {
        mean: mean_stats(&pass.results),
        train_seconds: pass.seconds,
        images_per_second: pass.images_per_second,
        steps: pass.results,
        step_stride: 1,
        step_count: None,
        scores: None,
        negative_pixel_fraction: None,
        fixed_players: None,
    }
}

fn mean_stats(steps: &[StepStats]) -> StepStats {
    let n = steps.len().max(1) as f64;
    let mut mean = StepStats::default();
    for s in steps {
        mean.d_loss += s.d_loss / n;
        mean.g_loss += s.g_loss / n;
        mean.d_real += s.d_real / n;
        mean.d_fake += s.d_fake / n;
        mean.accuracy_real += s.accuracy_real / n;
        mean.accuracy_fake += s.accuracy_fake / n;
        mean.grad_norm_d += s.grad_norm_d / n;
        mean.grad_norm_g += s.grad_norm_g / n;
    }
    mean
}

/// Trains `config` in `run` (resuming it if the run was opened with `--resume`): after every
/// epoch a fixed-noise grid goes to `<run>/samples/epoch-NNN.png` and, with an evaluator,
/// `eval_samples` samples are scored. Returns the trained players.
pub fn train_run(
    run: &mut Run,
    config: &TrainConfig,
    train: &ImageSet,
    evaluator: Option<&Evaluator>,
    selected: &SelectedDevice,
) -> anyhow::Result<GanState> {
    let device = selected.autodiff();
    let plain = selected.device.clone();
    device.seed(config.seed);
    let Resumed {
        mut state,
        first_epoch,
    } = run.resume(GanState::new(config, &device), config.epochs)?;
    let mut progress = epoch_progress(first_epoch, config.epochs);
    for epoch in first_epoch..config.epochs {
        let mut record = train_epoch(&mut state, epoch, train, config, &device);
        data::run::ensure_not_diverged(
            epoch,
            &[
                ("d_loss", record.mean.d_loss),
                ("g_loss", record.mean.g_loss),
            ],
        )?;
        record.fixed_players = (config.fixed_player_batches)
            .map(|batches| fixed_player_losses(&state, train, config, epoch, batches, &device));
        let grid = sample_grid(state.sampled_generator(), config, &plain);
        run.save_sample_grid(epoch, &grid, 8)?;
        if let Some(evaluator) = evaluator.filter(|_| config.eval_samples > 0) {
            let samples = sample(
                state.sampled_generator(),
                config.model.latent,
                config.eval_samples,
                EVAL_SEED,
                &plain,
            );
            let values = data::figure::tensor_values(samples);
            record.scores = Some(evaluator.score(&values, config.real_scale)?);
            record.negative_pixel_fraction = Some(negative_fraction(&values));
        }
        run.end_epoch(epoch, config.epochs, &state, &record, &mut progress)?;
    }
    progress.finish();
    Ok(state)
}
