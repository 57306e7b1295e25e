//! Generative adversarial networks on MNIST.
//!
//! - [`model`]: generators and discriminators for three backbones (the course's MLP, the
//!   course's CNN, a DCGAN for 28x28), chosen by [`model::Backbone`];
//! - [`loss`]: the minimax, non-saturating and hinge losses on discriminator logits;
//! - [`train`]: the alternating training step, the `course` and `tuned` presets, per-step and
//!   per-epoch logging;
//! - [`fixed_players`]: the losses' minibatch noise with both players held fixed;
//! - [`latent`]: interpolations and traversals of the latent space;

pub mod cli;
pub mod epoch;
pub mod fixed_players;
pub mod latent;
pub mod loss;
pub mod model;
pub mod sampling;
pub mod tasks;
pub mod train;

pub use loss::GanLoss;
pub use model::{Backbone, Discriminator, GanConfig, Generator};
pub use train::{GanState, Preset, TrainConfig};

#[cfg(test)]
mod tests;
