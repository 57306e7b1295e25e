//! Training steps, checkpoints and sampling of the GAN players.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use data::Checkpointable;
use data::scaffold::fixed_normal;

use crate::model::{Backbone, GanConfig};
use crate::sampling::{load_generator, negative_fraction, sample};
use crate::train::{GanState, TrainConfig};

/// Without dropout, whose masks come from the device's stream, which tests running in
/// parallel share.
fn tiny_config() -> TrainConfig {
    TrainConfig::new(
        GanConfig::new(Backbone::Mlp)
            .with_latent(4)
            .with_dropout(0.0),
    )
    .with_batch_size(8)
}

fn real_batch(device: &Device) -> Tensor<2> {
    Tensor::random(
        [8, data::PIXELS],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        device,
    )
}

#[test]
fn a_step_reports_probabilities_and_accuracies_and_moves_both_players() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let config = tiny_config();
    let mut state = GanState::new(&config, &device);
    let z = fixed_normal(4, 4, 9, &device);
    let before_g = data::figure::tensor_values(state.generator.forward(z.clone()));
    let stats = state.step(real_batch(&device), &config, 1);
    for p in [
        stats.d_real,
        stats.d_fake,
        stats.accuracy_real,
        stats.accuracy_fake,
    ] {
        assert!((0.0..=1.0).contains(&p), "{stats:?}");
    }
    assert!(stats.d_loss > 0.0 && stats.g_loss > 0.0);
    assert!(stats.grad_norm_d > 0.0 && stats.grad_norm_g > 0.0);
    let after_g = data::figure::tensor_values(state.generator.forward(z));
    assert_ne!(before_g, after_g, "the generator was not updated");
}

#[test]
fn a_checkpoint_restores_both_players_and_their_optimisers() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let config = tiny_config();
    let mut state = GanState::new(&config, &device);
    state.step(real_batch(&device), &config, 1);
    let dir = tempfile::tempdir().unwrap();
    state.save(dir.path()).unwrap();

    device.seed(2);
    let restored = GanState::new(&config, &device).load(dir.path()).unwrap();
    let z = fixed_normal(3, 4, 5, &device);
    let x = real_batch(&device);
    let g = |s: &GanState| data::figure::tensor_values(s.generator.valid().forward(z.clone()));
    let d = |s: &GanState| data::figure::tensor_values(s.discriminator.valid().forward(x.clone()));
    assert_eq!(g(&state), g(&restored));
    assert_eq!(d(&state), d(&restored));

    // Identical next steps: Adam's moments came back too.
    let mut a = state;
    let mut b = restored;
    let real = real_batch(&device);
    let sa = a.step(real.clone(), &config, 3);
    let sb = b.step(real, &config, 3);
    assert_eq!(sa, sb);
    assert_eq!(g(&a), g(&b));
}

#[test]
fn samples_are_reproducible_and_in_the_tanh_range() {
    let device = Device::flex();
    let config = tiny_config();
    device.seed(4);
    let generator = config.model.init_generator(&device);
    let a = data::figure::tensor_values(sample(&generator, 4, 1500, 7, &device));
    let b = data::figure::tensor_values(sample(&generator, 4, 1500, 7, &device));
    assert_eq!(a.len(), 1500 * data::PIXELS);
    assert_eq!(a, b);
    assert!(a.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(negative_fraction(&[-0.5, 0.0, 0.2, -1.0]), 0.5);
}

#[test]
fn loading_a_folder_that_is_not_a_gan_run_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_generator(dir.path(), &Device::flex()).err().unwrap();
    assert!(format!("{err:#}").contains(&dir.path().display().to_string()));
    data::run::write_json(
        &dir.path().join("config.json"),
        &serde_json::json!({"config": {"hidden": 3}}),
    )
    .unwrap();
    let err = load_generator(dir.path(), &Device::flex()).err().unwrap();
    assert!(
        format!("{err:#}").contains("not a GAN run config"),
        "{err:#}"
    );
}

#[test]
fn samples_come_from_the_average_of_the_generator_which_a_checkpoint_restores() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let config = tiny_config().with_generator_average_decay(0.9);
    let mut state = GanState::new(&config, &device);
    for step in 0..3 {
        state.step(real_batch(&device), &config, step);
    }
    let z = fixed_normal(3, 4, 5, &Device::flex());
    let sampled = |s: &GanState| {
        data::figure::tensor_values(s.sampled_generator().valid().forward(z.clone()))
    };
    let raw = data::figure::tensor_values(state.generator.valid().forward(z.clone()));
    assert_ne!(
        sampled(&state),
        raw,
        "the average lags the last step's weights"
    );
    assert_eq!(state.generator_average.as_ref().unwrap().updates, 3);

    // A run folder holding this state as its only checkpoint.
    let run = tempfile::tempdir().unwrap();
    let checkpoint = run.path().join("checkpoints/epoch-1");
    std::fs::create_dir_all(&checkpoint).unwrap();
    state.save(&checkpoint).unwrap();
    let info = serde_json::json!({"epochs_done": 1, "folder": "epoch-1", "metrics_bytes": 0, "wall_s": 0.0});
    data::run::write_json(&run.path().join("checkpoints/latest.json"), &info).unwrap();
    let saved = serde_json::json!({ "config": config });
    data::run::write_json(&run.path().join("config.json"), &saved).unwrap();

    device.seed(2);
    let restored = GanState::new(&config, &device).load(&checkpoint).unwrap();
    assert_eq!(sampled(&state), sampled(&restored));
    assert_eq!(restored.generator_average.as_ref().unwrap().updates, 3);
    // What `load_generator` (and so `sample`, `evaluate`, `ship`) reads is the average.
    let (_, loaded) = load_generator(run.path(), &Device::flex()).unwrap();
    assert_eq!(
        data::figure::tensor_values(loaded.forward(z.clone())),
        sampled(&state)
    );
}

/// A thinned epoch record places each window mean at the middle of the steps it averages
/// and still knows how many steps the epoch had.
#[test]
fn thinned_records_keep_the_step_axis() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let record = |n: usize| crate::epoch::EpochRecord {
        steps: (0..n)
            .map(|i| crate::train::StepStats {
                d_loss: i as f64,
                ..Default::default()
            })
            .collect(),
        step_stride: 1,
        ..Default::default()
    };
    let line = |r: &crate::epoch::EpochRecord| serde_json::to_string(r).unwrap();
    std::fs::write(
        &path,
        format!("{}\n{}\n", line(&record(7)), line(&record(2))),
    )
    .unwrap();
    data::run::thin_step_records(&path, 3).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let thinned: Vec<crate::epoch::EpochRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let placed: Vec<(f64, f64)> = thinned[0]
        .positioned_steps()
        .map(|(x, s)| (x, s.d_loss))
        .collect();
    assert_eq!(placed, vec![(2.0, 1.0), (5.0, 4.0), (7.0, 6.0)]);
    assert_eq!(thinned[0].step_count(), 7);
    assert_eq!(thinned[1].step_count(), 2);
    let whole: Vec<f64> = thinned[1].positioned_steps().map(|(x, _)| x).collect();
    assert_eq!(whole, vec![1.0, 2.0]);
}

/// Every shipped GAN run, its config read into today's `TrainConfig` (fields added since at
/// their defaults) and written back, is found again as a shipped run: experiments that ask for
/// those configs load the shipped weights instead of retraining.
#[test]
fn every_shipped_run_is_found_by_its_config_as_this_code_writes_it() {
    let root = data::run::pretrained_dir().join("gan");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let (config, _): (TrainConfig, _) = data::run::load_latest(&dir, "gan").unwrap();
        let found = data::run::shipped_with_config("gan", &config);
        let found_config = found.map(|f| data::run::load_latest::<TrainConfig>(&f, "gan"));
        let same = |found: TrainConfig| {
            serde_json::to_value(found).unwrap() == serde_json::to_value(&config).unwrap()
        };
        assert!(
            found_config.is_some_and(|f| same(f.unwrap().0)),
            "{} is not found by its own config",
            dir.display()
        );
        checked += 1;
    }
    assert!(checked >= 16, "{checked} shipped runs");
}

#[test]
fn label_smoothing_and_dcgan_dropout_are_refused_out_of_range() {
    use crate::loss::GanLoss;
    let refused = |config: TrainConfig, field: &str| {
        let error = config.validate().expect_err(field).to_string();
        assert!(error.contains(field), "{error}");
    };
    refused(tiny_config().with_real_label(Some(0.3)), "real_label");
    refused(tiny_config().with_real_label(Some(f64::NAN)), "real_label");
    refused(
        (tiny_config().with_real_label(Some(0.9))).with_loss(GanLoss::Hinge),
        "real_label",
    );
    let mut dropout = tiny_config();
    dropout.model.dcgan_dropout = Some(1.5);
    refused(dropout, "model.dcgan_dropout");
    let smoothed = tiny_config().with_real_label(Some(0.9));
    assert!(smoothed.validate().is_ok());
}
