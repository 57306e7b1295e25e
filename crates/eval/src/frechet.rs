//! Fréchet distance between Gaussians fitted to two sets of feature vectors (the "FID" of
//! the report, computed in the feature space of genlab's own classifier).
//!
//! `d² = |μ₁ − μ₂|² + tr(Σ₁) + tr(Σ₂) − 2 tr((Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})`. The square
//! roots are taken through symmetric eigendecompositions in f64, with eigenvalues that
//! rounding makes slightly negative clamped to zero: unlike the general matrix square root
//! of `Σ₁Σ₂` used by many FID scripts, this never yields complex values.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Mean and covariance of a set of feature vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Gaussian {
    pub mean: DVector<f64>,
    pub covariance: DMatrix<f64>,
}

impl Gaussian {
    /// Fits `rows` vectors of `dim` values (row-major in `features`), with the unbiased
    /// covariance (divides by n − 1).
    pub fn fit(features: &[f32], dim: usize) -> Self {
        assert!(
            dim > 0 && features.len().is_multiple_of(dim),
            "whole feature vectors"
        );
        let n = features.len() / dim;
        assert!(n >= 2, "a covariance needs at least two samples");
        let x = DMatrix::from_row_iterator(n, dim, features.iter().map(|&v| v as f64));
        let mean = DVector::from_iterator(dim, x.column_iter().map(|c| c.mean()));
        let centred = DMatrix::from_fn(n, dim, |r, c| x[(r, c)] - mean[c]);
        let covariance = (centred.transpose() * &centred) / (n as f64 - 1.0);
        Self { mean, covariance }
    }
}

/// The square root of a symmetric positive semi-definite matrix.
pub fn sqrt_psd(matrix: &DMatrix<f64>) -> DMatrix<f64> {
    let eigen = SymmetricEigen::new(symmetrised(matrix));
    let roots = eigen.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

/// `tr(sqrt(A))` of a symmetric PSD matrix: the sum of the roots of its eigenvalues.
fn trace_sqrt_psd(matrix: &DMatrix<f64>) -> f64 {
    SymmetricEigen::new(symmetrised(matrix))
        .eigenvalues
        .iter()
        .map(|l| l.max(0.0).sqrt())
        .sum()
}

/// Removes the asymmetry that rounding leaves in products that are symmetric in theory.
fn symmetrised(matrix: &DMatrix<f64>) -> DMatrix<f64> {
    (matrix + matrix.transpose()) * 0.5
}

/// The squared Fréchet distance between two Gaussians.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    let mean_term = (&a.mean - &b.mean).norm_squared();
    let root_a = sqrt_psd(&a.covariance);
    let cross = trace_sqrt_psd(&(&root_a * &b.covariance * &root_a));
    let d = mean_term + a.covariance.trace() + b.covariance.trace() - 2.0 * cross;
    // Rounding can take the distance of a set to itself a hair below zero; NaN (features of
    // a diverged model) must stay NaN, which `max` would turn into a perfect 0.
    if d.is_nan() { d } else { d.max(0.0) }
}

/// The standard error of the FID of `features` (rows of `dim`) against `reference`, by
/// `resamples` bootstrap draws of the rows with replacement (seeded): the spread a rerun
/// with other samples of the same model would show, at this sample count.
pub fn fid_standard_error(
    features: &[f32],
    dim: usize,
    reference: &Gaussian,
    resamples: usize,
    seed: u64,
) -> f64 {
    use rand::{Rng, SeedableRng};
    let rows = features.len() / dim;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let fids: Vec<f64> = (0..resamples)
        .map(|_| {
            let drawn: Vec<f32> = (0..rows)
                .flat_map(|_| {
                    let r = rng.random_range(0..rows);
                    features[r * dim..(r + 1) * dim].iter().copied()
                })
                .collect();
            frechet_distance(&Gaussian::fit(&drawn, dim), reference)
        })
        .collect();
    let mean = fids.iter().sum::<f64>() / resamples as f64;
    (fids.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / (resamples.max(2) - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::standard_normal as normal;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    fn gaussian_samples(n: usize, mean: &[f32], seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .flat_map(|_| {
                mean.iter()
                    .map(|m| m + normal(&mut rng))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn square_root_of_a_known_spd_matrix() {
        // [[5, 4], [4, 5]] = R² with R = [[2, 1], [1, 2]].
        let a = DMatrix::from_row_slice(2, 2, &[5.0, 4.0, 4.0, 5.0]);
        let root = sqrt_psd(&a);
        let expected = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 2.0]);
        assert!((&root - &expected).abs().max() < 1e-12, "{root}");
        // A random SPD matrix: the root squares back to it.
        let b = DMatrix::from_fn(6, 6, |r, c| ((r * 7 + c * 3) % 5) as f64 - 2.0);
        let spd = &b * b.transpose() + DMatrix::identity(6, 6);
        let root = sqrt_psd(&spd);
        assert!((&root * &root - &spd).abs().max() < 1e-9);
    }

    #[test]
    fn features_with_nan_give_nan_not_a_perfect_zero() {
        let real = gaussian_samples(500, &[0.0, 0.0], 1);
        let mut broken = real.clone();
        broken[7] = f32::NAN;
        let d = frechet_distance(&Gaussian::fit(&broken, 2), &Gaussian::fit(&real, 2));
        assert!(d.is_nan(), "{d}");
    }

    #[test]
    fn distance_of_a_set_to_itself_is_zero() {
        let x = gaussian_samples(2000, &[0.0; 8], 1);
        let g = Gaussian::fit(&x, 8);
        assert!(frechet_distance(&g, &g) < 1e-9);
    }

    #[test]
    fn distance_between_shifted_unit_gaussians_is_the_squared_shift() {
        let m = [1.0, -2.0, 0.5, 0.0];
        let shift: f64 = m.iter().map(|v| (*v as f64).powi(2)).sum();
        let a = Gaussian::fit(&gaussian_samples(20_000, &[0.0; 4], 2), 4);
        let b = Gaussian::fit(&gaussian_samples(20_000, &m, 3), 4);
        let d = frechet_distance(&a, &b);
        // Sampling noise of means and covariances with 20k samples in 4 dimensions.
        assert!((d - shift).abs() < 0.05, "{d} vs {shift}");
    }

    #[test]
    fn distance_between_known_gaussians_matches_the_closed_form() {
        // N(0, I) and N(0, 4I) in 3 dimensions: 3 + 12 - 2 * 3 * 2 = 3.
        let a = Gaussian {
            mean: DVector::zeros(3),
            covariance: DMatrix::identity(3, 3),
        };
        let b = Gaussian {
            mean: DVector::zeros(3),
            covariance: DMatrix::identity(3, 3) * 4.0,
        };
        assert!((frechet_distance(&a, &b) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_bootstrap_standard_error_matches_the_spread_of_fresh_draws() {
        let mean = [0.3f32, 0.0, -0.2, 0.1];
        let reference = Gaussian::fit(&gaussian_samples(20_000, &[0.0; 4], 1), 4);
        let fids: Vec<f64> = (0..30)
            .map(|s| {
                frechet_distance(
                    &Gaussian::fit(&gaussian_samples(500, &mean, 100 + s), 4),
                    &reference,
                )
            })
            .collect();
        let m = fids.iter().sum::<f64>() / fids.len() as f64;
        let spread = (fids.iter().map(|f| (f - m).powi(2)).sum::<f64>() / 29.0).sqrt();
        let bootstrap = fid_standard_error(&gaussian_samples(500, &mean, 7), 4, &reference, 50, 3);
        assert!(
            bootstrap > 0.5 * spread && bootstrap < 2.0 * spread,
            "bootstrap {bootstrap} against the spread of fresh draws {spread}"
        );
    }
}
