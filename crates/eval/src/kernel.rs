//! Kernel Inception Distance (Bińkowski et al. 2018), here in the eval classifier's feature
//! space: the unbiased estimate of the squared maximum mean discrepancy between samples and
//! real images under the cubic polynomial kernel `k(x, y) = (xᵀy / d + 1)³`.
//!
//! Unlike FID it has no bias that depends on the number of samples (its expected value is 0
//! when the two sets come from the same distribution, at any n), so it can be compared
//! across sample counts, and its standard error comes from disjoint subsets.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// KID with its standard error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kid {
    /// Mean of the unbiased MMD² over the subsets (squared feature units, kernel scale).
    pub kid: f64,
    /// Standard error of that mean: the subsets' standard deviation over √subsets; NaN for
    /// one subset, which JSON writes as `null` and reads back as NaN.
    #[serde(deserialize_with = "nan_if_null")]
    pub standard_error: f64,
    pub subsets: usize,
    /// Samples (and real images) per subset.
    pub subset_size: usize,
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// The unbiased MMD² between the rows of `x` and `y` (`dim` values each, row-major).
pub fn unbiased_mmd2(x: &[f32], y: &[f32], dim: usize) -> f64 {
    let matrix =
        |f: &[f32]| DMatrix::from_row_iterator(f.len() / dim, dim, f.iter().map(|&v| v as f64));
    let (x, y) = (matrix(x), matrix(y));
    let (m, n) = (x.nrows() as f64, y.nrows() as f64);
    assert!(
        m >= 2.0 && n >= 2.0,
        "the unbiased estimate needs two rows a side"
    );
    // Every kernel value of two row sets at once: (A Bᵀ / d + 1)³ elementwise.
    let kernel_sum = |a: &DMatrix<f64>, b: &DMatrix<f64>| -> (f64, f64) {
        let k = (a * b.transpose()).map(|dot| (dot / dim as f64 + 1.0).powi(3));
        (k.sum(), k.diagonal().sum())
    };
    let (xx, xx_diagonal) = kernel_sum(&x, &x);
    let (yy, yy_diagonal) = kernel_sum(&y, &y);
    let (xy, _) = kernel_sum(&x, &y);
    (xx - xx_diagonal) / (m * (m - 1.0)) + (yy - yy_diagonal) / (n * (n - 1.0)) - 2.0 * xy / (m * n)
}

/// KID of `samples` against `real` (rows of `dim` features) over disjoint subsets of
/// `subset_size` rows of each: as many subsets as the smaller set holds (at least one, of
/// all its rows when it holds fewer than `subset_size`). The rows of `real` are drawn in an
/// order shuffled by `seed`, so that a real set stored in a meaningful order (MNIST's test
/// split puts one population of writers first) does not bias the subsets.
pub fn kid(samples: &[f32], real: &[f32], dim: usize, subset_size: usize, seed: u64) -> Kid {
    let rows = (samples.len() / dim).min(real.len() / dim);
    let size = subset_size.min(rows).max(2);
    let subsets = (rows / size).max(1);
    let real = shuffled_rows(real, dim, seed);
    let estimates: Vec<f64> = (0..subsets)
        .map(|s| {
            let range = s * size * dim..(s + 1) * size * dim;
            unbiased_mmd2(&samples[range.clone()], &real[range], dim)
        })
        .collect();
    let mean = estimates.iter().sum::<f64>() / subsets as f64;
    let standard_error = if subsets > 1 {
        let variance =
            estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (subsets - 1) as f64;
        (variance / subsets as f64).sqrt()
    } else {
        f64::NAN
    };
    Kid {
        kid: mean,
        standard_error,
        subsets,
        subset_size: size,
    }
}

/// The rows of `values` (`dim` each) in an order shuffled by `seed`.
pub fn shuffled_rows(values: &[f32], dim: usize, seed: u64) -> Vec<f32> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut order: Vec<usize> = (0..values.len() / dim).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    (order.iter())
        .flat_map(|&r| values[r * dim..(r + 1) * dim].iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::standard_normal;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// `E k(x, y)` for independent one-dimensional `x ~ N(a, 1)`, `y ~ N(b, 1)`: the
    /// kernel `(xy + 1)³` expands into moments, `E x = a`, `E x² = a² + 1`, `E x³ = a³ + 3a`.
    fn expected_kernel(a: f64, b: f64) -> f64 {
        (a.powi(3) + 3.0 * a) * (b.powi(3) + 3.0 * b)
            + 3.0 * (a * a + 1.0) * (b * b + 1.0)
            + 3.0 * a * b
            + 1.0
    }

    fn gaussian(mean: f64, n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n * dim)
            .map(|_| mean as f32 + standard_normal(&mut rng))
            .collect()
    }

    #[test]
    fn kid_matches_the_closed_form_mmd_of_two_gaussians() {
        let (a, b) = (0.0, 0.5);
        let exact = expected_kernel(a, a) + expected_kernel(b, b) - 2.0 * expected_kernel(a, b);
        let x = gaussian(a, 20_000, 1, 1);
        let y = gaussian(b, 20_000, 1, 2);
        let estimate = kid(&x, &y, 1, 2_000, 0);
        assert_eq!(estimate.subsets, 10);
        assert!(
            (estimate.kid - exact).abs() < 4.0 * estimate.standard_error + 0.05 * exact,
            "KID {} ± {} against the closed form {exact}",
            estimate.kid,
            estimate.standard_error
        );
    }

    #[test]
    fn kid_is_unbiased_for_two_sets_of_one_distribution_even_in_small_draws() {
        // The mean over many draws of 20 against 20 is near 0 (FID's would be far above).
        let draws = 400;
        let mean: f64 = (0..draws)
            .map(|d| {
                let x = gaussian(0.0, 20, 8, 2 * d + 10);
                let y = gaussian(0.0, 20, 8, 2 * d + 11);
                unbiased_mmd2(&x, &y, 8)
            })
            .sum::<f64>()
            / draws as f64;
        let shifted = unbiased_mmd2(&gaussian(0.0, 20, 8, 5), &gaussian(1.0, 20, 8, 6), 8);
        assert!(
            mean.abs() < 0.02 * shifted,
            "mean {mean} against a shift's {shifted}"
        );
    }

    #[test]
    fn the_standard_error_shrinks_with_more_subsets_and_is_missing_for_one() {
        let x = gaussian(0.0, 4_000, 4, 7);
        let y = gaussian(0.3, 4_000, 4, 8);
        let few = kid(&x[..1_000 * 4], &y[..1_000 * 4], 4, 500, 0);
        let many = kid(&x, &y, 4, 500, 0);
        assert_eq!((few.subsets, many.subsets), (2, 8));
        assert!(many.standard_error < few.standard_error);
        let one = kid(&x[..40], &y[..40], 4, 500, 0);
        assert!(one.standard_error.is_nan());
        let json = serde_json::to_string(&one).unwrap();
        assert!(json.contains("\"standard_error\":null"), "{json}");
        let read: Kid = serde_json::from_str(&json).unwrap();
        assert!(read.standard_error.is_nan() && read.kid == one.kid);
    }
}
