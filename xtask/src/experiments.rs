//! The experiments `cargo xtask all` runs, read from the study layer's registries: each is
//! the `experiment <ID>` subcommand of the `study` binary, built for the backend the GPU
//! probe chose, and writes `reports/sections/<ID>.md` (see `study::section`).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use study::experiments::FAMILIES;

use crate::gpu::BuildPlan;

/// One experiment: the model family it studies, its id and the question ids it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planned {
    pub family: &'static str,
    pub id: &'static str,
    pub answers: &'static [&'static str],
}

/// Every registered experiment, in report order, but for those that compare families
/// ([`study::experiments::RUN_LAST`]), which run last.
pub fn planned() -> Vec<Planned> {
    let mut planned: Vec<Planned> = FAMILIES
        .iter()
        .flat_map(|(family, registry)| {
            registry.iter().map(|e| Planned {
                family,
                id: e.id(),
                answers: e.answers(),
            })
        })
        .collect();
    planned.sort_by_key(|p| study::experiments::RUN_LAST.contains(&p.id));
    planned
}

/// One experiment's outcome.
pub struct Outcome {
    pub id: &'static str,
    /// The question ids whose sections it wrote (RBM-Q4's experiment also answers RBM-Q5).
    pub answers: &'static [&'static str],
    pub ok: bool,
}

/// "12 min elapsed, about 30 min left": the time left is what the remaining experiments took
/// in the last run that timed them all (`<reports>/timings.json`), unknown otherwise.
pub fn progress(
    elapsed_s: f64,
    remaining: &[&str],
    timings: &std::collections::BTreeMap<String, f64>,
) -> String {
    let left: Option<f64> = remaining.iter().map(|id| timings.get(*id).copied()).sum();
    let minutes = |s: f64| format!("{:.0} min", s / 60.0);
    match left {
        Some(left) => format!(
            "{} elapsed, about {} left",
            minutes(elapsed_s),
            minutes(left)
        ),
        None => format!(
            "{} elapsed, time left unknown until every experiment has run once",
            minutes(elapsed_s)
        ),
    }
}

/// The per-section records of the report's header: which profile and which machine (and
/// day) last wrote each section.
pub const PROFILES: &str = "profiles.json";
pub const MACHINES: &str = "machines.json";

/// Records `value` under `<reports>/<file>` for the sections of the experiments that
/// succeeded, beside what earlier `--only` runs recorded for the others, and returns the
/// whole record: the report's header names each section's profile and machine.
pub fn record_by_section(
    reports: &Path,
    file: &str,
    outcomes: &[Outcome],
    value: &str,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let path = reports.join(file);
    let mut record: std::collections::BTreeMap<String, String> =
        data::run::read_json(&path).unwrap_or_default();
    for outcome in outcomes.iter().filter(|o| o.ok) {
        for id in outcome.answers {
            record.insert(id.to_string(), value.to_string());
        }
    }
    data::run::write_json(&path, &record)?;
    Ok(record)
}

/// The header's line of experiment times: every experiment's wall time in its latest run
/// (`<reports>/timings.json`, so an `--only` rerun keeps the others' times), in report
/// order, with this run's failures marked, and their total.
pub fn timings_line(reports: &Path, outcomes: &[Outcome]) -> String {
    let timings: std::collections::BTreeMap<String, f64> =
        data::run::read_json(&reports.join("timings.json")).unwrap_or_default();
    let mut total = 0.0;
    let listed: Vec<String> = planned()
        .iter()
        .filter_map(|p| {
            let failed = outcomes.iter().any(|o| o.id == p.id && !o.ok);
            let mark = if failed { " (FAILED in this run)" } else { "" };
            let seconds = timings.get(p.id)?;
            total += seconds;
            Some(format!("{} {seconds:.0} s{mark}", p.id))
        })
        .collect();
    format!(
        "Experiments' wall times, build included, each from its latest run: {}; total {total:.0} s \
         ({:.0} min)",
        listed.join(", "),
        total / 60.0
    )
}

/// One line naming the shipped runs the experiments loaded instead of training, each with
/// the sections that used it (`<reports>/shipped/<ID>.json`, written by every experiment).
pub fn shipped_line(reports: &Path) -> String {
    let mut users: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    if let Ok(entries) = std::fs::read_dir(reports.join("shipped")) {
        for path in entries.filter_map(|e| Some(e.ok()?.path())) {
            let Some(id) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let runs: Vec<String> = data::run::read_json(&path).unwrap_or_default();
            for run in runs {
                users.entry(run).or_default().push(id.to_string());
            }
        }
    }
    if users.is_empty() {
        return "none (every model was trained by the run)".into();
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    users
        .iter_mut()
        .map(|(run, ids)| {
            ids.sort();
            let trained_on = match data::run::TrainedOn::of_run(&workspace.join(run.as_str())) {
                Some(t) if t.backend == "flex" => "trained on CPU, flex".to_string(),
                Some(t) => format!("trained on {}", t.backend_reason),
                None => "training backend not recorded".to_string(),
            };
            format!("{run} ({}; {trained_on})", ids.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line naming what `record` holds for each of `sections` (the profile, the machine):
/// "quick" when one value holds for them all, else each value with its sections; a section
/// without a record is "not recorded".
pub fn by_section_line(
    record: &std::collections::BTreeMap<String, String>,
    sections: &[&str],
) -> String {
    let mut by_value: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for id in sections {
        let value = record.get(*id).map_or("not recorded", String::as_str);
        by_value.entry(value).or_default().push(id);
    }
    match by_value.len() {
        0 => "none run yet".into(),
        1 => by_value.keys().next().unwrap().to_string(),
        _ => by_value
            .iter()
            .map(|(value, ids)| format!("{value} for {}", ids.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The experiments answering the question ids of `--only` (None when it is empty), each
/// once even where it answers several of them; an unknown id is an error listing the ids
/// there are.
pub fn chosen(only: &[String]) -> anyhow::Result<Option<Vec<Planned>>> {
    if only.is_empty() {
        return Ok(None);
    }
    let all = planned();
    let mut picked: Vec<Planned> = Vec::new();
    let found = only
        .iter()
        .map(|id| {
            all.iter()
                .find(|p| {
                    p.id.eq_ignore_ascii_case(id)
                        || p.answers.iter().any(|a| a.eq_ignore_ascii_case(id))
                })
                .copied()
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--only {id}: no experiment answers it; the experiments: {}",
                        all.iter().map(|p| p.id).collect::<Vec<_>>().join(", ")
                    )
                })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for experiment in found {
        if !picked.iter().any(|p| p.id == experiment.id) {
            picked.push(experiment);
        }
    }
    Ok(Some(picked))
}

/// How `cargo xtask all` runs the experiments.
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    /// Small CI-sized experiments (`--quick`).
    pub quick: bool,
    /// Train every model instead of loading shipped runs (`--retrain`).
    pub retrain: bool,
}

/// Runs every experiment (or the `only` ones), continuing past failures so one broken
/// experiment does not hide the others' results.
pub fn run_all(
    plan: &BuildPlan,
    profile: Profile,
    reports: &Path,
    data_dir: Option<&Path>,
    only: Option<&[Planned]>,
) -> Vec<Outcome> {
    // Results of earlier runs must not pass for this run's: all of them go, or, with
    // `--only`, the sections the chosen experiments are about to rewrite.
    match only {
        None => {
            for file in [PROFILES, MACHINES] {
                let _ = std::fs::remove_file(reports.join(file));
            }
            for folder in ["sections", "numbers", "families", "shipped"] {
                let _ = std::fs::remove_dir_all(reports.join(folder));
            }
        }
        Some(chosen) => {
            for id in chosen.iter().flat_map(|p| p.answers.iter()) {
                let _ = std::fs::remove_file(reports.join("sections").join(format!("{id}.md")));
                let _ = std::fs::remove_file(reports.join("numbers").join(format!("{id}.json")));
            }
        }
    }
    let chosen = only.map_or_else(planned, <[Planned]>::to_vec);
    let ids: Vec<&str> = chosen.iter().map(|p| p.id).collect();
    let timings_path = reports.join("timings.json");
    let mut timings: std::collections::BTreeMap<String, f64> =
        data::run::read_json(&timings_path).unwrap_or_default();
    let run_started = Instant::now();
    chosen
        .iter()
        .enumerate()
        .map(
            |(
                i,
                &Planned {
                    family,
                    id,
                    answers,
                },
            )| {
                eprintln!(
                    "== experiment {id} ({family}) [{}/{}, {}]",
                    i + 1,
                    ids.len(),
                    progress(run_started.elapsed().as_secs_f64(), &ids[i..], &timings)
                );
                let started = Instant::now();
                let mut command =
                    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
                command.args(["run", "--release", "--quiet", "-p", "study"]);
                command.args(&plan.cargo_flags);
                command.args([
                    "--",
                    "--backend",
                    plan.backend,
                    "experiment",
                    id,
                    "--reports",
                ]);
                command.arg(reports);
                if profile.quick {
                    command.arg("--quick");
                }
                if profile.retrain {
                    command.arg("--retrain");
                }
                if let Some(dir) = data_dir {
                    command.arg("--data-dir").arg(dir);
                }
                let ok = command.status().is_ok_and(|s| s.success());
                if ok {
                    // Kept after every experiment, so that an interrupted run still informs the
                    // next one's estimate.
                    timings.insert(id.to_string(), started.elapsed().as_secs_f64());
                    let _ = data::run::write_json(&timings_path, &timings);
                }
                if !ok {
                    eprintln!("experiment {id} failed; continuing with the others");
                }
                Outcome { id, answers, ok }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_picks_experiments_by_id_or_answer_and_refuses_unknown_ones() {
        let picked = chosen(&["dbm-q2".into(), "CREATIVE".into()])
            .unwrap()
            .unwrap();
        assert_eq!(
            picked.iter().map(|p| p.id).collect::<Vec<_>>(),
            ["DBM-Q2", "CREATIVE"]
        );
        assert!(chosen(&[]).unwrap().is_none());
        let rbm = planned()
            .into_iter()
            .find(|p| p.answers.len() > 1)
            .expect("an experiment answering two questions");
        let twice = chosen(&[rbm.answers[0].into(), rbm.answers[1].into()])
            .unwrap()
            .unwrap();
        assert_eq!(twice.len(), 1, "{} runs once", rbm.id);
        let err = chosen(&["RBM-Q99".into()]).unwrap_err();
        assert!(err.to_string().contains("RBM-Q1"), "{err}");
    }

    #[test]
    fn every_registered_answer_is_a_question_of_the_assignment_and_answered_once() {
        let questions: Vec<String> = crate::questions::all().into_iter().map(|q| q.id).collect();
        let mut answered: Vec<&str> = planned()
            .iter()
            .flat_map(|p| p.answers.iter().copied())
            .collect();
        for id in &answered {
            assert!(
                questions.iter().any(|q| q == id),
                "{id} is not in the assignment"
            );
        }
        let count = answered.len();
        answered.sort_unstable();
        answered.dedup();
        assert_eq!(answered.len(), count, "a question answered twice");
        let ids: Vec<&str> = planned().iter().map(|p| p.id).collect();
        assert!(
            ids.contains(&"RBM-Q4") && ids.contains(&"GAN-Q6"),
            "{ids:?}"
        );
    }

    #[test]
    fn the_header_names_one_profile_or_each_sections() {
        let reports = tempfile::tempdir().unwrap();
        let ran = |id, ok| Outcome {
            id,
            answers: match id {
                "A-Q1" => &["A-Q1"],
                _ => &["B-Q1", "B-Q2"],
            },
            ok,
        };
        let all = record_by_section(
            reports.path(),
            PROFILES,
            &[ran("A-Q1", true), ran("B-Q1", true)],
            "quick",
        )
        .unwrap();
        assert_eq!(by_section_line(&all, &["A-Q1", "B-Q1", "B-Q2"]), "quick");
        assert_eq!(
            by_section_line(&all, &["A-Q1", "C-Q1"]),
            "not recorded for C-Q1; quick for A-Q1"
        );
        assert_eq!(all.len(), 3, "B-Q1's experiment also wrote B-Q2: {all:?}");
        // An --only rerun in the full profile changes its own section's entry; a failed
        // experiment keeps the profile that last wrote its section.
        let mixed = record_by_section(
            reports.path(),
            PROFILES,
            &[ran("B-Q1", true), ran("A-Q1", false)],
            "full",
        )
        .unwrap();
        assert_eq!(
            by_section_line(&mixed, &["A-Q1", "B-Q1", "B-Q2"]),
            "full for B-Q1, B-Q2; quick for A-Q1"
        );
    }

    #[test]
    fn the_timings_line_keeps_every_experiment_s_latest_time_in_report_order() {
        let reports = tempfile::tempdir().unwrap();
        let timings: std::collections::BTreeMap<&str, f64> =
            [("GAN-Q1", 60.4), ("RBM-Q1", 120.0), ("NOT-PLANNED", 5.0)].into();
        data::run::write_json(&reports.path().join("timings.json"), &timings).unwrap();
        let failed = Outcome {
            id: "GAN-Q1",
            answers: &["GAN-Q1"],
            ok: false,
        };
        let line = timings_line(reports.path(), &[failed]);
        assert!(
            line.ends_with(
                "latest run: RBM-Q1 120 s, GAN-Q1 60 s (FAILED in this run); total 180 s (3 min)"
            ),
            "{line}"
        );
    }

    #[test]
    fn progress_estimates_the_time_left_from_the_last_timed_run() {
        let timings = [("A".to_string(), 120.0), ("B".to_string(), 600.0)].into();
        assert_eq!(
            progress(60.0, &["A", "B"], &timings),
            "1 min elapsed, about 12 min left"
        );
        assert!(progress(0.0, &["A", "C"], &timings).contains("unknown"));
    }

    #[test]
    fn the_shipped_runs_are_listed_with_the_sections_that_loaded_them() {
        let reports = tempfile::tempdir().unwrap();
        assert!(shipped_line(reports.path()).starts_with("none"));
        let shipped = reports.path().join("shipped");
        let dbm = ["data/pretrained/dbm/course"];
        data::run::write_json(&shipped.join("DBM-Q2.json"), &dbm).unwrap();
        data::run::write_json(&shipped.join("DBM-Q1.json"), &dbm).unwrap();
        data::run::write_json(&shipped.join("RBM-Q1.json"), &Vec::<String>::new()).unwrap();
        assert_eq!(
            shipped_line(reports.path()),
            "data/pretrained/dbm/course (DBM-Q1, DBM-Q2; trained on CPU, flex)"
        );
        // A run whose folder is not in this checkout cannot say where it was trained.
        data::run::write_json(&shipped.join("GAN-Q1.json"), &["data/pretrained/gan/gone"]).unwrap();
        assert!(
            shipped_line(reports.path())
                .contains("data/pretrained/gan/gone (GAN-Q1; training backend not recorded)")
        );
    }
}
