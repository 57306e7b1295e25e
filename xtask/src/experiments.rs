//! The experiments `cargo xtask all` runs: each is the `experiment <ID>` subcommand of a model
//! crate's binary, built for the backend the GPU probe chose. Each writes
//! `reports/sections/<ID>.md` (see `data::section`), which the report collects.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::gpu::BuildPlan;

/// `(crate, experiment id, the question ids its section files answer)`, in report order.
/// GAN-Q6 compares the families, so it runs after every other family's experiments.
pub const EXPERIMENTS: [(&str, &str, &[&str]); 10] = [
    ("rbm", "RBM-Q1", &["RBM-Q1"]),
    ("rbm", "RBM-Q2", &["RBM-Q2"]),
    ("rbm", "RBM-Q3", &["RBM-Q3"]),
    ("rbm", "RBM-Q4", &["RBM-Q4", "RBM-Q5"]),
    ("gan", "GAN-Q1", &["GAN-Q1"]),
    ("gan", "GAN-Q2", &["GAN-Q2"]),
    ("gan", "GAN-Q3", &["GAN-Q3"]),
    ("gan", "GAN-Q4", &["GAN-Q4"]),
    ("gan", "GAN-Q5", &["GAN-Q5"]),
    ("gan", "GAN-Q6", &["GAN-Q6"]),
];

/// One experiment's outcome.
pub struct Outcome {
    pub id: &'static str,
    pub seconds: f64,
    pub ok: bool,
}

/// Runs every experiment, continuing past failures so one broken experiment does not hide
/// the others' results.
pub fn run_all(
    plan: &BuildPlan,
    quick: bool,
    reports: &Path,
    data_dir: Option<&Path>,
) -> Vec<Outcome> {
    // Sections of earlier runs must not pass for this run's results.
    for folder in ["sections", "numbers"] {
        let _ = std::fs::remove_dir_all(reports.join(folder));
    }
    EXPERIMENTS
        .iter()
        .map(|&(krate, id, _)| {
            eprintln!("== experiment {id} ({krate})");
            let started = Instant::now();
            let mut command =
                Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            command.args(["run", "--release", "--quiet", "-p", krate]);
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
            if quick {
                command.arg("--quick");
            }
            if let Some(dir) = data_dir {
                command.arg("--data-dir").arg(dir);
            }
            let ok = command.status().is_ok_and(|s| s.success());
            if !ok {
                eprintln!("experiment {id} failed; continuing with the others");
            }
            Outcome {
                id,
                seconds: started.elapsed().as_secs_f64(),
                ok,
            }
        })
        .collect()
}
