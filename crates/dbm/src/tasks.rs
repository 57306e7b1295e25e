//! What the `dbm` subcommands do, as library functions.

use std::path::{Path, PathBuf};

use burn::tensor::{Distribution, Tensor};
use data::figure::{digit_grid, normalise_filters, save_png, tensor_values};
use data::run::{Resumed, epoch_progress};
use data::{ImageSet, SelectedDevice, Split};
use rbm::ais::{AisConfig, base_rate_bias, convergence};
use serde_json::json;

use crate::ais::{AisEvaluation, estimate_log_z, mean_log_likelihood_bound};
use crate::model::Dbm;
use crate::train::{DbmTraining, EpochRecord, Stage, TrainConfig, train_epoch};
use crate::trained::{Trained, run_or_shipped};

/// Trains `config` as run `<runs>/dbm/<name>` on `--dataset` (resuming it with `--resume`).
pub fn train(
    config: &TrainConfig,
    default_name: &str,
    args: &data::config::TrainArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    config.validate()?;
    let (device, dataset) = (&selected.device, args.dataset());
    let test = ImageSet::load(dataset, Split::Test, data_dir)?;
    let train = ImageSet::load(dataset, Split::Train, data_dir)?.limited(config.train_limit);
    let mut run = args.open_run("dbm", default_name, config, config.seed, selected)?;
    device.seed(config.seed);
    let Resumed {
        mut state,
        first_epoch,
    } = run.resume(DbmTraining::new(config, device), config.epochs())?;
    let mut progress = epoch_progress(first_epoch, config.epochs());
    for epoch in first_epoch..config.epochs() {
        let record = train_epoch(&mut state, epoch, &train, &test, config, device)?;
        data::run::ensure_not_diverged(epoch, &weight_sums(&state, &record))?;
        run.end_epoch(epoch, config.epochs(), &state, &record, &mut progress)?;
    }
    progress.finish();
    let [v, h1, h2] = state.joint.dbm.sizes();
    run.finish(json!({ "sizes": [v, h1, h2] }))?;
    println!("trained {}", run.dir.display());
    Ok(())
}

/// The sums of the weights the epoch trained (a pre-training RBM's or the DBM's) and the
/// joint epochs' bound: a NaN or an infinity anywhere shows in them.
fn weight_sums(state: &DbmTraining, record: &EpochRecord) -> Vec<(&'static str, f64)> {
    let sum = |w: Tensor<2>| f64::from(w.sum().into_scalar::<f32>());
    let mut sums = match record.stage {
        Stage::Bottom(_) => vec![("bottom RBM weights", sum(state.bottom.rbm.weights.val()))],
        Stage::Top(_) => vec![("top RBM weights", sum(state.top.rbm.weights.val()))],
        Stage::Joint(_) => vec![
            ("DBM weights_1", sum(state.joint.dbm.weights_1.val())),
            ("DBM weights_2", sum(state.joint.dbm.weights_2.val())),
        ],
    };
    sums.extend(record.bound_unnormalised.map(|b| ("bound_unnormalised", b)));
    sums
}

/// Where a command writes `file`: see [`data::run::output_path`].
fn output_path(run: Option<&Path>, file: &str) -> PathBuf {
    data::run::output_path("dbm", run, file)
}

fn write_grid(path: &Path, values: &[f32], cols: usize) -> anyhow::Result<()> {
    save_png(&digit_grid(values, cols, None), path)?;
    println!("wrote {}", path.display());
    Ok(())
}

#[derive(Clone, Debug, clap::Args)]
pub struct RunArg {
    /// The run folder, e.g. runs/dbm/course (default: the shipped weights,
    /// data/pretrained/dbm/course).
    #[arg(long)]
    pub run: Option<PathBuf>,
}

/// The rbm crate's `evaluate` options (AIS chains and temperatures, test images), with a
/// run that defaults to the shipped weights.
#[derive(Clone, Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The run folder, e.g. runs/dbm/course (default: the shipped weights; the result then
    /// goes to dbm-ais.json here instead of <run>/ais.json).
    #[arg(long)]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub ais: rbm::tasks::AisArgs,
}

/// The test bound with `log Z` from AIS, its 4x check, written to `<run>/ais.json`
/// (`dbm-ais.json` here for the shipped weights).
pub fn evaluate(
    args: &EvaluateArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let device = &selected.device;
    let run = run_or_shipped(args.run.as_deref())?;
    let trained = Trained::load(&run, device)?;
    let config = AisConfig::new()
        .with_chains(args.ais.chains)
        .with_betas(args.ais.betas)
        .with_seed(trained.config.seed);
    let dataset = data::run::run_dataset(&run);
    let train = ImageSet::load(dataset, Split::Train, data_dir)?;
    // The pixels' marginals as training presented them (the rbm crate's computation).
    let presented = rbm::TrainConfig::new(rbm::RbmConfig::new()).with_input(trained.config.input);
    let base = base_rate_bias(&presented.pixel_means(&train), train.len());
    let short = estimate_log_z(&trained.dbm, &base, &config, device);
    let long = estimate_log_z(
        &trained.dbm,
        &base,
        &config.clone().with_betas(args.ais.betas * 4),
        device,
    );
    let verdict = convergence(&short, &long);
    let test = ImageSet::load(dataset, Split::Test, data_dir)?;
    let indices: Vec<usize> = (0..args.ais.test_images.min(test.len())).collect();
    let bound_on = |batcher: data::ImageBatcher| {
        let mut total = 0.0;
        for chunk in indices.chunks(1000) {
            let v = batcher.batch_indices(&test, chunk, device).images;
            total += chunk.len() as f64
                * mean_log_likelihood_bound(
                    &trained.dbm,
                    v,
                    long.log_z,
                    trained.config.mean_field_steps,
                );
        }
        total / indices.len().max(1) as f64
    };
    let summary = AisEvaluation {
        test_log_likelihood_bound: bound_on(trained.config.test_batcher()),
        test_log_likelihood_bound_stochastic_binarisation: bound_on(data::ImageBatcher::new(
            data::ImageTransform {
                binarise: data::Binarise::Stochastic,
                ..trained.config.transform()
            },
        )),
        test_images: indices.len(),
        log_z: long,
        log_z_short: short,
        convergence: verdict,
    };
    let path = output_path(args.run.as_deref(), "ais.json");
    data::run::write_json(&path, &summary)?;
    println!(
        "{}\nwrote {}",
        serde_json::to_string_pretty(&summary)?,
        path.display()
    );
    Ok(())
}

#[derive(Clone, Debug, clap::Args)]
pub struct SampleArgs {
    /// The run folder, e.g. runs/dbm/course (default: the shipped weights; the grid then
    /// goes to dbm-samples.png here instead of <run>/figures/samples.png).
    #[arg(long)]
    pub run: Option<PathBuf>,
    #[arg(long, default_value_t = 20)]
    pub chains: usize,
    /// Cumulative sweep counts after which the chains' visible probabilities are drawn.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000")]
    pub sweeps: Vec<usize>,
}

/// Fresh chains from fair-coin first-layer states; one grid row per sweep count.
pub fn sample(args: &SampleArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    let device = &selected.device;
    let trained = Trained::load(&run_or_shipped(args.run.as_deref())?, device)?;
    let [_, h1, _] = trained.dbm.sizes();
    let mut hidden_1 = Tensor::<2>::random([args.chains, h1], Distribution::Default, device)
        .lower_elem(0.5)
        .float();
    let (mut done, mut values) = (0, Vec::new());
    for &target in &args.sweeps {
        anyhow::ensure!(
            target > done,
            "--sweeps must be increasing, got {:?}",
            args.sweeps
        );
        let sweep = trained.dbm.gibbs(hidden_1, target - done);
        values.extend(tensor_values(sweep.visible_probabilities));
        hidden_1 = sweep.state.hidden_1;
        done = target;
    }
    let path = output_path(args.run.as_deref(), "samples.png");
    write_grid(&path, &values, args.chains)
}

/// The first layer's filters (rows of `W¹`) and the second layer's projected to pixels
/// (rows of `W² W¹`), 100 of each, each filter scaled to its own range; into
/// `<run>/figures/` (`dbm-filters-layer-*.png` here for the shipped weights).
pub fn filters(run: Option<&Path>, selected: &SelectedDevice) -> anyhow::Result<()> {
    let trained = Trained::load(&run_or_shipped(run)?, &selected.device)?;
    let (first, second) = filter_images(&trained.dbm, 100);
    write_grid(&output_path(run, "filters-layer-1.png"), &first, 10)?;
    write_grid(&output_path(run, "filters-layer-2.png"), &second, 10)
}

/// `count` filters of each layer in pixel space, each rescaled to [0, 1].
pub fn filter_images(dbm: &Dbm, count: usize) -> (Vec<f32>, Vec<f32>) {
    let [v, h1, h2] = dbm.sizes();
    let w1 = dbm.weights_1.val();
    let first = w1.clone().slice([0..count.min(h1), 0..v]);
    let second = dbm
        .weights_2
        .val()
        .slice([0..count.min(h2), 0..h1])
        .matmul(w1);
    (
        normalise_filters(&tensor_values(first), v),
        normalise_filters(&tensor_values(second), v),
    )
}

#[derive(Clone, Debug, clap::Args)]
pub struct ExportArgs {
    /// The run folder, e.g. runs/dbm/course (default: the shipped weights).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// The file written, e.g. dbm.safetensors.
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes the DBM's parameters as safetensors, for PyTorch (`safetensors.torch.load_file`):
/// `weights_1` `[hidden_1, visible]`, `weights_2` `[hidden_2, hidden_1]`, `visible_bias`,
/// `hidden_1_bias`, `hidden_2_bias`.
pub fn export(args: &ExportArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    let trained = Trained::load(&run_or_shipped(args.run.as_deref())?, &selected.device)?;
    data::run::export_safetensors(&trained.dbm, &args.out)
}
