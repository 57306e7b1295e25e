//! Run records and checkpoints.
//!
//! Every training run writes `runs/<model>/<run-name>/`:
//! - `config.json`: the full config, seed, backend, versions and command line;
//! - `metrics.jsonl`: one JSON object per logged step or epoch, each with `wall_s`;
//! - `checkpoints/epoch-<n>/`: the training state after `n` epochs, written to a temporary
//!   folder and renamed into place, with `latest.json` naming the newest one;
//! - `summary.json`: the final numbers, once the run has finished.
//!
//! `--resume` continues from the newest checkpoint: the state is reloaded, `metrics.jsonl`
//! is cut back to what had been logged when that checkpoint was written, and the wall clock
//! continues from where it stood.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::backend::SelectedDevice;

mod epochs;
mod export;
mod files;
mod guards;
mod hooks;
mod lock;
mod shared;
mod ship;
#[cfg(test)]
mod tests;

pub use epochs::{Resumed, epoch_progress};
pub use export::{ExportArgs, export_safetensors, import_safetensors, tensor_table};
pub use files::{
    checksum_path, load_module, load_optimizer, load_trained, read_json, read_metrics,
    read_records, save_module, save_optimizer, save_trained, verify_checksum, write_atomically,
    write_checksum, write_json,
};
pub use guards::{check_run_name, ensure_not_diverged};
pub use hooks::{EpochHook, SampleGrid, fields};
pub use lock::RunLock;
pub use shared::{config_hash, load_latest, shared};
pub use ship::{
    ShipArgs, ignore_shipped_runs, output_path, pretrained_dir, same_config, save_module_half,
    ship, ship_module, shipped, shipped_dir, shipped_runs_loaded, shipped_with_config,
    thin_step_records,
};

/// Where a run was trained, as its `config.json` records it.
#[derive(Clone, Debug, Deserialize)]
pub struct TrainedOn {
    /// The backend's name, e.g. "flex" (CPU) or "wgpu".
    pub backend: String,
    /// How it was chosen and on what device, e.g. "wgpu on NVIDIA H200 (DiscreteGpu, ...)".
    pub backend_reason: String,
}

impl TrainedOn {
    /// What the run at `dir` recorded, if it has a readable `config.json`.
    pub fn of_run(dir: &Path) -> Option<Self> {
        read_json(&dir.join("config.json")).ok()
    }
}

/// The command-line flags every training binary shares.
#[derive(Clone, Debug, clap::Args, Serialize, Deserialize)]
pub struct RunOptions {
    /// Folder holding all runs; a run goes to `<runs-dir>/<model>/<name>/`.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Name of this run (default: the preset or config name).
    #[arg(long)]
    pub name: Option<String>,
    /// Continue the run of this name from its newest checkpoint.
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Replace an existing run of this name.
    #[arg(long)]
    pub overwrite: bool,
    /// Write a checkpoint every this many epochs (and always after the last).
    #[arg(long, default_value_t = 1)]
    pub checkpoint_every: usize,
    /// Checkpoints kept on disk; older ones are deleted.
    #[arg(long, default_value_t = 2)]
    pub keep_checkpoints: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            runs_dir: PathBuf::from("runs"),
            name: None,
            resume: false,
            overwrite: false,
            checkpoint_every: 1,
            keep_checkpoints: 2,
        }
    }
}

/// Where a checkpoint stands: read back on resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    pub epochs_done: usize,
    pub folder: String,
    /// Length of `metrics.jsonl` when the checkpoint was written.
    pub metrics_bytes: u64,
    /// Seconds of training wall time up to the checkpoint.
    pub wall_s: f64,
}

/// Training state that a checkpoint holds: the model, optimiser state, persistent chains...
/// Random draws must be keyed by `(seed, epoch)`, not by a running generator, for a resumed
/// run to see the same ones.
pub trait Checkpointable: Sized {
    fn save(&self, dir: &Path) -> anyhow::Result<()>;
    fn load(self, dir: &Path) -> anyhow::Result<Self>;
}

/// A state that is one Burn module (weights, momentum buffers and chains as parameters) is
/// its checkpoint: `state.mpk` in the checkpoint folder.
impl<M: burn::module::Module> Checkpointable for M {
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        save_module(dir, "state", self)
    }

    fn load(self, dir: &Path) -> anyhow::Result<Self> {
        load_module(dir, "state", self)
    }
}

/// An open run folder.
pub struct Run {
    pub dir: PathBuf,
    metrics: BufWriter<File>,
    metrics_bytes: u64,
    started: Instant,
    wall_offset: f64,
    keep_checkpoints: usize,
    checkpoint_every: usize,
    /// The checkpoint this run resumed from.
    pub resumed: Option<CheckpointInfo>,
    /// Held while this process writes the run.
    _lock: RunLock,
}

/// A config with its top-level `epochs` removed: the one field a resumed run may change.
fn without_epochs(config: &Value) -> Value {
    let mut config = config.clone();
    if let Some(fields) = config.as_object_mut() {
        fields.remove("epochs");
    }
    config
}

impl Run {
    /// Opens `<runs-dir>/<model>/<name>/` for a new run, or for resuming one. A new run
    /// never silently replaces an old one: that needs `--overwrite`.
    pub fn start<C: Serialize>(
        model: &str,
        default_name: &str,
        options: &RunOptions,
        config: &C,
        seed: u64,
        device: &SelectedDevice,
    ) -> anyhow::Result<Self> {
        let name = options.name.as_deref().unwrap_or(default_name);
        check_run_name(name)?;
        let dir = options.runs_dir.join(model).join(name);
        let lock = RunLock::acquire(&dir)?;
        let config_path = dir.join("config.json");
        let record = json!({
            "model": model,
            "run_name": name,
            "seed": seed,
            "backend": device.backend,
            "backend_reason": device.reason,
            "genlab_version": env!("CARGO_PKG_VERSION"),
            "burn_version": "0.22.1",
            "command_line": std::env::args().collect::<Vec<_>>(),
            "config": config,
        });

        let resumed = if options.resume {
            let saved: Value = read_json(&config_path)
                .with_context(|| format!("--resume: no run to resume at {}", dir.display()))?;
            if !ship::same_config(
                &without_epochs(&saved["config"]),
                &without_epochs(&record["config"]),
            ) || saved["seed"] != record["seed"]
            {
                bail!(
                    "--resume: the run at {} was started with another config or seed; \
                     resume it with the same flags (only `epochs` may change), or start a \
                     new run with --name",
                    dir.display()
                );
            }
            if saved["config"]["epochs"] != record["config"]["epochs"] {
                // Extending (or ending early) a run whose steps do not depend on the total:
                // the saved config must say how long the run that produced the weights was.
                let mut updated = saved.clone();
                updated["config"]["epochs"] = record["config"]["epochs"].clone();
                write_json(&config_path, &updated)?;
                eprintln!(
                    "--resume: epochs changed from {} to {} in {}",
                    saved["config"]["epochs"],
                    record["config"]["epochs"],
                    config_path.display()
                );
            }
            latest_checkpoint(&dir)?
        } else {
            if config_path.exists() {
                if !options.overwrite {
                    bail!(
                        "a run already exists at {}: pass --resume to continue it, \
                         --overwrite to replace it, or --name to start another",
                        dir.display()
                    );
                }
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
            }
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            write_json(&config_path, &record)?;
            None
        };

        let metrics_path = dir.join("metrics.jsonl");
        let metrics_bytes = resumed.as_ref().map_or(0, |c| c.metrics_bytes);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&metrics_path)
            .with_context(|| format!("opening {}", metrics_path.display()))?;
        // The log must reach the checkpoint: extending a cut or deleted one would write NULs.
        let logged = file.metadata()?.len();
        if logged < metrics_bytes {
            bail!(
                "--resume: {} holds {logged} bytes, but the checkpoint was taken after \
                 {metrics_bytes}: the metrics log was cut or deleted since; restore it, or \
                 start the run again with --overwrite",
                metrics_path.display()
            );
        }
        // Lines logged after the checkpoint belong to work that is about to be redone.
        file.set_len(metrics_bytes)?;
        let mut metrics = BufWriter::new(file);
        std::io::Seek::seek(&mut metrics, std::io::SeekFrom::End(0))?;
        Ok(Self {
            dir,
            metrics,
            metrics_bytes,
            started: Instant::now(),
            wall_offset: resumed.as_ref().map_or(0.0, |c| c.wall_s),
            keep_checkpoints: options.keep_checkpoints.max(1),
            checkpoint_every: options.checkpoint_every.max(1),
            resumed,
            _lock: lock,
        })
    }

    /// Seconds of training wall time, across interruptions.
    pub fn wall_s(&self) -> f64 {
        self.wall_offset + self.started.elapsed().as_secs_f64()
    }

    /// Appends one record to `metrics.jsonl`, with the wall time added as `wall_s`.
    pub fn log(&mut self, record: impl Serialize) -> anyhow::Result<()> {
        let mut value = serde_json::to_value(record)?;
        if let Value::Object(map) = &mut value {
            map.insert("wall_s".into(), json!(self.wall_s()));
        }
        let mut line = serde_json::to_vec(&value)?;
        line.push(b'\n');
        self.metrics.write_all(&line)?;
        self.metrics.flush()?;
        self.metrics_bytes += line.len() as u64;
        Ok(())
    }

    /// Writes the training state after `epochs_done` epochs, atomically, and prunes old ones.
    pub fn save_checkpoint(
        &mut self,
        epochs_done: usize,
        state: &impl Checkpointable,
    ) -> anyhow::Result<()> {
        let root = self.dir.join("checkpoints");
        let folder = format!("epoch-{epochs_done}");
        let temp = root.join(format!(".{folder}.tmp"));
        let _ = std::fs::remove_dir_all(&temp);
        std::fs::create_dir_all(&temp)
            .with_context(|| format!("creating the checkpoint folder {}", temp.display()))?;
        (state.save(&temp))
            .with_context(|| format!("writing the checkpoint {}", temp.display()))?;
        let target = root.join(&folder);
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&temp, &target)
            .with_context(|| format!("renaming {} to {}", temp.display(), target.display()))?;
        let info = CheckpointInfo {
            epochs_done,
            folder,
            metrics_bytes: self.metrics_bytes,
            wall_s: self.wall_s(),
        };
        write_json(&root.join("latest.json"), &info)?;

        let mut epochs: Vec<usize> = std::fs::read_dir(&root)
            .with_context(|| format!("listing {}", root.display()))?
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_prefix("epoch-")?
                    .parse()
                    .ok()
            })
            .collect();
        epochs.sort_unstable();
        for old in epochs.iter().rev().skip(self.keep_checkpoints) {
            let _ = std::fs::remove_dir_all(root.join(format!("epoch-{old}")));
        }
        Ok(())
    }

    /// Writes `summary.json` with the wall time added.
    pub fn finish(&mut self, summary: impl Serialize) -> anyhow::Result<()> {
        let mut value = serde_json::to_value(summary)?;
        if let Value::Object(map) = &mut value {
            map.insert("wall_s".into(), json!(self.wall_s()));
        }
        write_json(&self.dir.join("summary.json"), &value)
    }

    /// Adds `key` to the run's `config.json` beside its config (e.g. the data set trained
    /// on), for the commands that load the run later.
    pub fn record(&self, key: &str, value: &impl Serialize) -> anyhow::Result<()> {
        let path = self.dir.join("config.json");
        let mut saved: Value = read_json(&path)?;
        saved[key] = serde_json::to_value(value)?;
        write_json(&path, &saved)
    }

    /// Whether the run has written `summary.json`: it trained all its epochs.
    pub fn is_finished(&self) -> bool {
        self.dir.join("summary.json").exists()
    }
}

pub use crate::seed::epoch_seed;

/// A record for the terminal: long arrays (per-step series) shortened to their length.
pub fn compact(value: &Value) -> Value {
    match value {
        Value::Array(items) if items.len() > 10 => json!(format!("[{} values]", items.len())),
        Value::Array(items) => Value::Array(items.iter().map(compact).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), compact(v))).collect())
        }
        other => other.clone(),
    }
}

/// The data set the run in `dir` was trained on (MNIST for runs that did not record one).
pub fn run_dataset(dir: &Path) -> crate::DataSetName {
    read_json::<Value>(&dir.join("config.json"))
        .ok()
        .and_then(|saved| serde_json::from_value(saved["dataset"].clone()).ok())
        .unwrap_or(crate::DataSetName::Mnist)
}

/// The newest checkpoint of the run in `dir`, if any.
pub fn latest_checkpoint(dir: &Path) -> anyhow::Result<Option<CheckpointInfo>> {
    let path = dir.join("checkpoints/latest.json");
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(read_json(&path)?))
}
