//! The `creative` command line: `train | sample | evaluate | ship`. Every subcommand calls one library function.

use clap::{Args, Parser, Subcommand};
use data::CommonArgs;

use crate::tasks;
use crate::train::Preset;

#[derive(Parser)]
#[command(
    name = "creative",
    about = "A class-conditional diffusion model on Fashion-MNIST: train (resumable), sample by class"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train the noise predictor from a preset (resumable with --resume); any config field
    /// can be changed with --set.
    Train(TrainArgs),
    /// Write a grid of samples of one class (--class sneaker) or of all ten.
    Sample(tasks::SampleArgs),
    /// Class accuracy and eval metrics (FID, precision/recall, ...) of guided samples.
    Evaluate(crate::evaluate::EvaluateArgs),
    /// Copy a trained run's EMA weights (half precision) and records to data/pretrained.
    Ship(data::run::ShipArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    #[arg(long, value_enum, default_value_t = Preset::Full)]
    pub preset: Preset,
    #[command(flatten)]
    pub common: data::config::TrainArgs,
}

impl TrainArgs {
    /// The preset with every `--set` applied; the data set defaults to Fashion-MNIST.
    fn resolve(&mut self) -> anyhow::Result<crate::train::TrainConfig> {
        self.common
            .dataset
            .get_or_insert(data::DataSetName::FashionMnist);
        self.common.config.resolve(self.preset.config())
    }
}

/// Runs the parsed command line, in a pool of `--threads` threads.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    cli.common.thread_policy().install(move || dispatch(cli))
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let selected = cli.common.device()?;
    let data_dir = cli.common.data_dir.clone();
    match cli.command {
        Command::Train(mut args) => {
            let config = args.resolve()?;
            tasks::train(
                &config,
                args.preset.name(),
                &args.common,
                &selected,
                data_dir.as_deref(),
            )
        }
        Command::Sample(args) => tasks::sample_grid(&args, &selected),
        Command::Evaluate(args) => crate::evaluate::evaluate(&args, &selected, data_dir.as_deref()),
        Command::Ship(args) => tasks::ship(&args, &selected),
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
    use crate::diffusion::Schedule;

    fn train_args(argv: &[&str]) -> TrainArgs {
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Train(args) => args,
            _ => panic!("not a train command"),
        }
    }

    #[test]
    fn training_defaults_to_fashion_mnist_and_takes_overrides() {
        let mut args = train_args(&[
            "creative",
            "train",
            "--preset",
            "quick",
            "--set",
            "model.base-channels=24",
            "--set",
            "schedule=linear",
        ]);
        let config = args.resolve().unwrap();
        assert_eq!(config.model.base_channels, 24);
        assert_eq!(config.schedule, Schedule::Linear);
        assert_eq!(config.train_limit, 4_096);
        assert_eq!(args.common.dataset(), data::DataSetName::FashionMnist);
        let mut mnist = train_args(&["creative", "train", "--dataset", "mnist"]);
        mnist.resolve().unwrap();
        assert_eq!(mnist.common.dataset(), data::DataSetName::Mnist);
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let err = train_args(&["creative", "train", "--set", "ema=0.9"])
            .resolve()
            .unwrap_err();
        assert!(format!("{err:#}").contains("ema"), "{err:#}");
    }

    #[test]
    fn out_of_range_settings_are_refused_before_a_run_folder_is_made() {
        let runs = tempfile::tempdir().unwrap();
        let cases = [
            ("learning_rate=-1", "learning_rate (-1)"),
            ("ema_decay=1.5", "ema_decay (1.5)"),
        ];
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        data::train_checks::refused_before_a_run_folder("creative", runs.path(), &cases, run)
            .unwrap();
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
            "train_limit=256",
            "--set",
            "batch_size=64",
        ];
        data::train_checks::stops_diverging_in_epoch_1(
            "creative",
            runs.path(),
            &flags,
            "loss",
            run,
        )
        .unwrap();
    }

    #[test]
    fn a_run_killed_in_its_last_epoch_resumes_to_the_same_weights() {
        let runs = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        let flags = [
            "--preset",
            "quick",
            "--set",
            "train_limit=128",
            "--set",
            "batch_size=64",
            "--set",
            "diffusion_steps=20",
        ];
        data::train_checks::resumes_bit_exact(
            "cli::tests::a_run_killed_in_its_last_epoch_resumes_to_the_same_weights",
            "creative",
            runs.path(),
            &flags,
            run,
        )
        .unwrap();
    }

    #[test]
    fn score_every_scores_the_average_after_those_epochs_only() {
        let runs = tempfile::tempdir().unwrap();
        let runs_dir = runs.path().to_str().unwrap();
        let mut args = vec![
            "creative",
            "train",
            "--backend",
            "flex",
            "--runs-dir",
            runs_dir,
        ];
        args.extend(["--name", "scored", "--preset", "quick"]);
        for set in [
            "train_limit=128",
            "batch_size=64",
            "diffusion_steps=20",
            "epochs=2",
            "score_every=2",
            "score_samples=20",
        ] {
            args.extend(["--set", set]);
        }
        dispatch(Cli::try_parse_from(&args).unwrap()).unwrap();
        let metrics = runs.path().join("creative/scored/metrics.jsonl");
        let records: Vec<serde_json::Value> = std::fs::read_to_string(&metrics)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(records.len(), 2);
        assert!(
            records[0].get("evaluation").is_none(),
            "epoch 1 is not scored"
        );
        let evaluation: crate::evaluate::Evaluation =
            serde_json::from_value(records[1]["evaluation"].clone()).unwrap();
        assert_eq!(evaluation.samples, 20);
        assert!(evaluation.scores.fid.is_finite() && evaluation.scores.fid > 0.0);
        assert!((0.0..=1.0).contains(&evaluation.class_accuracy));
        assert!(evaluation.scores.verdict.is_some(), "KID is scored");
    }

    #[test]
    fn scoring_with_fewer_samples_than_classes_or_every_0_epochs_is_refused() {
        let config = crate::train::Preset::Full.config();
        let err = (config.clone().with_score_samples(Some(5)).validate()).unwrap_err();
        assert!(format!("{err:#}").contains("score_samples (5)"), "{err:#}");
        let err = config.with_score_every(Some(0)).validate().unwrap_err();
        assert!(format!("{err:#}").contains("score_every"), "{err:#}");
    }

    #[test]
    fn random_hostile_settings_are_refused_or_accepted_never_a_panic() {
        data::train_checks::hostile_settings_never_panic(
            &crate::train::Preset::Full.config(),
            crate::train::TrainConfig::validate,
        )
        .unwrap();
    }
}
