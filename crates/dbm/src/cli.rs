//! The `dbm` command line: `train | evaluate | sample | filters | export | ship`.
//! Every subcommand calls one library function.

use clap::{Args, Parser, Subcommand};
use data::CommonArgs;

use crate::tasks;
use crate::train::Preset;

#[derive(Parser)]
#[command(
    name = "dbm",
    about = "Deep Boltzmann Machines on MNIST: train (pre-training + joint), evaluate (AIS bound), sample, filters; without --run, the shipped weights"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train a DBM from a preset (resumable with --resume); any config field can be changed
    /// with --set.
    Train(Box<TrainArgs>),
    /// The test log-likelihood bound, with log Z by AIS (and a 4x longer check).
    Evaluate(tasks::EvaluateArgs),
    /// Fresh Gibbs chains from random first-layer states: a grid after each number of sweeps.
    Sample(tasks::SampleArgs),
    /// Filter grids: the first layer's weights and the second layer projected to pixels.
    Filters(tasks::RunArg),
    /// Write the DBM's parameters as safetensors (for PyTorch).
    Export(tasks::ExportArgs),
    /// Copy a trained run's DBM (half precision), persistent chains, records and AIS
    /// evaluation to data/pretrained/dbm, with a check the shipped weights reproduce.
    Ship(data::run::ShipArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    #[arg(long, value_enum, default_value_t = Preset::Course)]
    pub preset: Preset,
    #[command(flatten)]
    pub common: data::config::TrainArgs,
}

/// Runs the parsed command line, in a pool of `--threads` threads.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    cli.common.thread_policy().install(move || dispatch(cli))
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let selected = cli.common.device()?;
    let data_dir = cli.common.data_dir.clone();
    match cli.command {
        Command::Train(args) => {
            let config = args.common.config.resolve(args.preset.config())?;
            tasks::train(
                &config,
                args.preset.name(),
                &args.common,
                &selected,
                data_dir.as_deref(),
            )
        }
        Command::Evaluate(args) => tasks::evaluate(&args, &selected, data_dir.as_deref()),
        Command::Sample(args) => tasks::sample(&args, &selected),
        Command::Filters(args) => tasks::filters(args.run.as_deref(), &selected),
        Command::Export(args) => tasks::export(&args, &selected),
        Command::Ship(args) => crate::ship::ship(&args, &selected, data_dir.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        // clap's own checks (unique names, valid defaults); debug assertions are on for
        // clap in release builds too, so this fails wherever a debug build would panic.
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn train_flags_override_the_preset() {
        let cli = Cli::try_parse_from([
            "dbm",
            "train",
            "--preset",
            "quick",
            "--set",
            "model.hidden-1=32",
            "--set",
            "gibbs-sweeps=2",
        ])
        .unwrap();
        let Command::Train(args) = cli.command else {
            panic!("not a train command")
        };
        let config = args.common.config.resolve(args.preset.config()).unwrap();
        assert_eq!((config.model.hidden_1, config.gibbs_sweeps), (32, 2));
        assert_eq!(config.joint_epochs, Preset::Quick.config().joint_epochs);
        let err = Cli::try_parse_from(["dbm", "train", "--set", "hidden-1=3"])
            .ok()
            .and_then(|cli| match cli.command {
                Command::Train(args) => args.common.config.resolve(args.preset.config()).err(),
                _ => None,
            })
            .expect("an unknown key is refused");
        assert!(format!("{err:#}").contains("model.hidden_1"), "{err:#}");
    }

    #[test]
    fn the_run_is_optional_and_ship_takes_a_destination() {
        for command in ["sample", "filters", "evaluate"] {
            assert!(Cli::try_parse_from(["dbm", command]).is_ok(), "{command}");
        }
        let cli = Cli::try_parse_from(["dbm", "export", "--out", "dbm.safetensors"]).unwrap();
        let Command::Export(args) = cli.command else {
            panic!("not an export command")
        };
        assert!(args.run.is_none());
        let cli =
            Cli::try_parse_from(["dbm", "ship", "--run", "runs/dbm/course", "--to", "x"]).unwrap();
        let Command::Ship(args) = cli.command else {
            panic!("not a ship command")
        };
        assert_eq!(args.to.as_deref(), Some(std::path::Path::new("x")));
        assert!(
            Cli::try_parse_from(["dbm", "ship"]).is_err(),
            "ship needs --run"
        );
    }

    #[test]
    fn out_of_range_settings_are_refused_before_a_run_folder_is_made() {
        let runs = tempfile::tempdir().unwrap();
        let cases = [
            ("model.visible=100", "model.visible (100)"),
            ("joint_learning_rate=0", "joint_learning_rate (0)"),
            ("momentum=1.5", "momentum (1.5)"),
        ];
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        data::train_checks::refused_before_a_run_folder("dbm", runs.path(), &cases, run).unwrap();
    }

    #[test]
    fn a_diverging_run_stops_at_its_first_non_finite_epoch() {
        let runs = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        let flags = [
            "--preset",
            "quick",
            "--set",
            "pretrain_learning_rate=1e30",
            "--set",
            "train_limit=500",
        ];
        data::train_checks::stops_diverging_in_epoch_1(
            "dbm",
            runs.path(),
            &flags,
            "bottom RBM weights",
            run,
        )
        .unwrap();
    }

    #[test]
    fn a_run_killed_in_its_last_epoch_resumes_to_the_same_weights() {
        let runs = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        let flags = ["--preset", "quick", "--set", "train_limit=500"];
        data::train_checks::resumes_bit_exact(
            "cli::tests::a_run_killed_in_its_last_epoch_resumes_to_the_same_weights",
            "dbm",
            runs.path(),
            &flags,
            run,
        )
        .unwrap();
    }

    #[test]
    fn random_hostile_settings_are_refused_or_accepted_never_a_panic() {
        data::train_checks::hostile_settings_never_panic(
            &crate::train::Preset::Quick.config(),
            crate::train::TrainConfig::validate,
        )
        .unwrap();
    }
}
