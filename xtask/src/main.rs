//! `cargo xtask`: the project's tasks.
//!
//! - `all`: the main job: checks the data, runs every experiment, writes `reports/`
//!   (REPORT.md, index.html, results.json);
//! - `render`: the report again from the committed results, running nothing;
//! - `data-info`: where each data set was found and its statistics;
//! - `fetch-data <set>`: downloads a data set into `data/<set>/`, verified;
//! - `bench gemm`: throughput of the models' matrix products on a backend;
//! - `bench rbm|gan|vae-mlp|vae-conv`: the models' own training steps against the peer
//!   scripts;
//! - `bench conv`: the convolution layers' passes against PyTorch's.

mod assemble;
mod bench;
mod bench_task;
#[cfg(test)]
mod browser;
mod conv_bench;
mod data_tasks;
mod experiments;
mod families;
mod gpu;
mod html;
mod machine;
mod models_bench;
mod questions;
mod report;
mod results;
mod shipped;
mod step_cost;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use assemble::NumbersSource;
use clap::{Parser, Subcommand};
use data::figure::{GridOptions, image_grid, save_png};
use data::{BackendChoice, DataSetName, ImageSet, Split};
use experiments::Profile;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "genlab's tasks: experiments, report, data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the data, run every experiment and write reports/REPORT.md with its figures.
    All {
        /// Small CI-sized experiments instead of the full ones.
        #[arg(long)]
        quick: bool,
        /// Backend of the experiments: `auto` takes a GPU when the machine has one and
        /// otherwise builds the model crates CPU-only.
        #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
        backend: BackendChoice,
        /// Folder holding the data sets (also GENLAB_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Where the report and its figures go.
        #[arg(long, default_value = "reports")]
        reports_dir: PathBuf,
        /// Run only the experiment answering this question (repeatable, e.g. `--only
        /// DBM-Q1`); the other sections stay as an earlier run wrote them.
        #[arg(long)]
        only: Vec<String>,
        /// Retrain every model from scratch instead of loading the shipped runs of
        /// data/pretrained/ (resumable: rerun the same command to continue).
        #[arg(long)]
        retrain: bool,
    },
    /// Render reports/REPORT.md and index.html again from the committed results.json,
    /// sections and figures, running no experiment (seconds): the loop for editing an answer's
    /// template (crates/study/templates/<ID>.md).
    Render {
        /// The report folder to render.
        #[arg(long, default_value = "reports")]
        reports_dir: PathBuf,
    },
    /// List the shipped runs of data/pretrained/: epochs, training wall time, size, and the
    /// totals (the training `all --retrain` redoes).
    Shipped,
    /// Show where each data set was found, its counts per label and checksums.
    DataInfo {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Download a data set from its upstream mirrors into data/<set>/, verifying every file.
    FetchData {
        #[arg(value_enum)]
        set: DataSetName,
        /// Folder to write into (default: the workspace's data/<set>/).
        #[arg(long)]
        dest: Option<PathBuf>,
        /// Base URL to download from instead of the upstream mirrors (repeatable).
        #[arg(long)]
        mirror: Vec<String>,
    },
    /// Benchmarks on the chosen backend (run on an otherwise idle machine).
    Bench {
        #[arg(value_enum)]
        target: BenchTarget,
        /// xtask itself is built CPU-only: `flex` (or `auto`, which resolves to it).
        #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
        backend: BackendChoice,
        /// Timed repetitions per product (gemm; the median is reported).
        #[arg(long, default_value_t = bench_task::DEFAULT_REPEATS)]
        repeats: usize,
        /// CPU threads for genlab (its pool) and for the peers (--threads).
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// genlab: multiply-adds below which a product stays on one thread (default: the
        /// project's policy, `data::ThreadPolicy`).
        #[arg(long)]
        gemm_threshold: Option<usize>,
        /// genlab: run on rayon's global pool (RAYON_NUM_THREADS) as before the thread
        /// policy, for before/after comparisons in one sitting.
        #[arg(long)]
        global_pool: bool,
        /// genlab: Burn's generic convolutions instead of the im2col ones (data::conv), for
        /// before/after comparisons in one sitting.
        #[arg(long)]
        generic_conv: bool,
        /// genlab: compute denormal floats in full instead of flushing them to zero (the
        /// default, `data::ThreadPolicy`), for before/after comparisons in one sitting.
        #[arg(long)]
        keep_denormals: bool,
        /// Training epochs timed (the first one is reported apart as warm-up).
        #[arg(long, default_value_t = bench_task::DEFAULT_EPOCHS)]
        epochs: usize,
        /// GANs and VAEs: at most this many batches per epoch (0: all 468).
        #[arg(long, default_value_t = bench_task::DEFAULT_STEPS)]
        steps: usize,
        /// GANs: the backbone (mlp or dcgan have peers).
        #[arg(long, value_enum, default_value_t = gan::Backbone::Mlp)]
        backbone: gan::Backbone,
        /// The peer scripts' folder; `--peers none` skips them.
        #[arg(long, default_value = "../shared/peers")]
        peers: PathBuf,
        /// Where the sitting is saved (`<reports>/bench/`) for the report's speed section.
        #[arg(long, default_value = "reports")]
        reports_dir: PathBuf,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum BenchTarget {
    /// The matrix products of the models, GFLOP/s per shape.
    Gemm,
    /// The RBM of ../shared/peers/torch_rbm.py and sklearn_rbm.py, trained by the rbm crate.
    Rbm,
    /// The GANs of ../shared/peers/torch_gan_mlp.py and torch_dcgan.py, trained by the gan crate.
    Gan,
    /// The MLP VAE of ../shared/peers/torch_vae_mlp.py, trained by the vae crate.
    VaeMlp,
    /// The convolutional VAE of ../shared/peers/torch_vae_conv.py, trained by the vae crate.
    VaeConv,
    /// The DCGAN's and conv VAE's convolution layers: forward, input and weight gradients,
    /// genlab's im2col path, Burn's generic one and PyTorch's (xtask/peers/torch_conv.py).
    Conv,
    /// The report's whole sitting: gemm, rbm, gan (mlp, and dcgan on 50 batches an epoch),
    /// vae-mlp and vae-conv at one thread, then at two, then conv at one and two; each in a
    /// fresh process, one after the other (about 20 minutes with the peers). Takes --backend,
    /// --peers, --data-dir and --reports-dir; options of a single benchmark are refused.
    Sitting,
}

#[global_allocator]
static ALLOCATOR: data::Allocator = data::Allocator;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::All {
            quick,
            backend,
            data_dir,
            reports_dir,
            only,
            retrain,
        } => all(
            Profile { quick, retrain },
            backend,
            data_dir.as_deref(),
            &reports_dir,
            &only,
        ),
        Command::Render { reports_dir } => render(&reports_dir),
        Command::Shipped => shipped::shipped_runs(&data::run::pretrained_dir())
            .map(|runs| print!("{}", shipped::table(&runs))),
        Command::DataInfo { data_dir } => data_tasks::data_info(data_dir.as_deref()),
        Command::FetchData { set, dest, mirror } => data_tasks::fetch_data(set, dest, mirror),
        Command::Bench {
            target,
            backend,
            repeats,
            threads,
            gemm_threshold,
            global_pool,
            generic_conv,
            keep_denormals,
            epochs,
            steps,
            backbone,
            peers,
            data_dir,
            reports_dir,
        } => {
            let mut policy = data::ThreadPolicy::new(Some(threads));
            let mut variant = String::new();
            if let Some(threshold) = gemm_threshold {
                policy = policy.with_gemm_threshold(threshold);
                variant.push_str(&format!("-gemm{threshold}"));
            }
            if global_pool {
                // rayon's own threads keep the default floating-point mode.
                policy = policy.keeping_denormals();
                variant.push_str("-global-pool");
            }
            if generic_conv {
                data::conv::set_im2col(false);
                variant.push_str("-generic-conv");
            }
            if keep_denormals {
                policy = policy.keeping_denormals();
                variant.push_str("-denormals");
            }
            let models = bench_task::ModelBench {
                policy,
                variant,
                threads,
                epochs: epochs.max(1),
                steps,
                backbone,
                peers: (peers.as_os_str() != "none").then_some(peers),
                data_dir,
                reports_dir,
            };
            if target == BenchTarget::Sitting {
                let one_bench_options = [
                    ("--gemm-threshold", gemm_threshold.is_some()),
                    ("--global-pool", global_pool),
                    ("--generic-conv", generic_conv),
                    ("--keep-denormals", keep_denormals),
                    ("--epochs", epochs != bench_task::DEFAULT_EPOCHS),
                    ("--steps", steps != bench_task::DEFAULT_STEPS),
                    ("--repeats", repeats != bench_task::DEFAULT_REPEATS),
                ];
                let refused = one_bench_options.iter().find(|(_, given)| *given);
                let options = bench_task::SittingOptions {
                    backend,
                    peers: models.peers.clone(),
                    data_dir: models.data_dir.clone(),
                    reports_dir: models.reports_dir.clone(),
                };
                match refused {
                    Some((flag, _)) => Err(anyhow::anyhow!(
                        "`bench sitting` runs every benchmark at the report's settings, so {flag} \
                         does not apply to it: run the benchmarks one by one with it (e.g. \
                         `cargo xtask bench vae-mlp {flag} ...`)"
                    )),
                    None => bench_task::sitting(&options),
                }
            } else if global_pool {
                // Before anything starts rayon's global pool, which reads this once.
                // SAFETY: no other thread exists yet.
                unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
                policy.set_gemm_threshold();
                bench_task::run_bench(target, backend, repeats, &models)
            } else {
                policy.install(|| bench_task::run_bench(target, backend, repeats, &models))
            }
        }
    };
    data::exit_on_error(|| result);
}

fn all(
    profile: Profile,
    backend: BackendChoice,
    data_dir: Option<&Path>,
    reports: &Path,
    only: &[String],
) -> anyhow::Result<()> {
    let started = Instant::now();
    let plan = gpu::plan(backend, &gpu::GpuProbe::system());
    eprintln!("backend: {}", plan.reason);

    eprintln!("checking the data ...");
    let train = ImageSet::load(DataSetName::Mnist, Split::Train, data_dir)?;
    let test = ImageSet::load(DataSetName::Mnist, Split::Test, data_dir)?;
    let located = data::locate(DataSetName::Mnist, data_dir)?;
    let data_lines = vec![format!(
        "MNIST: {} training and {} test images, checksums verified, from {} ({})",
        train.len(),
        test.len(),
        data_tasks::relative(&located.dir).display(),
        located.origin
    )];

    let figures = reports.join("figures");
    let grid_path = figures.join("mnist-train-grid.png");
    let first: Vec<f32> = train.pixels()[..100 * data::PIXELS]
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect();
    let labels = (0..100).map(|i| train.label(i).to_string()).collect();
    let grid = image_grid(
        &first,
        data::ROWS,
        data::COLS,
        &GridOptions {
            upscale: 2,
            labels: Some(labels),
            ..Default::default()
        },
    );
    save_png(&grid, &grid_path)?;
    eprintln!("wrote {}", grid_path.display());

    let plan_only = experiments::chosen(only)?;
    let outcomes = experiments::run_all(&plan, profile, reports, data_dir, plan_only.as_deref());
    assemble::record_profile(reports, profile, &outcomes)?;
    let run = assemble::RunInfo {
        backend: plan.reason.clone(),
        data: data_lines,
    };
    data::run::write_json(&reports.join(assemble::RUN_INFO), &run)?;
    let result = assemble::assemble(reports, &run, &outcomes, NumbersSource::NumbersDir);
    eprintln!(
        "cargo xtask all took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    result
}

/// Renders the report again from the committed results, sections and figures.
fn render(reports: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let path = reports.join(assemble::RUN_INFO);
    let run: assemble::RunInfo = data::run::read_json(&path).with_context(|| {
        format!(
            "render needs {} (written by `cargo xtask all`): run that first",
            path.display()
        )
    })?;
    let result = assemble::assemble(reports, &run, &[], NumbersSource::Results);
    eprintln!("rendered in {:.2}s", started.elapsed().as_secs_f64());
    result
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
