//! What every model crate's command-line tests check of its `train` command, written once:
//! bad settings refused before a run folder exists, random hostile settings refused or
//! accepted but never a panic, divergence stopped in the first epoch, a resumed run ending bit
//! for bit where an uninterrupted one ends. Each says what went wrong, if anything.

use std::path::{Path, PathBuf};

/// For each model crate's test of its range checks: every `(--set value, what the error must
/// name)` of `cases`, run as `<bin> train --set <value> --runs-dir <runs> --backend flex`
/// through `run` (the crate's own parse-and-dispatch), must fail naming the setting and leave
/// `runs` empty, so that a bad setting is refused before a run folder is made. Says what
/// went wrong otherwise.
pub fn refused_before_a_run_folder(
    bin: &str,
    runs: &Path,
    cases: &[(&str, &str)],
    run: impl Fn(&[&str]) -> anyhow::Result<()>,
) -> Result<(), String> {
    let runs_dir = runs.to_string_lossy();
    for (set, named) in cases {
        let args = [
            bin,
            "train",
            "--set",
            set,
            "--runs-dir",
            &runs_dir,
            "--backend",
            "flex",
        ];
        match run(&args) {
            Ok(()) => return Err(format!("{set}: accepted")),
            Err(err) if !format!("{err:#}").contains(named) => {
                return Err(format!("{set}: the error does not name {named}: {err:#}"));
            }
            Err(_) => {}
        }
    }
    let left = std::fs::read_dir(runs).map_or(0, |entries| entries.count());
    if left > 0 {
        return Err(format!("{left} entries were left in {}", runs.display()));
    }
    Ok(())
}

/// For each model crate's divergence test: `<bin> train <flags> --runs-dir <runs> --backend
/// flex` through `run` must fail in its first epoch, saying that training diverged
/// and naming `named` (the value found out of bounds), and leave no checkpoint behind. Says
/// what went wrong otherwise.
pub fn stops_diverging_in_epoch_1(
    bin: &str,
    runs: &Path,
    flags: &[&str],
    named: &str,
    run: impl Fn(&[&str]) -> anyhow::Result<()>,
) -> Result<(), String> {
    let runs_dir = runs.to_string_lossy();
    let mut args = vec![bin, "train", "--runs-dir", &runs_dir, "--backend", "flex"];
    args.extend(flags);
    let err = match run(&args) {
        Ok(()) => return Err(format!("{flags:?}: trained to the end")),
        Err(err) => format!("{err:#}"),
    };
    if !(err.contains("epoch 1") && err.contains("diverged") && err.contains(named)) {
        return Err(format!(
            "the error does not name epoch 1, divergence and {named}: {err}"
        ));
    }
    let checkpoints: Vec<_> = walkdir(runs)
        .into_iter()
        .filter(|path| path.parent().is_some_and(|p| p.ends_with("checkpoints")))
        .collect();
    if !checkpoints.is_empty() {
        return Err(format!("checkpoints were written: {checkpoints:?}"));
    }
    Ok(())
}

/// Every path under `dir`.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    (entries.flatten())
        .flat_map(|entry| {
            let path = entry.path();
            let mut below = walkdir(&path);
            below.insert(0, path);
            below
        })
        .collect()
}

/// `<bin> train <flags> --runs-dir <runs> --backend flex` (at least two epochs) trained in one
/// go, and trained again then taken back to where a kill during its last epoch leaves it (the
/// last checkpoint and the summary not yet written) and resumed with `--resume`: both runs'
/// final checkpoints must hold the same weights, file for file, byte for byte (but for
/// Burn's random parameter ids).
///
/// The runs need the device's random stream to themselves, which the other tests of the same
/// test binary share while they run in parallel: so the test (`test`, its path in the crate)
/// runs again alone, in a child process of the test binary, and reports through its exit
/// status. There, training runs in a 1-thread pool, as a product split between threads may
/// sum in another order.
pub fn resumes_bit_exact(
    test: &str,
    bin: &str,
    runs: &Path,
    flags: &[&str],
    run: impl Fn(&[&str]) -> anyhow::Result<()> + Sync,
) -> Result<(), String> {
    if std::env::var_os(ALONE).is_none() {
        return rerun_alone(test);
    }
    let runs_dir = runs.to_string_lossy();
    let train = |name: &str, resume: bool| {
        let mut args = vec![bin, "train", "--runs-dir", &runs_dir, "--backend", "flex"];
        args.extend(["--name", name]);
        args.extend(flags);
        if resume {
            args.push("--resume");
        }
        crate::ThreadPolicy::new(Some(1))
            .install(|| run(&args))
            .map_err(|err| format!("{name} (resume {resume}): {err:#}"))
    };
    train("whole", false)?;
    train("resumed", false)?;
    let resumed_dir = run_dir(runs, "resumed")?;
    back_to_before_the_last_checkpoint(&resumed_dir).map_err(|err| format!("{err:#}"))?;
    train("resumed", true)?;
    let whole = checkpoint_files(&newest_checkpoint(&run_dir(runs, "whole")?)?);
    let resumed = checkpoint_files(&newest_checkpoint(&resumed_dir)?);
    if whole.is_empty() {
        return Err("the final checkpoint holds no weights".into());
    }
    if whole.len() != resumed.len() {
        return Err(format!("{} against {} files", whole.len(), resumed.len()));
    }
    match whole.iter().zip(&resumed).find(|(a, b)| a != b) {
        Some(((name, _), _)) => Err(format!(
            "{name} differs between the whole and the resumed run"
        )),
        None => Ok(()),
    }
}

/// Set in the child process a test reruns itself in.
const ALONE: &str = "GENLAB_TEST_ALONE";

/// Runs test `test` of the current test binary in a child process, alone; its output is
/// returned when it fails.
fn rerun_alone(test: &str) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    let output = std::process::Command::new(exe)
        .args([test, "--exact", "--test-threads", "1", "--nocapture"])
        .env(ALONE, "1")
        .output()
        .map_err(|err| format!("starting {test} alone: {err}"))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !printed.contains("1 passed") {
        return Err(format!(
            "{test}, run alone, failed:\n{printed}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// Leaves a finished run as a kill during its last epoch would: that epoch's checkpoint and
/// the summary not written, `checkpoints/latest.json` still naming the checkpoint before it
/// (with the length `metrics.jsonl` had then: one line per epoch), the last epoch's metrics
/// line left for the resume to cut.
fn back_to_before_the_last_checkpoint(run_dir: &Path) -> anyhow::Result<()> {
    let latest: crate::run::CheckpointInfo =
        crate::run::read_json(&run_dir.join("checkpoints/latest.json"))?;
    let epochs_done = latest.epochs_done - 1;
    anyhow::ensure!(epochs_done > 0, "the run needs at least two epochs");
    let metrics = std::fs::read(run_dir.join("metrics.jsonl"))?;
    let lines_end = (metrics.iter().enumerate())
        .filter(|(_, byte)| **byte == b'\n')
        .nth(epochs_done - 1)
        .map(|(i, _)| i + 1)
        .ok_or_else(|| anyhow::anyhow!("metrics.jsonl has fewer lines than epochs"))?;
    let before = crate::run::CheckpointInfo {
        epochs_done,
        folder: format!("epoch-{epochs_done}"),
        metrics_bytes: lines_end as u64,
        ..latest.clone()
    };
    std::fs::remove_dir_all(run_dir.join("checkpoints").join(&latest.folder))?;
    std::fs::remove_file(run_dir.join("summary.json"))?;
    crate::run::write_json(&run_dir.join("checkpoints/latest.json"), &before)
}

/// The folder of run `name` under `runs` (`<runs>/<model>/<name>`).
fn run_dir(runs: &Path, name: &str) -> Result<PathBuf, String> {
    walkdir(runs)
        .into_iter()
        .find(|path| path.ends_with(name) && path.join("checkpoints").is_dir())
        .ok_or(format!("no run folder {name} under {}", runs.display()))
}

/// The newest checkpoint folder of a run (`checkpoints/epoch-N`, the largest N).
fn newest_checkpoint(run_dir: &Path) -> Result<PathBuf, String> {
    let epoch = |path: &PathBuf| -> Option<usize> {
        path.file_name()?
            .to_str()?
            .strip_prefix("epoch-")?
            .parse()
            .ok()
    };
    let entries = std::fs::read_dir(run_dir.join("checkpoints")).map_err(|err| err.to_string())?;
    (entries.flatten())
        .map(|entry| entry.path())
        .filter_map(|path| Some((epoch(&path)?, path)))
        .max()
        .map(|(_, path)| path)
        .ok_or(format!("{}: no checkpoint", run_dir.display()))
}

/// Every weights file of a checkpoint folder, by name, with its bytes, parameter ids masked.
/// Optimiser states are left out: they are keyed by those ids, so their layout differs from
/// process to process; a state restored wrongly shows in the weights the resumed epoch makes.
fn checkpoint_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = (walkdir(dir).into_iter())
        .filter(|path| path.extension().is_some_and(|e| e == "bpk"))
        .filter(|path| !path.to_string_lossy().contains("optimizer"))
        .map(|path| {
            let name = path.file_name().unwrap_or_default();
            let bytes = std::fs::read(&path).unwrap_or_default();
            (name.to_string_lossy().into(), without_param_ids(bytes))
        })
        .collect();
    files.sort();
    files
}

/// Burn gives every parameter a random id when it is made and saves it beside the tensor
/// (the CBOR text "param_id", then an unsigned 64-bit integer): two processes that train the
/// same weights write different ids. The ids are zeroed; everything else is compared.
fn without_param_ids(mut bytes: Vec<u8>) -> Vec<u8> {
    const KEY: &[u8] = b"\x68param_id\x1b";
    let mut i = 0;
    while let Some(found) = bytes[i..].windows(KEY.len()).position(|w| w == KEY) {
        let start = i + found + KEY.len();
        let end = (start + 8).min(bytes.len());
        bytes[start..end].fill(0);
        i = end;
    }
    bytes
}

/// Values no config field expects, of every kind: wrong types, out of range, not finite (a
/// number JSON cannot hold is read as a string, as `--set` reads it).
const HOSTILE_VALUES: &[&str] = &[
    "-1",
    "0",
    "1",
    "2",
    "0.5",
    "-0.5",
    "1e30",
    "-1e30",
    "1e400",
    "NaN",
    "inf",
    "1e-320",
    "18446744073709551615",
    "-9223372036854775808",
    "\"\"",
    "word",
    "true",
    "null",
    "[]",
    "[0]",
    "[-1, 0]",
    "{}",
];

/// Settings tried by [`hostile_settings_never_panic`].
const HOSTILE_CASES: u64 = 600;

/// For each model crate's property test: settings of 1 to 3 `--set key=value` pairs, the keys
/// drawn from every field of `preset` (nested ones dotted) and the values from a list of
/// hostile ones, from a fixed seed, each go through `--set`'s parsing and then `validate`:
/// each may be refused or accepted, never panic. Says which settings panicked.
pub fn hostile_settings_never_panic<C: serde::Serialize + serde::de::DeserializeOwned>(
    preset: &C,
    validate: fn(&C) -> anyhow::Result<()>,
) -> Result<(), String> {
    let base = serde_json::to_value(preset).map_err(|err| err.to_string())?;
    let fields = field_paths(&base, "");
    let pick = |case: u64, draw: u64, len: usize| {
        (crate::seed::mix(0x5E7, case, draw) % len as u64) as usize
    };
    let mut panicked = Vec::new();
    for case in 0..HOSTILE_CASES {
        let sets: Vec<String> = (0..1 + pick(case, 0, 3) as u64)
            .map(|k| {
                let field = &fields[pick(case, 2 * k + 1, fields.len())];
                let value = HOSTILE_VALUES[pick(case, 2 * k + 2, HOSTILE_VALUES.len())];
                format!("{field}={value}")
            })
            .collect();
        let base = base.clone();
        let outcome = std::panic::catch_unwind(|| {
            crate::config::apply_overrides::<C>(base, &sets).and_then(|config| validate(&config))
        });
        if outcome.is_err() {
            panicked.push(sets.join(" "));
        }
    }
    match panicked.is_empty() {
        true => Ok(()),
        false => Err(format!("these settings panicked: {}", panicked.join("; "))),
    }
}

/// The dotted path of every leaf field of a serialised config.
fn field_paths(value: &serde_json::Value, prefix: &str) -> Vec<String> {
    match value.as_object() {
        Some(fields) => (fields.iter())
            .flat_map(|(key, inner)| field_paths(inner, &format!("{prefix}{key}.")))
            .collect(),
        None => vec![prefix.trim_end_matches('.').to_string()],
    }
}
