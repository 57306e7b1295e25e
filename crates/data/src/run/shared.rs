//! Runs that experiments share, and loading a trained run back.
//!
//! A shared run lives in `<runs>/<model>/<name>-<hash>`, the hash being that of its config:
//! two experiments that ask for the same name and config share one run, and an experiment
//! whose config changed trains a new run beside the old one instead of overwriting a run
//! another experiment relies on.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{RunOptions, latest_checkpoint, read_json};

/// The first 8 hex digits of the SHA-256 of `config`'s JSON without its `null` fields, so a
/// config field added later as an `Option` leaves the hash of a config that does not set it
/// as it was (as [`super::same_config`] reads such a config as the same).
pub fn config_hash(config: &impl Serialize) -> String {
    let value = serde_json::to_value(config).expect("a config serialises to JSON");
    let json = serde_json::to_vec(&super::ship::without_nulls(&value)).expect("JSON");
    Sha256::digest(&json)[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Options opening the shared run `name` with `config` in `<runs_dir>/<model>/`: an existing
/// one is continued (a finished run is loaded from its last checkpoint, an interrupted one
/// resumes), otherwise a new one starts.
pub fn shared(runs_dir: &Path, model: &str, name: &str, config: &impl Serialize) -> RunOptions {
    let name = format!("{name}-{}", config_hash(config));
    let exists = runs_dir
        .join(model)
        .join(&name)
        .join("config.json")
        .exists();
    RunOptions {
        runs_dir: runs_dir.to_owned(),
        name: Some(name),
        resume: exists,
        ..Default::default()
    }
}

/// The config of the run in `dir` (`what` names the model, for the error) and the folder of
/// its newest checkpoint.
pub fn load_latest<C: DeserializeOwned>(dir: &Path, what: &str) -> anyhow::Result<(C, PathBuf)> {
    let saved: Value = read_json(&dir.join("config.json"))
        .with_context(|| format!("{} is not a run folder", dir.display()))?;
    let config: C = serde_json::from_value(saved["config"].clone())
        .with_context(|| format!("{}: not a {what} run config", dir.display()))?;
    let checkpoint = latest_checkpoint(dir)?.with_context(|| {
        format!(
            "{} has no checkpoint yet: train it (or --resume it) first",
            dir.display()
        )
    })?;
    Ok((config, dir.join("checkpoints").join(checkpoint.folder)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runs_are_shared_by_name_and_config_never_replaced() {
        let runs = tempfile::tempdir().unwrap();
        let a = shared(runs.path(), "toy", "base", &json!({ "lr": 0.1 }));
        let b = shared(runs.path(), "toy", "base", &json!({ "lr": 0.2 }));
        assert_ne!(a.name, b.name, "another config gets another folder");
        assert!(!a.resume && !a.overwrite && !b.overwrite);
        let dir = runs.path().join("toy").join(a.name.as_ref().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), "{}").unwrap();
        let again = shared(runs.path(), "toy", "base", &json!({ "lr": 0.1 }));
        assert!(again.resume, "an existing run is continued");
        assert_eq!(config_hash(&json!({ "lr": 0.1 })).len(), 8);
    }

    #[test]
    fn an_unset_option_field_leaves_the_hash_as_it_was() {
        let before = config_hash(&json!({ "lr": 0.1, "model": { "width": 8 } }));
        let unset = json!({ "lr": 0.1, "model": { "width": 8, "added": null }, "also": null });
        assert_eq!(config_hash(&unset), before);
        let set = json!({ "lr": 0.1, "model": { "width": 8, "added": 1 } });
        assert_ne!(config_hash(&set), before);
    }

    #[test]
    fn loading_names_the_folder_and_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", load_latest::<u32>(dir.path(), "toy").unwrap_err());
        assert!(err.contains("not a run folder"), "{err}");
        super::super::write_json(&dir.path().join("config.json"), &json!({ "config": "x" }))
            .unwrap();
        let err = format!("{:#}", load_latest::<u32>(dir.path(), "toy").unwrap_err());
        assert!(err.contains("not a toy run config"), "{err}");
        super::super::write_json(&dir.path().join("config.json"), &json!({ "config": 3 })).unwrap();
        let err = format!("{:#}", load_latest::<u32>(dir.path(), "toy").unwrap_err());
        assert!(err.contains("no checkpoint yet"), "{err}");
    }
}
