//! Statistics of the posteriors of a set of images: which latent units carry information
//! and how well the aggregate posterior matches the prior.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::model::Posterior;

/// A unit is active when its posterior mean varies across images by more than this
/// (variance, Burda et al. 2015): an inactive unit's q(z_j|x) is the prior for every x.
pub const ACTIVE_VARIANCE: f64 = 0.01;

/// The posteriors of a set of images, summarised per latent unit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatentStatistics {
    pub latent: usize,
    /// Units whose posterior mean has variance above [`ACTIVE_VARIANCE`] across the images.
    pub active_units: usize,
    /// Per unit: the variance across images of the posterior mean.
    pub mean_variance: Vec<f64>,
    /// Per unit: the aggregate posterior's variance, Var(mean) + E[variance]; 1 where it
    /// matches the prior N(0, 1).
    pub aggregate_variance: Vec<f64>,
    /// Per unit: the aggregate posterior's mean (0 for the prior).
    pub aggregate_mean: Vec<f64>,
}

impl LatentStatistics {
    /// From `[n, latent]` posterior means and log-variances.
    pub fn of(posterior: &Posterior) -> Self {
        let [n, latent] = posterior.mean.dims();
        let means = data::figure::tensor_values(posterior.mean.clone());
        let variances = data::figure::tensor_values(posterior.log_variance.clone().exp());
        Self::from_values(&means, &variances, n, latent)
    }

    /// From row-major `[n, latent]` means and variances.
    pub fn from_values(means: &[f32], variances: &[f32], n: usize, latent: usize) -> Self {
        let column = |values: &[f32], j: usize| -> Vec<f64> {
            (0..n).map(|i| f64::from(values[i * latent + j])).collect()
        };
        let average = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let mut stats = Self {
            latent,
            ..Default::default()
        };
        for j in 0..latent {
            let m = column(means, j);
            let mu = average(&m);
            let var = m.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
            stats.mean_variance.push(var);
            stats.aggregate_mean.push(mu);
            stats
                .aggregate_variance
                .push(var + average(&column(variances, j)));
        }
        stats.active_units = stats
            .mean_variance
            .iter()
            .filter(|&&v| v > ACTIVE_VARIANCE)
            .count();
        stats
    }

    /// Mean over units of the aggregate variance.
    pub fn mean_aggregate_variance(&self) -> f64 {
        self.aggregate_variance.iter().sum::<f64>() / self.latent.max(1) as f64
    }

    /// Mean over units of |aggregate mean|.
    pub fn mean_abs_aggregate_mean(&self) -> f64 {
        self.aggregate_mean.iter().map(|m| m.abs()).sum::<f64>() / self.latent.max(1) as f64
    }
}

/// Mean squared error per value and binary cross-entropy per image (nats) of reconstructions
/// `reconstructed` in (0, 1) of targets `targets` in [0, 1], both `[n, 784]`.
pub fn reconstruction_errors(reconstructed: Tensor<2>, targets: Tensor<2>) -> (f64, f64) {
    let [n, _] = targets.dims();
    let mse = (reconstructed.clone() - targets.clone())
        .powi_scalar(2)
        .mean();
    // Clamped so that a saturated output cannot give an infinite cross-entropy.
    let r = reconstructed.clamp(1e-6, 1.0 - 1e-6);
    let bce = (targets.clone() * r.clone().log()
        + targets.neg().add_scalar(1.0) * r.neg().add_scalar(1.0).log())
    .sum()
    .neg()
        / n as f64;
    let v = data::figure::tensor_values(Tensor::cat(vec![mse, bce], 0));
    (f64::from(v[0]), f64::from(v[1]))
}
