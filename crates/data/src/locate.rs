//! Where a data set's files are found.
//!
//! Looked up in order: the `--data-dir` flag, the `GENLAB_DATA_DIR` variable, `data/<set>/`
//! in the workspace (MNIST and Fashion-MNIST ship there), and the folder of the set's Debian
//! package. A data directory may hold the files directly or in a `<set>/` sub-folder.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dataset::{DataSetName, file_in, read_verified};
use crate::idx::IdxError;

/// The environment variable naming a data directory.
pub const DATA_DIR_ENV: &str = "GENLAB_DATA_DIR";

/// Why a data set could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}", not_found_message(*.name, .searched))]
    NotFound {
        name: DataSetName,
        searched: Vec<PathBuf>,
    },
    #[error(transparent)]
    Idx(#[from] IdxError),
    /// A folder the user named (`--data-dir` or the environment) that cannot be used.
    #[error("{origin} {}: {reason}", .dir.display())]
    BadDataDir {
        dir: PathBuf,
        origin: Origin,
        reason: String,
    },
}

fn not_found_message(name: DataSetName, searched: &[PathBuf]) -> String {
    let mut msg = format!("{name} not found. Looked in:\n");
    for dir in searched {
        msg.push_str(&format!("  - {}\n", dir.display()));
    }
    msg.push_str(&format!(
        "Get it with `cargo xtask fetch-data {}` (downloads into data/{}/ and verifies it)",
        name.dir_name(),
        name.dir_name()
    ));
    if let Some((package, _)) = name.debian_package() {
        msg.push_str(&format!(", or `sudo apt install {package}`"));
    }
    msg.push_str(&format!(
        ", or point --data-dir / {DATA_DIR_ENV} at a folder holding its four IDX files."
    ));
    msg
}

/// How a folder came to be chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    Flag,
    Environment,
    Workspace,
    Debian,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::Flag => "--data-dir",
            Origin::Environment => DATA_DIR_ENV,
            Origin::Workspace => "the workspace's data/ folder",
            Origin::Debian => "the Debian package",
        })
    }
}

/// A folder that holds all four files of a data set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Located {
    pub name: DataSetName,
    pub dir: PathBuf,
    pub origin: Origin,
}

/// The workspace's `data/` folder: found from the current directory upwards (a user running a
/// binary from the checkout), else from where this crate was built.
pub fn workspace_data_dir() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("data/mnist").is_dir() && dir.join("Cargo.toml").is_file() {
                return dir.join("data");
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

/// The folders searched for `name`, in order, with why each is on the list.
pub fn candidates(name: DataSetName, data_dir: Option<&Path>) -> Vec<(PathBuf, Origin)> {
    let mut dirs = Vec::new();
    let mut push_data_dir = |dir: &Path, origin| {
        dirs.push((dir.join(name.dir_name()), origin));
        dirs.push((dir.to_owned(), origin));
    };
    if let Some(dir) = data_dir {
        push_data_dir(dir, Origin::Flag);
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        push_data_dir(Path::new(&dir), Origin::Environment);
    }
    dirs.push((
        workspace_data_dir().join(name.dir_name()),
        Origin::Workspace,
    ));
    if let Some((_, dir)) = name.debian_package() {
        dirs.push((PathBuf::from(dir), Origin::Debian));
    }
    dirs
}

/// Whether `dir` holds all four files of `name` (gzip or raw). MNIST and Fashion-MNIST use
/// the same file names, so the (small) training-label file's checksum decides which set a
/// folder holds.
pub fn holds_set(dir: &Path, name: DataSetName) -> bool {
    name.files().iter().all(|spec| file_in(dir, spec).is_file())
        && read_verified(dir, &name.files()[1]).is_ok()
}

/// What a folder holds of a data set, judged by its training labels (the smallest file,
/// whose checksum tells MNIST from Fashion-MNIST).
enum Holding {
    Set,
    /// Another set under the same file names.
    OtherSet,
    Nothing,
    /// Files of the set that cannot be used, and why.
    Broken(String),
}

fn holding(dir: &Path, name: DataSetName) -> Holding {
    let labels = &name.files()[1];
    if !file_in(dir, labels).is_file() {
        return Holding::Nothing;
    }
    match read_verified(dir, labels) {
        Ok(_) => match (name.files().iter()).find(|spec| !file_in(dir, spec).is_file()) {
            None => Holding::Set,
            Some(spec) => Holding::Broken(format!("holds {name}'s labels but not {}", spec.name)),
        },
        Err(_)
            if (DataSetName::ALL.iter())
                .any(|&other| other != name && read_verified(dir, &other.files()[1]).is_ok()) =>
        {
            Holding::OtherSet
        }
        Err(err) => Holding::Broken(err.to_string()),
    }
}

/// A folder the user named must exist and be a folder.
fn check_named_dir(dir: &Path, origin: Origin) -> Result<(), DataError> {
    let reason = match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => "is a file, not a folder".to_string(),
        Err(err) => format!("cannot be read ({err})"),
    };
    Err(DataError::BadDataDir {
        dir: dir.to_owned(),
        origin,
        reason: format!("{reason}; pass a folder holding the four IDX files, or none"),
    })
}

/// The first folder that holds all four files of `name`. A folder the user named that lacks
/// the set (it may hold another) is passed over and the next places are searched; one that
/// does not exist, or holds the set's files broken or incomplete, is an error naming it.
pub fn locate(name: DataSetName, data_dir: Option<&Path>) -> Result<Located, DataError> {
    if let Some(dir) = data_dir {
        check_named_dir(dir, Origin::Flag)?;
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        check_named_dir(Path::new(&dir), Origin::Environment)?;
    }
    let candidates = candidates(name, data_dir);
    for (dir, origin) in &candidates {
        if matches!(origin, Origin::Flag | Origin::Environment)
            && let Holding::Broken(reason) = holding(dir, name)
        {
            return Err(DataError::BadDataDir {
                dir: dir.clone(),
                origin: *origin,
                reason,
            });
        }
    }
    candidates
        .iter()
        .find(|(dir, _)| holds_set(dir, name))
        .map(|(dir, origin)| Located {
            name,
            dir: dir.clone(),
            origin: *origin,
        })
        .ok_or_else(|| DataError::NotFound {
            name,
            searched: candidates.into_iter().map(|(dir, _)| dir).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_mnist(to: &Path) {
        let shipped = workspace_data_dir().join("mnist");
        for spec in DataSetName::Mnist.files() {
            let file = format!("{}.gz", spec.name);
            std::fs::copy(shipped.join(&file), to.join(&file)).unwrap();
        }
    }

    #[test]
    fn a_named_folder_that_is_missing_a_file_or_broken_is_an_error_naming_it() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("nowhere");
        let err = locate(DataSetName::Mnist, Some(&missing)).unwrap_err();
        assert!(matches!(err, DataError::BadDataDir { .. }), "{err}");
        assert!(err.to_string().contains("nowhere"), "{err}");
        let file = root.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let err = locate(DataSetName::Mnist, Some(&file)).unwrap_err();
        assert!(err.to_string().contains("is a file, not a folder"), "{err}");
        let corrupt = tempfile::tempdir().unwrap();
        copy_mnist(corrupt.path());
        std::fs::write(corrupt.path().join("train-labels-idx1-ubyte.gz"), "junk").unwrap();
        let err = locate(DataSetName::Mnist, Some(corrupt.path())).unwrap_err();
        assert!(matches!(err, DataError::BadDataDir { .. }), "{err}");
        assert!(err.to_string().contains("train-labels"), "{err}");
        let partial = tempfile::tempdir().unwrap();
        copy_mnist(partial.path());
        std::fs::remove_file(partial.path().join("t10k-images-idx3-ubyte.gz")).unwrap();
        let err = locate(DataSetName::Mnist, Some(partial.path())).unwrap_err();
        assert!(err.to_string().contains("t10k-images"), "{err}");
    }

    #[test]
    fn a_named_folder_holding_another_set_is_passed_over() {
        let flat = tempfile::tempdir().unwrap();
        copy_mnist(flat.path());
        let located = locate(DataSetName::FashionMnist, Some(flat.path())).unwrap();
        assert_eq!(located.origin, Origin::Workspace);
    }

    #[test]
    fn mnist_is_found_in_the_workspace() {
        let located = locate(DataSetName::Mnist, None).unwrap();
        assert_eq!(located.origin, Origin::Workspace);
        assert!(located.dir.ends_with("data/mnist"));
    }

    #[test]
    fn an_explicit_folder_comes_first_with_or_without_the_set_subfolder() {
        let shipped = workspace_data_dir().join("mnist");
        let flat = tempfile::tempdir().unwrap();
        let nested = tempfile::tempdir().unwrap();
        std::fs::create_dir(nested.path().join("mnist")).unwrap();
        for spec in DataSetName::Mnist.files() {
            let file = format!("{}.gz", spec.name);
            std::fs::copy(shipped.join(&file), flat.path().join(&file)).unwrap();
            std::fs::copy(shipped.join(&file), nested.path().join("mnist").join(&file)).unwrap();
        }
        let located = locate(DataSetName::Mnist, Some(flat.path())).unwrap();
        assert_eq!(
            (located.dir.as_path(), located.origin),
            (flat.path(), Origin::Flag)
        );
        let located = locate(DataSetName::Mnist, Some(nested.path())).unwrap();
        assert_eq!(located.dir, nested.path().join("mnist"));
    }

    #[test]
    fn a_folder_holding_another_set_under_the_same_file_names_is_skipped() {
        let shipped = workspace_data_dir().join("mnist");
        let flat = tempfile::tempdir().unwrap();
        for spec in DataSetName::Mnist.files() {
            let file = format!("{}.gz", spec.name);
            std::fs::copy(shipped.join(&file), flat.path().join(&file)).unwrap();
        }
        assert!(holds_set(flat.path(), DataSetName::Mnist));
        assert!(!holds_set(flat.path(), DataSetName::FashionMnist));
    }

    #[test]
    fn not_found_lists_every_folder_and_the_ways_to_get_the_set() {
        let empty = tempfile::tempdir().unwrap();
        let err = DataError::NotFound {
            name: DataSetName::FashionMnist,
            searched: candidates(DataSetName::FashionMnist, Some(empty.path()))
                .into_iter()
                .map(|(d, _)| d)
                .collect(),
        };
        let msg = err.to_string();
        assert!(msg.contains(&empty.path().display().to_string()), "{msg}");
        assert!(msg.contains("/usr/share/datasets/fashion-mnist"), "{msg}");
        assert!(
            msg.contains("cargo xtask fetch-data fashion-mnist"),
            "{msg}"
        );
        assert!(msg.contains("apt install dataset-fashion-mnist"), "{msg}");
    }
}
