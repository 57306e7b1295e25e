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
}
