//! What a training loop does after each epoch besides logging and checkpointing.

use std::path::Path;

use serde_json::{Map, Value};

use crate::figure::{digit_grid, save_png};

/// Runs after every epoch with the trained state; the fields it returns are added to the
/// epoch's record. A closure `|state, epoch| -> anyhow::Result<Map>` is a hook.
pub trait EpochHook<S> {
    fn after_epoch(
        &mut self,
        state: &S,
        epoch: usize,
        run_dir: &Path,
    ) -> anyhow::Result<Map<String, Value>>;
}

impl<S, F> EpochHook<S> for F
where
    F: FnMut(&S, usize) -> anyhow::Result<Map<String, Value>>,
{
    fn after_epoch(
        &mut self,
        state: &S,
        epoch: usize,
        _run_dir: &Path,
    ) -> anyhow::Result<Map<String, Value>> {
        self(state, epoch)
    }
}

/// The fields of a serialisable struct, as a hook returns them.
pub fn fields(extra: &impl serde::Serialize) -> anyhow::Result<Map<String, Value>> {
    match serde_json::to_value(extra)? {
        Value::Object(map) => Ok(map),
        other => anyhow::bail!("a hook's record must be a struct, not {other}"),
    }
}

/// Writes a grid of samples drawn from fixed noise to `<run>/samples/epoch-NNN.png` after
/// every epoch, so training can be watched image by image.
pub struct SampleGrid<F> {
    /// Tiles per row.
    pub cols: usize,
    /// The samples of the state, 28x28 each, values in [0, 1].
    pub draw: F,
}

impl<S, F> EpochHook<S> for SampleGrid<F>
where
    F: FnMut(&S) -> anyhow::Result<Vec<f32>>,
{
    fn after_epoch(
        &mut self,
        state: &S,
        epoch: usize,
        run_dir: &Path,
    ) -> anyhow::Result<Map<String, Value>> {
        let values = (self.draw)(state)?;
        save_sample_grid(run_dir, epoch, &values, self.cols)?;
        Ok(Map::new())
    }
}

/// Writes `values` as `<run_dir>/samples/epoch-NNN.png` for epoch `index` (0-based).
pub fn save_sample_grid(
    run_dir: &Path,
    index: usize,
    values: &[f32],
    cols: usize,
) -> anyhow::Result<()> {
    let path = run_dir
        .join("samples")
        .join(format!("epoch-{:03}.png", index + 1));
    save_png(&digit_grid(values, cols, None), &path)
}
