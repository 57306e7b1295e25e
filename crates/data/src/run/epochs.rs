//! The epoch loop a training binary writes out: resume from the newest checkpoint, then end
//! every epoch by logging it and checkpointing as `--checkpoint-every` says.

use anyhow::Context;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Checkpointable, EpochHook, Run, compact, hooks};
use crate::progress::Progress;

impl Run {
    /// Runs epochs `resumed..epochs` of a training loop: `epoch(state, index)` trains one
    /// epoch and returns its record, which is logged with the epoch number; checkpoints
    /// follow `--checkpoint-every` and always the last epoch. On resume, the state is first
    /// reloaded from the newest checkpoint.
    pub fn train_epochs<S: Checkpointable, R: Serialize>(
        &mut self,
        state: S,
        epochs: usize,
        epoch: impl FnMut(&mut S, usize) -> anyhow::Result<R>,
    ) -> anyhow::Result<S> {
        self.train_epochs_with(state, epochs, epoch, &mut [])
    }

    /// [`Run::train_epochs`] with hooks run after every epoch, before the record is logged
    /// and the checkpoint written (sample grids, scoring by the evaluator, AIS...); the
    /// fields each hook returns are added to the epoch's record.
    pub fn train_epochs_with<S: Checkpointable, R: Serialize>(
        &mut self,
        state: S,
        epochs: usize,
        mut epoch: impl FnMut(&mut S, usize) -> anyhow::Result<R>,
        hooks: &mut [&mut dyn EpochHook<S>],
    ) -> anyhow::Result<S> {
        let Resumed {
            mut state,
            first_epoch,
        } = self.resume(state, epochs)?;
        let mut progress = epoch_progress(first_epoch, epochs);
        for index in first_epoch..epochs {
            let mut metrics = serde_json::to_value(epoch(&mut state, index)?)?;
            for hook in hooks.iter_mut() {
                let extra = hook.after_epoch(&state, index, &self.dir)?;
                if let Value::Object(map) = &mut metrics {
                    map.extend(extra);
                }
            }
            self.end_epoch(index, epochs, &state, &metrics, &mut progress)?;
        }
        progress.finish();
        Ok(state)
    }

    /// `state` as the run continues from: reloaded from the newest checkpoint when the run
    /// was opened with `--resume`, with the first epoch left to train (0 for a new run).
    pub fn resume<S: Checkpointable>(&self, state: S, epochs: usize) -> anyhow::Result<Resumed<S>> {
        let Some(info) = &self.resumed else {
            return Ok(Resumed {
                state,
                first_epoch: 0,
            });
        };
        let state = state
            .load(&self.dir.join("checkpoints").join(&info.folder))
            .context("loading the checkpoint to resume from")?;
        if info.epochs_done >= epochs {
            eprintln!(
                "{} finished its {epochs} epochs: loaded",
                self.dir.display()
            );
        } else {
            let done = info.epochs_done;
            eprintln!("resuming {} after epoch {done}", self.dir.display());
        }
        Ok(Resumed {
            state,
            first_epoch: info.epochs_done,
        })
    }

    /// Ends epoch `index` (0-based) of `epochs`: logs `record` with the epoch number to
    /// `metrics.jsonl` and the progress line, and checkpoints `state` as
    /// `--checkpoint-every` says, and always after the last epoch.
    pub fn end_epoch<S: Checkpointable>(
        &mut self,
        index: usize,
        epochs: usize,
        state: &S,
        record: &impl Serialize,
        progress: &mut Progress,
    ) -> anyhow::Result<()> {
        let mut metrics = serde_json::to_value(record)?;
        if let Value::Object(map) = &mut metrics {
            map.insert("epoch".into(), json!(index + 1));
        }
        progress.println(format!(
            "epoch {}/{epochs}: {}",
            index + 1,
            compact(&metrics)
        ));
        self.log(&metrics)?;
        let done = index + 1;
        if done.is_multiple_of(self.checkpoint_every) || done == epochs {
            self.save_checkpoint(done, state)?;
        }
        progress.inc(1);
        Ok(())
    }

    /// Writes `values` (28x28 images in [0, 1]) as `<run>/samples/epoch-NNN.png` for epoch
    /// `index`, so training can be watched image by image.
    pub fn save_sample_grid(
        &self,
        index: usize,
        values: &[f32],
        cols: usize,
    ) -> anyhow::Result<()> {
        hooks::save_sample_grid(&self.dir, index, values, cols)
    }
}

/// A state to train and the first epoch left to train (see [`Run::resume`]).
pub struct Resumed<S> {
    pub state: S,
    pub first_epoch: usize,
}

/// The progress of `epochs` epochs, `first_epoch` of them already done.
pub fn epoch_progress(first_epoch: usize, epochs: usize) -> Progress {
    let mut progress = Progress::new("epochs", epochs as u64);
    progress.inc(first_epoch as u64);
    progress
}
