//! `reports/results.json`: every number the report cites, machine-readable: each section's
//! numbers as its experiment wrote them (`reports/numbers/<ID>.json`), the family
//! comparison, and the units the field names follow.

use std::path::Path;

use serde_json::{Map, Value, json};

/// What the field names of the sections' numbers mean, unit by unit.
const UNITS: &[(&str, &str)] = &[
    (
        "log_likelihood, bound, elbo, log_z, kl, reconstruction, loss (VAE, RBM, DBM)",
        "nats per image",
    ),
    (
        "fid",
        "Fréchet distance between the eval classifier's features of samples and of real test images (no unit)",
    ),
    (
        "precision, recall, density, coverage, accuracy, confidence, *_fraction, *_share",
        "fractions in [0, 1]",
    ),
    ("*_seconds, seconds, wall_s", "seconds of wall time"),
    ("*_ms*, ms_per_sample", "milliseconds"),
    ("images_per_second", "training images per second"),
    ("effective_sample_size, ess", "chains (of `chains`)"),
    (
        "nearest_train_*",
        "Euclidean pixel distance, pixels in [0, 1]",
    ),
];

/// The results file's content for the report in `reports`.
pub fn collect(reports: &Path, profile: &str, backend: &str) -> Value {
    let mut sections = Map::new();
    if let Ok(entries) = std::fs::read_dir(reports.join("numbers")) {
        let mut paths: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        paths.sort();
        for path in paths {
            let Some(id) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if let Ok(numbers) = data::run::read_json::<Value>(&path) {
                sections.insert(id.to_string(), numbers);
            }
        }
    }
    let units: Map<String, Value> = UNITS
        .iter()
        .map(|(fields, unit)| (fields.to_string(), json!(unit)))
        .collect();
    json!({
        "profile": profile,
        "backend": backend,
        "units": units,
        "sections": sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sections_numbers_are_collected_under_its_id() {
        let reports = tempfile::tempdir().unwrap();
        let numbers = reports.path().join("numbers");
        data::run::write_json(&numbers.join("RBM-Q1.json"), &json!({ "ll": -86.1 })).unwrap();
        data::run::write_json(&numbers.join("families.json"), &json!([{ "fid": 3.5 }])).unwrap();
        let results = collect(reports.path(), "quick", "flex");
        assert_eq!(results["sections"]["RBM-Q1"]["ll"], json!(-86.1));
        assert_eq!(results["sections"]["families"][0]["fid"], json!(3.5));
        assert_eq!(results["profile"], json!("quick"));
        assert!(results["units"].as_object().unwrap().len() >= 5);
    }
}
