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
