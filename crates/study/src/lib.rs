//! The study layer: the experiments that answer the study questions of
//! `reports/questions.md`, one file per question, run on the model crates.
//!
//! The model crates (`rbm`, `dbm`, `gan`, `vae`, `creative`) hold a model and what a user
//! does with it; this crate holds what answers a question: [`experiments`] trains or loads
//! the models a question needs, measures them and writes its section of the report. Its
//! binary runs one question (`cargo run --release -p study -- experiment RBM-Q1`);
//! `cargo xtask all` runs them all.

pub mod answer;
pub mod cli;
pub mod closing;
pub mod evaluation;
pub mod experiment;
pub mod experiments;
pub mod glossary;
pub mod run_or_load;
pub mod section;

pub use answer::Answer;
pub use experiment::{Context, Experiment};
