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
use crate::progress::Progress;

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
        let dir = options.runs_dir.join(model).join(name);
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
            if saved["config"] != record["config"] || saved["seed"] != record["seed"] {
                bail!(
                    "--resume: the run at {} was started with another config or seed; \
                     resume it with the same flags, or start a new run with --name",
                    dir.display()
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
        std::fs::create_dir_all(&temp)?;
        state.save(&temp).context("writing checkpoint")?;
        let target = root.join(&folder);
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&temp, &target)?;
        let info = CheckpointInfo {
            epochs_done,
            folder,
            metrics_bytes: self.metrics_bytes,
            wall_s: self.wall_s(),
        };
        write_json(&root.join("latest.json"), &info)?;

        let mut epochs: Vec<usize> = std::fs::read_dir(&root)?
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

    /// Runs epochs `resumed..epochs` of a training loop: `epoch(state, index, progress)`
    /// trains one epoch and returns its metrics, which are logged with the epoch number;
    /// checkpoints follow `--checkpoint-every` and always the last epoch. On resume, the
    /// state is first reloaded from the newest checkpoint.
    pub fn train_epochs<S: Checkpointable>(
        &mut self,
        mut state: S,
        epochs: usize,
        mut epoch: impl FnMut(&mut S, usize) -> anyhow::Result<Value>,
    ) -> anyhow::Result<S> {
        let first = match &self.resumed {
            Some(info) => {
                state = state
                    .load(&self.dir.join("checkpoints").join(&info.folder))
                    .context("loading the checkpoint to resume from")?;
                if info.epochs_done >= epochs {
                    eprintln!(
                        "{} finished its {epochs} epochs: loaded",
                        self.dir.display()
                    );
                } else {
                    eprintln!(
                        "resuming {} after epoch {}",
                        self.dir.display(),
                        info.epochs_done
                    );
                }
                info.epochs_done
            }
            None => 0,
        };
        let mut progress = Progress::new("epochs", epochs as u64);
        progress.inc(first as u64);
        for index in first..epochs {
            let mut metrics = epoch(&mut state, index)?;
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
            if done % self.checkpoint_every == 0 || done == epochs {
                self.save_checkpoint(done, &state)?;
            }
            progress.inc(1);
        }
        progress.finish();
        Ok(state)
    }
}

/// The device's random stream for one epoch, so a resumed run draws what an uninterrupted
/// one would.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(epoch as u64 + 1)
        .rotate_left(17)
}

/// Options for a run that experiments share: a finished run `<runs_dir>/<model>/<name>` with
/// the same config is reloaded (`resume`, which loads its last checkpoint), anything else
/// (no run, another config, an unfinished run) is trained afresh.
pub fn reuse_finished(
    runs_dir: &Path,
    model: &str,
    name: &str,
    config: &impl Serialize,
) -> RunOptions {
    let dir = runs_dir.join(model).join(name);
    let finished = dir.join("summary.json").exists()
        && read_json::<Value>(&dir.join("config.json"))
            .is_ok_and(|saved| saved["config"] == json!(config));
    RunOptions {
        runs_dir: runs_dir.to_owned(),
        name: Some(name.to_string()),
        resume: finished,
        overwrite: !finished,
        ..Default::default()
    }
}

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

/// The newest checkpoint of the run in `dir`, if any.
pub fn latest_checkpoint(dir: &Path) -> anyhow::Result<Option<CheckpointInfo>> {
    let path = dir.join("checkpoints/latest.json");
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(read_json(&path)?))
}

/// Writes `path` through a temporary file in the same folder and a rename, so a reader (or
/// a resumed run) never sees a half-written file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = BufWriter::new(File::create(&temp)?);
        write(&mut file)?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Writes pretty JSON atomically.
pub fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    write_atomically(path, |f| {
        serde_json::to_writer_pretty(&mut *f, value)?;
        f.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", path.display()))
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// Reads every record of a `metrics.jsonl`.
pub fn read_metrics(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).with_context(|| format!("parsing a line of {}", path.display()))
        })
        .collect()
}

/// Saves a module's parameters as `<dir>/<name>.bpk` (Burn's burnpack format).
pub fn save_module<M: burn::module::Module>(
    dir: &Path,
    name: &str,
    module: &M,
) -> anyhow::Result<()> {
    let path = dir.join(format!("{name}.bpk"));
    module
        .clone()
        .save_file(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))
}

/// Loads parameters saved by [`save_module`] into `module`.
pub fn load_module<M: burn::module::Module>(
    dir: &Path,
    name: &str,
    module: M,
) -> anyhow::Result<M> {
    let path = dir.join(format!("{name}.bpk"));
    module
        .try_load_file(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))
}

/// Saves an optimiser's state (e.g. Adam's moments) as `<dir>/<name>.bpk`.
pub fn save_optimizer(
    dir: &Path,
    name: &str,
    optimizer: &burn::optim::ModuleOptimizer,
) -> anyhow::Result<()> {
    let path = dir.join(format!("{name}.bpk"));
    optimizer
        .save(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))
}

/// Loads an optimiser's state saved by [`save_optimizer`].
pub fn load_optimizer(
    dir: &Path,
    name: &str,
    optimizer: burn::optim::ModuleOptimizer,
) -> anyhow::Result<burn::optim::ModuleOptimizer> {
    let path = dir.join(format!("{name}.bpk"));
    optimizer
        .load(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendChoice, select_device};
    use crate::batch::epoch_batches;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
    use burn::tensor::{Device, Tensor, TensorData};

    /// A linear regression trained with Adam: enough state (weights and moments) that a
    /// resume which lost any of it would end somewhere else.
    struct Toy {
        model: Linear,
        optimizer: ModuleOptimizer,
    }

    impl Checkpointable for Toy {
        fn save(&self, dir: &Path) -> anyhow::Result<()> {
            save_module(dir, "model", &self.model)?;
            save_optimizer(dir, "optimizer", &self.optimizer)
        }
        fn load(self, dir: &Path) -> anyhow::Result<Self> {
            Ok(Toy {
                model: load_module(dir, "model", self.model)?,
                optimizer: load_optimizer(dir, "optimizer", self.optimizer)?,
            })
        }
    }

    fn toy(device: &Device, init_seed: u64) -> Toy {
        device.seed(init_seed);
        Toy {
            model: LinearConfig::new(3, 1).init(device),
            optimizer: AdamConfig::new().init(),
        }
    }

    /// One epoch over 64 points of y = x . (1, -2, 3) + 0.5, in batches of 8 whose order
    /// depends on the epoch. Fails at `fail_at` to simulate a kill mid-run.
    fn epoch(
        state: &mut Toy,
        index: usize,
        device: &Device,
        fail_at: Option<usize>,
    ) -> anyhow::Result<Value> {
        if Some(index) == fail_at {
            bail!("killed during epoch {}", index + 1);
        }
        let xs: Vec<f32> = (0..64 * 3)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
            .collect();
        let ys: Vec<f32> = xs
            .chunks(3)
            .map(|x| x[0] - 2.0 * x[1] + 3.0 * x[2] + 0.5)
            .collect();
        let mut last = 0.0;
        for batch in epoch_batches(64, 8, true, false, 7, index as u64) {
            let bx: Vec<f32> = batch
                .iter()
                .flat_map(|&i| xs[i * 3..i * 3 + 3].to_vec())
                .collect();
            let by: Vec<f32> = batch.iter().map(|&i| ys[i]).collect();
            let x = Tensor::<2>::from_data(TensorData::new(bx, [8, 3]), device);
            let y = Tensor::<2>::from_data(TensorData::new(by, [8, 1]), device);
            let loss = (state.model.forward(x) - y).powi_scalar(2).mean();
            last = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &state.model);
            let model = state.model.clone();
            state.model = state.optimizer.step(0.05, model, grads);
        }
        Ok(json!({ "loss": last }))
    }

    fn weights(toy: &Toy) -> Vec<f32> {
        toy.model
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn a_resumed_run_ends_where_an_uninterrupted_run_ends() {
        let selected = select_device(BackendChoice::Flex).unwrap();
        let device = selected.autodiff();
        let runs = tempfile::tempdir().unwrap();
        let options = RunOptions {
            runs_dir: runs.path().to_owned(),
            ..Default::default()
        };
        let config = json!({ "lr": 0.05 });

        let mut straight = Run::start("toy", "straight", &options, &config, 7, &selected).unwrap();
        let done = straight
            .train_epochs(toy(&device, 1), 4, |s, i| epoch(s, i, &device, None))
            .unwrap();
        let expected = weights(&done);

        let mut first = Run::start("toy", "resumed", &options, &config, 7, &selected).unwrap();
        let err = first
            .train_epochs(toy(&device, 1), 4, |s, i| epoch(s, i, &device, Some(2)))
            .err()
            .unwrap();
        assert!(err.to_string().contains("killed"));
        drop(first);

        // A fresh process: a differently initialised model, then --resume.
        let resume = RunOptions {
            resume: true,
            ..options.clone()
        };
        let mut second = Run::start("toy", "resumed", &resume, &config, 7, &selected).unwrap();
        assert_eq!(second.resumed.as_ref().unwrap().epochs_done, 2);
        let resumed = second
            .train_epochs(toy(&device, 99), 4, |s, i| epoch(s, i, &device, None))
            .unwrap();
        assert_eq!(weights(&resumed), expected);

        // The metrics hold each epoch once, in order, as in the uninterrupted run.
        let dir = runs.path().join("toy/resumed");
        let epochs: Vec<u64> = read_metrics(&dir.join("metrics.jsonl"))
            .unwrap()
            .iter()
            .map(|r| r["epoch"].as_u64().unwrap())
            .collect();
        assert_eq!(epochs, vec![1, 2, 3, 4]);
        let straight_losses =
            read_metrics(&runs.path().join("toy/straight/metrics.jsonl")).unwrap();
        let resumed_losses = read_metrics(&dir.join("metrics.jsonl")).unwrap();
        assert_eq!(straight_losses[3]["loss"], resumed_losses[3]["loss"]);
        // Only the newest two checkpoints are kept.
        assert!(dir.join("checkpoints/epoch-4").is_dir());
        assert!(dir.join("checkpoints/epoch-3").is_dir());
        assert!(!dir.join("checkpoints/epoch-2").exists());
        let config: Value = read_json(&dir.join("config.json")).unwrap();
        assert_eq!(config["seed"], 7);
        assert_eq!(config["backend"], "flex");
    }

    #[test]
    fn an_existing_run_is_never_silently_replaced() {
        let selected = select_device(BackendChoice::Flex).unwrap();
        let runs = tempfile::tempdir().unwrap();
        let options = RunOptions {
            runs_dir: runs.path().to_owned(),
            ..Default::default()
        };
        Run::start("toy", "a", &options, &json!({}), 1, &selected).unwrap();
        let err = Run::start("toy", "a", &options, &json!({}), 1, &selected)
            .err()
            .unwrap();
        assert!(err.to_string().contains("--resume"), "{err}");
        let overwrite = RunOptions {
            overwrite: true,
            ..options.clone()
        };
        Run::start("toy", "a", &overwrite, &json!({}), 1, &selected).unwrap();
        let resume = RunOptions {
            resume: true,
            ..options.clone()
        };
        let err = Run::start("toy", "a", &resume, &json!({"other": 1}), 1, &selected)
            .err()
            .unwrap();
        assert!(err.to_string().contains("another config"), "{err}");
        let err = Run::start("toy", "missing", &resume, &json!({}), 1, &selected)
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("no run to resume"), "{err:#}");
    }

    #[test]
    fn atomic_writes_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/summary.json");
        write_json(&path, &json!({"x": 1})).unwrap();
        write_json(&path, &json!({"x": 2})).unwrap();
        let value: Value = read_json(&path).unwrap();
        assert_eq!(value["x"], 2);
        let failed = write_atomically(&path, |_| Err(std::io::Error::other("disk full")));
        assert!(failed.is_err());
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("summary.json")]);
        let value: Value = read_json(&path).unwrap();
        assert_eq!(value["x"], 2, "a failed write keeps the old file");
    }
}
