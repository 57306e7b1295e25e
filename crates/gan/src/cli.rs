//! The `gan` command line: `train | sample | evaluate | ship`. Every subcommand calls
//! one library function.

use clap::{Args, Parser, Subcommand};
use data::CommonArgs;

use crate::model::Backbone;
use crate::tasks;
use crate::train::Preset;

#[derive(Parser)]
#[command(
    name = "gan",
    about = "GANs on MNIST: train (MLP, course CNN, DCGAN), sample, evaluate"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train a GAN from a preset; any config field can be changed with --set.
    Train(TrainArgs),
    /// Write a grid of samples of a trained run.
    Sample(tasks::SampleArgs),
    /// Score samples of a trained run with the eval classifier (FID, classes, precision/recall).
    Evaluate(tasks::EvaluateArgs),
    /// Write the generator's parameters as safetensors for PyTorch (Linear weights `[out, in]`;
    /// the command prints every tensor's name and shape).
    Export(data::run::ExportArgs),
    /// Copy a trained run to data/pretrained/gan/ (generator in half precision only).
    Ship(data::run::ShipArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    #[arg(long, value_enum, default_value_t = Backbone::Mlp)]
    pub backbone: Backbone,
    #[arg(long, value_enum, default_value_t = Preset::Tuned)]
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
            let config = args
                .common
                .config
                .resolve(args.preset.config(args.backbone))?;
            let name = format!("{}-{}", args.preset.name(), args.backbone.name());
            tasks::train(&config, &name, &args.common, &selected, data_dir.as_deref())
        }
        Command::Sample(args) => tasks::sample(&args, &selected),
        Command::Evaluate(args) => tasks::evaluate(&args, &selected, data_dir.as_deref()),
        Command::Ship(args) => tasks::ship(&args, &selected),
        Command::Export(args) => {
            let (_, generator) = crate::sampling::load_generator(&args.run, &selected.device)?;
            data::run::export_safetensors(&generator, &args.out)
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
    use crate::loss::GanLoss;

    #[test]
    fn the_readme_override_reaches_the_config() {
        let cli = Cli::try_parse_from([
            "gan",
            "train",
            "--backbone",
            "dcgan",
            "--set",
            "loss=minimax",
            "--set",
            "discriminator-steps=5",
            "--name",
            "strong-d",
        ])
        .unwrap();
        let Command::Train(args) = cli.command else {
            panic!("not a train command")
        };
        let config = args
            .common
            .config
            .resolve(args.preset.config(args.backbone))
            .unwrap();
        assert_eq!(config.loss, GanLoss::Minimax);
        assert_eq!(config.discriminator_steps, 5);
        assert_eq!(config.model.backbone, Backbone::Dcgan);
        assert_eq!(args.common.run.name.as_deref(), Some("strong-d"));
    }

    /// A run saved before `model.discriminator_backbone` existed still takes `--set` for it.
    #[test]
    fn a_field_added_since_a_config_file_was_saved_can_be_set() {
        let file = data::run::shipped_dir("gan", "tuned-dcgan").join("config.json");
        let cli = Cli::try_parse_from([
            "gan",
            "train",
            "--config",
            file.to_str().unwrap(),
            "--set",
            "model.discriminator_backbone=cnn",
        ])
        .unwrap();
        let Command::Train(args) = cli.command else {
            panic!("not a train command")
        };
        let config = (args.common.config)
            .resolve(args.preset.config(args.backbone))
            .unwrap();
        assert_eq!(config.model.backbone, Backbone::Dcgan, "from the file");
        assert_eq!(config.model.discriminator(), Backbone::Cnn);
    }

    #[test]
    fn out_of_range_settings_are_refused_before_a_run_folder_is_made() {
        let runs = tempfile::tempdir().unwrap();
        let cases = [
            ("beta1=2", "beta1 (2)"),
            ("generator_learning_rate=-1", "generator_learning_rate (-1)"),
            ("model.dropout=1.5", "model.dropout (1.5)"),
        ];
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        data::train_checks::refused_before_a_run_folder("gan", runs.path(), &cases, run).unwrap();
    }

    #[test]
    fn a_diverging_run_stops_in_its_first_epoch_and_saves_nothing_of_it() {
        let runs = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        let flags = [
            "--set",
            "generator_learning_rate=1e30",
            "--set",
            "discriminator_learning_rate=1e30",
            "--set",
            "epochs=1",
            "--set",
            "train_limit=512",
            "--set",
            "eval_samples=0",
        ];
        data::train_checks::stops_diverging_in_epoch_1("gan", runs.path(), &flags, "d_loss", run)
            .unwrap();
    }

    #[test]
    fn a_run_killed_in_its_last_epoch_resumes_to_the_same_weights() {
        let runs = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| dispatch(Cli::try_parse_from(args)?);
        let flags = [
            "--set",
            "epochs=2",
            "--set",
            "train_limit=512",
            "--set",
            "eval_samples=0",
        ];
        data::train_checks::resumes_bit_exact(
            "cli::tests::a_run_killed_in_its_last_epoch_resumes_to_the_same_weights",
            "gan",
            runs.path(),
            &flags,
            run,
        )
        .unwrap();
    }

    #[test]
    fn random_hostile_settings_are_refused_or_accepted_never_a_panic() {
        data::train_checks::hostile_settings_never_panic(
            &crate::train::Preset::Tuned.config(crate::model::Backbone::Cnn),
            crate::train::TrainConfig::validate,
        )
        .unwrap();
    }
}
