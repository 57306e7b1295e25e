//! `cargo xtask shipped`: the runs of `data/pretrained/` — what each is, how long it trained
//! (the wall time its own records measured) and what it weighs — and their total, which is
//! what `cargo xtask all --retrain` spends on training beyond the full profile.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One shipped run as its files describe it.
#[derive(Debug, PartialEq)]
pub struct ShippedRun {
    /// `<model>/<name>`.
    pub run: String,
    pub epochs: u64,
    /// The largest `wall_s` of its records: training plus per-epoch evaluation, all sittings.
    pub wall_seconds: f64,
    /// Its threads (`--threads`, when the command line gave them) and backend.
    pub trained_on: String,
    pub bytes: u64,
}

/// Every run under `pretrained` (`<model>/<name>/config.json`), sorted by path.
pub fn shipped_runs(pretrained: &Path) -> anyhow::Result<Vec<ShippedRun>> {
    let mut runs = Vec::new();
    for model in sorted_dirs(pretrained)? {
        for dir in sorted_dirs(&model)? {
            if dir.join("config.json").is_file() {
                runs.push(describe(pretrained, &dir)?);
            }
        }
    }
    Ok(runs)
}

fn sorted_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn describe(pretrained: &Path, dir: &Path) -> anyhow::Result<ShippedRun> {
    let saved: Value = data::run::read_json(&dir.join("config.json"))?;
    let records = data::run::read_metrics(&dir.join("metrics.jsonl")).unwrap_or_default();
    let largest = |field: &str| {
        records
            .iter()
            .filter_map(|r| r[field].as_f64())
            .fold(0.0, f64::max)
    };
    let command: Vec<&str> = saved["command_line"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let threads = command
        .iter()
        .position(|&arg| arg == "--threads")
        .and_then(|i| command.get(i + 1))
        .map_or("all cores".to_string(), |n| format!("{n} thread(s)"));
    let backend = saved["backend"].as_str().unwrap_or("?");
    Ok(ShippedRun {
        run: dir
            .strip_prefix(pretrained)?
            .to_string_lossy()
            .replace('\\', "/"),
        epochs: largest("epoch") as u64,
        wall_seconds: largest("wall_s"),
        trained_on: format!("{threads}, {backend}"),
        bytes: folder_bytes(dir)?,
    })
}

fn folder_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        total += if path.is_dir() {
            folder_bytes(&path)?
        } else {
            std::fs::metadata(&path)?.len()
        };
    }
    Ok(total)
}

/// The table `cargo xtask shipped` prints.
pub fn table(runs: &[ShippedRun]) -> String {
    let mut md = String::from(
        "| shipped run | epochs | training wall time | trained on | size |\n|---|---:|---:|---|---:|\n",
    );
    for r in runs {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} s ({:.1} h) | {} | {:.2} MB |",
            r.run,
            r.epochs,
            r.wall_seconds,
            r.wall_seconds / 3600.0,
            r.trained_on,
            r.bytes as f64 / 1e6
        );
    }
    let seconds: f64 = runs.iter().map(|r| r.wall_seconds).sum();
    let bytes: u64 = runs.iter().map(|r| r.bytes).sum();
    let _ = writeln!(
        md,
        "| total ({} runs) | | {seconds:.0} s ({:.1} h) | | {:.2} MB |",
        runs.len(),
        seconds / 3600.0,
        bytes as f64 / 1e6
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_run_is_described_by_its_records_command_line_and_files() {
        let pretrained = tempfile::tempdir().unwrap();
        let run = pretrained.path().join("gan/tuned-mlp");
        data::run::write_json(
            &run.join("config.json"),
            &json!({ "backend": "flex", "command_line": ["gan", "--threads", "1", "train"] }),
        )
        .unwrap();
        std::fs::write(
            run.join("metrics.jsonl"),
            "{\"epoch\":1,\"wall_s\":10.5}\n{\"epoch\":2,\"wall_s\":21.0}\n",
        )
        .unwrap();
        std::fs::create_dir_all(run.join("checkpoints/epoch-2")).unwrap();
        std::fs::write(
            run.join("checkpoints/epoch-2/generator.bpk"),
            vec![0u8; 1000],
        )
        .unwrap();
        // Not a run: no config.json.
        std::fs::create_dir_all(pretrained.path().join("gan/notes")).unwrap();

        let runs = shipped_runs(pretrained.path()).unwrap();
        assert_eq!(runs.len(), 1);
        let r = &runs[0];
        assert_eq!(
            (r.run.as_str(), r.epochs, r.wall_seconds),
            ("gan/tuned-mlp", 2, 21.0)
        );
        assert_eq!(r.trained_on, "1 thread(s), flex");
        let config_bytes = std::fs::metadata(run.join("config.json")).unwrap().len();
        let metrics_bytes = std::fs::metadata(run.join("metrics.jsonl")).unwrap().len();
        assert_eq!(r.bytes, 1000 + config_bytes + metrics_bytes);
        let md = table(&runs);
        assert!(
            md.contains("| gan/tuned-mlp | 2 | 21 s (0.0 h) | 1 thread(s), flex |"),
            "{md}"
        );
        assert!(md.contains("| total (1 runs) | | 21 s"), "{md}");
    }
}
