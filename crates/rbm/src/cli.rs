//! The `rbm` command line: `train | evaluate | sample | reconstruct | inpaint`.
//! Every subcommand calls one library function.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use data::CommonArgs;

use crate::tasks;
use crate::train::Preset;

#[derive(Parser)]
#[command(
    name = "rbm",
    about = "Bernoulli RBMs on MNIST: train, evaluate (AIS), sample, reconstruct, inpaint"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train an RBM from a preset; any config field can be changed with --set.
    Train(Box<TrainArgs>),
    /// Estimate the test log-likelihood by annealed importance sampling.
    Evaluate(tasks::EvaluateArgs),
    /// Run Gibbs chains and write a grid of their states after each number of steps.
    Sample(tasks::SampleArgs),
    /// Mean-field reconstructions of unseen test digits.
    Reconstruct {
        /// The run folder, e.g. runs/rbm/course.
        #[arg(long)]
        run: PathBuf,
        #[arg(long, default_value_t = 20)]
        count: usize,
    },
    /// Fill in hidden parts of test digits with the known pixels clamped.
    Inpaint(tasks::InpaintArgs),
    /// Write the RBM's parameters as safetensors for PyTorch: `weights` `[hidden, visible]`,
    /// `visible_bias`, `hidden_bias`.
    Export(data::run::ExportArgs),
    /// Copy a trained run to data/pretrained/rbm/ (the RBM in half precision, without the
    /// momentum buffers and chains).
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
        Command::Sample(args) => tasks::sample(&args, &selected, data_dir.as_deref()),
        Command::Reconstruct { run, count } => {
            tasks::reconstruct(&run, count, &selected, data_dir.as_deref())
        }
        Command::Inpaint(args) => tasks::inpaint(&args, &selected, data_dir.as_deref()),
        Command::Ship(args) => tasks::ship(&args, &selected),
        Command::Export(args) => {
            let trained = tasks::Trained::load(&args.run, &selected.device)?;
            data::run::export_safetensors(&trained.state.rbm, &args.out)
        }
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
    fn train_flags_override_the_preset_and_unknown_fields_are_refused() {
        let cli = Cli::try_parse_from([
            "rbm",
            "train",
            "--preset",
            "strong",
            "--set",
            "model.hidden=20",
            "--set",
            "gibbs-steps=3",
            "--dataset",
            "fashion-mnist",
        ])
        .unwrap();
        let Command::Train(args) = cli.command else {
            panic!("not a train command")
        };
        let config = args.common.config.resolve(args.preset.config()).unwrap();
        assert_eq!((config.model.hidden, config.gibbs_steps), (20, 3));
        assert_eq!(
            config.epochs,
            Preset::Strong.config().epochs,
            "the rest is the preset's"
        );
        assert_eq!(args.common.dataset(), data::DataSetName::FashionMnist);

        let cli = Cli::try_parse_from(["rbm", "train", "--set", "hidden=20"]).unwrap();
        let Command::Train(args) = cli.command else {
            panic!("not a train command")
        };
        let err = args
            .common
            .config
            .resolve(args.preset.config())
            .unwrap_err();
        assert!(format!("{err:#}").contains("model.hidden"), "{err:#}");
    }

    #[test]
    fn evaluate_scores_each_asked_binarisation_once_or_the_training_one() {
        use crate::train::InputMode;
        let evaluate = |flags: &[&str]| {
            let cli =
                Cli::try_parse_from(["rbm", "evaluate", "--run", "r"].iter().chain(flags)).unwrap();
            let Command::Evaluate(args) = cli.command else {
                panic!("not an evaluate command")
            };
            args
        };
        let args = evaluate(&["--test-input", "dynamic,threshold,dynamic"]);
        assert_eq!(
            args.test_inputs(InputMode::Grey),
            [InputMode::Dynamic, InputMode::Threshold]
        );
        assert_eq!(
            evaluate(&[]).test_inputs(InputMode::Threshold),
            [InputMode::Threshold]
        );
        let Err(err) =
            Cli::try_parse_from(["rbm", "evaluate", "--run", "r", "--test-input", "binary"])
        else {
            panic!("an unknown binarisation was accepted")
        };
        assert!(err.to_string().contains("dynamic"), "{err}");
    }

    #[test]
    fn ais_with_fewer_than_two_chains_or_temperatures_is_refused_naming_the_flag() {
        for (flag, value) in [("--chains", "0"), ("--chains", "1"), ("--betas", "1")] {
            let Err(err) = Cli::try_parse_from(["rbm", "evaluate", "--run", "r", flag, value])
            else {
                panic!("{flag} {value} was accepted")
            };
            let msg = err.to_string();
            assert!(msg.contains(flag) && msg.contains("2.."), "{msg}");
        }
    }

    #[test]
    fn out_of_range_settings_are_refused_before_a_run_folder_is_made() {
        let runs = tempfile::tempdir().unwrap();
        let cases = [
            ("model.visible=100", "model.visible (100)"),
            ("learning_rate=0", "learning_rate (0)"),
            ("momentum=1.5", "momentum (1.5)"),
        ];
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        data::train_checks::refused_before_a_run_folder("rbm", runs.path(), &cases, run).unwrap();
    }

    #[test]
    fn a_diverging_run_stops_in_its_first_epoch_and_saves_nothing_of_it() {
        let runs = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        let flags = [
            "--set",
            "learning_rate=1e30",
            "--set",
            "epochs=1",
            "--set",
            "train_limit=500",
        ];
        data::train_checks::stops_diverging_in_epoch_1(
            "rbm",
            runs.path(),
            &flags,
            "pseudo_likelihood_exact",
            run,
        )
        .unwrap();
    }

    #[test]
    fn a_run_killed_in_its_last_epoch_resumes_to_the_same_weights() {
        let runs = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        let flags = ["--set", "epochs=2", "--set", "train_limit=500"];
        data::train_checks::resumes_bit_exact(
            "cli::tests::a_run_killed_in_its_last_epoch_resumes_to_the_same_weights",
            "rbm",
            runs.path(),
            &flags,
            run,
        )
        .unwrap();
    }

    #[test]
    fn random_hostile_settings_are_refused_or_accepted_never_a_panic() {
        data::train_checks::hostile_settings_never_panic(
            &crate::train::Preset::Strong.config(),
            crate::train::TrainConfig::validate,
        )
        .unwrap();
    }
}
