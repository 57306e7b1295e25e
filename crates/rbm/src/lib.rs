//! Bernoulli-Bernoulli Restricted Boltzmann Machines on MNIST.
//!
//! - [`model`]: the RBM, its conditionals, Gibbs sampling, free energy, pseudo-likelihoods;
//! - [`train`]: CD-k / PCD-k with momentum and weight decay, the `course` and `strong`
//!   presets, per-epoch monitoring;
//! - [`ais`]: the true likelihood through annealed importance sampling, and exact partition
//!   functions of small models;
//! - [`evaluate`]: `rbm evaluate`, a run's test likelihood by AIS or exactly.

pub mod ais;
pub mod cli;
pub mod evaluate;
pub mod inpaint;
pub mod model;
pub mod tasks;
pub mod train;

pub use model::{Coupling, Rbm, RbmConfig};
pub use train::{InputMode, Preset, RbmState, TrainConfig};

#[cfg(test)]
mod tests;
