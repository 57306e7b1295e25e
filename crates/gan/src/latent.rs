//! Paths through the latent space: straight lines, great circles and axis traversals.
//!
//! Codes drawn from N(0, I) in d dimensions concentrate on a shell of radius ~sqrt(d); the
//! midpoint of a straight line between two of them is shorter (by ~1/sqrt(2) for
//! independent codes), i.e. a code the generator rarely saw. Spherical interpolation keeps
//! the norm on the shell.

/// `steps` codes on the straight line from `a` to `b` (both ends included).
pub fn lerp(a: &[f32], b: &[f32], steps: usize) -> Vec<Vec<f32>> {
    fractions(steps)
        .map(|t| a.iter().zip(b).map(|(x, y)| x + t * (y - x)).collect())
        .collect()
}

/// `steps` codes on the great-circle arc from `a` to `b` (Shoemake's slerp), with the
/// norm interpolated linearly between the two ends.
pub fn slerp(a: &[f32], b: &[f32], steps: usize) -> Vec<Vec<f32>> {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    let cos = (a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (na * nb)).clamp(-1.0, 1.0);
    let omega = cos.acos();
    if omega.abs() < 1e-4 {
        return lerp(a, b, steps);
    }
    fractions(steps)
        .map(|t| {
            let wa = ((1.0 - t) * omega).sin() / omega.sin();
            let wb = (t * omega).sin() / omega.sin();
            // The arc between the unit directions, rescaled to the interpolated norm.
            let radius = na + t * (nb - na);
            a.iter()
                .zip(b)
                .map(|(x, y)| radius * (wa * x / na + wb * y / nb))
                .collect()
        })
        .collect()
}

/// `steps` copies of `code` with dimension `dim` swept evenly over `[-range, range]`.
pub fn traversal(code: &[f32], dim: usize, range: f32, steps: usize) -> Vec<Vec<f32>> {
    fractions(steps)
        .map(|t| {
            let mut c = code.to_vec();
            c[dim] = -range + 2.0 * range * t;
            c
        })
        .collect()
}

fn fractions(steps: usize) -> impl Iterator<Item = f32> {
    let last = (steps.max(2) - 1) as f32;
    (0..steps).map(move |i| i as f32 / last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    #[test]
    fn paths_start_and_end_at_the_codes() {
        let a = [1.0, 0.0, 2.0];
        let b = [0.0, 3.0, -1.0];
        for path in [lerp(&a, &b, 5), slerp(&a, &b, 5)] {
            assert_eq!(path.len(), 5);
            for (x, y) in path[0].iter().zip(&a) {
                assert!((x - y).abs() < 1e-5);
            }
            for (x, y) in path[4].iter().zip(&b) {
                assert!((x - y).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn slerp_keeps_the_norm_where_lerp_shrinks_it() {
        let a = [3.0, 0.0];
        let b = [0.0, 3.0];
        let mid_lerp = &lerp(&a, &b, 3)[1];
        let mid_slerp = &slerp(&a, &b, 3)[1];
        assert!((norm(mid_lerp) - 3.0 / 2f32.sqrt()).abs() < 1e-5);
        assert!((norm(mid_slerp) - 3.0).abs() < 1e-5);
        // On the bisector of the two directions.
        assert!((mid_slerp[0] - mid_slerp[1]).abs() < 1e-5);
    }

    #[test]
    fn a_traversal_moves_one_dimension_only() {
        let code = [0.5, -0.2, 0.1];
        let path = traversal(&code, 1, 3.0, 4);
        assert_eq!(path[0][1], -3.0);
        assert_eq!(path[3][1], 3.0);
        assert!(path.iter().all(|c| c[0] == 0.5 && c[2] == 0.1));
    }
}
