//! The training step, checkpoints, sampling and the command line of the diffusion model,
//! on a tiny network and synthetic images (no data set needed).

use burn::tensor::{Device, Tensor};
use data::Checkpointable;

use crate::diffusion::pure_noise;
use crate::sample::{Request, Sampler, sample, unit_values};
use crate::train::{DiffusionState, TrainConfig};
use crate::unet::UNetConfig;

fn tiny() -> TrainConfig {
    TrainConfig::new(
        UNetConfig::new()
            .with_base_channels(8)
            .with_groups(4)
            .with_time_embedding(16),
    )
    .with_diffusion_steps(50)
    .with_batch_size(4)
    .with_ema_decay(0.5)
}

fn images(device: &Device) -> Tensor<4> {
    pure_noise(4, 11, device).clamp(-1.0, 1.0)
}

#[test]
fn steps_lower_the_loss_on_a_batch_and_move_the_average() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let config = tiny().with_learning_rate(2e-3);
    let schedule = config.noise_schedule();
    let mut state = DiffusionState::new(&config, &device);
    let x = images(&device);
    let loss = |s: &mut DiffusionState| {
        f64::from(
            s.step(x.clone(), &[0, 1, 2, 3], &config, &schedule, 7)
                .into_scalar::<f32>(),
        )
    };
    let first = loss(&mut state);
    let mut last = first;
    for _ in 0..30 {
        last = loss(&mut state);
    }
    assert!(last < 0.7 * first, "{first} -> {last}");
    assert_eq!(state.ema.updates, 31);
}

#[test]
fn a_checkpoint_restores_the_network_its_average_and_its_optimiser() {
    let device = Device::flex().autodiff();
    device.seed(2);
    let config = tiny();
    let schedule = config.noise_schedule();
    let mut state = DiffusionState::new(&config, &device);
    state.step(images(&device), &[1, 2, 3, 4], &config, &schedule, 1);
    let dir = tempfile::tempdir().unwrap();
    state.save(dir.path()).unwrap();
    device.seed(3);
    let mut restored = DiffusionState::new(&config, &device)
        .load(dir.path())
        .unwrap();
    assert_eq!(restored.ema.updates, state.ema.updates);
    let a = state.step(images(&device), &[5, 6, 7, 8], &config, &schedule, 2);
    let b = restored.step(images(&device), &[5, 6, 7, 8], &config, &schedule, 2);
    assert_eq!(
        data::figure::tensor_values(a),
        data::figure::tensor_values(b)
    );
    let draw = |s: &DiffusionState| {
        let request = Request {
            classes: vec![3],
            guidance: 2.0,
            sampler: Sampler::Ddim { steps: 3 },
            seed: 4,
        };
        unit_values(sample(
            &s.ema.model,
            &schedule,
            10,
            &request,
            &Device::flex(),
        ))
    };
    assert_eq!(draw(&state), draw(&restored));
}

#[test]
fn samples_are_images_in_range_reproducible_and_guidance_matters() {
    let device = Device::flex();
    device.seed(4);
    let config = tiny();
    let model = config.model.init(&device);
    let schedule = config.noise_schedule();
    let draw = |guidance: f64, sampler: Sampler| {
        let request = Request {
            classes: vec![0, 9],
            guidance,
            sampler,
            seed: 5,
        };
        sample(&model, &schedule, 10, &request, &device)
    };
    let ddim = draw(2.0, Sampler::Ddim { steps: 4 });
    assert_eq!(ddim.dims(), [2, 1, 28, 28]);
    let values = data::figure::tensor_values(ddim);
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(
        values,
        data::figure::tensor_values(draw(2.0, Sampler::Ddim { steps: 4 }))
    );
    assert_ne!(
        values,
        data::figure::tensor_values(draw(1.0, Sampler::Ddim { steps: 4 }))
    );
    assert_eq!(draw(1.0, Sampler::Ddpm).dims(), [2, 1, 28, 28]);
    assert!(
        unit_values(draw(0.0, Sampler::Ddim { steps: 2 }))
            .iter()
            .all(|v| (0.0..=1.0).contains(v))
    );
}

/// The shipped weights load without the data set, and the Fashion-MNIST classifier reads
/// most of a few guided samples of each class as that class (the shipped model scores
/// 98% on 200 such samples; 10 DDIM steps here keep the test short).
#[test]
fn the_shipped_weights_sample_the_asked_classes() {
    let device = Device::flex();
    let run = crate::tasks::run_or_shipped(None).unwrap();
    let (config, model) = crate::tasks::load_model(&run, &device).unwrap();
    let per_class = 2;
    let pixels = crate::tasks::class_grid(
        &model,
        &config,
        per_class,
        (2.0, Sampler::Ddim { steps: 10 }, 5),
        &device,
    );
    let (classifier, _) = eval::train::load_classifier(
        &data::run::pretrained_dir(),
        data::DataSetName::FashionMnist,
        &device,
    )
    .unwrap();
    let n = pixels.len() / data::PIXELS;
    let logits = classifier
        .forward(Tensor::<1>::from_floats(pixels.as_slice(), &device).reshape([n, data::PIXELS]));
    let asked: Vec<usize> = (0..n).map(|i| i / per_class).collect();
    // The arg-max of the logits is that of the probabilities.
    let accuracy = crate::evaluate::class_accuracy(&data::figure::tensor_values(logits), &asked);
    assert!(accuracy >= 0.8, "class accuracy {accuracy} of {n} samples");
}

/// `train --preset full` reproduces the shipped weights: its config is theirs.
#[test]
fn the_full_preset_is_the_config_of_the_shipped_weights() {
    let full = crate::train::Preset::Full.config();
    assert!(data::run::shipped_with_config("creative", &full).is_some());
    let other = full.with_learning_rate(1e-3);
    assert!(data::run::shipped_with_config("creative", &other).is_none());
}

#[test]
fn steps_pick_the_sampler_and_a_negative_guidance_is_refused() {
    use crate::sample::SamplingArgs;
    let args = |guidance, steps| SamplingArgs {
        guidance,
        steps,
        seed: 0,
    };
    assert_eq!(args(2.0, 0).sampler().unwrap(), Sampler::Ddpm);
    assert_eq!(
        args(2.0, 25).sampler().unwrap(),
        Sampler::Ddim { steps: 25 }
    );
    let err = args(-1.0, 25).sampler().unwrap_err();
    assert!(err.to_string().contains("--guidance"), "{err}");
}
