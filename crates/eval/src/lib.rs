//! Sample-quality metrics shared by every genlab model.
//!
//! A small CNN classifier trained by the project ([`classifier`], [`train`]) defines the
//! feature space; in it, [`frechet`] computes the Fréchet distance ("FID" with genlab's own
//! classifier) and [`neighbours`] the improved precision and recall; [`scores`] measures
//! class coverage and mode collapse. [`Evaluator`] puts them together against a data set,
//! and [`reference`] records the floors (real data) and ceilings (corrupted data).

pub mod classifier;
pub mod evaluator;
pub mod family;
pub mod frechet;
pub mod kernel;
pub mod ladder;
pub mod neighbours;
pub mod reference;
pub mod renderer;
pub mod scores;
pub mod train;
pub mod two_sample;

pub use evaluator::{Evaluator, SampleScores, format_scores, pretrained_dir};
pub use family::FamilyRecord;
