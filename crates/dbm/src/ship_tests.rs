//! Shipping a run and loading it back: a tiny run trained here, and the repository's
//! shipped weights.

use std::path::Path;

use burn::tensor::{Device, FloatDType, Tensor};
use data::run::{CheckpointInfo, write_json};
use data::{DataSetName, ImageSet, Split};
use serde_json::json;

use crate::model::DbmConfig;
use crate::ship::{CHECK_DIGITS, Checks, checks, ship_to};
use crate::train::{DbmTraining, Preset, TrainConfig, train_epoch};
use crate::trained::{Trained, run_or_shipped};

/// `count` synthetic 28x28 digits (deterministic grey levels).
fn digits(count: usize, split: Split) -> ImageSet {
    let pixels = (0..count * data::PIXELS)
        .map(|i| ((i * 2_654_435_761usize) >> 13) as u8)
        .collect();
    let labels = (0..count).map(|i| (i % 10) as u8).collect();
    ImageSet::from_parts(DataSetName::Mnist, split, pixels, labels)
}

/// A 784-8-6 DBM trained one epoch per stage, so that joint training has moved its chains.
fn tiny_config() -> TrainConfig {
    TrainConfig::new(DbmConfig::new().with_hidden_1(8).with_hidden_2(6))
        .with_bottom_epochs(1)
        .with_top_epochs(1)
        .with_joint_epochs(1)
        .with_pretrain_batch_size(10)
        .with_batch_size(10)
        .with_persistent_chains(12)
        .with_mean_field_steps(5)
        .with_monitor_images(10)
}

/// Trains [`tiny_config`] as the run `<runs>/dbm/tiny`; returns its folder.
fn train_tiny(runs: &Path, test: &ImageSet) -> std::path::PathBuf {
    let selected = data::select_device(data::BackendChoice::Flex).unwrap();
    let device = selected.device.clone();
    let config = tiny_config();
    let options = data::RunOptions {
        runs_dir: runs.to_owned(),
        name: Some("tiny".into()),
        ..Default::default()
    };
    let mut run = data::Run::start("dbm", "tiny", &options, &config, 0, &selected).unwrap();
    let train = digits(40, Split::Train);
    let state = DbmTraining::new(&config, &device);
    run.train_epochs(state, config.epochs(), |state, epoch| {
        train_epoch(state, epoch, &train, test, &config, &device)
    })
    .unwrap();
    run.finish(json!({})).unwrap();
    run.dir
}

fn max_gap<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

/// `t` rounded to half precision and back.
fn in_half<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    t.cast(FloatDType::F16).cast(FloatDType::F32)
}

#[test]
fn a_shipped_run_loads_back_its_dbm_in_half_precision_and_its_chains_exactly() {
    let device = Device::flex();
    let runs = tempfile::tempdir().unwrap();
    let test = digits(30, Split::Test);
    let run = train_tiny(runs.path(), &test);
    write_json(
        &run.join("ais.json"),
        &json!({ "test_log_likelihood_bound": -1.0 }),
    )
    .unwrap();
    let dest = runs.path().join("shipped");

    let written = ship_to(&run, &dest, &test, &device).unwrap();
    let original = Trained::load(&run, &device).unwrap();
    let shipped = Trained::load(&dest, &device).unwrap();

    // Only what sampling needs: no optimiser or pre-training state.
    let (_, checkpoint) = data::run::load_latest::<TrainConfig>(&dest, "DBM").unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&checkpoint)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "chains.bpk",
            "chains.bpk.sha256",
            "dbm.bpk",
            "dbm.bpk.sha256"
        ],
        "the weights and their checksums"
    );
    assert!(dest.join("ais.json").is_file() && dest.join("metrics.jsonl").is_file());
    assert_eq!(
        serde_json::to_value(&shipped.config).unwrap(),
        serde_json::to_value(tiny_config()).unwrap()
    );

    let (a, b) = (&original.dbm, &shipped.dbm);
    assert_eq!(max_gap(in_half(a.weights_1.val()), b.weights_1.val()), 0.0);
    assert_eq!(max_gap(in_half(a.weights_2.val()), b.weights_2.val()), 0.0);
    assert_eq!(
        max_gap(in_half(a.visible_bias.val()), b.visible_bias.val()),
        0.0
    );
    assert_eq!(
        max_gap(in_half(a.hidden_1_bias.val()), b.hidden_1_bias.val()),
        0.0
    );
    assert_eq!(
        max_gap(in_half(a.hidden_2_bias.val()), b.hidden_2_bias.val()),
        0.0
    );
    let scale = a.weights_1.val().abs().max().into_scalar::<f32>();
    assert!(max_gap(a.weights_1.val(), b.weights_1.val()) <= scale / 1024.0);

    assert_eq!(shipped.chains.dims(), [12, 8]);
    assert_eq!(
        max_gap(original.chains.clone(), shipped.chains.clone()),
        0.0
    );
    let ones = shipped.chains.clone().sum().into_scalar::<f32>();
    assert!(ones > 0.0, "joint training left its chains at zero");

    // checks.json holds what the shipped weights give.
    let saved: Checks = data::run::read_json(&dest.join("checks.json")).unwrap();
    assert_eq!(saved, written);
    assert_eq!(saved.test_digits, 30.min(CHECK_DIGITS));
    assert_eq!(saved, checks(&shipped.dbm, &shipped.config, &test, &device));
    assert!(saved.mean_bound_unnormalised.is_finite());
}

#[test]
fn a_checkpoint_with_neither_kind_of_weights_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    write_json(
        &dir.path().join("config.json"),
        &json!({ "config": tiny_config() }),
    )
    .unwrap();
    let info = CheckpointInfo {
        epochs_done: 1,
        folder: "epoch-1".into(),
        metrics_bytes: 0,
        wall_s: 0.0,
    };
    std::fs::create_dir_all(dir.path().join("checkpoints/epoch-1")).unwrap();
    write_json(&dir.path().join("checkpoints/latest.json"), &info).unwrap();
    let err = Trained::load(dir.path(), &Device::flex()).err().unwrap();
    let message = format!("{err:#}");
    assert!(
        message.contains("state.bpk") && message.contains("dbm.bpk"),
        "{message}"
    );
    assert_eq!(run_or_shipped(Some(dir.path())).unwrap(), dir.path());
}

/// The repository's shipped weights load and reproduce the number `dbm ship` recorded in
/// their `checks.json` (the f16 files load into the same model), and they are the `course`
/// preset's run, which the experiments' full profile loads instead of training.
#[test]
fn the_shipped_weights_reproduce_their_checks() {
    let device = Device::flex();
    let run = run_or_shipped(None).unwrap();
    let shipped = Trained::load(&run, &device).unwrap();
    let saved: Checks = data::run::read_json(&run.join("checks.json")).unwrap();
    let test = ImageSet::load(saved.dataset, Split::Test, None).unwrap();
    let now = checks(&shipped.dbm, &shipped.config, &test, &device);
    assert_eq!(now.test_digits, saved.test_digits);
    let (a, b) = (now.mean_bound_unnormalised, saved.mean_bound_unnormalised);
    assert!((a - b).abs() <= 1e-3 * b.abs(), "now {a}, shipped {b}");
    assert_eq!(
        shipped.chains.dims(),
        [
            shipped.config.persistent_chains,
            shipped.config.model.hidden_1
        ]
    );
    let course = Preset::Course.config();
    assert!(data::run::shipped_with_config("dbm", &course).is_some());
    // With the shipped AIS estimate of log Z, these digits' bound is a log-likelihood in
    // the range of MNIST models (the 10,000 test digits average −69.0 nats).
    let ais: serde_json::Value = data::run::read_json(&run.join("ais.json")).unwrap();
    let log_z = ais["log_z"]["log_z"].as_f64().unwrap();
    let bound = a - log_z;
    assert!((-100.0..-55.0).contains(&bound), "bound {bound} nats");
}
