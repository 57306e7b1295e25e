//! `dbm ship`: a trained run reduced to what sampling, evaluation and the experiments need,
//! copied to the repository's shipped weights, `data/pretrained/dbm/<run name>`.
//!
//! The shipped folder is a run folder (see [`data::run::ship`]) whose checkpoint holds the
//! DBM in half precision and the persistent chains ([`crate::trained::save_shipped`]); the
//! run's `ais.json` (from `dbm evaluate`) comes along, its figures do not (`dbm sample` and
//! `dbm filters` draw them from the shipped weights in seconds, and every committed byte
//! stays in the repository's history). `checks.json` records a number the shipped weights
//! give deterministically, so that a test can tell the files in the repository still load
//! into the same model.

use std::path::Path;

use burn::tensor::Device;
use data::{DataSetName, ImageSet, SelectedDevice, Split};
use serde::{Deserialize, Serialize};

use crate::ais::mean_log_likelihood_bound;
use crate::model::Dbm;
use crate::train::TrainConfig;
use crate::trained::{Trained, save_shipped};

/// Test digits the shipped check averages over.
pub const CHECK_DIGITS: usize = 100;

/// The run's files shipped beside the weights when present: the AIS evaluation.
const EXTRA_FILES: [&str; 1] = ["ais.json"];

/// A number the shipped weights reproduce: `checks.json` in the shipped folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checks {
    /// The data set whose test split the digits come from.
    pub dataset: DataSetName,
    /// The first this many test digits, thresholded at 0.5 as `dbm evaluate` does.
    pub test_digits: usize,
    /// Their mean `−E(v, μ¹, μ²) + H(q)` under the mean-field posterior (the run's
    /// `mean_field_steps`): the test bound plus `log Z`, which needs no AIS and so is the
    /// same on every load of the same weights.
    pub mean_bound_unnormalised: f64,
}

/// The check of `dbm` on the first [`CHECK_DIGITS`] digits of `test`.
pub fn checks(dbm: &Dbm, config: &TrainConfig, test: &ImageSet, device: &Device) -> Checks {
    let indices: Vec<usize> = (0..CHECK_DIGITS.min(test.len())).collect();
    let v = config
        .test_batcher()
        .batch_indices(test, &indices, device)
        .images;
    Checks {
        dataset: test.name,
        test_digits: indices.len(),
        // With `log Z` = 0 the bound is its unnormalised part.
        mean_bound_unnormalised: mean_log_likelihood_bound(dbm, v, 0.0, config.mean_field_steps),
    }
}

/// Ships the run `--run` to `--to` (default: the repository's shipped weights), with the
/// check computed on its data set's test split.
pub fn ship(
    args: &data::run::ShipArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let dest = args.destination("dbm")?;
    let test = ImageSet::load(data::run::run_dataset(&args.run), Split::Test, data_dir)?;
    if !args.run.join("summary.json").is_file() {
        println!(
            "note: {} has not finished training (no summary.json): shipping its newest checkpoint",
            args.run.display()
        );
    }
    let checks = ship_to(&args.run, &dest, &test, &selected.device)?;
    println!(
        "shipped {} to {} (check: mean unnormalised bound {:.4} on {} test digits)",
        args.run.display(),
        dest.display(),
        checks.mean_bound_unnormalised,
        checks.test_digits
    );
    Ok(())
}

/// Copies the run in `run` to `dest` as shipped weights and writes `checks.json`, computed
/// from the shipped (half-precision) weights as they load back. Returns the check.
pub fn ship_to(
    run: &Path,
    dest: &Path,
    test: &ImageSet,
    device: &Device,
) -> anyhow::Result<Checks> {
    let trained = Trained::load(run, device)?;
    data::run::ship(run, dest, &EXTRA_FILES, |folder| {
        save_shipped(folder, &trained.dbm, &trained.chains)
    })?;
    let shipped = Trained::load(dest, device)?;
    let checks = checks(&shipped.dbm, &shipped.config, test, device);
    data::run::write_json(&dest.join("checks.json"), &checks)?;
    Ok(checks)
}
