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
    let mut counts: Vec<usize> = records.iter().map(|r| r.scores.images).collect();
    counts.dedup();
    let samples = match counts.as_slice() {
        [n] => n.to_string(),
        _ => records
            .iter()
            .map(|r| format!("{} {}", r.family, r.scores.images))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut md = format!(
        "<a id=\"summary\"></a>\n## Summary: every family on the same measures\n\n\
         Each MNIST family's best model, its samples ({samples} per family) scored against the \
         test digits. The headline is the two-sample accuracy: how often a small network tells \
         the samples from real digits (50% = indistinguishable). FID and KID (squared feature \
         units) are computed in this project's digit classifier, not Inception's. For these \
         three lower is better, for recall and coverage higher; the last row is what real \
         digits score. GAN-Q6 shows more scores, CLOSING the likelihoods, CREATIVE the \
         diffusion model (Fashion-MNIST).\n\n",
    );
    if records.is_empty() {
        md.push_str("No family has written sample scores in this report yet.\n");
    } else {
        md.push_str(&headline_table(&records));
        md.push_str("\n| family | samples |\n|---|---|\n");
        for r in &records {
            md.push_str(&format!(
                "| [{}](#{}) | ![{} samples]({}) |\n",
                r.family, r.from, r.family, r.samples_figure
            ));
        }
    }
    if !missing.is_empty() {
        md.push_str(&format!(
            "\nNot yet measured here: {}.\n",
            missing.join(", ")
        ));
    }
    md
}

/// The verdict scores of `s` as table cells: two-sample accuracy, FID and KID, each ± its
/// standard error ("–" where the verdict scores were not measured).
fn verdict_cells(s: &eval::SampleScores) -> [String; 3] {
    s.verdict.as_ref().map_or(
        ["–".to_string(), format!("{:.1}", s.fid), "–".into()],
        |v| {
            [
                format!(
                    "{:.1}% ± {:.1}",
                    100.0 * v.two_sample.accuracy,
                    100.0 * v.two_sample.standard_error
                ),
                format!("{:.1} ± {:.1}", s.fid, v.fid_standard_error),
                format!("{:.2} ± {:.2}", v.kid.kid, v.kid.standard_error),
            ]
        },
    )
}

/// The summary's compact table: one row per family, the verdict scores and the two
/// diversity scores that pass the ladder.
fn headline_table(records: &[FamilyRecord]) -> String {
    let mut md = String::from(
        "| family | two-sample accuracy | FID | KID | recall | coverage | classes |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut row = |label: String, s: &eval::SampleScores| {
        let [two_sample, fid, kid] = verdict_cells(s);
        md.push_str(&format!(
            "| {label} | {two_sample} | {fid} | {kid} | {:.3} | {:.3} | {} |\n",
            s.precision_recall.recall, s.density_coverage.coverage, s.classes.classes_covered,
        ));
    };
    for r in records {
        row(format!("[{}](#{})", r.family, r.from), &r.scores);
    }
    // What real digits score the same way: the floor every row is read against.
    if let Ok(reference) = eval::reference::shipped_reference(data::DataSetName::Mnist) {
        row("*real training digits*".into(), reference.floor());
    }
    md
}

/// One row per family: the verdict scores (with their standard errors), the other sample
/// scores, training time, sampling time.
fn scores_table(records: &[FamilyRecord]) -> String {
    let mut md = String::from(
        "| family | run | samples | two-sample accuracy | FID | KID | recall | coverage | precision† | density† | classes covered | training seconds | ms to draw 1000 samples |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in records {
        let s = &r.scores;
        let [two_sample, fid, kid] = verdict_cells(s);
        md.push_str(&format!(
            "| {} | {} | {} | {two_sample} | {fid} | {kid} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {:.0} | {:.0} |\n",
            r.family,
            r.run,
            s.images,
            s.precision_recall.recall,
            s.density_coverage.coverage,
            s.precision_recall.precision,
            s.density_coverage.density,
            s.classes.classes_covered,
            r.train_seconds,
            r.sampling_ms_1000,
        ));
    }
    md.push_str(
        "\n† Precision and density are shown, not read as verdicts: they rate blurred digits as \
         highly as real ones (Appendix A, the degradation ladder).\n",
    );
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
            "nearest_train_mean": 1.0, "nearest_train_median": 1.0,
            "verdict": { "fid_standard_error": 0.5,
                         "kid": { "kid": 1.234, "standard_error": 0.1, "subsets": 10, "subset_size": 100 },
                         "two_sample": { "accuracy": 0.7, "standard_error": 0.01, "held_out": 1000 } }
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
        let mut unscored = record.clone();
        unscored.family = "VAE".into();
        unscored.scores.verdict = None;
        let md = table(&[record, unscored], &["rbm"]);
        assert!(
            md.contains(
                "| GAN (MLP) | tuned | 1000 | 70.0% ± 1.0 | 12.3 ± 0.5 | 1.23 ± 0.10 | 0.250 | 0.800 | 0.500 | 0.900 | 10 | 60 | 5 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| VAE | tuned | 1000 | – | 12.3 | – | 0.250 |"),
            "{md}"
        );
        assert!(md.contains("![GAN (MLP)](figures/family-gan.png)"), "{md}");
        assert!(
            md.contains("Not in the table") && md.contains("rbm"),
            "{md}"
        );
    }
}
