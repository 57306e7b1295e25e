//! Files a run writes: atomic writes, JSON records, Burn module and optimiser records.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

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

/// Reads the epoch records of the run in `dir` as `R`.
pub fn read_records<R: serde::de::DeserializeOwned>(dir: &Path) -> anyhow::Result<Vec<R>> {
    let path = dir.join("metrics.jsonl");
    read_metrics(&path)?
        .into_iter()
        .map(|record| {
            serde_json::from_value(record)
                .with_context(|| format!("{}: an unexpected record", path.display()))
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
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    write_checksum(&path)
}

/// Loads parameters saved by [`save_module`] (or, in half precision, by
/// [`super::save_module_half`]) into `module`, in `module`'s own precision.
pub fn load_module<M: burn::module::Module>(
    dir: &Path,
    name: &str,
    module: M,
) -> anyhow::Result<M> {
    let path = dir.join(format!("{name}.bpk"));
    verify_checksum(&path)?;
    burn::store::ModuleRecord::load(&path)
        .and_then(|record| module.try_load_record(record.cast_to_module_dtype()))
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
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    write_checksum(&path)
}

/// Saves a model and its optimiser as `<dir>/model.bpk` and `<dir>/optimizer.bpk`: the
/// checkpoint of a model trained by one optimiser.
pub fn save_trained<M: burn::module::Module>(
    dir: &Path,
    model: &M,
    optimizer: &burn::optim::ModuleOptimizer,
) -> anyhow::Result<()> {
    save_module(dir, "model", model)?;
    save_optimizer(dir, "optimizer", optimizer)
}

/// Loads what [`save_trained`] saved into a fresh model and optimiser.
pub fn load_trained<M: burn::module::Module>(
    dir: &Path,
    model: M,
    optimizer: burn::optim::ModuleOptimizer,
) -> anyhow::Result<(M, burn::optim::ModuleOptimizer)> {
    Ok((
        load_module(dir, "model", model)?,
        load_optimizer(dir, "optimizer", optimizer)?,
    ))
}

/// Loads an optimiser's state saved by [`save_optimizer`].
pub fn load_optimizer(
    dir: &Path,
    name: &str,
    optimizer: burn::optim::ModuleOptimizer,
) -> anyhow::Result<burn::optim::ModuleOptimizer> {
    let path = dir.join(format!("{name}.bpk"));
    verify_checksum(&path)?;
    optimizer
        .load(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))
}

/// `<weights>.sha256`, beside a weights file: its SHA-256, so that a damaged or edited file
/// is refused on load instead of loading as wrong weights.
pub fn checksum_path(weights: &Path) -> PathBuf {
    let mut name = weights.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// Writes the SHA-256 of `weights` beside it (see [`checksum_path`]).
pub fn write_checksum(weights: &Path) -> anyhow::Result<()> {
    let digest = sha256_hex(weights)?;
    let path = checksum_path(weights);
    write_atomically(&path, |f| writeln!(f, "{digest}"))
        .with_context(|| format!("writing {}", path.display()))
}

/// Refuses `weights` when its checksum file says other bytes were written. A file without
/// one (written before checksums were kept) is not checked.
pub fn verify_checksum(weights: &Path) -> anyhow::Result<()> {
    let path = checksum_path(weights);
    let Ok(expected) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let found = sha256_hex(weights)?;
    anyhow::ensure!(
        found == expected.trim(),
        "{}: the weights do not match their checksum in {} (SHA-256 {found}, expected {}): \
         the file was damaged or changed after it was written; restore it (for shipped \
         weights, `git checkout -- {}`) or train the run again",
        weights.display(),
        path.display(),
        expected.trim(),
        weights.display()
    );
    Ok(())
}

fn sha256_hex(path: &Path) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file =
        File::open(path).with_context(|| format!("reading {} to check it", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("reading {} to check it", path.display()))?;
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
