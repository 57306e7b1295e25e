//! Bernoulli sampling in one pass: `p = σ(x)` and `s = [u < p]` together.
//!
//! The Boltzmann machines spend much of a Gibbs step turning pre-activations into
//! probabilities and samples: Burn draws the uniforms on one thread through a ChaCha
//! generator, then compares and converts in two more passes (a sixth of an RBM step,
//! docs/performance.md). On `flex`, [`sigmoid_bernoulli`] and [`bernoulli`] do it in one
//! parallel pass whose uniforms come from a counter-based stream: element `i` of a call
//! draws `seed::mix(call_seed, 0, i)`, so the samples depend on the device's seed
//! (`device.seed`, one draw per call) and not on the thread count. Elsewhere (other
//! backends, autodiff tensors, other float types) they are Burn's own operations.

use burn::tensor::{DType, Device, Distribution, Int, Tensor};

/// `(σ(x), a Bernoulli sample of σ(x))`, elementwise.
pub fn sigmoid_bernoulli(x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    if fast_path(&x) {
        let seed = call_seed(&x.device());
        fast::sample(x, seed, true)
    } else {
        let p = burn::tensor::activation::sigmoid(x);
        let sample = generic_bernoulli(p.clone());
        (p, sample)
    }
}

/// 1 with probability `p`, elementwise.
pub fn bernoulli(p: Tensor<2>) -> Tensor<2> {
    if fast_path(&p) {
        let seed = call_seed(&p.device());
        fast::sample(p, seed, false).1
    } else {
        generic_bernoulli(p)
    }
}

fn generic_bernoulli(p: Tensor<2>) -> Tensor<2> {
    p.clone()
        .random_like(Distribution::Default)
        .lower(p)
        .float()
}

/// 60 bits from the device's random stream: the seed of one call's uniforms.
fn call_seed(device: &Device) -> u64 {
    let range = Distribution::Uniform(0.0, (1u64 << 30) as f64);
    let halves = Tensor::<1, Int>::random([2], range, device)
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .expect("two integers");
    ((halves[0] as u64) << 30) | halves[1] as u64
}

fn fast_path(x: &Tensor<2>) -> bool {
    let device = x.device();
    cfg!(feature = "flex")
        && x.dtype() == DType::F32
        && !device.is_autodiff()
        && crate::backend::on_flex(&device)
}

/// The uniform in [0, 1) of element `index` of a call seeded with `seed` (24 random bits).
#[inline]
pub fn uniform(seed: u64, index: u64) -> f32 {
    (crate::seed::mix(seed, 0, index) >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

#[cfg(not(feature = "flex"))]
mod fast {
    use burn::tensor::Tensor;

    pub fn sample(_: Tensor<2>, _: u64, _: bool) -> (Tensor<2>, Tensor<2>) {
        unreachable!("the one-pass sampler is only taken on flex")
    }
}

#[cfg(feature = "flex")]
mod fast {
    use burn::backend::{Backend, Dispatch, Flex, backend_extension, tensor::FloatTensor};
    use burn::tensor::{Bytes, DType, Tensor};
    use burn_flex::{FlexTensor, Layout};
    use rayon::prelude::*;

    use super::uniform;

    /// Elements per parallel chunk.
    const CHUNK: usize = 1 << 14;

    pub fn sample(x: Tensor<2>, seed: u64, sigmoid: bool) -> (Tensor<2>, Tensor<2>) {
        let (p, s) =
            <Dispatch as OnePassSampling>::one_pass_bernoulli(x.into_dispatch(), seed, sigmoid);
        (Tensor::from_dispatch(p), Tensor::from_dispatch(s))
    }

    #[backend_extension(Flex)]
    pub trait OnePassSampling: Backend {
        /// `(p, [u < p])` with `p = σ(x)` when `sigmoid`, else `p = x`.
        fn one_pass_bernoulli(
            x: FloatTensor<Self>,
            seed: u64,
            sigmoid: bool,
        ) -> (FloatTensor<Self>, FloatTensor<Self>);
    }

    impl OnePassSampling for Flex {
        fn one_pass_bernoulli(x: FlexTensor, seed: u64, sigmoid: bool) -> (FlexTensor, FlexTensor) {
            let shape = x.layout().shape().clone();
            let input = x.to_contiguous();
            let values = input.as_slice::<f32>().expect("an f32 tensor");
            let tensor = |values: Vec<f32>| {
                FlexTensor::new(
                    Bytes::from_elems(values),
                    Layout::contiguous(shape.clone()),
                    DType::F32,
                )
            };
            let mut s = vec![0.0f32; values.len()];
            if !sigmoid {
                // `x` holds the probabilities already: sample them, give `x` back.
                s.par_chunks_mut(CHUNK)
                    .zip(values.par_chunks(CHUNK))
                    .enumerate()
                    .for_each(|(chunk, (s, p))| draw(s, p, seed, chunk));
                return (input.clone(), tensor(s));
            }
            let mut p = vec![0.0f32; values.len()];
            p.par_chunks_mut(CHUNK)
                .zip(s.par_chunks_mut(CHUNK))
                .zip(values.par_chunks(CHUNK))
                .enumerate()
                .for_each(|(chunk, ((p, s), x))| {
                    for (p, &x) in p.iter_mut().zip(x) {
                        *p = 1.0 / (1.0 + (-x).exp());
                    }
                    draw(s, p, seed, chunk);
                });
            (tensor(p), tensor(s))
        }
    }

    /// `s[i] = [u < p[i]]` for chunk `chunk`'s uniforms.
    fn draw(s: &mut [f32], p: &[f32], seed: u64, chunk: usize) {
        let first = (chunk * CHUNK) as u64;
        for (i, (s, &p)) in s.iter_mut().zip(p).enumerate() {
            *s = if uniform(seed, first + i as u64) < p {
                1.0
            } else {
                0.0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    use crate::figure::tensor_values;

    fn grid(rows: usize, cols: usize, f: impl Fn(usize) -> f32) -> Tensor<2> {
        let values: Vec<f32> = (0..rows * cols).map(f).collect();
        Tensor::from_data(TensorData::new(values, [rows, cols]), &Device::flex())
    }

    #[test]
    fn sample_frequencies_match_the_probabilities() {
        // 40 000 draws at each of five probabilities (standard error <= 0.0025).
        let probabilities = [0.0f32, 0.1, 0.5, 0.9, 1.0];
        let p = grid(5, 40_000, |i| probabilities[i / 40_000]);
        assert!(fast_path(&p));
        let s = tensor_values(bernoulli(p));
        assert!(s.iter().all(|&v| v == 0.0 || v == 1.0));
        for (row, &q) in probabilities.iter().enumerate() {
            let mean = s[row * 40_000..(row + 1) * 40_000].iter().sum::<f32>() / 40_000.0;
            assert!((mean - q).abs() < 0.0125, "p = {q}: frequency {mean}");
        }
    }

    #[test]
    fn probabilities_are_the_sigmoid_and_samples_follow_them() {
        let x = grid(4, 10_000, |i| (i % 200) as f32 / 10.0 - 10.0);
        let reference = tensor_values(burn::tensor::activation::sigmoid(x.clone()));
        let (p, s) = sigmoid_bernoulli(x);
        let (p, s) = (tensor_values(p), tensor_values(s));
        for (a, b) in p.iter().zip(&reference) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
        let (sum_p, sum_s): (f32, f32) = (p.iter().sum(), s.iter().sum());
        assert!(
            (sum_s - sum_p).abs() / (p.len() as f32) < 0.01,
            "{sum_s} vs {sum_p}"
        );
    }

    #[test]
    fn uniforms_do_not_depend_on_the_thread_count() {
        // The values are a function of (seed, index) only: the chunks split the work, not
        // the stream.
        let draw = |threads: usize| {
            crate::ThreadPolicy::new(Some(threads)).install(|| {
                let p = grid(3, 30_000, |_| 0.5);
                let seed = 12345;
                tensor_values(fast::sample(p, seed, false).1)
            })
        };
        assert_eq!(draw(1), draw(2));
        let u: Vec<f32> = (0..1000).map(|i| uniform(7, i)).collect();
        assert!(u.iter().all(|&v| (0.0..1.0).contains(&v)));
        assert!((u.iter().sum::<f32>() / 1000.0 - 0.5).abs() < 0.05);
    }

    #[test]
    fn other_devices_take_burns_operations() {
        let tracked = Tensor::<2>::zeros([2, 2], &Device::flex().autodiff());
        assert!(!fast_path(&tracked));
    }
}
