//! The terms of the VAE's objective, per image, in nats: the Bernoulli log-likelihood of the
//! pixels given their logits, the closed-form KL of a diagonal Gaussian to N(0, I), and the
//! Gaussian log-densities the importance-sampled likelihood needs.
//!
//! ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)) <= log p(x).

use std::f64::consts::PI;

use burn::tensor::Tensor;

use crate::model::{Posterior, Vae};

/// log p(x|z) of targets `x` in [0, 1] under Bernoulli logits `l`, summed over the pixels:
/// x l - softplus(l), i.e. minus the binary cross-entropy. Written with
/// softplus(l) = max(l, 0) + log(1 + exp(-|l|)) so that no exp can overflow, for any logit.
pub fn bernoulli_log_likelihood(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    let softplus = logits.clone().clamp_min(0.0) + logits.clone().abs().neg().exp().log1p();
    (x * logits - softplus).sum_dim(1).squeeze_dim(1)
}

/// KL(N(mean, exp(log_variance)) || N(0, I)) per row, in closed form:
/// -1/2 sum(1 + log_variance - mean^2 - exp(log_variance)).
pub fn gaussian_kl(posterior: &Posterior) -> Tensor<1> {
    let Posterior { mean, log_variance } = posterior.clone();
    let inside = log_variance.clone().add_scalar(1.0) - mean.powi_scalar(2) - log_variance.exp();
    (inside.sum_dim(1) * -0.5).squeeze_dim(1)
}

/// log N(z; mean, diag(exp(log_variance))) per row.
pub fn log_normal(z: Tensor<2>, mean: Tensor<2>, log_variance: Tensor<2>) -> Tensor<1> {
    let [_, dim] = z.dims();
    let squared = (z - mean).powi_scalar(2) / log_variance.clone().exp();
    let sum = (squared + log_variance).sum_dim(1).squeeze_dim(1);
    (sum * -0.5).sub_scalar(0.5 * dim as f64 * (2.0 * PI).ln())
}

/// log N(z; 0, I) per row.
pub fn log_standard_normal(z: Tensor<2>) -> Tensor<1> {
    let [_, dim] = z.dims();
    (z.powi_scalar(2).sum_dim(1).squeeze_dim(1) * -0.5)
        .sub_scalar(0.5 * dim as f64 * (2.0 * PI).ln())
}

/// The two terms of the ELBO of a batch, per image, with one posterior sample each.
#[derive(Clone, Debug)]
pub struct ElboTerms {
    /// -log p(x|z): the summed binary cross-entropy, nats per image.
    pub reconstruction: Tensor<1>,
    /// KL(q(z|x) || p(z)), nats per image.
    pub kl: Tensor<1>,
}

impl ElboTerms {
    /// The ELBO per image: -(reconstruction + kl).
    pub fn elbo(&self) -> Tensor<1> {
        (self.reconstruction.clone() + self.kl.clone()).neg()
    }
}

/// The ELBO terms of `images` `[batch, 784]` with noise `eps` `[batch, latent]`.
pub fn elbo_terms(model: &Vae, images: Tensor<2>, eps: Tensor<2>) -> ElboTerms {
    let posterior = model.encode(images.clone());
    let logits = model.decode(posterior.sample(eps));
    ElboTerms {
        reconstruction: bernoulli_log_likelihood(logits, images).neg(),
        kl: gaussian_kl(&posterior),
    }
}
