use super::*;
use crate::backend::{BackendChoice, select_device};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

/// A linear regression trained with Adam: enough state (weights and moments) that a
/// resume which lost any of it would end somewhere else.
struct Toy {
    model: Linear,
    optimizer: ModuleOptimizer,
}

impl Checkpointable for Toy {
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        save_module(dir, "model", &self.model)?;
        save_optimizer(dir, "optimizer", &self.optimizer)
    }
    fn load(self, dir: &Path) -> anyhow::Result<Self> {
        Ok(Toy {
            model: load_module(dir, "model", self.model)?,
            optimizer: load_optimizer(dir, "optimizer", self.optimizer)?,
        })
    }
}

fn toy(device: &Device, init_seed: u64) -> Toy {
    device.seed(init_seed);
    Toy {
        model: LinearConfig::new(3, 1).init(device),
        optimizer: AdamConfig::new().init(),
    }
}

/// One epoch over 64 points of y = x . (1, -2, 3) + 0.5, in batches of 8 whose order
/// depends on the epoch. Fails at `fail_at` to simulate a kill mid-run.
fn epoch(
    state: &mut Toy,
    index: usize,
    device: &Device,
    fail_at: Option<usize>,
) -> anyhow::Result<Value> {
    if Some(index) == fail_at {
        bail!("killed during epoch {}", index + 1);
    }
    let xs: Vec<f32> = (0..64 * 3)
        .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
        .collect();
    let ys: Vec<f32> = xs
        .chunks(3)
        .map(|x| x[0] - 2.0 * x[1] + 3.0 * x[2] + 0.5)
        .collect();
    let mut last = 0.0;
    let order = crate::BatchOrder {
        batch_size: 8,
        shuffle: true,
        drop_last: false,
        seed: 7,
    };
    for batch in order.epoch(64, index as u64) {
        let bx: Vec<f32> = batch
            .iter()
            .flat_map(|&i| xs[i * 3..i * 3 + 3].to_vec())
            .collect();
        let by: Vec<f32> = batch.iter().map(|&i| ys[i]).collect();
        let x = Tensor::<2>::from_data(TensorData::new(bx, [8, 3]), device);
        let y = Tensor::<2>::from_data(TensorData::new(by, [8, 1]), device);
        let loss = (state.model.forward(x) - y).powi_scalar(2).mean();
        last = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &state.model);
        let model = state.model.clone();
        state.model = state.optimizer.step(0.05, model, grads);
    }
    Ok(json!({ "loss": last }))
}

fn weights(toy: &Toy) -> Vec<f32> {
    toy.model
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

/// Run options writing under a temporary folder.
fn options_in(runs: &tempfile::TempDir) -> RunOptions {
    RunOptions {
        runs_dir: runs.path().to_owned(),
        ..Default::default()
    }
}

#[test]
fn a_resumed_run_ends_where_an_uninterrupted_run_ends() {
    let selected = select_device(BackendChoice::Flex).unwrap();
    let device = selected.autodiff();
    let runs = tempfile::tempdir().unwrap();
    let options = options_in(&runs);
    let config = json!({ "lr": 0.05 });

    let mut straight = Run::start("toy", "straight", &options, &config, 7, &selected).unwrap();
    let done = straight
        .train_epochs(toy(&device, 1), 4, |s, i| epoch(s, i, &device, None))
        .unwrap();
    let expected = weights(&done);

    let mut first = Run::start("toy", "resumed", &options, &config, 7, &selected).unwrap();
    let err = first
        .train_epochs(toy(&device, 1), 4, |s, i| epoch(s, i, &device, Some(2)))
        .err()
        .unwrap();
    assert!(err.to_string().contains("killed"));
    drop(first);

    // A fresh process: a differently initialised model, then --resume.
    let resume = RunOptions {
        resume: true,
        ..options.clone()
    };
    let mut second = Run::start("toy", "resumed", &resume, &config, 7, &selected).unwrap();
    assert_eq!(second.resumed.as_ref().unwrap().epochs_done, 2);
    let resumed = second
        .train_epochs(toy(&device, 99), 4, |s, i| epoch(s, i, &device, None))
        .unwrap();
    assert_eq!(weights(&resumed), expected);

    // The metrics hold each epoch once, in order, as in the uninterrupted run.
    let dir = runs.path().join("toy/resumed");
    let epochs: Vec<u64> = read_metrics(&dir.join("metrics.jsonl"))
        .unwrap()
        .iter()
        .map(|r| r["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, vec![1, 2, 3, 4]);
    let straight_losses = read_metrics(&runs.path().join("toy/straight/metrics.jsonl")).unwrap();
    let resumed_losses = read_metrics(&dir.join("metrics.jsonl")).unwrap();
    assert_eq!(straight_losses[3]["loss"], resumed_losses[3]["loss"]);
    // Only the newest two checkpoints are kept.
    assert!(dir.join("checkpoints/epoch-4").is_dir());
    assert!(dir.join("checkpoints/epoch-3").is_dir());
    assert!(!dir.join("checkpoints/epoch-2").exists());
    let config: Value = read_json(&dir.join("config.json")).unwrap();
    assert_eq!(config["seed"], 7);
    assert_eq!(config["backend"], "flex");
}

#[test]
fn an_existing_run_is_never_silently_replaced() {
    let selected = select_device(BackendChoice::Flex).unwrap();
    let runs = tempfile::tempdir().unwrap();
    let options = options_in(&runs);
    Run::start("toy", "a", &options, &json!({}), 1, &selected).unwrap();
    let err = Run::start("toy", "a", &options, &json!({}), 1, &selected)
        .err()
        .unwrap();
    assert!(err.to_string().contains("--resume"), "{err}");
    let overwrite = RunOptions {
        overwrite: true,
        ..options.clone()
    };
    Run::start("toy", "a", &overwrite, &json!({}), 1, &selected).unwrap();
    let resume = RunOptions {
        resume: true,
        ..options.clone()
    };
    let err = Run::start("toy", "a", &resume, &json!({"other": 1}), 1, &selected)
        .err()
        .unwrap();
    assert!(err.to_string().contains("another config"), "{err}");
    let err = Run::start("toy", "missing", &resume, &json!({}), 1, &selected)
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("no run to resume"), "{err:#}");
}

#[test]
fn a_resumed_run_may_change_its_epochs_and_nothing_else() {
    let selected = select_device(BackendChoice::Flex).unwrap();
    let runs = tempfile::tempdir().unwrap();
    let options = options_in(&runs);
    let config = json!({"epochs": 40, "width": 32});
    Run::start("toy", "a", &options, &config, 1, &selected).unwrap();
    let resume = RunOptions {
        resume: true,
        ..options.clone()
    };
    let shorter = json!({"epochs": 12, "width": 32});
    Run::start("toy", "a", &resume, &shorter, 1, &selected).unwrap();
    let saved = read_json::<Value>(&runs.path().join("toy/a/config.json")).unwrap();
    assert_eq!(saved["config"], shorter);
    let wider = json!({"epochs": 12, "width": 48});
    let err = Run::start("toy", "a", &resume, &wider, 1, &selected)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("only `epochs` may change"),
        "{err}"
    );
}

#[test]
fn atomic_writes_leave_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/summary.json");
    write_json(&path, &json!({"x": 1})).unwrap();
    write_json(&path, &json!({"x": 2})).unwrap();
    let value: Value = read_json(&path).unwrap();
    assert_eq!(value["x"], 2);
    let failed = write_atomically(&path, |_| Err(std::io::Error::other("disk full")));
    assert!(failed.is_err());
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("summary.json")]);
    let value: Value = read_json(&path).unwrap();
    assert_eq!(value["x"], 2, "a failed write keeps the old file");
}

#[test]
fn hooks_add_their_fields_to_the_record_and_grids_land_in_the_run() {
    let selected = select_device(BackendChoice::Flex).unwrap();
    let device = selected.autodiff();
    let runs = tempfile::tempdir().unwrap();
    let options = options_in(&runs);
    let mut run = Run::start("toy", "hooks", &options, &json!({}), 1, &selected).unwrap();
    let mut seen = Vec::new();
    let mut count = |_: &Toy, epoch: usize| -> anyhow::Result<serde_json::Map<String, Value>> {
        seen.push(epoch);
        let mut extra = serde_json::Map::new();
        extra.insert("score".into(), json!(10 * epoch));
        Ok(extra)
    };
    let mut grid = SampleGrid {
        cols: 2,
        draw: |_: &Toy| Ok(vec![0.5; 2 * crate::PIXELS]),
    };
    run.train_epochs_with(
        toy(&device, 1),
        2,
        |s, i| epoch(s, i, &device, None),
        &mut [&mut count, &mut grid],
    )
    .unwrap();
    assert_eq!(seen, vec![0, 1]);
    let records = read_metrics(&runs.path().join("toy/hooks/metrics.jsonl")).unwrap();
    assert_eq!(records[1]["score"], 10);
    assert_eq!(records[1]["epoch"], 2);
    assert!(
        records[1]["loss"].is_number(),
        "the epoch's own record is kept"
    );
    assert!(
        runs.path()
            .join("toy/hooks/samples/epoch-002.png")
            .is_file()
    );
}

#[test]
fn a_shipped_run_loads_like_a_run_with_half_precision_weights() {
    let selected = select_device(BackendChoice::Flex).unwrap();
    let device = &selected.autodiff();
    let runs = tempfile::tempdir().unwrap();
    let options = options_in(&runs);
    let config = json!({"epochs": 2});
    let mut run = Run::start("toy", "trained", &options, &config, 7, &selected).unwrap();
    let trained = run
        .train_epochs(toy(device, 1), 2, |s, i| epoch(s, i, device, None))
        .unwrap();
    let dir = runs.path().join("toy/trained");
    std::fs::write(dir.join("evaluation.json"), "{}").unwrap();

    let dest = runs.path().join("shipped/toy");
    ship(&dir, &dest, &["evaluation.json", "absent.json"], |folder| {
        save_module_half(folder, "model", &trained.model)
    })
    .unwrap();
    // The same records, one checkpoint holding only the module, as a run folder.
    assert!(dest.join("evaluation.json").is_file() && !dest.join("absent.json").exists());
    assert_eq!(
        std::fs::read(dir.join("metrics.jsonl")).unwrap(),
        std::fs::read(dest.join("metrics.jsonl")).unwrap()
    );
    let (saved, checkpoint): (Value, _) = load_latest(&dest, "toy").unwrap();
    assert_eq!(
        shipped_with_config("creative", &json!({"no": "such config"})),
        None
    );
    assert_eq!(saved, config);
    assert!(!checkpoint.join("optimizer.bpk").exists());
    let mut loaded = toy(device, 99);
    loaded.model = load_module(&checkpoint, "model", loaded.model).unwrap();
    // Read back as float32, equal to the trained weights to half precision's 11 bits.
    assert_eq!(loaded.model.weight.val().dtype(), burn::tensor::DType::F32);
    let (a, b) = (weights(&trained), weights(&loaded));
    assert_ne!(a, b, "half precision rounds these weights");
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= x.abs() / 1024.0, "{x} vs {y}");
    }
    // Half the bytes of the float32 checkpoint's weights.
    let f32_bytes = std::fs::metadata(dir.join("checkpoints/epoch-2/model.bpk")).unwrap();
    let f16_bytes = std::fs::metadata(checkpoint.join("model.bpk")).unwrap();
    assert!(f16_bytes.len() < f32_bytes.len());
}

/// Exported weights are in PyTorch's layout (a Linear's weight `[out, in]`, named as
/// `nn.Linear` names it) and load back into the same values.
#[test]
fn safetensors_export_is_pytorch_shaped_and_loads_back() {
    let device = select_device(BackendChoice::Flex).unwrap().device;
    device.seed(5);
    let model = LinearConfig::new(3, 2).init(&device);
    let table = tensor_table(&model);
    assert_eq!(
        table,
        vec![
            ("weight".to_string(), vec![2, 3]),
            ("bias".to_string(), vec![2])
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("linear.safetensors");
    export_safetensors(&model, &path).unwrap();
    device.seed(6);
    let fresh = LinearConfig::new(3, 2).init(&device);
    let loaded = import_safetensors(fresh, &path).unwrap();
    let values = |m: &Linear| crate::figure::tensor_values(m.weight.val());
    assert_eq!(values(&loaded), values(&model));
    let wrong = import_safetensors(LinearConfig::new(4, 2).init(&device), &path);
    assert!(wrong.is_err(), "a shape mismatch is an error");
}

#[test]
fn a_checkpoint_that_cannot_be_written_names_the_folder() {
    let selected = select_device(BackendChoice::Flex).unwrap();
    let runs = tempfile::tempdir().unwrap();
    let mut run = Run::start(
        "toy",
        "blocked",
        &options_in(&runs),
        &json!({}),
        1,
        &selected,
    )
    .unwrap();
    // A file where the checkpoints folder goes: no folder can be made under it.
    let checkpoints = run.dir.join("checkpoints");
    let _ = std::fs::remove_dir_all(&checkpoints);
    std::fs::write(&checkpoints, "in the way").unwrap();
    let err = run
        .save_checkpoint(1, &toy(&selected.device, 1))
        .unwrap_err();
    assert!(
        format!("{err:#}").contains(&checkpoints.display().to_string()),
        "{err:#}"
    );
}

#[test]
fn resuming_after_the_metrics_log_was_deleted_is_refused_not_padded_with_nuls() {
    let selected = select_device(BackendChoice::Flex).unwrap();
    let device = selected.autodiff();
    let runs = tempfile::tempdir().unwrap();
    let options = options_in(&runs);
    let mut first = Run::start("toy", "cut", &options, &json!({}), 7, &selected).unwrap();
    let _ = first.train_epochs(toy(&device, 1), 4, |s, i| epoch(s, i, &device, Some(2)));
    drop(first);
    let log = runs.path().join("toy/cut/metrics.jsonl");
    std::fs::remove_file(&log).unwrap();
    let resume = RunOptions {
        resume: true,
        ..options
    };
    let err = Run::start("toy", "cut", &resume, &json!({}), 7, &selected)
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("cut or deleted"), "{err:#}");
    assert!(!std::fs::read(&log).unwrap_or_default().contains(&0u8));
}

#[test]
fn a_run_being_written_cannot_be_resumed_or_overwritten_by_another_writer() {
    let selected = select_device(BackendChoice::Flex).unwrap();
    let runs = tempfile::tempdir().unwrap();
    let options = options_in(&runs);
    let first = Run::start(
        "toy",
        "busy",
        &options,
        &json!({ "lr": 0.05 }),
        7,
        &selected,
    )
    .unwrap();
    for (flag, second) in [
        (
            "--resume",
            RunOptions {
                resume: true,
                ..options.clone()
            },
        ),
        (
            "--overwrite",
            RunOptions {
                overwrite: true,
                ..options.clone()
            },
        ),
    ] {
        let err = Run::start("toy", "busy", &second, &json!({ "lr": 0.5 }), 7, &selected)
            .err()
            .unwrap_or_else(|| panic!("{flag} while the run is written was accepted"))
            .to_string();
        assert!(
            err.contains("another process is writing the run at"),
            "{flag}: {err}"
        );
    }
    let saved: Value = read_json(&first.dir.join("config.json")).unwrap();
    assert_eq!(
        saved["config"]["lr"], 0.05,
        "the first writer's run is untouched"
    );
    drop(first);
    let again = RunOptions {
        overwrite: true,
        ..options
    };
    assert!(
        Run::start("toy", "busy", &again, &json!({ "lr": 0.5 }), 7, &selected).is_ok(),
        "the run is free once its writer has ended"
    );
}
