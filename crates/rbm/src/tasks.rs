//! What the `rbm` subcommands do, as library functions: training a run, estimating its
//! likelihood by AIS, Gibbs sampling, reconstructions and inpainting.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::{Device, Distribution, Tensor};
use data::figure::{digit_grid, save_png, tensor_values};
use data::run::{Resumed, epoch_progress};
use data::{DataSetName, ImageBatcher, ImageSet, ImageTransform, Mask, SelectedDevice, Split};
use serde_json::json;

pub use crate::evaluate::{AisArgs, EvaluateArgs, ais_file, evaluate, input_name};
use crate::inpaint::{Completion, complete, missing_mse};
use crate::train::{InputMode, RbmState, TrainConfig, monitor, train_epoch};

/// Trains `config` as run `<runs>/rbm/<name>` on `--dataset` (resuming it with `--resume`).
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
    let mut run = args.open_run("rbm", default_name, config, config.seed, selected)?;
    device.seed(config.seed);
    let Resumed {
        mut state,
        first_epoch,
    } = run.resume(RbmState::new(config, device), config.epochs)?;
    let mut progress = epoch_progress(first_epoch, config.epochs);
    for epoch in first_epoch..config.epochs {
        let record = train_epoch(&mut state, epoch, &train, &test, config, device)?;
        data::run::ensure_not_diverged(
            epoch,
            &[
                ("test_reconstruction_mse", record.test_reconstruction_mse),
                ("pseudo_likelihood_exact", record.pseudo_likelihood_exact),
            ],
        )?;
        run.end_epoch(epoch, config.epochs, &state, &record, &mut progress)?;
    }
    progress.finish();
    let metrics = monitor(&state.rbm, &train, &test, config, device);
    run.finish(json!({ "final": metrics }))?;
    println!("trained {}: {}", run.dir.display(), json!(metrics));
    Ok(())
}

/// The file (`<name>.bpk`) of a shipped run's checkpoint that holds the RBM.
const SHIPPED_RBM: &str = "rbm";

/// Copies the run's RBM (half precision), config, training log and AIS result to the
/// repository's shipped weights.
pub fn ship(args: &data::run::ShipArgs, selected: &SelectedDevice) -> anyhow::Result<()> {
    let trained = Trained::load(&args.run, &selected.device)?;
    data::run::ship_module(
        args,
        "rbm",
        &[
            "ais.json",
            "ais-test-dynamic.json",
            "ais-test-threshold.json",
        ],
        SHIPPED_RBM,
        &trained.state.rbm,
    )
}

/// A trained run: its config, newest checkpoint and the data set it was trained on.
pub struct Trained {
    pub dir: PathBuf,
    pub config: TrainConfig,
    pub state: RbmState,
    pub dataset: DataSetName,
}

impl Trained {
    pub fn load(dir: &Path, device: &Device) -> anyhow::Result<Self> {
        let (config, checkpoint): (TrainConfig, _) = data::run::load_latest(dir, "RBM")?;
        let mut state = RbmState::new(&config, device);
        if checkpoint.join(format!("{SHIPPED_RBM}.bpk")).is_file() {
            // A shipped run: the RBM alone; momentum and chains start afresh.
            state.rbm = data::run::load_module(&checkpoint, SHIPPED_RBM, state.rbm)?;
        } else {
            state = data::Checkpointable::load(state, &checkpoint)?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            dataset: data::run::run_dataset(dir),
            config,
            state,
        })
    }

    /// The `split` of the data set the run trained on.
    pub fn set(&self, split: Split, data_dir: Option<&Path>) -> anyhow::Result<ImageSet> {
        Ok(ImageSet::load(self.dataset, split, data_dir)?)
    }

    /// The first `count` images of `set` as the model sees them (binarised as in training;
    /// dynamic binarisation draws the epoch-0 sample).
    pub fn images(&self, set: &ImageSet, count: usize, device: &Device) -> Tensor<2> {
        self.images_as(self.config.input, set, count, device)
    }

    /// The same images presented as `input` says (a likelihood compares runs trained on
    /// differently binarised digits only on the same test digits).
    pub fn images_as(
        &self,
        input: InputMode,
        set: &ImageSet,
        count: usize,
        device: &Device,
    ) -> Tensor<2> {
        let indices: Vec<usize> = (0..count.min(set.len())).collect();
        ImageBatcher::new(self.config.clone().with_input(input).transform())
            .batch_indices(set, &indices, device)
            .images
    }

    fn write_grid(
        &self,
        file: &str,
        values: &[f32],
        cols: usize,
        labels: Option<Vec<String>>,
    ) -> anyhow::Result<()> {
        let path = self.dir.join("figures").join(file);
        save_png(&digit_grid(values, cols, labels), &path)?;
        println!("wrote {}", path.display());
        Ok(())
    }
}

#[derive(Clone, Debug, clap::Args)]
pub struct SampleArgs {
    /// The run folder, e.g. runs/rbm/course.
    #[arg(long)]
    pub run: PathBuf,
    /// Numbers of Gibbs steps after which the chains are shown.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000")]
    pub steps: Vec<usize>,
    /// Start from test digits instead of uniform noise.
    #[arg(long)]
    pub from_test: bool,
    #[arg(long, default_value_t = 10)]
    pub chains: usize,
}

/// Writes `<run>/figures/samples-from-{noise,test}.png`: the chains after each of `--steps`.
pub fn sample(
    args: &SampleArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let device = &selected.device;
    let trained = Trained::load(&args.run, device)?;
    let start = if args.from_test {
        trained.images(&trained.set(Split::Test, data_dir)?, args.chains, device)
    } else {
        Tensor::<2>::random(
            [args.chains, trained.config.model.visible],
            Distribution::Bernoulli(0.5),
            device,
        )
    };
    let mut steps = args.steps.clone();
    steps.sort_unstable();
    let rows: Vec<Vec<f32>> = std::iter::once(start.clone())
        .chain(trained.state.rbm.gibbs_snapshots(start, &steps))
        .map(tensor_values)
        .collect();
    let labels = std::iter::once("start".to_string())
        .chain(steps.iter().map(|s| format!("{s} steps")))
        .flat_map(|l| std::iter::repeat_n(l, args.chains))
        .collect();
    let file = if args.from_test {
        "samples-from-test.png"
    } else {
        "samples-from-noise.png"
    };
    trained.write_grid(file, &rows.concat(), args.chains, Some(labels))
}

/// Writes `<run>/figures/reconstructions.png` and prints the reconstruction error.
pub fn reconstruct(
    dir: &Path,
    count: usize,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let device = &selected.device;
    let trained = Trained::load(dir, device)?;
    let v = trained.images(&trained.set(Split::Test, data_dir)?, count, device);
    let reconstruction = trained.state.rbm.reconstruct(v.clone());
    let error = (reconstruction.clone() - v.clone())
        .powi_scalar(2)
        .mean()
        .into_scalar::<f32>();
    let values = [tensor_values(v), tensor_values(reconstruction)].concat();
    trained.write_grid("reconstructions.png", &values, count, None)?;
    println!("reconstruction MSE {error:.5} on {count} test digits");
    Ok(())
}

#[derive(Clone, Debug, clap::Args)]
pub struct InpaintArgs {
    /// The run folder, e.g. runs/rbm/course.
    #[arg(long)]
    pub run: PathBuf,
    /// How the missing pixels are filled in.
    #[arg(long, value_enum, default_value_t = Completion::Clamped)]
    pub how: Completion,
    /// The hidden part, as JSON, e.g. '{"kind":"top-rows","n":8}'.
    #[arg(long, default_value = r#"{"kind":"bottom-rows","n":12}"#)]
    pub mask: String,
    #[arg(long, default_value_t = 100)]
    pub gibbs_steps: usize,
    #[arg(long, default_value_t = 20)]
    pub count: usize,
}

/// Writes `<run>/figures/inpaint-<mask>.png` (originals, with the hole, completed) and
/// prints the error on the missing pixels.
pub fn inpaint(
    args: &InpaintArgs,
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let device = &selected.device;
    let trained = Trained::load(&args.run, device)?;
    let mask: Mask = serde_json::from_str(&args.mask)
        .context("--mask: e.g. '{\"kind\":\"top-rows\",\"n\":8}'")?;
    let test = trained.set(Split::Test, data_dir)?;
    let batcher = ImageBatcher::new(ImageTransform {
        mask: Some(mask),
        ..trained.config.transform()
    });
    let indices: Vec<usize> = (0..args.count.min(test.len())).collect();
    let batch = batcher.batch_indices(&test, &indices, device);
    let known = batch
        .known
        .clone()
        .expect("a masked batch carries its mask");
    let clean = batch
        .clean
        .clone()
        .expect("a masked batch carries the clean images");
    let completed = complete(
        &trained.state.rbm,
        batch.images.clone(),
        known.clone(),
        args.gibbs_steps,
        args.how,
    );
    let error = missing_mse(completed.clone(), clean.clone(), known);
    let values = [
        tensor_values(clean),
        tensor_values(batch.images),
        tensor_values(completed),
    ]
    .concat();
    trained.write_grid(
        &format!("inpaint-{}.png", mask.label()),
        &values,
        args.count,
        None,
    )?;
    println!("mean squared error on the missing pixels: {error:.5}");
    Ok(())
}
