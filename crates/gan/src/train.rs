//! Alternating GAN training: per batch, `discriminator_steps` updates of D on real images and
//! detached fakes, then one update of G through D, each player with its own Adam.

use std::path::Path;

use anyhow::Context;
use burn::config::Config;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use data::figure::{digit_grid, save_png};
use data::{ImageBatcher, ImageSet, ImageTransform, Run, Scale, SelectedDevice, epoch_batches};
use eval::{Evaluator, SampleScores};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::loss::GanLoss;
use crate::model::{Backbone, Discriminator, GanConfig, Generator};

/// Everything a training run depends on; saved in the run's `config.json`.
#[derive(Config, Debug)]
pub struct TrainConfig {
    pub model: GanConfig,
    #[config(default = "GanLoss::NonSaturating")]
    pub loss: GanLoss,
    /// The range real images are shown to D in. The generator always ends in `tanh`, so
    /// anything but [-1, 1] lets D tell real from fake by the sign of a pixel alone (the
    /// course's script used [0, 1]).
    #[config(default = "Scale::MinusOneOne")]
    pub real_scale: Scale,
    #[config(default = 128)]
    pub batch_size: usize,
    #[config(default = 30)]
    pub epochs: usize,
    #[config(default = 2e-4)]
    pub generator_learning_rate: f64,
    #[config(default = 2e-4)]
    pub discriminator_learning_rate: f64,
    /// Adam's beta1 for both players (0.5 as in the DCGAN paper: momentum makes the game
    /// oscillate).
    #[config(default = 0.5)]
    pub beta1: f64,
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Discriminator updates per generator update.
    #[config(default = 1)]
    pub discriminator_steps: usize,
    #[config(default = 0)]
    pub seed: u64,
    /// Train on the first N training images only (0 = all 60,000).
    #[config(default = 0)]
    pub train_limit: usize,
    /// Samples scored by the eval classifier after each epoch (FID, classes); 0 = none.
    #[config(default = 10_000)]
    pub eval_samples: usize,
}

/// Named starting points; every field can still be overridden on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The course's script: latent 10, batch 512, Adam 1e-3 (0.5, 0.999), 50 epochs, the
    /// non-saturating loss, real images in [0, 1] while G ends in tanh.
    Course,
    /// Images in [-1, 1], latent 100, batch 128, Adam 2e-4, 30 epochs (DCGAN paper settings).
    Tuned,
}

impl Preset {
    pub fn config(self, backbone: Backbone) -> TrainConfig {
        match self {
            Preset::Course => TrainConfig::new(GanConfig::new(backbone).with_latent(10))
                .with_real_scale(Scale::ZeroOne)
                .with_batch_size(512)
                .with_epochs(50)
                .with_generator_learning_rate(1e-3)
                .with_discriminator_learning_rate(1e-3),
            Preset::Tuned => TrainConfig::new(
                GanConfig::new(backbone).with_dcgan_init(backbone != Backbone::Mlp),
            ),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Course => "course",
            Preset::Tuned => "tuned",
        }
    }
}

impl TrainConfig {
    pub fn transform(&self) -> ImageTransform {
        ImageTransform {
            scale: self.real_scale,
            seed: self.seed,
            ..Default::default()
        }
    }

    fn adam(&self) -> ModuleOptimizer {
        AdamConfig::new()
            .with_beta_1(self.beta1 as f32)
            .with_beta_2(self.beta2 as f32)
            .with_epsilon(1e-8)
            .init()
    }
}

/// Both players and their optimisers: what a checkpoint holds.
pub struct GanState {
    pub generator: Generator,
    pub discriminator: Discriminator,
    generator_optimizer: ModuleOptimizer,
    discriminator_optimizer: ModuleOptimizer,
}

impl data::Checkpointable for GanState {
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        data::run::save_module(dir, "generator", &self.generator)?;
        data::run::save_module(dir, "discriminator", &self.discriminator)?;
        data::run::save_optimizer(dir, "generator-optimizer", &self.generator_optimizer)?;
        data::run::save_optimizer(
            dir,
            "discriminator-optimizer",
            &self.discriminator_optimizer,
        )
    }

    fn load(self, dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            generator: data::run::load_module(dir, "generator", self.generator)?,
            discriminator: data::run::load_module(dir, "discriminator", self.discriminator)?,
            generator_optimizer: data::run::load_optimizer(
                dir,
                "generator-optimizer",
                self.generator_optimizer,
            )?,
            discriminator_optimizer: data::run::load_optimizer(
                dir,
                "discriminator-optimizer",
                self.discriminator_optimizer,
            )?,
        })
    }
}

/// What one training step measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    pub d_loss: f64,
    pub g_loss: f64,
    /// Mean D(x) on the real batch (before D's update).
    pub d_real: f64,
    /// Mean D(G(z)) on the fakes (before D's update).
    pub d_fake: f64,
    /// Fraction of real images D calls real (logit > 0).
    pub accuracy_real: f64,
    /// Fraction of fakes D calls fake.
    pub accuracy_fake: f64,
    /// L2 norm of all of D's parameter gradients (its last update of the step).
    pub grad_norm_d: f64,
    /// L2 norm of all of G's parameter gradients: how much signal reaches the generator.
    pub grad_norm_g: f64,
}

/// Sums the squares of every parameter gradient a module has in `grads`.
struct GradientNorm<'a> {
    grads: &'a Gradients,
    squares: Vec<Tensor<1>>,
}

impl ModuleVisitor for GradientNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = param.val().grad(self.grads) {
            self.squares.push(grad.powi_scalar(2).sum());
        }
    }
}

/// The L2 norm of a module's gradients, as a one-element tensor (read later with the other
/// figures of the step, to wait for the device once).
fn gradient_norm<M: Module>(module: &M, grads: &Gradients) -> Tensor<1> {
    let mut visitor = GradientNorm {
        grads,
        squares: Vec::new(),
    };
    module.visit(&mut visitor);
    Tensor::cat(visitor.squares, 0).sum().sqrt()
}

/// Backpropagates `loss` and takes one optimiser step on `module`'s parameters; returns
/// the updated module and the norm of its gradients.
fn descend<M: Module>(
    module: M,
    optimizer: &mut ModuleOptimizer,
    learning_rate: f64,
    loss: &Tensor<1>,
) -> (M, Tensor<1>) {
    let grads = loss.backward();
    let norm = gradient_norm(&module, &grads);
    let grads = GradientsParams::from_grads(grads, &module);
    (optimizer.step(learning_rate, module, grads), norm)
}

impl GanState {
    /// Fresh players on `device` (an autodiff device), initialised from the device's stream.
    pub fn new(config: &TrainConfig, device: &Device) -> Self {
        Self {
            generator: config.model.init_generator(device),
            discriminator: config.model.init_discriminator(device),
            generator_optimizer: config.adam(),
            discriminator_optimizer: config.adam(),
        }
    }

    /// One D update on `real` and a batch of fakes; returns the loss, the logits and D's
    /// gradient norm.
    fn discriminator_step(
        &mut self,
        config: &TrainConfig,
        real: Tensor<2>,
        fake: Tensor<2>,
    ) -> (Tensor<1>, Tensor<2>, Tensor<2>, Tensor<1>) {
        let real_logits = self.discriminator.forward(real);
        let fake_logits = self.discriminator.forward(fake);
        let loss = config
            .loss
            .discriminator(real_logits.clone(), fake_logits.clone());
        let norm;
        (self.discriminator, norm) = descend(
            self.discriminator.clone(),
            &mut self.discriminator_optimizer,
            config.discriminator_learning_rate,
            &loss,
        );
        (
            loss.detach(),
            real_logits.detach(),
            fake_logits.detach(),
            norm,
        )
    }

    /// One training step on a batch of real images (on the autodiff device). The latent
    /// codes are drawn from `noise_seed` (see [`fixed_latent`]), so a step is reproducible
    /// whatever else uses the device's random stream.
    pub fn step(&mut self, real: Tensor<2>, config: &TrainConfig, noise_seed: u64) -> StepStats {
        let device = real.device();
        let [batch, _] = real.dims();
        let latent = |k: u64| fixed_latent(batch, config.model.latent, noise_seed ^ k, &device);
        // One generator forward serves both players, as in PyTorch's DCGAN example: D sees
        // it detached, G's update reuses its graph.
        let fake = self.generator.forward(latent(0));
        let (mut d_loss, real_logits, fake_logits, mut d_norm) =
            self.discriminator_step(config, real.clone(), fake.clone().detach());
        for k in 1..config.discriminator_steps {
            let extra = self.generator.forward(latent(k as u64)).detach();
            (d_loss, _, _, d_norm) = self.discriminator_step(config, real.clone(), extra);
        }

        let g_loss = config.loss.generator(self.discriminator.forward(fake));
        // The backward also reaches D's parameters; only G's gradients are used.
        let g_norm;
        (self.generator, g_norm) = descend(
            self.generator.clone(),
            &mut self.generator_optimizer,
            config.generator_learning_rate,
            &g_loss,
        );

        let positive = |t: Tensor<2>| t.greater_elem(0.0).float().mean();
        let figures = Tensor::cat(
            vec![
                d_loss.inner(),
                g_loss.detach().inner(),
                sigmoid(real_logits.clone()).mean().inner(),
                sigmoid(fake_logits.clone()).mean().inner(),
                positive(real_logits).inner(),
                (-positive(fake_logits)).add_scalar(1.0).inner(),
                d_norm,
                g_norm,
            ],
            0,
        );
        let v: Vec<f64> = data::figure::tensor_values(figures)
            .into_iter()
            .map(f64::from)
            .collect();
        StepStats {
            d_loss: v[0],
            g_loss: v[1],
            d_real: v[2],
            d_fake: v[3],
            accuracy_real: v[4],
            accuracy_fake: v[5],
            grad_norm_d: v[6],
            grad_norm_g: v[7],
        }
    }
}

/// Latent codes drawn on the CPU from `seed` (independent of the device's stream), so the
/// same seed gives the same codes on every backend and at every epoch.
pub fn fixed_latent(count: usize, latent: usize, seed: u64, device: &Device) -> Tensor<2> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let values: Vec<f32> = (0..count * latent)
        .map(|_| eval::reference::standard_normal(&mut rng))
        .collect();
    Tensor::from_data(TensorData::new(values, [count, latent]), device)
}

/// Samples of a generator in evaluation mode (batch norm on running statistics, no
/// dropout), `[count, 784]` in (-1, 1), from codes drawn from `seed`.
pub fn sample(
    generator: &Generator,
    latent: usize,
    count: usize,
    seed: u64,
    device: &Device,
) -> Tensor<2> {
    let generator = generator.valid();
    let chunks: Vec<Tensor<2>> = (0..count.div_ceil(1000))
        .map(|i| {
            let rows = 1000.min(count - i * 1000);
            generator.forward(fixed_latent(
                rows,
                latent,
                seed.wrapping_add(i as u64),
                device,
            ))
        })
        .collect();
    Tensor::cat(chunks, 0)
}

/// How a generator's samples are read as images: in the range of the real data it was
/// trained against (a [0, 1]-trained generator's negative outputs are clamped to black).
pub fn score_samples(
    evaluator: &Evaluator,
    samples: Tensor<2>,
    config: &TrainConfig,
) -> SampleScores {
    evaluator.score_tensor(samples, config.real_scale)
}

/// Means of the step figures over one epoch, and every step's figures.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EpochRecord {
    pub mean: StepStats,
    pub steps: Vec<StepStats>,
    /// Wall time of the epoch's updates (not of the evaluation).
    pub train_seconds: f64,
    pub images_per_second: f64,
    /// Eval metrics of `eval_samples` samples, when scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<SampleScores>,
    /// Fraction of generated pixels below 0: the part of tanh's range a [0, 1] data set
    /// never uses.
    pub negative_pixel_fraction: f64,
}

/// Trains one epoch over `train` on the autodiff `device`.
pub fn train_epoch(
    state: &mut GanState,
    epoch: usize,
    train: &ImageSet,
    config: &TrainConfig,
    device: &Device,
) -> EpochRecord {
    // Dropout masks come from the device's stream.
    device.seed(data::run::epoch_seed(config.seed, epoch));
    let batcher = ImageBatcher::new(config.transform()).for_epoch(epoch as u64);
    let batches = epoch_batches(
        train.len(),
        config.batch_size,
        true,
        true,
        config.seed,
        epoch as u64,
    );
    let mut progress =
        data::progress::Progress::new(format!("epoch {}", epoch + 1), batches.len() as u64);
    let started = std::time::Instant::now();
    let epoch_seed = data::run::epoch_seed(config.seed, epoch);
    let steps: Vec<StepStats> = batches
        .iter()
        .enumerate()
        .map(|(i, indices)| {
            let real = batcher.batch_indices(train, indices, device).images;
            let noise_seed =
                epoch_seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let stats = state.step(real, config, noise_seed);
            progress.inc(1);
            stats
        })
        .collect();
    let train_seconds = started.elapsed().as_secs_f64();
    progress.finish();
    EpochRecord {
        mean: mean_stats(&steps),
        train_seconds,
        images_per_second: (steps.len() * config.batch_size) as f64 / train_seconds,
        steps,
        scores: None,
        negative_pixel_fraction: 0.0,
    }
}

fn mean_stats(steps: &[StepStats]) -> StepStats {
    let n = steps.len().max(1) as f64;
    let mut mean = StepStats::default();
    for s in steps {
        mean.d_loss += s.d_loss / n;
        mean.g_loss += s.g_loss / n;
        mean.d_real += s.d_real / n;
        mean.d_fake += s.d_fake / n;
        mean.accuracy_real += s.accuracy_real / n;
        mean.accuracy_fake += s.accuracy_fake / n;
        mean.grad_norm_d += s.grad_norm_d / n;
        mean.grad_norm_g += s.grad_norm_g / n;
    }
    mean
}

/// Fraction of values below zero.
pub fn negative_fraction(samples: &[f32]) -> f64 {
    samples.iter().filter(|&&v| v < 0.0).count() as f64 / samples.len().max(1) as f64
}

/// The fixed-noise grid written after every epoch: 8 x 8 samples, in the data's range.
pub fn sample_grid(generator: &Generator, config: &TrainConfig, device: &Device) -> Vec<f32> {
    let samples = sample(
        generator,
        config.model.latent,
        64,
        config.seed ^ 0xF1,
        device,
    );
    unit_values(samples, config.real_scale)
}

/// Sample values mapped to [0, 1] as the data's range reads them.
pub fn unit_values(samples: Tensor<2>, scale: Scale) -> Vec<f32> {
    data::figure::tensor_values(samples)
        .into_iter()
        .map(|v| scale.to_unit(v))
        .collect()
}

/// Trains `config` in `run` (resuming it if the run was opened with `--resume`): after every
/// epoch a fixed-noise grid goes to `<run>/samples/epoch-NNN.png` and, with an evaluator,
/// `eval_samples` samples are scored. Returns the trained players.
pub fn train_run(
    run: &mut Run,
    config: &TrainConfig,
    train: &ImageSet,
    evaluator: Option<&Evaluator>,
    selected: &SelectedDevice,
) -> anyhow::Result<GanState> {
    let device = selected.autodiff();
    let plain = selected.device.clone();
    device.seed(config.seed);
    let samples_dir = run.dir.join("samples");
    std::fs::create_dir_all(&samples_dir)?;
    let initial = GanState::new(config, &device);
    run.train_epochs(initial, config.epochs, |state, epoch| {
        let mut record = train_epoch(state, epoch, train, config, &device);
        let grid = sample_grid(&state.generator, config, &plain);
        let path = samples_dir.join(format!("epoch-{:03}.png", epoch + 1));
        save_png(&digit_grid(&grid, 8, None), &path)?;
        if let Some(evaluator) = evaluator.filter(|_| config.eval_samples > 0) {
            let samples = sample(
                &state.generator,
                config.model.latent,
                config.eval_samples,
                EVAL_SEED,
                &plain,
            );
            let values = data::figure::tensor_values(samples);
            record.negative_pixel_fraction = negative_fraction(&values);
            record.scores = Some(evaluator.score(&values, config.real_scale));
        }
        Ok(serde_json::to_value(record)?)
    })
}

/// Seed of the latent codes every evaluation draws: the same codes after every epoch.
pub const EVAL_SEED: u64 = 0xE7A1;

/// The config and trained generator of the run in `dir` (its newest checkpoint), on `device`.
pub fn load_generator(dir: &Path, device: &Device) -> anyhow::Result<(TrainConfig, Generator)> {
    let saved: serde_json::Value = data::run::read_json(&dir.join("config.json"))?;
    let config: TrainConfig = serde_json::from_value(saved["config"].clone())
        .with_context(|| format!("{}: not a GAN run config", dir.display()))?;
    let checkpoint = data::run::latest_checkpoint(dir)?
        .with_context(|| format!("{} has no checkpoint yet", dir.display()))?;
    let generator = data::run::load_module(
        &dir.join("checkpoints").join(&checkpoint.folder),
        "generator",
        config.model.init_generator(device),
    )?;
    Ok((config, generator))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use data::Checkpointable;

    #[test]
    fn the_gradient_norm_is_the_l2_norm_of_every_parameter_gradient() {
        let device = Device::flex().autodiff();
        let linear = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [1, 3]), &device);
        // d sum(xW + b) / dW = x for each of the 2 outputs, d / db = 1: norm^2 = 2 * 14 + 2.
        let grads = linear.forward(x).sum().backward();
        let norm = gradient_norm(&linear, &grads).into_scalar::<f32>();
        assert!((norm - 30f32.sqrt()).abs() < 1e-5, "{norm}");
    }

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
        let z = fixed_latent(4, 4, 9, &device);
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
        let z = fixed_latent(3, 4, 5, &device);
        let x = real_batch(&device);
        let g = |s: &GanState| data::figure::tensor_values(s.generator.valid().forward(z.clone()));
        let d =
            |s: &GanState| data::figure::tensor_values(s.discriminator.valid().forward(x.clone()));
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
}
