//! The `vae` command line: `train | sample | encode | reconstruct | evaluate |
//! ship`.
//! Every subcommand calls one library function.

use clap::{Args, Parser, Subcommand};
use data::CommonArgs;

use crate::model::Backbone;
use crate::tasks;
use crate::train::Preset;

#[derive(Parser)]
#[command(
    name = "vae",
    about = "VAEs on MNIST: train (MLP or conv), sample, encode, reconstruct, evaluate (importance-sampled log-likelihood)"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train a VAE from a preset (resumable with --resume); any config field can be changed
    /// with --set.
    Train(TrainArgs),
    /// Write a grid of decoded prior samples of a trained run.
    Sample(tasks::SampleArgs),
    /// Write the posterior means of test digits as CSV.
    Encode(tasks::DigitsArgs),
    /// Write test digits above their reconstructions.
    Reconstruct(tasks::DigitsArgs),
    /// The importance-sampled test log-likelihood (IWAE bound) and the ELBO.
    Evaluate(tasks::EvaluateArgs),
    /// Write the encoder's and decoder's parameters as safetensors for PyTorch (Linear weights
    /// `[out, in]`; the command prints every tensor's name and shape).
    Export(data::run::ExportArgs),
    /// Copy a trained run to data/pretrained/vae/ (model in half precision, no optimiser).
    Ship(data::run::ShipArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    #[arg(long, value_enum, default_value_t = Backbone::Mlp)]
    pub backbone: Backbone,
    #[arg(long, value_enum, default_value_t = Preset::Strong)]
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
    let data_dir = data_dir.as_deref();
    match cli.command {
        Command::Train(args) => {
            let config = args
                .common
                .config
                .resolve(args.preset.config(args.backbone))?;
            let name = format!("{}-{}", args.preset.name(), args.backbone.name());
            tasks::train(&config, &name, &args.common, &selected, data_dir)
        }
        Command::Sample(args) => tasks::sample(&args, &selected),
        Command::Encode(args) => tasks::encode(&args, &selected, data_dir),
        Command::Reconstruct(args) => tasks::reconstruct(&args, &selected, data_dir),
        Command::Evaluate(args) => tasks::evaluate(&args, &selected, data_dir),
        Command::Ship(args) => tasks::ship(&args, &selected),
        Command::Export(args) => {
            let (_, model) = tasks::load_model(&args.run, &selected.device)?;
            data::run::export_safetensors(&model, &args.out)
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
    use data::Binarise;

    #[test]
    fn the_readme_override_reaches_the_config() {
        let cli = Cli::try_parse_from([
            "vae",
            "train",
            "--backbone",
            "conv",
            "--preset",
            "course",
            "--set",
            "model.latent=2",
            "--set",
            "kl-warmup-epochs=3",
            "--set",
            r#"binarise={"kind":"stochastic"}"#,
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
        assert_eq!(config.model.latent, 2);
        assert_eq!(config.model.backbone, Backbone::Conv);
        assert_eq!(config.kl_warmup_epochs, 3);
        assert_eq!(config.binarise, Binarise::Stochastic);
        assert_eq!(config.batch_size, 512);
    }

    #[test]
    fn an_unknown_field_is_refused_with_the_fields_there_are() {
        let cli = Cli::try_parse_from(["vae", "train", "--set", "latnet=2"]).unwrap();
        let Command::Train(args) = cli.command else {
            panic!("not a train command")
        };
        let err = args
            .common
            .config
            .resolve(args.preset.config(args.backbone))
            .unwrap_err();
        assert!(format!("{err:#}").contains("latnet"), "{err:#}");
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
            "--set",
            "eval_samples=0",
        ];
        data::train_checks::stops_diverging_in_epoch_1("vae", runs.path(), &flags, "loss", run)
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
            "train_limit=500",
            "--set",
            "eval_samples=0",
        ];
        data::train_checks::resumes_bit_exact(
            "cli::tests::a_run_killed_in_its_last_epoch_resumes_to_the_same_weights",
            "vae",
            runs.path(),
            &flags,
            run,
        )
        .unwrap();
    }

    #[test]
    fn random_hostile_settings_are_refused_or_accepted_never_a_panic() {
        data::train_checks::hostile_settings_never_panic(
            &crate::train::Preset::Strong.config(crate::model::Backbone::Mlp),
            crate::train::TrainConfig::validate,
        )
        .unwrap();
    }
}
