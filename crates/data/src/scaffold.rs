//! The pieces every trained model needs besides its own step: one optimiser step that also
//! reports the gradient norm, noise drawn on the CPU from a seed, and sampling in chunks.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Sums the squares of every parameter gradient a module has in `grads`.
struct GradientSquares<'a> {
    grads: &'a Gradients,
    squares: Vec<Tensor<1>>,
}

impl ModuleVisitor for GradientSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = param.val().grad(self.grads) {
            self.squares.push(grad.powi_scalar(2).sum());
        }
    }
}

/// The L2 norm of a module's gradients, as a one-element tensor (read later with the other
/// figures of the step, to wait for the device once).
pub fn gradient_norm<M: Module>(module: &M, grads: &Gradients) -> Tensor<1> {
    let mut visitor = GradientSquares {
        grads,
        squares: Vec::new(),
    };
    module.visit(&mut visitor);
    Tensor::cat(visitor.squares, 0).sum().sqrt()
}

/// Backpropagates `loss` and takes one optimiser step on `module`'s parameters; returns
/// the updated module and the norm of its gradients.
pub fn descend<M: Module>(
    module: M,
    optimizer: &mut ModuleOptimizer,
    learning_rate: f64,
    loss: &Tensor<1>,
) -> (M, Tensor<1>) {
    // Run the forward pass before the backward one. On Burn 0.22's wgpu backend a loss
    // still pending when `backward` is called came out wrong, and so did its gradients
    // (the diffusion model diverged on an H200; reproduced with lavapipe, see
    // docs/performance.md). Reading the value forces the forward pass; on flex it has
    // already run, so the read costs nothing there.
    let _ = loss.clone().into_scalar::<f32>();
    let grads = loss.backward();
    let norm = gradient_norm(&module, &grads);
    let grads = GradientsParams::from_grads(grads, &module);
    (optimizer.step(learning_rate, module, grads), norm)
}

/// A standard normal draw (Box-Muller), so no distribution crate is needed.
pub fn standard_normal(rng: &mut StdRng) -> f32 {
    use rand::Rng;
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

/// `[count, dim]` standard normal values drawn on the CPU from `seed` (independent of the
/// device's stream): the same seed gives the same noise on every backend, at every epoch,
/// and in tests that run in parallel.
pub fn fixed_normal(count: usize, dim: usize, seed: u64, device: &Device) -> Tensor<2> {
    let mut rng = StdRng::seed_from_u64(seed);
    let values: Vec<f32> = (0..count * dim)
        .map(|_| standard_normal(&mut rng))
        .collect();
    Tensor::from_data(TensorData::new(values, [count, dim]), device)
}

/// `count` rows drawn `chunk` at a time by `draw(rows, chunk_index)`, concatenated: keeps
/// the memory of sampling thousands of images bounded.
pub fn in_chunks(
    count: usize,
    chunk: usize,
    mut draw: impl FnMut(usize, usize) -> Tensor<2>,
) -> Tensor<2> {
    let chunk = chunk.max(1);
    let parts: Vec<Tensor<2>> = (0..count.div_ceil(chunk))
        .map(|i| draw(chunk.min(count - i * chunk), i))
        .collect();
    Tensor::cat(parts, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    #[test]
    fn the_gradient_norm_is_the_l2_norm_of_every_parameter_gradient() {
        let device = Device::flex().autodiff();
        let linear = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [1, 3]), &device);
        // d sum(xW + b) / dW = x for each of the 2 outputs, d / db = 1: norm^2 = 2 * 14 + 2.
        let grads = linear.forward(x).sum().backward();
        let norm = gradient_norm(&linear, &grads).into_scalar::<f32>();
        assert!((norm - 30f32.sqrt()).abs() < 1e-5, "{norm}");
    }

    #[test]
    fn fixed_noise_is_reproducible_and_roughly_standard() {
        let device = Device::flex();
        let a = crate::figure::tensor_values(fixed_normal(100, 50, 3, &device));
        let b = crate::figure::tensor_values(fixed_normal(100, 50, 3, &device));
        assert_eq!(a, b);
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        let var = a.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.1, "{mean} {var}");
    }

    #[test]
    fn chunks_cover_every_row_once_in_order() {
        let device = Device::flex();
        let mut sizes = Vec::new();
        let t = in_chunks(2500, 1000, |rows, i| {
            sizes.push(rows);
            Tensor::<2>::full([rows, 1], i as f32, &device)
        });
        assert_eq!(sizes, vec![1000, 1000, 500]);
        let v = crate::figure::tensor_values(t);
        assert_eq!((v[0], v[999], v[1000], v[2499]), (0.0, 0.0, 1.0, 2.0));
    }
}
