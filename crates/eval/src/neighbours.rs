//! Nearest-neighbour distances between sets of vectors, and the improved precision and recall
//! of Kynkäänniemi et al. (2019) built on them.
//!
//! Distance matrices are computed block by block as `|a|² + |b|² − 2 a·bᵀ` on the device (one
//! matrix product per block), then scanned on the host; a 10k x 60k comparison never holds
//! more than one block.

use burn::tensor::{Device, Tensor, TensorData};

/// Rows of the distance matrix computed per block.
const BLOCK_ROWS: usize = 512;

/// Calls `visit(i, row)` with the squared Euclidean distances from row `i` of `a` to every
/// row of `b` (both row-major with `dim` columns).
pub fn for_each_distance_row(
    a: &[f32],
    b: &[f32],
    dim: usize,
    device: &Device,
    mut visit: impl FnMut(usize, &[f32]),
) {
    let (n, m) = (a.len() / dim, b.len() / dim);
    if n == 0 || m == 0 {
        return;
    }
    let b_t = Tensor::<2>::from_data(TensorData::new(b.to_vec(), [m, dim]), device).transpose();
    let b_norms: Vec<f32> = b
        .chunks_exact(dim)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    for start in (0..n).step_by(BLOCK_ROWS) {
        let rows = BLOCK_ROWS.min(n - start);
        let block = &a[start * dim..(start + rows) * dim];
        let a_block = Tensor::<2>::from_data(TensorData::new(block.to_vec(), [rows, dim]), device);
        let dots: Vec<f32> = a_block
            .matmul(b_t.clone())
            .into_data()
            .try_to_vec::<f32>()
            .expect("float distances");
        for (r, a_row) in block.chunks_exact(dim).enumerate() {
            let a_norm: f32 = a_row.iter().map(|v| v * v).sum();
            let row: Vec<f32> = dots[r * m..(r + 1) * m]
                .iter()
                .zip(&b_norms)
                .map(|(dot, b_norm)| (a_norm + b_norm - 2.0 * dot).max(0.0))
                .collect();
            visit(start + r, &row);
        }
    }
}

/// Distance from each row of `a` to its nearest row of `b`.
pub fn nearest_distances(a: &[f32], b: &[f32], dim: usize, device: &Device) -> Vec<f32> {
    nearest_rows(a, b, dim, device)
        .into_iter()
        .map(|(_, distance)| distance)
        .collect()
}

/// Index of and distance to the nearest row of `b` for each row of `a`.
pub fn nearest_rows(a: &[f32], b: &[f32], dim: usize, device: &Device) -> Vec<(usize, f32)> {
    let mut out = vec![(0, 0.0); a.len() / dim];
    for_each_distance_row(a, b, dim, device, |i, row| {
        let (index, squared) =
            row.iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f32::INFINITY),
                    |best, (j, d)| if d < best.1 { (j, d) } else { best },
                );
        out[i] = (index, squared.max(0.0).sqrt());
    });
    out
}

/// Distance from each row of `x` to its `k`-th nearest other row of `x`: the radius of the
/// hypersphere that, around every point, approximates the set's manifold.
pub fn kth_neighbour_radii(x: &[f32], dim: usize, k: usize, device: &Device) -> Vec<f32> {
    let n = x.len() / dim;
    assert!(k >= 1 && n > k, "need more than k points");
    let mut radii = vec![0.0; n];
    for_each_distance_row(x, x, dim, device, |i, row| {
        let mut row = row.to_vec();
        row[i] = f32::INFINITY; // a point is not its own neighbour
        let (_, kth, _) = row.select_nth_unstable_by(k - 1, f32::total_cmp);
        radii[i] = kth.sqrt();
    });
    radii
}

/// The fraction of `queries` that fall inside at least one hypersphere of the `reference`
/// manifold (`radii` from [`kth_neighbour_radii`] of `reference`).
pub fn manifold_coverage(
    queries: &[f32],
    reference: &[f32],
    radii: &[f32],
    dim: usize,
    device: &Device,
) -> f64 {
    let n = queries.len() / dim;
    if n == 0 {
        return 0.0;
    }
    let mut inside = 0usize;
    for_each_distance_row(queries, reference, dim, device, |_, row| {
        if row.iter().zip(radii).any(|(d2, r)| d2.sqrt() <= *r) {
            inside += 1;
        }
    });
    inside as f64 / n as f64
}

/// Improved precision (how many generated samples lie on the real manifold) and recall (how
/// many real samples lie on the generated manifold), with `k` nearest neighbours.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrecisionRecall {
    pub precision: f64,
    pub recall: f64,
    pub k: usize,
}

pub fn precision_recall(
    real: &[f32],
    generated: &[f32],
    dim: usize,
    k: usize,
    device: &Device,
) -> PrecisionRecall {
    let real_radii = kth_neighbour_radii(real, dim, k, device);
    let generated_radii = kth_neighbour_radii(generated, dim, k, device);
    PrecisionRecall {
        precision: manifold_coverage(generated, real, &real_radii, dim, device),
        recall: manifold_coverage(real, generated, &generated_radii, dim, device),
        k,
    }
}

/// Neighbours for density and coverage (Naeem et al. 2020 use k = 5).
pub const DC_NEIGHBOURS: usize = 5;

/// Density and coverage (Naeem et al. 2020). Improved precision counts a sample as
/// realistic when it falls in *any* real point's neighbourhood ball, so one real outlier,
/// whose ball is huge, can make far-off garbage count as realistic (precision 1.0).
/// Density counts *how many* real balls hold each sample (about 1 for samples distributed
/// like the data, near 0 for samples only outliers reach); coverage is the fraction of real
/// points whose ball holds at least one sample (a mode-collapse measure).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DensityCoverage {
    pub density: f64,
    pub coverage: f64,
    pub k: usize,
}

pub fn density_coverage(
    real: &[f32],
    generated: &[f32],
    dim: usize,
    k: usize,
    device: &Device,
) -> DensityCoverage {
    let radii = kth_neighbour_radii(real, dim, k, device);
    let mut covered = vec![false; radii.len()];
    let mut inside = 0usize;
    for_each_distance_row(generated, real, dim, device, |_, row| {
        for ((d2, r), c) in row.iter().zip(&radii).zip(covered.iter_mut()) {
            if d2.sqrt() <= *r {
                inside += 1;
                *c = true;
            }
        }
    });
    let samples = (generated.len() / dim).max(1);
    DensityCoverage {
        density: inside as f64 / (k * samples) as f64,
        coverage: covered.iter().filter(|&&c| c).count() as f64 / radii.len().max(1) as f64,
        k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(centre: [f32; 2], n: usize) -> Vec<f32> {
        (0..n)
            .flat_map(|i| {
                let angle = i as f32 * 2.399;
                let r = 0.1 * (i as f32 / n as f32).sqrt();
                [centre[0] + r * angle.cos(), centre[1] + r * angle.sin()]
            })
            .collect()
    }

    #[test]
    fn distances_match_a_direct_computation() {
        let device = Device::flex();
        let a = [0.0, 0.0, 3.0, 4.0];
        let b = [0.0, 1.0, 6.0, 8.0, 3.0, 4.0];
        assert_eq!(nearest_distances(&a, &b, 2, &device), vec![1.0, 0.0]);
        // Radii: 1st neighbour of (0,0) among {(0,1), (6,8), (3,4)} is (0,1).
        let radii = kth_neighbour_radii(&b, 2, 1, &device);
        assert!((radii[0] - (9.0f32 + 9.0).sqrt()).abs() < 1e-5, "{radii:?}");
        assert!((radii[1] - 5.0).abs() < 1e-5, "{radii:?}");
    }

    #[test]
    fn identical_sets_have_precision_and_recall_one() {
        let device = Device::flex();
        let x = cluster([0.0, 0.0], 200);
        let pr = precision_recall(&x, &x, 2, 3, &device);
        assert_eq!((pr.precision, pr.recall), (1.0, 1.0));
    }

    #[test]
    fn disjoint_clusters_have_precision_and_recall_zero() {
        let device = Device::flex();
        let real = cluster([0.0, 0.0], 200);
        let fake = cluster([5.0, 5.0], 200);
        let pr = precision_recall(&real, &fake, 2, 3, &device);
        assert_eq!((pr.precision, pr.recall), (0.0, 0.0));
    }

    #[test]
    fn a_collapsed_generator_has_precision_but_no_recall() {
        let device = Device::flex();
        let real: Vec<f32> = [cluster([0.0, 0.0], 200), cluster([5.0, 5.0], 200)].concat();
        // Every generated point sits in the first real cluster: a mode collapse.
        let fake = cluster([0.0, 0.0], 150);
        let pr = precision_recall(&real, &fake, 2, 3, &device);
        assert_eq!(pr.precision, 1.0);
        assert!((pr.recall - 0.5).abs() < 0.05, "{pr:?}");
    }

    #[test]
    fn identical_sets_have_density_near_one_and_full_coverage() {
        let device = Device::flex();
        let x = cluster([0.0, 0.0], 300);
        let dc = density_coverage(&x, &x, 2, 5, &device);
        assert_eq!(dc.coverage, 1.0);
        assert!((dc.density - 1.0).abs() < 0.25, "{dc:?}");
    }

    #[test]
    fn a_real_outlier_fools_precision_but_not_density_or_coverage() {
        let device = Device::flex();
        // 100 digits in one place and one outlier 10 away: the outlier's 3rd-neighbour
        // ball has radius ~10.
        let mut real = cluster([0.0, 0.0], 100);
        real.extend([10.0, 0.0]);
        // Garbage 2 away from the outlier, far from every other real point.
        let garbage = cluster([12.0, 0.0], 50);
        let pr = precision_recall(&real, &garbage, 2, 3, &device);
        assert_eq!(
            pr.precision, 1.0,
            "the failure density and coverage guard against"
        );
        let dc = density_coverage(&real, &garbage, 2, 5, &device);
        // Each sample sits in the outlier's ball only: density 1/k; one real point covered.
        assert!((dc.density - 0.2).abs() < 1e-9, "{dc:?}");
        assert!((dc.coverage - 1.0 / 101.0).abs() < 1e-9, "{dc:?}");
    }
}
