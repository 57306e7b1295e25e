//! Completing images whose pixels are partly missing (`known` is 1 for known pixels).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::model::{Rbm, bernoulli};

/// How the missing pixels are filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Completion {
    /// The course's way: a free-running Gibbs chain started at the corrupted image; known
    /// pixels are resampled too, so the chain may drift away from them.
    FreeRunning,
    /// Conditional sampling: after each visible update the known pixels are reset, so the
    /// chain samples `p(missing | known)`.
    Clamped,
    /// Deterministic mean-field iterations with the known pixels clamped.
    MeanField,
}

impl Completion {
    pub const ALL: [Completion; 3] = [
        Completion::FreeRunning,
        Completion::Clamped,
        Completion::MeanField,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Completion::FreeRunning => "free-running Gibbs",
            Completion::Clamped => "clamped Gibbs",
            Completion::MeanField => "clamped mean-field",
        }
    }
}

/// Completes `corrupted` (missing pixels at 0) after `steps` iterations. The result shows
/// visible probabilities where the method resamples pixels and the given values where it
/// keeps them.
pub fn complete(
    rbm: &Rbm,
    corrupted: Tensor<2>,
    known: Tensor<2>,
    steps: usize,
    how: Completion,
) -> Tensor<2> {
    let missing = -known.clone() + 1.0;
    let clamp = |v: Tensor<2>| corrupted.clone() * known.clone() + v * missing.clone();
    let mut v = corrupted.clone();
    let mut probabilities = corrupted.clone();
    for _ in 0..steps.max(1) {
        match how {
            Completion::FreeRunning | Completion::Clamped => {
                let h = bernoulli(rbm.hidden_probabilities(v));
                probabilities = rbm.visible_probabilities(h);
                let sample = bernoulli(probabilities.clone());
                v = if how == Completion::Clamped {
                    clamp(sample)
                } else {
                    sample
                };
            }
            Completion::MeanField => {
                probabilities = rbm.reconstruct(v);
                v = clamp(probabilities.clone());
            }
        }
    }
    match how {
        Completion::FreeRunning => probabilities,
        Completion::Clamped | Completion::MeanField => clamp(probabilities),
    }
}

/// Mean squared error over the missing pixels only.
pub fn missing_mse(completed: Tensor<2>, clean: Tensor<2>, known: Tensor<2>) -> f64 {
    let missing = -known + 1.0;
    let count = missing.clone().sum().into_scalar::<f32>().max(1.0) as f64;
    ((completed - clean) * missing)
        .powi_scalar(2)
        .sum()
        .into_scalar::<f32>() as f64
        / count
}
