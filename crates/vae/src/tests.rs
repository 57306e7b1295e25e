//! Known values of the ELBO's terms, gradients against their closed forms, the importance
//! estimate against quadrature, and the training step, checkpoints and auto-encoder stages.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use data::Checkpointable;

use crate::autoencoder::{AutoencoderConfig, AutoencoderState};
use crate::importance::{LikelihoodEstimate, log_likelihoods};
use crate::loss::{bernoulli_log_likelihood, gaussian_kl, log_normal, log_standard_normal};
use crate::model::{Backbone, Posterior, VaeConfig};
use crate::train::{TrainConfig, VaeState};

fn tensor(values: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    data::figure::tensor_values(t)
}

#[test]
fn the_kl_term_is_the_closed_form_and_zero_only_at_the_prior() {
    let device = Device::flex();
    let posterior = Posterior {
        mean: tensor(&[1.0, 0.0, 0.0, 0.0], [2, 2], &device),
        log_variance: tensor(&[0.0, 2f32.ln(), 0.0, 0.0], [2, 2], &device),
    };
    // Row 1: 1/2 (1 + 0 - 1 - 0) ... per dimension 1/2 (m^2 + s^2 - 1 - ln s^2):
    // 1/2 (1 + 1 - 1 - 0) + 1/2 (0 + 2 - 1 - ln 2) = 0.5 + 0.5 - ln(2) / 2.
    let kl = values(gaussian_kl(&posterior));
    assert!((kl[0] - (1.0 - 0.5 * 2f32.ln())).abs() < 1e-6, "{kl:?}");
    assert_eq!(kl[1], 0.0);
}

#[test]
fn the_bernoulli_term_matches_its_definition_and_stays_finite_at_extreme_logits() {
    let device = Device::flex();
    let logits = [-3.0f32, -0.5, 0.0, 2.0];
    let targets = [0.0f32, 1.0, 0.3, 1.0];
    let ll = values(bernoulli_log_likelihood(
        tensor(&logits, [1, 4], &device),
        tensor(&targets, [1, 4], &device),
    ))[0];
    let sigmoid = |l: f32| 1.0 / (1.0 + (-l).exp());
    let expected: f32 = logits
        .iter()
        .zip(&targets)
        .map(|(&l, &x)| x * sigmoid(l).ln() + (1.0 - x) * (1.0 - sigmoid(l)).ln())
        .sum();
    assert!((ll - expected).abs() < 1e-5, "{ll} vs {expected}");
    // log sigmoid(-200) = -200, not -inf; a confident right answer costs ~0.
    let extreme = values(bernoulli_log_likelihood(
        tensor(&[200.0, -200.0], [1, 2], &device),
        tensor(&[0.0, 1.0], [1, 2], &device),
    ))[0];
    assert!((extreme + 400.0).abs() < 1e-3, "{extreme}");
    let right = values(bernoulli_log_likelihood(
        tensor(&[200.0, -200.0], [1, 2], &device),
        tensor(&[1.0, 0.0], [1, 2], &device),
    ))[0];
    assert!(right.abs() < 1e-6, "{right}");
}

#[test]
fn autodiff_gradients_of_both_terms_are_their_closed_forms() {
    let device = Device::flex().autodiff();
    let raw = [-2.0f32, 0.3, 1.5];
    let x = [1.0f32, 0.0, 0.25];
    let logits = tensor(&raw, [1, 3], &device).require_grad();
    let grads = bernoulli_log_likelihood(logits.clone(), tensor(&x, [1, 3], &device))
        .sum()
        .backward();
    let g = values(logits.grad(&grads).unwrap());
    for i in 0..3 {
        // d/dl [x l - softplus(l)] = x - sigmoid(l)
        let expected = x[i] - 1.0 / (1.0 + (-raw[i]).exp());
        assert!((g[i] - expected).abs() < 1e-5, "{g:?}");
    }
    let mean = tensor(&[0.7, -1.2], [1, 2], &device).require_grad();
    let log_variance = tensor(&[0.4, -0.9], [1, 2], &device).require_grad();
    let posterior = Posterior {
        mean: mean.clone(),
        log_variance: log_variance.clone(),
    };
    let grads = gaussian_kl(&posterior).sum().backward();
    // dKL/dm = m, dKL/d(log s^2) = (s^2 - 1) / 2
    assert_eq!(values(mean.grad(&grads).unwrap()), vec![0.7, -1.2]);
    let gv = values(log_variance.grad(&grads).unwrap());
    for (g, lv) in gv.iter().zip([0.4f32, -0.9]) {
        assert!((g - 0.5 * (lv.exp() - 1.0)).abs() < 1e-6, "{gv:?}");
    }
}

#[test]
fn gaussian_log_densities_are_the_normal_density() {
    let device = Device::flex();
    let z = tensor(&[0.5, -1.0], [1, 2], &device);
    let standard = values(log_standard_normal(z.clone()))[0];
    let expected = -(0.25 + 1.0) / 2.0 - (2.0 * std::f32::consts::PI).ln();
    assert!((standard - expected).abs() < 1e-5);
    // N(z; m, s^2) with m = z gives -1/2 (ln s^2 + ln 2 pi) per dimension.
    let lv = 2f32.ln();
    let at_mean = values(log_normal(z.clone(), z, tensor(&[lv, lv], [1, 2], &device)))[0];
    assert!((at_mean + lv + (2.0 * std::f32::consts::PI).ln()).abs() < 1e-5);
}

#[test]
fn the_importance_estimate_approaches_the_quadrature_likelihood_and_exceeds_the_elbo() {
    // One latent dimension: log p(x) = log integral N(z) p(x|z) dz by a fine grid.
    let device = Device::flex();
    device.seed(5);
    let model = VaeConfig::new(Backbone::Mlp)
        .with_latent(1)
        .with_hidden(vec![16])
        .init(&device);
    let x = Tensor::<2>::random(
        [2, data::PIXELS],
        burn::tensor::Distribution::Bernoulli(0.2),
        &device,
    );
    let grid: Vec<f32> = (0..4001).map(|i| -8.0 + 16.0 * i as f32 / 4000.0).collect();
    let dz = 16.0f64 / 4000.0;
    let z = tensor(&grid, [grid.len(), 1], &device);
    let logits = model.decode(z.clone());
    let prior = values(log_standard_normal(z));
    let rows = x.clone().narrow(0, 0, 1).expand([grid.len(), data::PIXELS]);
    let log_px_z = values(bernoulli_log_likelihood(logits.clone(), rows));
    let terms: Vec<f64> = log_px_z
        .iter()
        .zip(&prior)
        .map(|(a, b)| f64::from(a + b) + dz.ln())
        .collect();
    let max = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exact = max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln();

    let iwae = log_likelihoods(&model, x.clone(), 20_000, 3, &device);
    assert!(
        (iwae[0] - exact).abs() < 0.5,
        "IWAE {} vs quadrature {exact}",
        iwae[0]
    );
    assert!(
        iwae[0] <= exact + 0.05,
        "the estimate is a lower bound in expectation"
    );
    let k1: Vec<f64> = (0..50u64)
        .map(|s| log_likelihoods(&model, x.clone().narrow(0, 0, 1), 1, s, &device)[0])
        .collect();
    let k1_mean = k1.iter().sum::<f64>() / k1.len() as f64;
    assert!(
        k1_mean < iwae[0],
        "k = 1 (the ELBO, {k1_mean}) below k = 20000 ({})",
        iwae[0]
    );
    // Reproducible from the seed, and summarised with its standard error.
    assert_eq!(
        log_likelihoods(&model, x.clone(), 7, 9, &device),
        log_likelihoods(&model, x, 7, 9, &device)
    );
    let summary = LikelihoodEstimate::from_values(&[-1.0, -3.0], 7);
    assert_eq!(
        (summary.mean, summary.standard_error, summary.images),
        (-2.0, 1.0, 2)
    );
}

fn tiny_config(backbone: Backbone) -> TrainConfig {
    TrainConfig::new(
        VaeConfig::new(backbone)
            .with_latent(3)
            .with_hidden(vec![16])
            .with_channels([4, 8]),
    )
    .with_batch_size(8)
}

#[test]
fn a_step_lowers_the_loss_on_its_batch_and_a_checkpoint_restores_the_optimiser() {
    for backbone in [Backbone::Mlp, Backbone::Conv] {
        let device = Device::flex().autodiff();
        device.seed(1);
        let config = tiny_config(backbone).with_learning_rate(1e-2);
        let mut state = VaeState::new(&config, &device);
        let batch = Tensor::<2>::random(
            [8, data::PIXELS],
            burn::tensor::Distribution::Bernoulli(0.3),
            &device,
        );
        let first = state.step(batch.clone(), &config, 1e-2, 1.0, 4);
        assert!(
            (first.loss - first.reconstruction - first.kl).abs() < 1e-3,
            "{first:?}"
        );
        assert!(first.kl >= 0.0 && first.grad_norm > 0.0);
        let mut last = first;
        for _ in 0..20 {
            last = state.step(batch.clone(), &config, 1e-2, 1.0, 4);
        }
        assert!(
            last.loss < 0.9 * first.loss,
            "{backbone:?}: {first:?} -> {last:?}"
        );

        let dir = tempfile::tempdir().unwrap();
        state.save(dir.path()).unwrap();
        device.seed(2);
        let mut restored = VaeState::new(&config, &device).load(dir.path()).unwrap();
        let a = state.step(batch.clone(), &config, 1e-2, 1.0, 5);
        let b = restored.step(batch, &config, 1e-2, 1.0, 5);
        assert_eq!(a, b, "{backbone:?}");
    }
}

#[test]
fn the_schedules_warm_up_the_kl_and_decay_the_learning_rate() {
    let config = tiny_config(Backbone::Mlp)
        .with_kl_warmup_epochs(4)
        .with_kl_weight(2.0)
        .with_learning_rate_decay(0.5);
    assert_eq!(config.kl_weight_at(0.0), 0.0);
    assert_eq!(config.kl_weight_at(1.0), 0.5);
    assert_eq!(config.kl_weight_at(10.0), 2.0);
    assert_eq!(config.learning_rate_at(2), config.learning_rate * 0.25);
    assert_eq!(config.with_kl_warmup_epochs(0).kl_weight_at(0.0), 2.0);
}

#[test]
fn greedy_stages_train_one_layer_and_leave_the_ones_below_unchanged() {
    let config = AutoencoderConfig::new()
        .with_widths(vec![data::PIXELS, 12, 4])
        .with_pretrain_epochs(1)
        .with_finetune_epochs(1)
        .with_batch_size(16);
    assert_eq!(config.epochs(), 3);
    assert_eq!(
        (config.stage(0), config.stage(1), config.stage(2)),
        (Some(0), Some(1), None)
    );
    let device = Device::flex().autodiff();
    device.seed(3);
    let pixels: Vec<u8> = (0..64 * data::PIXELS)
        .map(|i| ((i * 37) % 256) as u8)
        .collect();
    let train = data::ImageSet::from_parts(
        data::DataSetName::Mnist,
        data::Split::Train,
        pixels,
        vec![0; 64],
    );
    let mut state = AutoencoderState::new(&config, &device);
    let probe = Tensor::<2>::random(
        [4, data::PIXELS],
        burn::tensor::Distribution::Default,
        &device,
    );
    let first_layer = |s: &AutoencoderState| values(s.model.encode_to(probe.clone(), 1));
    let top = |s: &AutoencoderState| values(s.model.encode(probe.clone()));
    let (before_first, before_top) = (first_layer(&state), top(&state));
    let layer_1 = state.train_epoch(0, &train, &config, &device);
    assert_eq!(layer_1.stage, "layer 1");
    assert_ne!(first_layer(&state), before_first);
    let after_first = first_layer(&state);
    let layer_2 = state.train_epoch(1, &train, &config, &device);
    assert_eq!(layer_2.stage, "layer 2");
    assert_eq!(
        first_layer(&state),
        after_first,
        "layer 2's stage moved layer 1"
    );
    assert_ne!(top(&state), before_top);
    let tuned = state.train_epoch(2, &train, &config, &device);
    assert_eq!(tuned.stage, "fine-tune");
    assert!(tuned.loss.is_finite() && tuned.loss > 0.0);
    assert_eq!(
        values(state.model.valid().reconstruct(probe.inner())).len(),
        4 * data::PIXELS
    );
}

#[test]
fn latent_statistics_count_active_units_and_measure_the_aggregate_posterior() {
    use crate::latent::LatentStatistics;
    // Unit 0 varies across the 4 images (mean values -1, 1, -1, 1: variance 4/3), unit 1 is
    // the prior for every image (mean 0, variance 1).
    let means = [-1.0, 0.0, 1.0, 0.0, -1.0, 0.0, 1.0, 0.0];
    let variances = [0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0];
    let stats = LatentStatistics::from_values(&means, &variances, 4, 2);
    assert_eq!(stats.active_units, 1);
    assert!((stats.mean_variance[0] - 4.0 / 3.0).abs() < 1e-12);
    assert!((stats.aggregate_variance[0] - (4.0 / 3.0 + 0.5)).abs() < 1e-12);
    assert_eq!(stats.aggregate_variance[1], 1.0);
    assert_eq!(stats.mean_abs_aggregate_mean(), 0.0);
}

#[test]
fn reconstruction_errors_are_the_mse_and_the_summed_cross_entropy() {
    let device = Device::flex();
    let targets = tensor(&[1.0, 0.0, 1.0, 0.0], [2, 2], &device);
    let outputs = tensor(&[0.5, 0.5, 0.9, 0.1], [2, 2], &device);
    let (mse, bce) = crate::latent::reconstruction_errors(outputs, targets);
    assert!(
        (mse - (0.25 + 0.25 + 0.01 + 0.01) / 4.0).abs() < 1e-6,
        "{mse}"
    );
    let expected = -(2.0 * 0.5f64.ln() + 2.0 * 0.9f64.ln()) / 2.0;
    assert!((bce - expected).abs() < 1e-5, "{bce} vs {expected}");
}

#[test]
fn the_best_gaussian_per_image_has_a_higher_elbo_than_the_encoder_and_stays_below_log_px() {
    use crate::gaps::{elbo, optimise_posteriors};
    let device = Device::flex();
    device.seed(11);
    let model = VaeConfig::new(Backbone::Mlp)
        .with_latent(2)
        .with_hidden(vec![16])
        .init(&device);
    let x = Tensor::<2>::random(
        [3, data::PIXELS],
        burn::tensor::Distribution::Bernoulli(0.2),
        &device,
    );
    let mean = |t: Tensor<1>| f64::from(t.mean().into_scalar::<f32>());
    let amortised = elbo(&model, x.clone(), &model.encode(x.clone()), 200, 1);
    let optimised = optimise_posteriors(&model, x.clone(), 200, 8, 5e-2, 2);
    let best = elbo(&model, x.clone(), &optimised, 200, 1);
    let log_px = log_likelihoods(&model, x, 5000, 3, &device);
    let log_px = log_px.iter().sum::<f64>() / 3.0;
    assert!(
        mean(best.clone()) > mean(amortised.clone()) + 1.0,
        "{} vs {}",
        mean(best.clone()),
        mean(amortised)
    );
    assert!(
        mean(best) < log_px + 0.5,
        "the ELBO stays below log p(x) = {log_px}"
    );
}

/// Decoded prior samples of the shipped weights look like digits of every class to the MNIST
/// classifier (the shipped model: 63.5% of 200 read with confidence above 0.9).
#[test]
fn the_shipped_strong_vae_decodes_digits_the_classifier_reads() {
    let device = Device::flex();
    let dir = data::run::shipped("vae", "strong-mlp").expect("shipped strong-mlp");
    let (config, model) = crate::tasks::load_model(&dir, &device).unwrap();
    let means = crate::epoch::sample_means(&model, config.model.latent, 200, 0, &device);
    let (classifier, _) = eval::train::load_classifier(
        &data::run::pretrained_dir(),
        data::DataSetName::Mnist,
        &device,
    )
    .unwrap();
    let probabilities = burn::tensor::activation::softmax(classifier.forward(means), 1);
    let confident = probabilities
        .clone()
        .max_dim(1)
        .greater_elem(0.9)
        .float()
        .mean()
        .into_scalar::<f32>();
    assert!(
        confident > 0.5,
        "{confident} of the samples read with confidence > 0.9"
    );
    let mut classes: Vec<i32> = probabilities
        .argmax(1)
        .into_data()
        .convert::<i32>()
        .try_to_vec::<i32>()
        .unwrap();
    classes.sort_unstable();
    classes.dedup();
    assert_eq!(classes.len(), 10, "classes read: {classes:?}");
}
