//! The `study` command line: `experiment <ID>` runs the experiment answering one study
//! question and writes its section of the report.

use clap::{Parser, Subcommand};
use data::CommonArgs;

use crate::experiment::ExperimentCommand;

#[derive(Parser)]
#[command(
    name = "study",
    about = "The experiments that answer genlab's study questions, one at a time"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the experiment answering one study question and write its report section.
    Experiment(ExperimentCommand),
}

/// Runs the parsed command line, in a pool of `--threads` threads.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    cli.common.thread_policy().install(move || {
        let selected = cli.common.device()?;
        match cli.command {
            Command::Experiment(command) => command.run(
                &crate::experiments::all(),
                selected,
                cli.common.data_dir.clone(),
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn an_unknown_question_is_refused_with_the_known_ones() {
        let cli =
            Cli::try_parse_from(["study", "--backend", "flex", "experiment", "RBM-Q99"]).unwrap();
        let err = run(cli).unwrap_err().to_string();
        assert!(
            err.contains("RBM-Q99") && err.contains("RBM-Q1") && err.contains("CREATIVE"),
            "{err}"
        );
    }
}
