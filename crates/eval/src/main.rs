//! `cargo run -p eval -- train-classifier | score | ladder | reference`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use data::{CommonArgs, DataSetName, ImageSet, Scale, Split};
use eval::classifier::ClassifierConfig;
use eval::ladder::ladder_scores;
use eval::ladder::{Rung, check_ladder};
use eval::reference::{REFERENCE_IMAGES, compute_reference};
use eval::train::{TrainClassifierConfig, latest_learner_checkpoint, train_classifier};
use eval::{Evaluator, format_scores, pretrained_dir};

#[derive(Parser)]
#[command(
    name = "eval",
    about = "genlab's sample-quality metrics and their classifier"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
    /// Folder of the shipped classifiers and reference figures (default: data/pretrained).
    #[arg(long, global = true)]
    pretrained: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Train the domain classifier and write its weights and measured accuracy.
    TrainClassifier {
        #[arg(long, value_enum, default_value_t = DataSetName::Mnist)]
        dataset: DataSetName,
        #[arg(long, default_value_t = 5)]
        epochs: usize,
        #[arg(long, default_value_t = 128)]
        batch_size: usize,
        #[arg(long, default_value_t = 1e-3)]
        learning_rate: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Train on the first N training images only (0: all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
        /// The Learner's logs and checkpoints (default: runs/eval/<dataset>-classifier).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Continue from the newest checkpoint in the work folder.
        #[arg(long)]
        resume: bool,
    },
    /// Score a folder of 28x28 PNGs, or real images, against a data set.
    Score {
        #[arg(long, value_enum, default_value_t = DataSetName::Mnist)]
        dataset: DataSetName,
        /// Folder of 28x28 greyscale PNGs (the samples).
        dir: Option<PathBuf>,
        /// Score real images of this split instead (--limit of them, drawn at random).
        #[arg(long, value_enum, conflicts_with = "dir")]
        real: Option<Split>,
        /// Images scored at most.
        #[arg(long, default_value_t = REFERENCE_IMAGES)]
        limit: usize,
        /// Also write the scores as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Score every rung of the degradation ladder (real training images made worse in
    /// known ways) against the test split: which scores rank every rung below real images.
    Ladder {
        #[arg(long, value_enum, default_value_t = DataSetName::Mnist)]
        dataset: DataSetName,
        /// Images per rung.
        #[arg(long, default_value_t = REFERENCE_IMAGES)]
        images: usize,
        /// Also write the scores as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Compute the floors (real data) and the ladder into eval-reference.json.
    Reference {
        #[arg(long, value_enum, default_value_t = DataSetName::Mnist)]
        dataset: DataSetName,
    },
}

#[global_allocator]
static ALLOCATOR: data::Allocator = data::Allocator;

fn main() {
    let cli = Cli::parse();
    data::exit_on_error(|| cli.common.thread_policy().install(move || run(cli)));
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let selected = cli.common.device()?;
    let pretrained = cli.pretrained.unwrap_or_else(pretrained_dir);
    let data_dir = cli.common.data_dir.as_deref();
    match cli.command {
        Command::TrainClassifier {
            dataset,
            epochs,
            batch_size,
            learning_rate,
            seed,
            limit,
            work_dir,
            resume,
        } => {
            let work_dir = work_dir.unwrap_or_else(|| {
                PathBuf::from("runs/eval").join(format!("{}-classifier", dataset.dir_name()))
            });
            let resume_epoch = if resume {
                Some(latest_learner_checkpoint(&work_dir).with_context(|| {
                    format!(
                        "--resume: no checkpoint in {}",
                        work_dir.join("checkpoint").display()
                    )
                })?)
            } else {
                None
            };
            let config = TrainClassifierConfig::new(ClassifierConfig::new())
                .with_epochs(epochs)
                .with_batch_size(batch_size)
                .with_learning_rate(learning_rate)
                .with_seed(seed)
                .with_limit(limit);
            let card = train_classifier(
                dataset,
                &config,
                &selected,
                data_dir,
                &work_dir,
                &pretrained,
                resume_epoch,
            )?;
            println!(
                "{dataset} classifier: test accuracy {:.2}% on {} images after {} epochs ({:.0} s); written to {}",
                100.0 * card.test_accuracy,
                card.test_images,
                epochs,
                card.train_seconds,
                pretrained.display()
            );
        }
        Command::Score {
            dataset,
            dir,
            real,
            limit,
            json,
        } => {
            let evaluator = Evaluator::load(dataset, &pretrained, data_dir, &selected.device)?;
            let (label, images) = match (dir, real) {
                (Some(dir), _) => (
                    dir.display().to_string(),
                    eval::evaluator::load_png_folder(&dir, limit)?,
                ),
                (None, Some(split)) => {
                    // A random draw, as the shipped floor is: the splits are stored in
                    // groups of writers.
                    let set = ImageSet::load(dataset, split, data_dir)?;
                    (
                        format!("{dataset} {} (real)", split.name()),
                        Rung::Real.images(&set, limit, eval::evaluator::VERDICT_SEED),
                    )
                }
                (None, None) => bail!("give a folder of PNGs to score, or --real train|test"),
            };
            let started = Instant::now();
            let scores =
                evaluator.score_for_verdict(&images, Scale::ZeroOne, &selected.autodiff())?;
            println!("{}", format_scores(&label, &scores));
            println!("scored in {:.1} s", started.elapsed().as_secs_f64());
            if let Some(path) = json {
                data::run::write_json(&path, &scores)?;
            }
        }
        Command::Ladder {
            dataset,
            images,
            json,
        } => {
            let train = ImageSet::load(dataset, Split::Train, data_dir)?;
            let test = ImageSet::load(dataset, Split::Test, data_dir)?;
            let evaluator = Evaluator::with_sets(&pretrained, &train, &test, &selected.device)?;
            let rungs = ladder_scores(&evaluator, &train, images, &selected.autodiff())?;
            for r in &rungs {
                println!("{}", format_scores(&r.rung.label(), &r.scores));
            }
            print_checks(&rungs);
            if let Some(path) = json {
                data::run::write_json(&path, &rungs)?;
            }
        }
        Command::Reference { dataset } => {
            let train = ImageSet::load(dataset, Split::Train, data_dir)?;
            let test = ImageSet::load(dataset, Split::Test, data_dir)?;
            let evaluator = Evaluator::with_sets(&pretrained, &train, &test, &selected.device)?;
            let reference = compute_reference(&evaluator, &train, &selected.autodiff())?;
            println!(
                "{}",
                format_scores("real test images", &reference.real_test)
            );
            for r in &reference.ladder {
                println!("{}", format_scores(&r.rung.label(), &r.scores));
            }
            print_checks(&reference.ladder);
            let path = pretrained.join("eval-reference.json");
            // The other data sets' entries are kept as they are, even when they were written
            // by an older genlab: each is recomputed by its own command.
            let mut all: std::collections::BTreeMap<String, serde_json::Value> = if path.exists() {
                data::run::read_json(&path)?
            } else {
                Default::default()
            };
            all.insert(
                dataset.dir_name().to_string(),
                serde_json::to_value(&reference)?,
            );
            data::run::write_json(&path, &all)?;
            println!("written to {}", path.display());
        }
    }
    Ok(())
}

/// Which metrics ranked the ladder correctly, and the rungs the others missed.
fn print_checks(rungs: &[eval::ladder::RungScores]) {
    for check in check_ladder(rungs) {
        match check.passed() {
            true => println!("{:?}: passes its ladder", check.metric),
            false => println!("{:?}: misses {}", check.metric, check.missed.join(", ")),
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
}
