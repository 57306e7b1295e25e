//! What an experiment hands to the report: the markdown of one question's section and the
//! numbers behind it, written as `reports/sections/<ID>.md` and `reports/numbers/<ID>.json`.
//! `cargo xtask all` runs the experiments and stitches their sections into `REPORT.md`.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The line a section writes between what every reader needs (the answer and the evidence it
/// rests on) and its details (per-epoch tables, sweeps, settings): the report keeps the first
/// part in place and moves the second to an appendix of details, collapsed on the web page.
pub const DETAILS_MARKER: &str = "<!-- details -->";

/// A section's markdown split at [`DETAILS_MARKER`]: the part read in place, and the details
/// (empty where the section has none).
pub fn split_details(markdown: &str) -> (&str, &str) {
    match markdown.split_once(DETAILS_MARKER) {
        Some((main, details)) => (main.trim_end(), details.trim()),
        None => (markdown.trim_end(), ""),
    }
}

/// The `--quick` / `--reports` flags of every `experiment` subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct ExperimentArgs {
    /// Small CI-sized settings instead of the full experiment.
    #[arg(long)]
    pub quick: bool,
    /// The report folder: figures go to `<reports>/figures/`.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Train every model afresh, even where data/pretrained/ ships a run with the same config.
    #[arg(long)]
    pub retrain: bool,
}

impl ExperimentArgs {
    /// Where a figure of this experiment goes, and the path the markdown links to it by.
    pub fn figure(&self, file: &str) -> (PathBuf, String) {
        (
            self.reports.join("figures").join(file),
            format!("figures/{file}"),
        )
    }
}

/// Writes the section of question `id` and its numbers.
pub fn write_section(
    reports: &Path,
    id: &str,
    markdown: &str,
    numbers: &impl Serialize,
) -> anyhow::Result<()> {
    let section = sections_dir(reports).join(format!("{id}.md"));
    data::run::write_atomically(&section, |f| {
        std::io::Write::write_all(f, markdown.as_bytes())
    })?;
    data::run::write_json(&reports.join("numbers").join(format!("{id}.json")), numbers)?;
    eprintln!("wrote {}", section.display());
    Ok(())
}

/// `<reports>/sections`.
pub fn sections_dir(reports: &Path) -> PathBuf {
    reports.join("sections")
}

/// The section written for `id`, if its experiment has run.
pub fn read_section(reports: &Path, id: &str) -> Option<String> {
    std::fs::read_to_string(sections_dir(reports).join(format!("{id}.md"))).ok()
}
