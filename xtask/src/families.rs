//! The comparison of the model families: every family's experiments write a record of their
//! samples' scores (`eval::FamilyRecord`); here, where every family is visible, they become
//! one table and a column of samples, placed where a section asks for it
//! (`eval::family::TABLE_PLACE`).

use std::path::Path;

use eval::FamilyRecord;

use study::experiments::FAMILIES;

/// The records of every family that has written one, in report order, and the families
/// that have not.
pub fn records(reports: &Path) -> (Vec<FamilyRecord>, Vec<&'static str>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    // The diffusion model (crates/creative) is trained and scored on Fashion-MNIST: its
    // scores do not compare with the MNIST families', and its section has its own table.
    for (family, _) in FAMILIES.iter().filter(|(family, _)| *family != "creative") {
        let records = FamilyRecord::read_all(reports, family);
        if records.is_empty() {
            missing.push(*family);
        }
        found.extend(records);
    }
    (found, missing)
}

/// The comparison as markdown: a table of the scores and costs, then each family's samples.
pub fn table(records: &[FamilyRecord], missing: &[&str]) -> String {
    let mut md = scores_table(records);
    if !records.is_empty() {
        md.push_str("\n| family | samples of the run in the table |\n|---|---|\n");
        for r in records {
            md.push_str(&format!(
                "| {} ({}) | ![{}]({}) |\n",
                r.family, r.from, r.family, r.samples_figure
            ));
        }
    }
    if !missing.is_empty() {
        md.push_str(&format!(
            "\nNot in the table (their experiments have not written sample scores in this \
             report): {}.\n",
            missing.join(", ")
        ));
    }
    md
}

/// The report's opening summary: every MNIST family on the same measures (GAN-Q6 shows
/// their samples beside the same table).
pub fn summary(reports: &Path) -> String {
    let (records, missing) = records(reports);
    let mut md = String::from(
        "<a id=\"summary\"></a>\n## Summary: every family on the same measures\n\n\
         The sample scores of each MNIST family's model as its section measured them (the \
         eval crate's classifier features; the real-data floor is in the next part). \
         Likelihoods are not comparable across families and stay in their sections: RBM-Q1 \
         (AIS), DBM-Q2 (variational bound), VAE-Q1 (importance-sampled); the diffusion \
         model is scored on Fashion-MNIST in CREATIVE.\n\n",
    );
    if records.is_empty() {
        md.push_str("No family has written sample scores in this report yet.\n");
    } else {
        md.push_str(&scores_table(&records));
    }
    if !missing.is_empty() {
        md.push_str(&format!(
            "\nNot yet measured here: {}.\n",
            missing.join(", ")
        ));
    }
    md
}

/// One row per family: sample scores, training time, sampling time.
fn scores_table(records: &[FamilyRecord]) -> String {
    let mut md = String::from(
        "| family | run | samples | FID | classes covered | precision | recall | density | coverage | training seconds | ms to draw 1000 samples |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in records {
        let s = &r.scores;
        md.push_str(&format!(
            "| {} | {} | {} | {:.1} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} | {:.0} |\n",
            r.family,
            r.run,
            s.images,
            s.fid,
            s.classes.classes_covered,
            s.precision_recall.precision,
            s.precision_recall.recall,
            s.density_coverage.density,
            s.density_coverage.coverage,
            r.train_seconds,
            r.sampling_ms_1000,
        ));
    }
    md
}

/// Puts the comparison into every section that asks for it, and writes
/// `<reports>/numbers/families.json`.
pub fn fill(
    answers: &mut std::collections::BTreeMap<String, crate::report::Answer>,
    reports: &Path,
) -> anyhow::Result<()> {
    let (records, missing) = records(reports);
    let table = table(&records, &missing);
    for answer in answers.values_mut() {
        answer.body = answer.body.replace(eval::family::TABLE_PLACE, &table);
    }
    data::run::write_json(&reports.join("numbers/families.json"), &records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_record_and_names_the_missing_families() {
        let scores: eval::SampleScores = serde_json::from_value(serde_json::json!({
            "images": 1000, "classifier": "mnist-classifier", "fid": 12.345,
            "precision_recall": { "precision": 0.5, "recall": 0.25, "k": 3 },
            "density_coverage": { "density": 0.9, "coverage": 0.8, "k": 5 },
            "classes": { "histogram": [100,100,100,100,100,100,100,100,100,100], "classes_covered": 10,
                         "kl_to_uniform": 0.0, "mean_confidence": 0.9, "inception_score": 9.0 },
            "nearest_train_mean": 1.0, "nearest_train_median": 1.0
        }))
        .unwrap();
        let record = FamilyRecord {
            family: "GAN (MLP)".into(),
            from: "GAN-Q6".into(),
            run: "tuned".into(),
            scores,
            train_seconds: 60.4,
            sampling_ms_1000: 5.0,
            samples_figure: "figures/family-gan.png".into(),
        };
        let md = table(&[record], &["rbm"]);
        assert!(
            md.contains(
                "| GAN (MLP) | tuned | 1000 | 12.3 | 10 | 0.500 | 0.250 | 0.900 | 0.800 | 60 | 5 |"
            ),
            "{md}"
        );
        assert!(md.contains("![GAN (MLP)](figures/family-gan.png)"), "{md}");
        assert!(
            md.contains("Not in the table") && md.contains("rbm"),
            "{md}"
        );
    }
}
