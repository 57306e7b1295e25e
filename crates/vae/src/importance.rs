//! The test log-likelihood by importance sampling (Burda et al. 2015):
//!
//! log p(x) ~ log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x),
//!
//! a lower bound in expectation (the IWAE bound) that rises with k towards log p(x); k = 1
//! is the ELBO. The k weights of an image are drawn in chunks and reduced by a running
//! log-sum-exp in f64, so k can be in the thousands without holding them all.

use burn::tensor::{Device, Tensor};
use data::scaffold::fixed_normal;
use serde::{Deserialize, Serialize};

use crate::loss::{bernoulli_log_likelihood, log_normal, log_standard_normal};
use crate::model::Vae;

/// Rows (image x sample pairs) sent through the decoder at once.
const ROWS_PER_PASS: usize = 8192;

/// An importance-sampled estimate over a set of images.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LikelihoodEstimate {
    /// Mean over the images of the per-image estimate, nats.
    pub mean: f64,
    /// Standard error of that mean over the images (sampling noise of the images and of z).
    pub standard_error: f64,
    /// Importance samples per image.
    pub samples: usize,
    pub images: usize,
}

impl LikelihoodEstimate {
    pub fn from_values(values: &[f64], samples: usize) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        Self {
            mean,
            standard_error: (variance / n).sqrt(),
            samples,
            images: values.len(),
        }
    }
}

/// Each row of `t` `[n, width]` repeated `times` times in a row: `[n * times, width]`.
pub fn repeat_rows(t: Tensor<2>, times: usize) -> Tensor<2> {
    let [n, width] = t.dims();
    t.unsqueeze_dim::<3>(1)
        .expand([n, times, width])
        .reshape([n * times, width])
}

/// A running log-sum-exp in f64.
#[derive(Clone, Copy)]
struct LogSumExp {
    max: f64,
    sum: f64,
}

impl LogSumExp {
    const EMPTY: Self = Self {
        max: f64::NEG_INFINITY,
        sum: 0.0,
    };

    fn add(&mut self, value: f64) {
        if value > self.max {
            self.sum = self.sum * (self.max - value).exp() + 1.0;
            self.max = value;
        } else {
            self.sum += (value - self.max).exp();
        }
    }

    fn value(self) -> f64 {
        self.max + self.sum.ln()
    }
}

/// The k-sample estimate of log p(x) of each image of `images` `[n, 784]` (binary or grey
/// targets in [0, 1]), with noise drawn from `seed`: the same seed gives the same estimate.
pub fn log_likelihoods(
    model: &Vae,
    images: Tensor<2>,
    k: usize,
    seed: u64,
    device: &Device,
) -> Vec<f64> {
    assert!(k > 0, "at least one importance sample");
    let [n, pixels] = images.dims();
    let images_per_pass = (ROWS_PER_PASS / k).clamp(1, n.max(1));
    let samples_per_pass = k.min(ROWS_PER_PASS);
    let mut out = Vec::with_capacity(n);
    for first in (0..n).step_by(images_per_pass) {
        let group = images_per_pass.min(n - first);
        let x = images.clone().slice([first..first + group, 0..pixels]);
        let posterior = model.encode(x.clone());
        let [_, latent] = posterior.mean.dims();
        let mut sums = vec![LogSumExp::EMPTY; group];
        let mut done = 0;
        while done < k {
            let m = samples_per_pass.min(k - done);
            // Each image repeated m times, image by image: rows [i * m, (i + 1) * m).
            let mean = repeat_rows(posterior.mean.clone(), m);
            let log_variance = repeat_rows(posterior.log_variance.clone(), m);
            let noise_seed = data::seed::mix(seed, (first + 1) as u64, done as u64);
            let eps = fixed_normal(group * m, latent, noise_seed, device);
            let z = mean.clone() + (log_variance.clone() * 0.5).exp() * eps;
            let log_weights =
                bernoulli_log_likelihood(model.decode(z.clone()), repeat_rows(x.clone(), m))
                    + log_standard_normal(z.clone())
                    - log_normal(z, mean, log_variance);
            let values = data::figure::tensor_values(log_weights);
            for (i, sum) in sums.iter_mut().enumerate() {
                values[i * m..(i + 1) * m]
                    .iter()
                    .for_each(|&v| sum.add(f64::from(v)));
            }
            done += m;
        }
        out.extend(sums.into_iter().map(|s| s.value() - (k as f64).ln()));
    }
    out
}

/// [`log_likelihoods`] summarised.
pub fn estimate(
    model: &Vae,
    images: Tensor<2>,
    k: usize,
    seed: u64,
    device: &Device,
) -> LikelihoodEstimate {
    LikelihoodEstimate::from_values(&log_likelihoods(model, images, k, seed, device), k)
}
