//! The one way an experiment gets a trained model: a shipped run trained with the config it
//! asks for, else the run it shares with other experiments (loaded when finished, resumed
//! when interrupted), else training it now.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use data::Run;
use data::run::{Checkpointable, EpochHook};
use serde::Serialize;

use crate::Context;

/// A run that experiments share: `<runs>/<model>/<name>-<config hash>`. Only an experiment
/// asking for the same config reuses it.
pub struct SharedRun<'a, C> {
    /// The model crate, e.g. "gan": also the folder of its shipped runs.
    pub model: &'a str,
    pub name: &'a str,
    pub config: &'a C,
    pub seed: u64,
}

/// A model an experiment needs, with the folder of the run it comes from (whose records
/// give its training log and time).
pub struct Obtained<M> {
    pub model: M,
    pub dir: PathBuf,
    /// Loaded from `data/pretrained/` rather than trained by this checkout.
    pub shipped: bool,
}

/// The summary of a run whose training leaves nothing to add to its wall time.
#[derive(Serialize)]
pub struct NoSummary {}

impl Context {
    /// The model of `run`: where `data/pretrained/<model>/` ships a run trained with this
    /// config, `load_shipped` reads it and nothing is trained; otherwise `train` trains the
    /// shared run (or loads or resumes it), `summary` of its final state closes a run trained
    /// now, and `model` turns the final state into what the experiment uses.
    pub fn run_or_load<C: Serialize, S, Summary: Serialize, M>(
        &self,
        run: SharedRun<'_, C>,
        train: impl FnOnce(&mut Run) -> anyhow::Result<S>,
        summary: impl FnOnce(&S) -> Summary,
        model: impl FnOnce(S) -> M,
        load_shipped: impl FnOnce(&Path) -> anyhow::Result<M>,
    ) -> anyhow::Result<Obtained<M>> {
        if let Some(dir) = data::run::shipped_with_config(run.model, run.config) {
            println!(
                "{}: loading the shipped run {} (same config)",
                run.model,
                dir.display()
            );
            return Ok(Obtained {
                model: load_shipped(&dir)?,
                dir,
                shipped: true,
            });
        }
        let options = self.shared_run(run.model, run.name, run.config);
        let mut started = Run::start(
            run.model,
            run.name,
            &options,
            run.config,
            run.seed,
            &self.selected,
        )?;
        let finished = started.is_finished();
        let state = train(&mut started)?;
        if !finished {
            started.finish(summary(&state))?;
        }
        Ok(Obtained {
            model: model(state),
            dir: started.dir,
            shipped: false,
        })
    }
}

/// Trains the state `init` makes for `epochs` in `run`, after seeding `device` with `seed`
/// so that the initial weights follow the seed: the `train` of [`Context::run_or_load`] for
/// an epoch loop.
pub fn seeded_epochs<S: Checkpointable, R: Serialize>(
    run: &mut Run,
    device: &Device,
    seed: u64,
    init: impl FnOnce() -> S,
    epochs: usize,
    epoch: impl FnMut(&mut S, usize) -> anyhow::Result<R>,
    hooks: &mut [&mut dyn EpochHook<S>],
) -> anyhow::Result<S> {
    device.seed(seed);
    run.train_epochs_with(init(), epochs, epoch, hooks)
}
