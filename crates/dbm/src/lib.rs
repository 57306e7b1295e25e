//! Two-hidden-layer Bernoulli Deep Boltzmann Machines on MNIST, built on the rbm crate.
//!
//! - [`model`]: the DBM, its conditionals, Gibbs sweeps, mean-field inference and the
//!   variational bound;
//! - [`train`]: the recipe, resumable stage by stage: greedy pre-training with the rbm
//!   crate's CD update (doubled couplings), then [`joint`] training with mean-field and
//!   persistent chains;
//! - [`ais`]: `log Z` by the rbm crate's AIS, the test log-likelihood bound, exact values of
//!   small models;
//! - [`trained`]: a trained run loaded back, from a training checkpoint or from the shipped
//!   weights in `data/pretrained/dbm/course`, which [`ship`] writes.

pub mod ais;
pub mod cli;
pub mod joint;
pub mod model;
pub mod ship;
pub mod tasks;
pub mod train;
pub mod trained;

pub use model::{Dbm, DbmConfig};
pub use train::{DbmTraining, Preset, TrainConfig};

#[cfg(test)]
mod ship_tests;
#[cfg(test)]
mod tests;
