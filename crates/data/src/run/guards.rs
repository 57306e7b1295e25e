//! Refusals that keep a run honest and inside its folder.

use anyhow::bail;

/// Largest magnitude a checked value may reach. What the loops check are losses per image
/// (hundreds of nats at most), errors per pixel and sums of weights (thousands): only weights
/// blown up by too large a step reach this, while their values are still finite in f32.
pub const DIVERGED_MAGNITUDE: f64 = 1e9;

/// Stops a run whose epoch `index` (0-based) ended with a value among `values` (named) that
/// is not finite or beyond [`DIVERGED_MAGNITUDE`], before the epoch is scored, logged or
/// checkpointed: the run's last checkpoint stays its last good state.
pub fn ensure_not_diverged(index: usize, values: &[(&str, f64)]) -> anyhow::Result<()> {
    let bad: Vec<String> = (values.iter())
        .filter(|(_, value)| !value.is_finite() || value.abs() > DIVERGED_MAGNITUDE)
        .map(|(name, value)| format!("{name} = {value:e}"))
        .collect();
    anyhow::ensure!(
        bad.is_empty(),
        "epoch {}: {}: training diverged (a value is not finite or beyond ±{DIVERGED_MAGNITUDE:e}; \
         is a learning rate too large?); nothing of this \
         epoch was saved, so the run ends at its last checkpoint; start it again with smaller \
         learning rates (--overwrite)",
        index + 1,
        bad.join(", ")
    );
    Ok(())
}

/// Refuses a run name that is not one plain folder name: `--overwrite` deletes the run's
/// folder, so a name that climbs out of `<runs-dir>/<model>/` (`..`, `/`), is absolute or
/// empty could delete what is not a run.
pub fn check_run_name(name: &str) -> anyhow::Result<()> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.starts_with('.') || !name.chars().all(plain) {
        bail!(
            "--name {name:?}: a run name is one folder name of letters, digits, '-', '_' and \
             '.', not starting with '.' (e.g. --name strong-2); the run goes to \
             <runs-dir>/<model>/<name>/"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendChoice, select_device};
    use crate::run::{Run, RunOptions};
    use serde_json::json;

    /// A name that is not one plain folder name is refused before anything is created or
    /// deleted, even with `--overwrite`: the folder beside the run, and the file above the
    /// runs folder, survive.
    #[test]
    fn run_names_that_leave_the_model_folder_are_refused_and_delete_nothing() {
        let selected = select_device(BackendChoice::Flex).unwrap();
        let root = tempfile::tempdir().unwrap();
        let runs = root.path().join("runs");
        let options = RunOptions {
            runs_dir: runs.clone(),
            ..RunOptions::default()
        };
        Run::start("toy", "kept", &options, &json!({}), 1, &selected).unwrap();
        std::fs::write(root.path().join("config.json"), "not a run").unwrap();
        for name in ["", ".", "..", "../..", "a/b", "/tmp/x", ".hidden", "a b"] {
            let bad = RunOptions {
                name: Some(name.into()),
                overwrite: true,
                ..options.clone()
            };
            let err = Run::start("toy", "default", &bad, &json!({}), 1, &selected)
                .err()
                .unwrap_or_else(|| panic!("{name:?} was accepted"));
            assert!(
                err.to_string().contains("one folder name"),
                "{name:?}: {err}"
            );
        }
        assert!(runs.join("toy/kept/config.json").exists());
        assert!(root.path().join("config.json").exists());
        for name in ["strong-2", "q3_latent.10", "dbm-comparison-603fd63a"] {
            check_run_name(name).unwrap();
        }
    }

    #[test]
    fn a_non_finite_loss_stops_the_run_naming_the_epoch_and_the_value() {
        ensure_not_diverged(3, &[("loss", 0.25), ("kl", -1e8)]).unwrap();
        let err = ensure_not_diverged(3, &[("d_loss", f64::NAN), ("g_loss", f64::INFINITY)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("epoch 4") && err.contains("d_loss = NaN") && err.contains("g_loss = inf"),
            "{err}"
        );
        assert!(err.contains("diverged"), "{err}");
    }

    #[test]
    fn a_finite_value_blown_up_by_a_huge_step_stops_the_run_too() {
        // The RBM at learning rate 1e30: finite weights, a pseudo-likelihood of -2.9e31.
        let err = ensure_not_diverged(0, &[("pseudo_likelihood_exact", -2.9e31)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("epoch 1") && err.contains("pseudo_likelihood_exact = -2.9e31"),
            "{err}"
        );
    }
}
