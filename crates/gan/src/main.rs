//! `cargo run --release -p gan -- train | sample | evaluate | experiment`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use data::figure::{digit_grid, save_png};
use data::{CommonArgs, DataSetName, ImageSet, Run, RunOptions, Split};
use gan::model::Backbone;
use gan::train::{
    EVAL_SEED, Preset, TrainConfig, load_generator, sample, score_samples, train_run, unit_values,
};
use gan::{GanLoss, GanState};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "gan",
    about = "GANs on MNIST: train (MLP, course CNN, DCGAN), sample, evaluate, experiments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train a GAN from a preset, optionally overriding its settings.
    Train(TrainArgs),
    /// Write a grid of samples of a trained run.
    Sample {
        /// The run folder, e.g. runs/gan/tuned-mlp.
        #[arg(long)]
        run: PathBuf,
        #[arg(long, default_value_t = 100)]
        count: usize,
        /// Seed of the latent codes.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output PNG (default: <run>/samples.png).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Score samples of a trained run with the eval classifier (FID, classes, precision/recall).
    Evaluate {
        #[arg(long)]
        run: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
    },
    /// Run the experiment answering one study question and write its report section.
    Experiment {
        /// GAN-Q1 ... GAN-Q6.
        id: String,
        #[command(flatten)]
        args: data::section::ExperimentArgs,
    },
}

#[derive(Args)]
struct TrainArgs {
    #[arg(long, value_enum, default_value_t = Backbone::Mlp)]
    backbone: Backbone,
    #[arg(long, value_enum, default_value_t = Preset::Tuned)]
    preset: Preset,
    /// A JSON config file (as saved in a run's config.json "config"), instead of a preset.
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, value_enum)]
    loss: Option<GanLoss>,
    #[arg(long)]
    latent: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    generator_learning_rate: Option<f64>,
    #[arg(long)]
    discriminator_learning_rate: Option<f64>,
    /// Discriminator updates per generator update.
    #[arg(long)]
    discriminator_steps: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    /// Train on the first N training images only.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Samples scored after each epoch (0 = no evaluation).
    #[arg(long)]
    eval_samples: Option<usize>,
    #[command(flatten)]
    run: RunOptions,
}

impl TrainArgs {
    fn config(&self) -> anyhow::Result<TrainConfig> {
        let mut c = match &self.config {
            Some(path) => data::run::read_json(path)?,
            None => self.preset.config(self.backbone),
        };
        if let Some(v) = self.latent {
            c.model.latent = v;
        }
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(v) = self.$field { c.$field = v; })* };
        }
        set!(
            loss,
            batch_size,
            epochs,
            generator_learning_rate,
            discriminator_learning_rate,
            discriminator_steps,
            seed,
            train_limit,
            eval_samples
        );
        anyhow::ensure!(
            c.batch_size > 1 && c.epochs > 0 && c.discriminator_steps > 0 && c.model.latent > 0,
            "batch size (at least 2), epochs, discriminator steps and latent size must be positive"
        );
        Ok(c)
    }

    fn run_name(&self) -> String {
        format!("{}-{}", self.preset.name(), backbone_name(self.backbone))
    }
}

fn backbone_name(backbone: Backbone) -> &'static str {
    match backbone {
        Backbone::Mlp => "mlp",
        Backbone::Cnn => "cnn",
        Backbone::Dcgan => "dcgan",
    }
}

fn main() {
    data::exit_on_error(|| run(Cli::parse()));
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let selected = cli.common.device()?;
    let device = selected.device.clone();
    let data_dir = cli.common.data_dir.as_deref();
    let evaluator = || {
        eval::Evaluator::load(
            DataSetName::Mnist,
            &eval::pretrained_dir(),
            data_dir,
            &device,
        )
    };
    match cli.command {
        Command::Experiment { id, args } => {
            let ctx = gan::experiments::context(&args, &selected, data_dir)?;
            gan::experiments::run(&id, &ctx)
        }
        Command::Train(args) => {
            let config = args.config()?;
            let mut train = ImageSet::load(DataSetName::Mnist, Split::Train, data_dir)?;
            if config.train_limit > 0 {
                train = train.truncated(config.train_limit);
            }
            anyhow::ensure!(
                train.len() >= config.batch_size,
                "the batch size ({}) is larger than the training set ({} images)",
                config.batch_size,
                train.len()
            );
            let evaluator = if config.eval_samples > 0 {
                Some(evaluator()?)
            } else {
                None
            };
            let mut run = Run::start(
                "gan",
                &args.run_name(),
                &args.run,
                &config,
                config.seed,
                &selected,
            )?;
            let state: GanState =
                train_run(&mut run, &config, &train, evaluator.as_ref(), &selected)?;
            let samples = sample(
                &state.generator,
                config.model.latent,
                config.eval_samples.max(100),
                EVAL_SEED,
                &device,
            );
            let summary = match &evaluator {
                Some(e) => json!({ "final": score_samples(e, samples, &config) }),
                None => json!({}),
            };
            run.finish(&summary)?;
            println!("trained {}: {}", run.dir.display(), summary);
            Ok(())
        }
        Command::Sample {
            run,
            count,
            seed,
            out,
        } => {
            anyhow::ensure!(count > 0, "--count must be positive");
            let (config, generator) = load_generator(&run, &device)?;
            let samples = sample(&generator, config.model.latent, count, seed, &device);
            let cols = (count as f64).sqrt().ceil() as usize;
            let path = out.unwrap_or_else(|| run.join("samples.png"));
            save_png(
                &digit_grid(&unit_values(samples, config.real_scale), cols, None),
                &path,
            )?;
            println!("wrote {}", path.display());
            Ok(())
        }
        Command::Evaluate { run, samples } => {
            anyhow::ensure!(samples >= 2, "--samples must be at least 2");
            let (config, generator) = load_generator(&run, &device)?;
            let images = sample(&generator, config.model.latent, samples, EVAL_SEED, &device);
            let scores = score_samples(&evaluator()?, images, &config);
            println!(
                "{}",
                eval::format_scores(&run.display().to_string(), &scores)
            );
            Ok(())
        }
    }
}
