//! Shipped weights: a trained run reduced to what sampling needs, kept in the repository
//! under `data/pretrained/<model>/<name>/` so that a fresh clone can load it in seconds.
//!
//! A shipped folder is itself a run folder (`config.json`, `metrics.jsonl`,
//! `checkpoints/latest.json` and the newest checkpoint), so everything that loads a run
//! by path ([`super::load_latest`]) loads the shipped weights the same way. Only the
//! modules sampling needs go into its checkpoint (no optimiser state), in half precision
//! where the measured scores do not move: every committed byte stays in the history.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{FloatDType, Tensor};

use super::{latest_checkpoint, write_atomically, write_json};

/// The repository's folder of shipped weights and reference files, `data/pretrained`.
pub fn pretrained_dir() -> PathBuf {
    crate::locate::workspace_data_dir().join("pretrained")
}

/// `data/pretrained/<model>/<name>`, where the shipped weights of that run live.
pub fn shipped_dir(model: &str, name: &str) -> PathBuf {
    pretrained_dir().join(model).join(name)
}

/// The shipped run `<model>/<name>`, if this checkout has it.
pub fn shipped(model: &str, name: &str) -> Option<PathBuf> {
    let dir = shipped_dir(model, name);
    dir.join("config.json").is_file().then_some(dir)
}

/// Set by `experiment --retrain`: no shipped run stands in for training.
static IGNORE_SHIPPED: AtomicBool = AtomicBool::new(false);

/// The shipped runs [`shipped_with_config`] has found in this process, in order.
static LOADED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The shipped runs found by [`shipped_with_config`] so far in this process, as
/// `data/pretrained/<model>/<name>`: what an experiment loaded instead of training.
pub fn shipped_runs_loaded() -> Vec<String> {
    let root = pretrained_dir();
    LOADED
        .lock()
        .map(|loaded| {
            loaded
                .iter()
                .map(|dir| {
                    let inside = dir.strip_prefix(&root).unwrap_or(dir);
                    format!("data/pretrained/{}", inside.display())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Makes [`shipped_with_config`] find nothing in this process (`--retrain`).
pub fn ignore_shipped_runs() {
    IGNORE_SHIPPED.store(true, Ordering::Relaxed);
}

/// A shipped run of `model` trained with exactly `config`, if this checkout has one: what an
/// experiment loads instead of training that config itself, whatever the experiment calls
/// the run (two questions asking for the same config share one shipped run). None after
/// [`ignore_shipped_runs`].
pub fn shipped_with_config(model: &str, config: &impl serde::Serialize) -> Option<PathBuf> {
    if IGNORE_SHIPPED.load(Ordering::Relaxed) {
        return None;
    }
    let wanted = serde_json::to_value(config).ok()?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(pretrained_dir().join(model))
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .collect();
    dirs.sort();
    let found = dirs.into_iter().find(|dir| {
        super::read_json::<serde_json::Value>(&dir.join("config.json"))
            .is_ok_and(|saved| same_config(&saved["config"], &wanted))
    })?;
    if let Ok(mut loaded) = LOADED.lock()
        && !loaded.contains(&found)
    {
        loaded.push(found.clone());
    }
    Some(found)
}

/// Whether two serialised configs say the same thing: equal once `null` fields are dropped.
/// A config field added later as an `Option` defaults to none and is read back as none from a
/// saved config that lacks it, so a run saved before the field existed still is that config.
pub fn same_config(saved: &serde_json::Value, wanted: &serde_json::Value) -> bool {
    without_nulls(saved) == without_nulls(wanted)
}

pub(super) fn without_nulls(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(fields) => Value::Object(
            (fields.iter())
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Where a command of `model` writes its output `file`: into the run folder it was given
/// (`figures/` for images), or, when it used the shipped weights (files of the repository,
/// which a command must not change), to `<model>-<file>` in the current folder.
pub fn output_path(model: &str, run: Option<&Path>, file: &str) -> PathBuf {
    match run {
        Some(dir) if file.ends_with(".png") => dir.join("figures").join(file),
        Some(dir) => dir.join(file),
        None => PathBuf::from(format!("{model}-{file}")),
    }
}

/// The flags of every model's `ship` command.
#[derive(Clone, Debug, clap::Args)]
pub struct ShipArgs {
    /// The trained run folder, e.g. runs/<model>/<name>.
    #[arg(long)]
    pub run: PathBuf,
    /// Where to (default: data/pretrained/<model>/<the run's name>).
    #[arg(long)]
    pub to: Option<PathBuf>,
}

impl ShipArgs {
    /// `--to`, or the shipped folder of `model` named after the run.
    pub fn destination(&self, model: &str) -> anyhow::Result<PathBuf> {
        if let Some(to) = &self.to {
            return Ok(to.clone());
        }
        let saved: serde_json::Value = super::read_json(&self.run.join("config.json"))?;
        let name = saved["run_name"]
            .as_str()
            .with_context(|| format!("{}: config.json names no run", self.run.display()))?;
        Ok(shipped_dir(model, name))
    }
}

/// Casts every float parameter to half precision.
struct ToHalf;

impl ModuleMapper for ToHalf {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|tensor| tensor.cast(FloatDType::F16))
    }
}

/// Saves `module`'s parameters in half precision as `<dir>/<name>.bpk`;
/// [`super::load_module`] reads them back into a float32 module.
pub fn save_module_half<M: Module>(dir: &Path, name: &str, module: &M) -> anyhow::Result<()> {
    super::save_module(dir, name, &module.clone().map(&mut ToHalf))
}

/// Ships the run of `args` as `model`'s, its checkpoint holding `module` alone in half
/// precision as `<file>.bpk`: what every model's `ship` command does.
pub fn ship_module<M: Module>(
    args: &ShipArgs,
    model: &str,
    extra: &[&str],
    file: &str,
    module: &M,
) -> anyhow::Result<()> {
    let dest = args.destination(model)?;
    ship(&args.run, &dest, extra, |folder| {
        save_module_half(folder, file, module)
    })?;
    println!("shipped {} to {}", args.run.display(), dest.display());
    Ok(())
}

/// Copies the run in `run_dir` to `dest` as a shipped run: its records, and a checkpoint
/// of the same epoch holding only what `save` writes into the folder it is given.
/// `extra` names further files of the run to keep (e.g. `evaluation.json`) when present.
/// An existing `dest` is replaced.
pub fn ship(
    run_dir: &Path,
    dest: &Path,
    extra: &[&str],
    save: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let checkpoint = latest_checkpoint(run_dir)?.with_context(|| {
        format!(
            "{} has no checkpoint: train it before shipping it",
            run_dir.display()
        )
    })?;
    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    let checkpoints = dest.join("checkpoints");
    let folder = checkpoints.join(&checkpoint.folder);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    for file in ["config.json", "metrics.jsonl", "summary.json"]
        .iter()
        .chain(extra)
    {
        let from = run_dir.join(file);
        if from.is_file() {
            std::fs::copy(&from, dest.join(file))
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }
    save(&folder)?;
    write_json(&checkpoints.join("latest.json"), &checkpoint)
}

/// Replaces each epoch record's per-step figures in the `metrics.jsonl` at `path` (a
/// `steps` array of objects of numbers) by their means over windows of `stride` steps, and
/// notes `step_stride` and `step_count` so that plots keep the step axis. The last epoch
/// stays whole: the report reads the game's step-to-step spread from it. A shipped run
/// needs the shape of its loss curves, not every one of ~50,000 steps (10 MB for a 100-epoch
/// GAN, kept in the history forever).
pub fn thin_step_records(path: &Path, stride: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        stride > 0,
        "the window of thinned step records must be positive"
    );
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = String::with_capacity(text.len() / stride.max(1));
    for (i, line) in lines.iter().enumerate() {
        let mut record: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        let already_thinned = record.get("step_stride").is_some();
        if i + 1 < lines.len()
            && !already_thinned
            && let Some(steps) = record.get("steps").and_then(|s| s.as_array())
            && steps.len() > stride
        {
            let count = steps.len();
            let windows: Vec<serde_json::Value> = steps.chunks(stride).map(window_mean).collect();
            record["steps"] = windows.into();
            record["step_stride"] = stride.into();
            record["step_count"] = count.into();
        }
        out.push_str(&serde_json::to_string(&record)?);
        out.push('\n');
    }
    write_atomically(path, |f| f.write_all(out.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// The mean of each numeric field over a window of step records.
fn window_mean(window: &[serde_json::Value]) -> serde_json::Value {
    let mut sums = serde_json::Map::new();
    for step in window {
        for (key, value) in step.as_object().into_iter().flatten() {
            if let Some(v) = value.as_f64() {
                let sum = sums.entry(key.clone()).or_insert(0.0.into());
                *sum = (sum.as_f64().unwrap_or(0.0) + v).into();
            }
        }
    }
    let n = window.len() as f64;
    for sum in sums.values_mut() {
        // Six significant digits: more than a loss curve shows, and a third of the bytes.
        let mean = sum.as_f64().unwrap_or(0.0) / n;
        *sum = format!("{mean:.5e}").parse::<f64>().unwrap_or(mean).into();
    }
    sums.into()
}

#[cfg(test)]
#[path = "ship_tests.rs"]
mod tests;
