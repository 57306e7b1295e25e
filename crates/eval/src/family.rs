//! What each model family contributes to the cross-family comparison: its best samples'
//! scores by the shared evaluator, what they cost, and a row of them. Each family's
//! experiments write one record; `cargo xtask all` builds the comparison from every record
//! it finds, so a new family adds a record and edits no other family's code.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SampleScores;

/// Where, in the section that shows the comparison, `cargo xtask all` puts the table.
pub const TABLE_PLACE: &str = "<!-- family comparison -->";

/// One family's entry in the comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FamilyRecord {
    /// The family, as the table names it, e.g. "GAN (MLP)".
    pub family: String,
    /// The question whose experiment produced it, e.g. "RBM-Q3".
    pub from: String,
    /// The model and how the samples were drawn.
    pub run: String,
    pub scores: SampleScores,
    /// Training wall time of the model, seconds.
    pub train_seconds: f64,
    /// Milliseconds to draw 1000 samples.
    pub sampling_ms_1000: f64,
    /// A row of its samples, relative to the report folder.
    pub samples_figure: String,
}

/// `<reports>/families/<key>.json`.
pub fn record_path(reports: &Path, key: &str) -> PathBuf {
    reports.join("families").join(format!("{key}.json"))
}

impl FamilyRecord {
    /// Writes the record as `<reports>/families/<key>.json` (`key`: the crate's name).
    pub fn write(&self, reports: &Path, key: &str) -> anyhow::Result<()> {
        data::run::write_json(&record_path(reports, key), self)
    }

    /// The record a family wrote, if its experiment has run.
    pub fn read(reports: &Path, key: &str) -> Option<Self> {
        data::run::read_json(&record_path(reports, key)).ok()
    }

    /// Every record of the crate `krate`: `<krate>.json`, then its further models'
    /// `<krate>-<model>.json` in name order (a family may enter more than one model).
    pub fn read_all(reports: &Path, krate: &str) -> Vec<Self> {
        let mut keys: Vec<String> = std::fs::read_dir(reports.join("families"))
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                let key = name.strip_suffix(".json")?;
                (key.strip_prefix(krate)?.starts_with('-')).then(|| key.to_string())
            })
            .collect();
        keys.sort();
        std::iter::once(krate.to_string())
            .chain(keys)
            .filter_map(|key| Self::read(reports, &key))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(family: &str) -> FamilyRecord {
        let scores: SampleScores = serde_json::from_value(serde_json::json!({
            "images": 10, "classifier": "c", "fid": 1.0,
            "precision_recall": { "precision": 0.5, "recall": 0.5, "k": 3 },
            "density_coverage": { "density": 0.5, "coverage": 0.5, "k": 5 },
            "classes": { "histogram": [1,1,1,1,1,1,1,1,1,1], "classes_covered": 10,
                         "kl_to_uniform": 0.0, "mean_confidence": 0.9, "inception_score": 9.0 },
            "nearest_train_mean": 1.0, "nearest_train_median": 1.0
        }))
        .unwrap();
        FamilyRecord {
            family: family.into(),
            from: "Q".into(),
            run: "r".into(),
            scores,
            train_seconds: 1.0,
            sampling_ms_1000: 1.0,
            samples_figure: "f.png".into(),
        }
    }

    #[test]
    fn a_crate_reads_its_own_record_first_then_its_further_models_and_no_other_crate() {
        let dir = tempfile::tempdir().unwrap();
        for (key, family) in [
            ("gan-cnn", "GAN (CNN)"),
            ("gan", "GAN (MLP)"),
            ("gan-big", "GAN (big)"),
            ("gans", "not a GAN record"),
            ("vae", "VAE"),
        ] {
            record(family).write(dir.path(), key).unwrap();
        }
        let families: Vec<String> = FamilyRecord::read_all(dir.path(), "gan")
            .into_iter()
            .map(|r| r.family)
            .collect();
        assert_eq!(families, ["GAN (MLP)", "GAN (big)", "GAN (CNN)"]);
        assert!(FamilyRecord::read_all(dir.path(), "rbm").is_empty());
        assert!(FamilyRecord::read_all(&dir.path().join("absent"), "gan").is_empty());
    }
}
