//! Metrics of a set of samples computed from the classifier's outputs: the class histogram
//! (mode collapse), confidence and an inception-score-style figure.

use serde::{Deserialize, Serialize};

/// A class counts as covered when it receives at least this share of its uniform share of
/// the samples (10% of 1/10 = 1% of all samples): a few stray samples do not cover a class.
pub const COVERAGE_FRACTION_OF_UNIFORM: f64 = 0.1;

/// Class-distribution metrics of `probabilities` (`n` rows of `classes` softmax outputs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// Samples assigned to each class by the classifier's arg-max.
    pub histogram: Vec<usize>,
    /// Classes receiving at least [`COVERAGE_FRACTION_OF_UNIFORM`] of their uniform share.
    pub classes_covered: usize,
    /// KL(histogram ‖ uniform) in nats: 0 for perfectly balanced classes, ln(10) ≈ 2.303 when
    /// every sample falls in one class.
    pub kl_to_uniform: f64,
    /// Mean of the largest class probability: how recognisable the samples are.
    pub mean_confidence: f64,
    /// exp(E_x KL(p(y|x) ‖ p(y))), between 1 and the number of classes: high when samples
    /// are individually confident and jointly diverse.
    pub inception_score: f64,
}

/// The most probable class of each row of `probabilities` (`[n, classes]`, row-major) and
/// its probability.
pub fn predicted_classes(probabilities: &[f32], classes: usize) -> Vec<(usize, f32)> {
    probabilities
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &p)| {
                    if p > best.1 { (i, p) } else { best }
                })
        })
        .collect()
}

pub fn class_scores(probabilities: &[f32], classes: usize) -> ClassScores {
    assert!(classes > 0 && probabilities.len().is_multiple_of(classes));
    let n = probabilities.len() / classes;
    let mut histogram = vec![0usize; classes];
    let mut marginal = vec![0f64; classes];
    let mut confidence = 0f64;
    for (row, (argmax, max)) in probabilities
        .chunks_exact(classes)
        .zip(predicted_classes(probabilities, classes))
    {
        histogram[argmax] += 1;
        confidence += max as f64;
        for (m, &p) in marginal.iter_mut().zip(row) {
            *m += p as f64 / n as f64;
        }
    }
    let uniform = 1.0 / classes as f64;
    let kl_to_uniform = histogram
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            p * (p / uniform).ln()
        })
        .sum();
    let threshold = COVERAGE_FRACTION_OF_UNIFORM * uniform * n as f64;
    let classes_covered = histogram
        .iter()
        .filter(|&&c| c as f64 >= threshold && c > 0)
        .count();
    let mean_kl: f64 = probabilities
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .zip(&marginal)
                .filter(|(p, m)| **p > 0.0 && **m > 0.0)
                .map(|(&p, &m)| p as f64 * (p as f64 / m).ln())
                .sum::<f64>()
        })
        .sum::<f64>()
        / n.max(1) as f64;
    ClassScores {
        histogram,
        classes_covered,
        kl_to_uniform,
        mean_confidence: confidence / n.max(1) as f64,
        inception_score: mean_kl.exp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(class: usize) -> Vec<f32> {
        (0..10)
            .map(|c| if c == class { 1.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn balanced_confident_samples_score_perfectly() {
        let probs: Vec<f32> = (0..100).flat_map(|i| one_hot(i % 10)).collect();
        let s = class_scores(&probs, 10);
        assert_eq!(s.histogram, vec![10; 10]);
        assert_eq!(s.classes_covered, 10);
        assert!(s.kl_to_uniform.abs() < 1e-12);
        assert!((s.mean_confidence - 1.0).abs() < 1e-12);
        assert!((s.inception_score - 10.0).abs() < 1e-9);
    }

    #[test]
    fn a_total_mode_collapse_is_measured_as_such() {
        let probs: Vec<f32> = (0..50).flat_map(|_| one_hot(3)).collect();
        let s = class_scores(&probs, 10);
        assert_eq!(s.classes_covered, 1);
        assert!((s.kl_to_uniform - 10f64.ln()).abs() < 1e-12);
        assert!((s.inception_score - 1.0).abs() < 1e-9);
    }

    #[test]
    fn uncertain_samples_have_low_confidence_and_inception_score_one() {
        let probs = vec![0.1f32; 10 * 20];
        let s = class_scores(&probs, 10);
        assert!((s.mean_confidence - 0.1).abs() < 1e-6);
        assert!((s.inception_score - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_few_stray_samples_do_not_cover_a_class() {
        // 995 samples of class 0, 5 of class 1: class 1 gets 0.5% < 1%.
        let probs: Vec<f32> = (0..1000)
            .flat_map(|i| one_hot(if i < 995 { 0 } else { 1 }))
            .collect();
        assert_eq!(class_scores(&probs, 10).classes_covered, 1);
    }
}
