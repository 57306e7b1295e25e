//! Command-line pieces every genlab binary shares.

use std::path::PathBuf;

use crate::backend::{BackendChoice, BackendError, SelectedDevice, select_device};

/// `--backend` and `--data-dir`, flattened into each binary's command line.
#[derive(Clone, Debug, clap::Args)]
pub struct CommonArgs {
    /// Compute backend: `auto` takes a hardware GPU when there is one, else `flex` (CPU).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto, global = true)]
    pub backend: BackendChoice,
    /// Folder holding the data sets (also GENLAB_DATA_DIR); MNIST and Fashion-MNIST ship in data/.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// CPU threads of the flex backend (default: every core this process may use).
    #[arg(long, global = true, env = "GENLAB_THREADS")]
    pub threads: Option<usize>,
}

impl CommonArgs {
    /// The device for `--backend`, saying on stderr which one was chosen and why.
    pub fn device(&self) -> Result<SelectedDevice, BackendError> {
        let selected = select_device(self.backend)?;
        eprintln!("backend: {}", selected.reason);
        Ok(selected)
    }
}

impl CommonArgs {
    /// The thread policy `--threads` asks for.
    pub fn thread_policy(&self) -> crate::ThreadPolicy {
        crate::ThreadPolicy::new(self.threads)
    }
}

/// Runs a binary's body and turns an error into a message and exit status 1, never a panic
/// with a backtrace.
pub fn exit_on_error(body: impl FnOnce() -> anyhow::Result<()>) {
    if let Err(err) = body() {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

/// For each model crate's test of its range checks: every `(--set value, what the error must
/// name)` of `cases`, run as `<bin> train --set <value> --runs-dir <runs> --backend flex`
/// through `run` (the crate's own parse-and-dispatch), must fail naming the setting and leave
/// `runs` empty, so that a bad setting is refused before a run folder is made. Says what
/// went wrong otherwise.
pub fn refused_before_a_run_folder(
    bin: &str,
    runs: &std::path::Path,
    cases: &[(&str, &str)],
    run: impl Fn(&[&str]) -> anyhow::Result<()>,
) -> Result<(), String> {
    let runs_dir = runs.to_string_lossy();
    for (set, named) in cases {
        let args = [
            bin,
            "train",
            "--set",
            set,
            "--runs-dir",
            &runs_dir,
            "--backend",
            "flex",
        ];
        match run(&args) {
            Ok(()) => return Err(format!("{set}: accepted")),
            Err(err) if !format!("{err:#}").contains(named) => {
                return Err(format!("{set}: the error does not name {named}: {err:#}"));
            }
            Err(_) => {}
        }
    }
    let left = std::fs::read_dir(runs).map_or(0, |entries| entries.count());
    if left > 0 {
        return Err(format!("{left} entries were left in {}", runs.display()));
    }
    Ok(())
}
