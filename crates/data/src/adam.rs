//! Adam as one pass over each parameter on the CPU.
//!
//! Burn's Adam updates a parameter with about a dozen element-wise tensor operations, each
//! a full pass over a parameter-sized buffer and a fresh allocation; on `flex` that was a
//! fifth of an MLP GAN step (docs/performance.md). [`FusedAdam`] keeps Burn's state
//! (`AdamState`, so checkpoints are the same records) and Burn's arithmetic, operation for
//! operation in `f32`, but on `flex` reaches the buffers through Burn's `extension` feature
//! and updates the first and second moments in place and the parameter in the same loop.
//! The first step (which creates the moments) and every other backend take Burn's own Adam.

use burn::optim::Optimizer;
use burn::optim::{Adam, AdamConfig, AdamState, LearningRate, ModuleOptimizer};
use burn::tensor::{Device, Tensor};

/// Adam without weight decay or AMSGrad, fused on `flex`.
// Without flex only the generic path reads its settings.
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// The same optimiser as Burn's, for the first step and other backends.
    generic: Adam,
}

impl FusedAdam {
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        Self {
            beta_1,
            beta_2,
            epsilon,
            generic: AdamConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(epsilon)
                .build(),
        }
    }

    /// The optimiser of a whole module.
    pub fn init(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        match state {
            #[cfg(feature = "flex")]
            Some(state) if state.momentum.max_moment_2.is_none() => {
                flex::step(self, lr, tensor, grad, state)
            }
            state => self.generic.step(lr, tensor, grad, state),
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}

#[cfg(feature = "flex")]
mod flex {
    use burn::optim::Optimizer;
    use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate};
    use burn::tensor::Tensor;
    use burn_flex::{Flex, FlexTensor};
    use rayon::prelude::*;

    use super::FusedAdam;

    /// Elements per parallel chunk: below twice this, one thread does the whole parameter.
    const CHUNK: usize = 1 << 15;

    pub fn step<const D: usize>(
        adam: &FusedAdam,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: AdamState<D>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        let AdaptiveMomentumState {
            time,
            moment_1,
            moment_2,
            ..
        } = state.momentum.clone();
        let parts = (
            tensor.clone().try_into_primitive::<Flex>(),
            grad.clone().try_into_primitive::<Flex>(),
            moment_1.try_into_primitive::<Flex>(),
            moment_2.try_into_primitive::<Flex>(),
        );
        let (Ok(mut p), Ok(g), Ok(mut m), Ok(mut v)) = parts else {
            return adam.generic.step(lr, tensor, grad, Some(state));
        };
        let contiguous = [&p, &g, &m, &v].iter().all(|t| {
            t.dtype() == burn::tensor::DType::F32 && t.layout().contiguous_offsets().is_some()
        });
        if !contiguous {
            return adam.generic.step(lr, tensor, grad, Some(state));
        }
        // The tensors given back by the conversion share the buffers: let them go, so the
        // moments (owned by the state alone) are updated in place.
        drop((tensor, grad, state));
        let time = time + 1;
        update(adam, lr as f32, time, &mut p, &g, &mut m, &mut v);
        let momentum = AdaptiveMomentumState::new(
            time,
            Tensor::from_primitive::<Flex>(m),
            Tensor::from_primitive::<Flex>(v),
        );
        (
            Tensor::from_primitive::<Flex>(p),
            Some(AdamState::new(momentum)),
        )
    }

    fn range(t: &FlexTensor) -> std::ops::Range<usize> {
        let (start, end) = t.layout().contiguous_offsets().expect("checked contiguous");
        start..end
    }

    /// Burn's `AdaptiveMomentum::transform` and `Adam::step` for one parameter, element by
    /// element, with the same `f32` operations in the same order.
    fn update(
        adam: &FusedAdam,
        lr: f32,
        time: usize,
        p: &mut FlexTensor,
        g: &FlexTensor,
        m: &mut FlexTensor,
        v: &mut FlexTensor,
    ) {
        let (b1, b2, eps) = (adam.beta_1, adam.beta_2, adam.epsilon);
        let (f1, f2) = (1.0 - b1, 1.0 - b2);
        let bias_correction2_sqrt = (1.0 - b2.powi(time as i32)).sqrt();
        let combined = bias_correction2_sqrt / (1.0 - b1.powi(time as i32));
        let eps = eps * bias_correction2_sqrt;
        let (rp, rg, rm, rv) = (range(p), range(g), range(m), range(v));
        let g = &g.storage::<f32>()[rg];
        let p = &mut p.storage_mut::<f32>()[rp];
        let m = &mut m.storage_mut::<f32>()[rm];
        let v = &mut v.storage_mut::<f32>()[rv];
        let kernel = |p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
            for i in 0..p.len() {
                let gi = g[i];
                m[i] = m[i] * b1 + gi * f1;
                v[i] = v[i] * b2 + gi * gi * f2;
                let delta = m[i] * combined / (v[i].sqrt() + eps);
                p[i] -= delta * lr;
            }
        };
        if p.len() < 2 * CHUNK {
            kernel(p, g, m, v);
        } else {
            p.par_chunks_mut(CHUNK)
                .zip(g.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .for_each(|(((p, g), m), v)| kernel(p, g, m, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::TensorData;

    fn weights(model: &Linear) -> Vec<f32> {
        let mut values = crate::figure::tensor_values(model.weight.val());
        values.extend(crate::figure::tensor_values(
            model.bias.as_ref().expect("a bias").val(),
        ));
        values
    }

    /// `steps` Adam steps on a fixed regression problem, from fixed initial weights.
    fn train(
        mut optimizer: ModuleOptimizer,
        start: &Linear,
        steps: usize,
    ) -> (Linear, ModuleOptimizer) {
        let device = Device::flex().autodiff();
        let mut model = start.clone();
        // 300 x 200 weights: large enough for the parallel chunks.
        let x: Vec<f32> = (0..8 * 300)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let x = Tensor::<2>::from_data(TensorData::new(x, [8, 300]), &device);
        for _ in 0..steps {
            let loss = model.forward(x.clone()).powi_scalar(2).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(1e-2, model, grads);
        }
        (model, optimizer)
    }

    fn start() -> Linear {
        let device = Device::flex().autodiff();
        let init = LinearConfig::new(300, 200).init(&device);
        // Fixed weights, not the device's stream (tests share it).
        let values: Vec<f32> = (0..300 * 200)
            .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 5e3)
            .collect();
        let weight = Tensor::<2>::from_data(TensorData::new(values, [300, 200]), &device);
        Linear {
            weight: burn::module::Param::from_tensor(weight),
            ..init
        }
    }

    fn burn_adam() -> ModuleOptimizer {
        AdamConfig::new()
            .with_beta_1(0.5)
            .with_beta_2(0.999)
            .with_epsilon(1e-8)
            .init()
    }

    /// The fused loop runs where the buffers can be reached: flex tensors, not autodiff ones
    /// (the optimiser sees the inner tensors).
    #[test]
    fn flex_tensors_reach_the_fused_loop() {
        let plain = Tensor::<1>::from_data([1.0f32, 2.0], &Device::flex());
        assert!(plain.try_into_primitive::<burn_flex::Flex>().is_ok());
        let tracked = Tensor::<1>::from_data([1.0f32, 2.0], &Device::flex().autodiff());
        assert!(
            tracked
                .inner()
                .try_into_primitive::<burn_flex::Flex>()
                .is_ok()
        );
    }

    #[test]
    fn fused_steps_match_burns_adam() {
        let start = start();
        let (ours, _) = train(FusedAdam::new(0.5, 0.999, 1e-8).init(), &start, 5);
        let (burns, _) = train(burn_adam(), &start, 5);
        let (a, b) = (weights(&ours), weights(&burns));
        assert_ne!(a, weights(&start), "the weights moved");
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

    #[test]
    fn checkpoints_are_burns_adam_records() {
        let start = start();
        let (model, fused) = train(FusedAdam::new(0.5, 0.999, 1e-8).init(), &start, 3);
        let dir = tempfile::tempdir().unwrap();
        crate::run::save_optimizer(dir.path(), "adam", &fused).unwrap();
        // Burn's Adam continues from the fused one's moments, and the reverse.
        let burns = crate::run::load_optimizer(dir.path(), "adam", burn_adam()).unwrap();
        let (after_burn, _) = train(burns, &model, 2);
        let fused =
            crate::run::load_optimizer(dir.path(), "adam", FusedAdam::new(0.5, 0.999, 1e-8).init())
                .unwrap();
        let (after_fused, _) = train(fused, &model, 2);
        for (x, y) in weights(&after_fused).iter().zip(&weights(&after_burn)) {
            assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }
}
