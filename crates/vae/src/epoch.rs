//! Training epochs and what is measured after each: the test ELBO and its two terms, the
//! eval scores of prior samples, and (when asked) the importance-sampled test likelihood.

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use data::run::{Resumed, epoch_progress};
use data::scaffold::{fixed_normal, in_chunks};
use data::{
    BatchOrder, Binarise, ImageBatcher, ImageSet, ImageTransform, Run, SelectedDevice,
    train_batches,
};
use eval::{Evaluator, SampleScores};
use serde::{Deserialize, Serialize};

use crate::importance::{LikelihoodEstimate, estimate};
use crate::loss::elbo_terms;
use crate::model::Vae;
use crate::train::{StepStats, TrainConfig, VaeState};

/// Seed of the one binary sample of the test digits every evaluation uses: the likelihoods
/// of all models and epochs are of the same binary images.
pub const TEST_BINARISATION_SEED: u64 = 0x7E57;
/// Seed of the prior codes of every evaluation.
pub const EVAL_SEED: u64 = 0xE7A1;

/// One epoch as logged in `metrics.jsonl` (the hooks add the optional fields).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Means of the step figures over the epoch.
    pub mean: StepStats,
    pub learning_rate: f64,
    /// KL weight at the end of the epoch.
    pub kl_weight: f64,
    pub train_seconds: f64,
    pub images_per_second: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<TestElbo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<SampleScores>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<LikelihoodEstimate>,
}

/// The ELBO of test digits and its terms, nats per image (one posterior sample each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TestElbo {
    pub elbo: f64,
    pub reconstruction: f64,
    pub kl: f64,
    pub images: usize,
}

/// The first `count` test digits (all if 0) as a `[n, 784]` tensor of the fixed binary
/// sample every likelihood is measured on.
pub fn binarised_test(test: &ImageSet, count: usize, device: &Device) -> Tensor<2> {
    let n = if count == 0 {
        test.len()
    } else {
        count.min(test.len())
    };
    let batcher = ImageBatcher::new(ImageTransform {
        binarise: Binarise::Stochastic,
        seed: TEST_BINARISATION_SEED,
        ..Default::default()
    });
    let indices: Vec<usize> = (0..n).collect();
    batcher.batch_indices(test, &indices, device).images
}

/// The ELBO terms of `images`, 1000 at a time, in evaluation mode.
pub fn test_elbo(model: &Vae, images: Tensor<2>, seed: u64) -> TestElbo {
    let [n, _] = images.dims();
    let device = images.device();
    let latent = model.encode(images.clone().narrow(0, 0, 1)).mean.dims()[1];
    let (mut reconstruction, mut kl) = (0.0, 0.0);
    for first in (0..n).step_by(1000) {
        let rows = 1000.min(n - first);
        let eps = fixed_normal(rows, latent, seed.wrapping_add(first as u64), &device);
        let terms = elbo_terms(model, images.clone().narrow(0, first, rows), eps);
        let sums = data::figure::tensor_values(Tensor::cat(
            vec![terms.reconstruction.sum(), terms.kl.sum()],
            0,
        ));
        reconstruction += f64::from(sums[0]);
        kl += f64::from(sums[1]);
    }
    let (reconstruction, kl) = (reconstruction / n as f64, kl / n as f64);
    TestElbo {
        elbo: -(reconstruction + kl),
        reconstruction,
        kl,
        images: n,
    }
}

/// `count` decoded prior samples `[count, 784]`: the Bernoulli means sigmoid(logits), the
/// images a VAE is usually shown (and scored) by, from codes drawn from `seed`.
pub fn sample_means(
    model: &Vae,
    latent: usize,
    count: usize,
    seed: u64,
    device: &Device,
) -> Tensor<2> {
    in_chunks(count, 1000, |rows, i| {
        sigmoid(model.decode(fixed_normal(
            rows,
            latent,
            seed.wrapping_add(i as u64),
            device,
        )))
    })
}

/// Trains one epoch over `train` on the autodiff `device`.
pub fn train_epoch(
    state: &mut VaeState,
    epoch: usize,
    train: &ImageSet,
    config: &TrainConfig,
    device: &Device,
) -> EpochRecord {
    let batcher = ImageBatcher::new(config.transform()).for_epoch(epoch as u64);
    let learning_rate = config.learning_rate_at(epoch);
    let n = train.len() / config.batch_size;
    let order = BatchOrder::shuffled_full(config.batch_size, config.seed);
    let pass = train_batches(train.len(), order, epoch, |i, indices| {
        let images = batcher.batch_indices(train, indices, device).images;
        let kl_weight = config.kl_weight_at(epoch as f64 + (i + 1) as f64 / n.max(1) as f64);
        let noise_seed = data::seed::step_seed(config.seed, epoch, i);
        (
            state.step(images, config, learning_rate, kl_weight, noise_seed),
            kl_weight,
        )
    });
    let (train_seconds, images_per_second, steps) =
        (pass.seconds, pass.images_per_second, pass.results);
    let count = steps.len().max(1) as f64;
    let mut mean = StepStats::default();
    for (s, _) in &steps {
        mean.loss += s.loss / count;
        mean.reconstruction += s.reconstruction / count;
        mean.kl += s.kl / count;
        mean.grad_norm += s.grad_norm / count;
    }
    let kl_weight = steps.last().map_or(config.kl_weight, |(_, w)| *w);
    EpochRecord {
        mean,
        learning_rate,
        kl_weight,
        train_seconds,
        images_per_second,
        ..Default::default()
    }
}

/// Trains `config` in `run` (resuming it if the run was opened with `--resume`); after every
/// epoch a grid of prior samples goes to `<run>/samples/epoch-NNN.png` and the test ELBO,
/// the sample scores (with an evaluator) and the importance-sampled likelihood are logged
/// as the config asks. Returns the trained state.
pub fn train_run(
    run: &mut Run,
    config: &TrainConfig,
    train: &ImageSet,
    test: &ImageSet,
    evaluator: Option<&Evaluator>,
    selected: &SelectedDevice,
) -> anyhow::Result<VaeState> {
    let device = selected.autodiff();
    let plain = selected.device.clone();
    device.seed(config.seed);
    let latent = config.model.latent;
    let test_images =
        (config.test_images > 0).then(|| binarised_test(test, config.test_images, &plain));
    let Resumed {
        mut state,
        first_epoch,
    } = run.resume(VaeState::new(config, &device), config.epochs)?;
    let mut progress = epoch_progress(first_epoch, config.epochs);
    for epoch in first_epoch..config.epochs {
        let mut record = train_epoch(&mut state, epoch, train, config, &device);
        data::run::ensure_not_diverged(epoch, &[("loss", record.mean.loss)])?;
        let model = state.model.valid();
        let grid = sample_means(&model, latent, 64, config.seed ^ 0xF1, &plain);
        run.save_sample_grid(epoch, &data::figure::tensor_values(grid), 8)?;
        record.test = (test_images.as_ref()).map(|x| test_elbo(&model, x.clone(), EVAL_SEED));
        let scored = evaluator.filter(|_| config.eval_samples > 0).map(|e| {
            let samples = sample_means(&model, latent, config.eval_samples, EVAL_SEED, &plain);
            e.score_tensor(samples, data::Scale::ZeroOne)
        });
        record.scores = scored.transpose()?;
        record.importance = (config.importance_samples > 0).then(|| {
            let x = binarised_test(test, config.importance_images, &plain);
            estimate(&model, x, config.importance_samples, EVAL_SEED, &plain)
        });
        run.end_epoch(epoch, config.epochs, &state, &record, &mut progress)?;
    }
    progress.finish();
    Ok(state)
}
