//! One writer per run: a process that trains a run holds an exclusive lock on it until it
//! ends, so that a second `--resume`, an `--overwrite` or a start under the same name waits
//! for no one and tears nothing: it is refused, naming the run.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The lock on the run at `dir`, released when dropped (and by the system when the process
/// dies, so a killed run never leaves its run locked).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock on the run at `dir` (`<runs-dir>/<model>/<name>`), or refuses when
    /// another process holds it. The lock file sits beside the run's folder, as
    /// `.<name>.lock`, so that `--overwrite` can remove the folder while holding it.
    pub fn acquire(dir: &Path) -> anyhow::Result<Self> {
        let path = lock_path(dir)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening the run's lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => bail!(
                "another process is writing the run at {}: wait for it to end (or stop it) \
                 before resuming or overwriting it, or start another run with --name",
                dir.display()
            ),
            Err(TryLockError::Error(err)) => {
                Err(err).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

fn lock_path(dir: &Path) -> anyhow::Result<PathBuf> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: a run folder has a name", dir.display()))?;
    Ok(dir.with_file_name(format!(".{name}.lock")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let runs = tempfile::tempdir().unwrap();
        let dir = runs.path().join("rbm").join("base");
        let first = RunLock::acquire(&dir).unwrap();
        let err = RunLock::acquire(&dir).unwrap_err().to_string();
        assert!(
            err.contains("another process is writing the run at") && err.contains("base"),
            "{err}"
        );
        let other = RunLock::acquire(&runs.path().join("rbm").join("other"));
        assert!(other.is_ok(), "another run is not locked");
        drop(first);
        assert!(RunLock::acquire(&dir).is_ok(), "released when dropped");
    }
}
