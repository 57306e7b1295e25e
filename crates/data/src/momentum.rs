//! The momentum update of the Boltzmann machines' training as one pass over each parameter.
//!
//! `Δ ← momentum · Δ + learning_rate · (gradient − weight_decay · w)`, then `w ← w + Δ`.
//! Written with tensor operations this is six passes over the parameter, each allocating a
//! parameter-sized buffer; on `flex` [`MomentumStep::apply`] reads the velocity, gradient and
//! parameter once and writes the new velocity and parameter, with the same `f32` operations
//! in the same order, so the results are the same bits. Other backends (and strided or
//! non-`f32` tensors) take the tensor operations.

use burn::module::Param;
use burn::tensor::Tensor;

/// One momentum step's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MomentumStep {
    pub learning_rate: f64,
    pub momentum: f64,
    /// L2 weight decay; 0 leaves the gradient as it is (the biases').
    pub weight_decay: f64,
}

/// A parameter and its velocity after a step.
pub struct Updated<const D: usize> {
    pub param: Tensor<D>,
    pub velocity: Tensor<D>,
}

impl MomentumStep {
    /// The same step without weight decay, as the biases take it.
    pub fn without_decay(self) -> Self {
        Self {
            weight_decay: 0.0,
            ..self
        }
    }

    /// The step of `param` with its `velocity` and `gradient` (the ascent direction).
    pub fn apply<const D: usize>(
        &self,
        param: Tensor<D>,
        velocity: Tensor<D>,
        gradient: Tensor<D>,
    ) -> Updated<D> {
        #[cfg(feature = "flex")]
        if let Some(updated) = flex::apply(self, &param, &velocity, &gradient) {
            return updated;
        }
        self.with_tensor_operations(param, velocity, gradient)
    }

    /// [`apply`](Self::apply) to a parameter and its velocity, replacing both.
    pub fn update<const D: usize>(
        &self,
        param: &mut Param<Tensor<D>>,
        velocity: &mut Param<Tensor<D>>,
        gradient: Tensor<D>,
    ) {
        let updated = self.apply(param.val(), velocity.val(), gradient);
        *param = Param::from_tensor(updated.param);
        *velocity = Param::from_tensor(updated.velocity);
    }

    fn with_tensor_operations<const D: usize>(
        &self,
        param: Tensor<D>,
        velocity: Tensor<D>,
        gradient: Tensor<D>,
    ) -> Updated<D> {
        let ascent = if self.weight_decay == 0.0 {
            gradient * self.learning_rate
        } else {
            (gradient - param.clone() * self.weight_decay) * self.learning_rate
        };
        let velocity = velocity * self.momentum + ascent;
        Updated {
            param: param + velocity.clone(),
            velocity,
        }
    }
}

#[cfg(feature = "flex")]
mod flex {
    use burn::tensor::{Bytes, DType, Tensor};
    use burn_flex::{Flex, FlexTensor, Layout};
    use rayon::prelude::*;

    use super::{MomentumStep, Updated};

    /// Elements per parallel chunk: below twice this, one thread does the whole parameter.
    const CHUNK: usize = 1 << 15;

    /// The fused step, or `None` where a tensor is not a contiguous `f32` one on flex.
    pub fn apply<const D: usize>(
        step: &MomentumStep,
        param: &Tensor<D>,
        velocity: &Tensor<D>,
        gradient: &Tensor<D>,
    ) -> Option<Updated<D>> {
        let p = param.clone().try_into_primitive::<Flex>().ok()?;
        let v = velocity.clone().try_into_primitive::<Flex>().ok()?;
        let g = gradient.clone().try_into_primitive::<Flex>().ok()?;
        let (p_values, v_values, g_values) = (values(&p)?, values(&v)?, values(&g)?);
        let shape = p.layout().shape();
        if v.layout().shape() != shape || g.layout().shape() != shape {
            return None;
        }
        let lr = step.learning_rate as f32;
        let momentum = step.momentum as f32;
        let decay = step.weight_decay as f32;
        let decays = step.weight_decay != 0.0;
        // The tensor operations' arithmetic, element by element (see the module's comment).
        let kernel = |p: &[f32], v: &[f32], g: &[f32], new_p: &mut [f32], new_v: &mut [f32]| {
            for i in 0..p.len() {
                let ascent = if !decays {
                    g[i] * lr
                } else {
                    (g[i] - p[i] * decay) * lr
                };
                new_v[i] = v[i] * momentum + ascent;
                new_p[i] = p[i] + new_v[i];
            }
        };
        let n = p_values.len();
        // Zero-filled, then written: a per-element collect into both vectors (rayon's
        // `unzip_into_vecs`) was 15% slower over the whole RBM step, not vectorised.
        let mut new_p = vec![0.0f32; n];
        let mut new_v = vec![0.0f32; n];
        if n < 2 * CHUNK {
            kernel(p_values, v_values, g_values, &mut new_p, &mut new_v);
        } else {
            new_p
                .par_chunks_mut(CHUNK)
                .zip(new_v.par_chunks_mut(CHUNK))
                .zip(p_values.par_chunks(CHUNK))
                .zip(v_values.par_chunks(CHUNK))
                .zip(g_values.par_chunks(CHUNK))
                .for_each(|((((new_p, new_v), p), v), g)| kernel(p, v, g, new_p, new_v));
        }
        let shape = shape.clone();
        let tensor = |values: Vec<f32>| {
            Tensor::from_primitive::<Flex>(FlexTensor::new(
                Bytes::from_elems(values),
                Layout::contiguous(shape.clone()),
                DType::F32,
            ))
        };
        Some(Updated {
            param: tensor(new_p),
            velocity: tensor(new_v),
        })
    }

    /// The values of a contiguous `f32` tensor in row-major order.
    fn values(t: &FlexTensor) -> Option<&[f32]> {
        if t.dtype() != DType::F32 {
            return None;
        }
        t.as_slice::<f32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn tensor(values: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    /// Values of both signs and magnitudes, different for each `salt`.
    fn values(n: usize, salt: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 + salt * 104_729) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    }

    fn bits(t: Tensor<2>) -> Vec<u32> {
        let data = t.into_data();
        let values = data.as_slice::<f32>().expect("f32 values");
        values.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn the_fused_step_gives_the_tensor_operations_bits() {
        // 1 x 40 runs on one thread; 3 x 40_000 in parallel chunks.
        for shape in [[1, 40], [3, 40_000]] {
            let n = shape[0] * shape[1];
            for weight_decay in [0.0, 0.0002] {
                let step = MomentumStep {
                    learning_rate: 0.05,
                    momentum: 0.9,
                    weight_decay,
                };
                let (p, v, g) = (values(n, 1), values(n, 2), values(n, 3));
                let fused = flex::apply(
                    &step,
                    &tensor(p.clone(), shape),
                    &tensor(v.clone(), shape),
                    &tensor(g.clone(), shape),
                )
                .expect("fused on flex");
                let expected = step.with_tensor_operations(
                    tensor(p, shape),
                    tensor(v, shape),
                    tensor(g, shape),
                );
                assert_eq!(bits(fused.param), bits(expected.param), "{shape:?}");
                assert_eq!(bits(fused.velocity), bits(expected.velocity));
            }
        }
    }

    #[test]
    fn a_step_adds_the_new_velocity_and_a_strided_parameter_takes_the_same_step() {
        let step = MomentumStep {
            learning_rate: 0.5,
            momentum: 0.5,
            weight_decay: 0.25,
        };
        // Δ = 0.5 · 2 + 0.5 · (4 − 0.25 · 8) = 2; w = 8 + 2.
        let updated = step.apply(
            tensor(vec![8.0], [1, 1]),
            tensor(vec![2.0], [1, 1]),
            tensor(vec![4.0], [1, 1]),
        );
        assert_eq!(bits(updated.velocity), [2.0f32.to_bits()]);
        assert_eq!(bits(updated.param), [10.0f32.to_bits()]);
        // A transposed view is not contiguous: the tensor operations take it, same values.
        let p = values(6, 1);
        let transposed = tensor(p.clone(), [2, 3]).transpose();
        let (v, g) = (tensor(values(6, 2), [3, 2]), tensor(values(6, 3), [3, 2]));
        assert!(flex::apply(&step, &transposed, &v, &g).is_none());
        // Tensors of one length but different shapes are not fused either.
        let other_shape = tensor(values(6, 1), [2, 3]);
        assert!(flex::apply(&step, &other_shape, &v, &g).is_none());
        let strided = step.apply(
            tensor(p.clone(), [2, 3]).transpose(),
            tensor(values(6, 2), [3, 2]),
            tensor(values(6, 3), [3, 2]),
        );
        let contiguous = step.apply(
            Tensor::from_data(tensor(p, [2, 3]).transpose().into_data(), &Device::flex()),
            tensor(values(6, 2), [3, 2]),
            tensor(values(6, 3), [3, 2]),
        );
        assert_eq!(bits(strided.param), bits(contiguous.param));
    }
}
