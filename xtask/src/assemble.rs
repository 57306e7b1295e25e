//! Assembling the report from what the experiments left in `reports/`: the sections, each
//! templated answer rendered again from its typed numbers, the family comparison, CLOSING,
//! the header; then `REPORT.md`, `results.json` and `index.html`. `cargo xtask all` does it
//! after running the experiments, `cargo xtask render` alone, from the committed results.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::experiments::{self, Outcome};
use crate::{families, html, machine, models_bench, questions, report};

/// What the run that produced the report saw besides its numbers: the header's backend and
/// data lines (`reports/run.json`), kept so that the report can be rendered again without
/// running anything.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunInfo {
    /// How the backend was chosen, e.g. "auto: no GPU (...); ... run on flex".
    pub backend: String,
    /// One line per data set: where it was found and its counts.
    pub data: Vec<String>,
}

pub const RUN_INFO: &str = "run.json";

/// Where each templated section's numbers come from: the fresh `numbers/<ID>.json` after a
/// run, or the committed `results.json` for `render`.
pub enum NumbersSource {
    NumbersDir,
    Results,
}

/// Writes `REPORT.md`, `results.json` and `index.html` for the report in `reports`; fails
/// (after writing them) when an experiment failed or an answer broke its checks.
pub fn assemble(
    reports: &Path,
    run: &RunInfo,
    outcomes: &[Outcome],
    source: NumbersSource,
) -> anyhow::Result<()> {
    let mut broken = render_templated(reports, source)?;
    broken.extend(render_closing(reports)?);
    let evaluation = study::evaluation::Evaluation::collect(&eval::pretrained_dir())?;
    broken.extend(render_assembled(reports, &evaluation)?);
    broken.extend(render_assembled(
        reports,
        &study::glossary::Glossary::of_this_build(),
    )?);
    let mut answers: BTreeMap<String, report::Answer> = questions::all()
        .into_iter()
        .filter_map(|q| {
            study::section::read_section(reports, &q.id).map(|body| (q.id, report::Answer { body }))
        })
        .collect();
    families::fill(&mut answers, reports)?;
    let preamble = preamble(reports, run, outcomes, &answers, &broken);
    let text = report::render(&questions::all(), &preamble, &answers);
    let report_path = reports.join("REPORT.md");
    write_text(&report_path, &text)?;
    data::run::write_json(
        &reports.join("results.json"),
        &crate::results::collect(reports, &preamble.mode, &preamble.backend)?,
    )?;
    write_text(
        &reports.join("index.html"),
        &html::render(&text, reports, report::TITLE),
    )?;
    eprintln!(
        "wrote {} ({} questions, {} answered; main text {} words, at most {})",
        report_path.display(),
        questions::all().len(),
        answers.len(),
        report::main_text_words(&text),
        report::MAIN_TEXT_WORDS,
    );
    let failed: Vec<&str> = outcomes.iter().filter(|o| !o.ok).map(|o| o.id).collect();
    anyhow::ensure!(
        failed.is_empty(),
        "experiments failed: {}",
        failed.join(", ")
    );
    anyhow::ensure!(
        broken.is_empty(),
        "answers failed their checks: {} (each section says which claim and numbers)",
        broken.join(", ")
    );
    Ok(())
}

/// Renders every templated section whose numbers exist into `sections/<ID>.md`; a section
/// whose numbers break its claims gets the failure notice instead. Returns the failed ids.
fn render_templated(reports: &Path, source: NumbersSource) -> anyhow::Result<Vec<String>> {
    let results: Option<serde_json::Value> = match source {
        NumbersSource::Results => Some(
            data::run::read_json(&reports.join("results.json"))
                .context("render reads the committed results.json")?,
        ),
        NumbersSource::NumbersDir => None,
    };
    let mut broken = Vec::new();
    for templated in study::experiments::TEMPLATED {
        let numbers = match &results {
            Some(results) => results["sections"].get(templated.id).cloned(),
            None => data::run::read_json(
                &reports
                    .join("numbers")
                    .join(format!("{}.json", templated.id)),
            )
            .ok(),
        };
        let Some(numbers) = numbers else { continue };
        let markdown = (templated.render)(&numbers).unwrap_or_else(|err| {
            eprintln!("{}: {err:#}", templated.id);
            broken.push(templated.id.to_string());
            study::answer::failure_notice(templated.id, &err)
        });
        study::section::write_section(reports, templated.id, &markdown, &numbers)?;
    }
    Ok(broken)
}

/// Renders CLOSING from the numbers the other sections wrote (see [`study::closing`]) into
/// `sections/CLOSING.md`, or its failure notice; returns its id if it failed.
fn render_closing(reports: &Path) -> anyhow::Result<Option<String>> {
    let (families, _) = families::records(reports);
    match study::closing::Closing::collect(reports, &families)? {
        Some(closing) => render_assembled(reports, &closing),
        None => Ok(None),
    }
}

/// Renders a section assembled from other sections' numbers (CLOSING, EVALUATION) into
/// `sections/<ID>.md`, or its failure notice; returns its id if it failed.
fn render_assembled<T: study::Answer>(
    reports: &Path,
    numbers: &T,
) -> anyhow::Result<Option<String>> {
    let (markdown, failed) = match study::answer::render(numbers) {
        Ok(markdown) => (markdown, None),
        Err(err) => {
            eprintln!("{}: {err:#}", T::ID);
            (
                study::answer::failure_notice(T::ID, &err),
                Some(T::ID.to_string()),
            )
        }
    };
    study::section::write_section(reports, T::ID, &markdown, numbers)?;
    Ok(failed)
}

fn preamble(
    reports: &Path,
    run: &RunInfo,
    outcomes: &[Outcome],
    answers: &BTreeMap<String, report::Answer>,
    broken: &[String],
) -> report::Preamble {
    // The sections in this report that an experiment wrote (CLOSING is assembled here).
    let sections: Vec<&str> = experiments::planned()
        .iter()
        .flat_map(|p| p.answers.iter().copied())
        .filter(|id| answers.contains_key(*id))
        .collect();
    let profiles: BTreeMap<String, String> =
        data::run::read_json(&reports.join(experiments::PROFILES)).unwrap_or_default();
    let machines: BTreeMap<String, String> =
        data::run::read_json(&reports.join(experiments::MACHINES)).unwrap_or_default();
    let mut data = run.data.clone();
    data.push(format!(
        "Machine: {}",
        experiments::by_section_line(&machines, &sections)
    ));
    data.push(experiments::timings_line(reports, outcomes));
    data.push(format!(
        "Shipped runs loaded instead of training: {}",
        experiments::shipped_line(reports)
    ));
    if !broken.is_empty() {
        data.push(format!(
            "**Answers that failed their checks** (their text is withheld): {}",
            broken.join(", ")
        ));
    }
    report::Preamble {
        mode: experiments::by_section_line(&profiles, &sections),
        backend: run.backend.clone(),
        data,
        figures: vec![(
            "The first 100 MNIST training digits with their labels".into(),
            "figures/mnist-train-grid.png".into(),
        )],
        parts: vec![
            families::summary(reports),
            study::section::read_section(reports, <study::glossary::Glossary as study::Answer>::ID)
                .unwrap_or_default(),
        ],
        appendices: vec![
            study::section::read_section(
                reports,
                <study::evaluation::Evaluation as study::Answer>::ID,
            )
            .unwrap_or_default(),
            models_bench::speed_section(reports),
        ],
    }
}

/// Records this run's profile and machine for the sections its experiments wrote.
pub fn record_profile(
    reports: &Path,
    profile: experiments::Profile,
    outcomes: &[Outcome],
) -> anyhow::Result<()> {
    let profile = match (profile.quick, profile.retrain) {
        (true, _) => "quick",
        (false, false) => "full (shipped models loaded where their config matches)",
        (false, true) => "full, every model retrained (--retrain)",
    };
    experiments::record_by_section(reports, experiments::PROFILES, outcomes, profile)?;
    experiments::record_by_section(
        reports,
        experiments::MACHINES,
        outcomes,
        &machine::describe(),
    )?;
    Ok(())
}

fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    data::run::write_atomically(path, |f| std::io::Write::write_all(f, text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                if path.file_name().unwrap() != "figures" {
                    copy_tree(&path, &target);
                }
            } else {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }

    fn committed_reports() -> tempfile::TempDir {
        let reports = tempfile::tempdir().unwrap();
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
        copy_tree(&committed, reports.path());
        reports
    }

    fn render(reports: &Path) -> anyhow::Result<()> {
        let run: RunInfo = data::run::read_json(&reports.join(RUN_INFO)).unwrap();
        assemble(reports, &run, &[], NumbersSource::Results)
    }

    #[test]
    fn the_committed_report_renders_again_unchanged_from_its_results() {
        let reports = committed_reports();
        render(reports.path()).unwrap();
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
        for file in ["REPORT.md", "results.json"] {
            assert_eq!(
                std::fs::read_to_string(reports.path().join(file)).unwrap(),
                std::fs::read_to_string(committed.join(file)).unwrap(),
                "{file} differs: run `cargo xtask render` and commit reports/"
            );
        }
    }

    #[test]
    fn numbers_that_break_a_claim_fail_the_render_and_withhold_the_section() {
        let reports = committed_reports();
        let path = reports.path().join("results.json");
        let mut results: serde_json::Value = data::run::read_json(&path).unwrap();
        // The DBM's second-layer filters no wider than its first-layer ones.
        let layer_1 = results["sections"]["DBM-Q1"]["layer_1"]["mean_radius"].clone();
        results["sections"]["DBM-Q1"]["layer_2"]["mean_radius"] = layer_1;
        data::run::write_json(&path, &results).unwrap();
        let err = render(reports.path()).unwrap_err().to_string();
        assert!(err.contains("DBM-Q1"), "{err}");
        let section = study::section::read_section(reports.path(), "DBM-Q1").unwrap();
        assert!(
            section.contains("the second-layer filters are much wider than the first-layer ones")
                && section.contains("layer_2_radius = 4.37")
                && !section.contains("**What is the difference?**"),
            "{section}"
        );
        let report = std::fs::read_to_string(reports.path().join("REPORT.md")).unwrap();
        assert!(
            report
                .contains("**Answers that failed their checks** (their text is withheld): DBM-Q1"),
            "the header names the failed section"
        );
    }

    #[test]
    fn numbers_missing_a_field_of_their_type_fail_the_render_naming_the_section() {
        let reports = committed_reports();
        let path = reports.path().join("results.json");
        let mut results: serde_json::Value = data::run::read_json(&path).unwrap();
        results["sections"]["DBM-Q1"]
            .as_object_mut()
            .unwrap()
            .remove("layer_2");
        data::run::write_json(&path, &results).unwrap();
        let err = render(reports.path()).unwrap_err().to_string();
        assert!(err.contains("DBM-Q1"), "{err}");
        let section = study::section::read_section(reports.path(), "DBM-Q1").unwrap();
        assert!(section.contains("layer_2"), "{section}");
    }
}
