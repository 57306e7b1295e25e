//! Variational auto-encoders on MNIST, and the stacked auto-encoder they are compared with.
//!
//! - [`model`]: the VAE (MLP or convolutional encoder and decoder), its posterior;
//! - [`loss`]: the ELBO's terms: Bernoulli log-likelihood on logits, closed-form KL;
//! - [`importance`]: the importance-sampled (IWAE) test log-likelihood;
//! - [`latent`]: active units and the aggregate posterior; reconstruction errors;
//! - [`gaps`]: the ELBO's gap to log p(x) split into amortisation and approximation;
//! - [`train`]: the training step and the `course`, `strong` and `peer` presets;
//! - [`epoch`]: epochs, the per-epoch test ELBO, sample scores and likelihood;
//! - [`autoencoder`]: the stacked auto-encoder baseline (greedy pre-training, fine-tuning);

pub mod autoencoder;
pub mod cli;
pub mod epoch;
pub mod gaps;
pub mod importance;
pub mod latent;
pub mod loss;
pub mod model;
pub mod tasks;
pub mod train;

pub use model::{Backbone, Vae, VaeConfig};
pub use train::{Preset, TrainConfig, VaeState};

#[cfg(test)]
mod tests;
