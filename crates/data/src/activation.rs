//! LeakyReLU as one pass forward and one pass backward.
//!
//! Burn's autodiff has no LeakyReLU of its own: it records the generic composition (a
//! comparison, a scaled copy and a `mask_where`), and differentiates each of the three, so a
//! DCGAN discriminator spent a sixth of its training step in `mask_where`
//! (docs/performance.md). [`leaky_relu`] records one node whose backward is one pass over
//! the input and the output gradient, as Burn's own ReLU does; off `flex` (and for other
//! float types) it is Burn's `leaky_relu`.

use burn::tensor::{DType, Tensor};

/// `x` where `x >= 0`, `negative_slope · x` elsewhere (Burn's definition).
pub fn leaky_relu<const D: usize>(x: Tensor<D>, negative_slope: f64) -> Tensor<D> {
    if fast_path(&x) {
        fast::leaky_relu(x, negative_slope)
    } else {
        burn::tensor::activation::leaky_relu(x, negative_slope)
    }
}

fn fast_path<const D: usize>(x: &Tensor<D>) -> bool {
    cfg!(feature = "flex") && x.dtype() == DType::F32 && crate::backend::on_flex(&x.device())
}

#[cfg(not(feature = "flex"))]
mod fast {
    use burn::tensor::Tensor;

    pub fn leaky_relu<const D: usize>(_: Tensor<D>, _: f64) -> Tensor<D> {
        unreachable!("the one-pass LeakyReLU is only taken on flex")
    }
}

#[cfg(feature = "flex")]
mod fast {
    use burn::backend::ops::ActivationOps;
    use burn::backend::{Backend, Dispatch, Flex, backend_extension, tensor::FloatTensor};
    use burn::tensor::Tensor;
    use burn_autodiff::Autodiff;
    use burn_autodiff::NodeId;
    use burn_autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
    use burn_autodiff::grads::Gradients;
    use burn_autodiff::ops::{Backward, Ops, OpsKind};
    use burn_flex::FlexTensor;
    use rayon::prelude::*;

    /// Elements per parallel chunk of the backward pass.
    const CHUNK: usize = 1 << 15;

    pub fn leaky_relu<const D: usize>(x: Tensor<D>, negative_slope: f64) -> Tensor<D> {
        Tensor::from_dispatch(<Dispatch as OnePassActivation>::one_pass_leaky_relu(
            x.into_dispatch(),
            negative_slope,
        ))
    }

    #[backend_extension(Flex, Autodiff)]
    pub trait OnePassActivation: Backend {
        fn one_pass_leaky_relu(x: FloatTensor<Self>, negative_slope: f64) -> FloatTensor<Self>;

        /// `grad` where `x >= 0`, `negative_slope · grad` elsewhere.
        fn one_pass_leaky_relu_backward(
            x: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            negative_slope: f64,
        ) -> FloatTensor<Self>;
    }

    impl OnePassActivation for Flex {
        fn one_pass_leaky_relu(x: FlexTensor, negative_slope: f64) -> FlexTensor {
            <Flex as ActivationOps<Flex>>::leaky_relu(x, negative_slope.into())
        }

        fn one_pass_leaky_relu_backward(
            x: FlexTensor,
            grad: FlexTensor,
            negative_slope: f64,
        ) -> FlexTensor {
            let slope = negative_slope as f32;
            let x = x.to_contiguous();
            let mut grad = grad.to_contiguous();
            let x = x.as_slice::<f32>().expect("an f32 tensor");
            // In place when the gradient buffer is not shared, else into a copy.
            let (start, end) = grad.layout().contiguous_offsets().expect("contiguous");
            let values = &mut grad.storage_mut::<f32>()[start..end];
            let kernel = |(g, x): (&mut [f32], &[f32])| {
                for (g, &x) in g.iter_mut().zip(x) {
                    *g *= if x < 0.0 { slope } else { 1.0 };
                }
            };
            values
                .par_chunks_mut(CHUNK)
                .zip(x.par_chunks(CHUNK))
                .for_each(kernel);
            grad
        }
    }

    #[derive(Debug)]
    struct LeakyReluBackward;

    impl<B: Backend + OnePassActivation> Backward<B, 1> for LeakyReluBackward {
        type State = (NodeId, f64);

        fn backward(
            self,
            ops: Ops<Self::State, 1>,
            grads: &mut Gradients,
            checkpointer: &mut Checkpointer,
        ) {
            let [node_x] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let (x, negative_slope) = ops.state;
            let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
            if let Some(node) = node_x {
                let grad = B::one_pass_leaky_relu_backward(x, grad, negative_slope);
                grads.register::<B>(node.id, grad);
            }
        }
    }

    impl<B: Backend + OnePassActivation, C: CheckpointStrategy> OnePassActivation for Autodiff<B, C> {
        fn one_pass_leaky_relu(x: FloatTensor<Self>, negative_slope: f64) -> FloatTensor<Self> {
            match LeakyReluBackward
                .prepare::<C>([x.node()])
                // Keeps its input for the backward (no recomputation under checkpointing).
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = (prep.checkpoint(&x), negative_slope);
                    let output = B::one_pass_leaky_relu(x.into_primitive(), negative_slope);
                    prep.finish(state, output)
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(B::one_pass_leaky_relu(x.into_primitive(), negative_slope))
                }
            }
        }

        fn one_pass_leaky_relu_backward(
            _x: FloatTensor<Self>,
            _grad: FloatTensor<Self>,
            _negative_slope: f64,
        ) -> FloatTensor<Self> {
            panic!("genlab's one-pass LeakyReLU has first-order gradients only")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    use crate::figure::tensor_values;

    /// Values and gradients of `sum(leaky_relu(x) · r)` by both paths agree, on both sides
    /// of zero and at zero.
    #[test]
    fn one_pass_leaky_relu_matches_burns() {
        let device = Device::flex().autodiff();
        let values: Vec<f32> = (0..600).map(|i| (i as f32 - 300.0) / 37.0).collect();
        let weights: Vec<f32> = (0..600).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(values, [20, 30]), &device);
        let r = Tensor::<2>::from_data(TensorData::new(weights, [20, 30]), &device);
        assert!(fast_path(&x));
        let run = |f: &dyn Fn(Tensor<2>) -> Tensor<2>| {
            let x = x.clone().require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * r.clone()).sum().backward();
            (tensor_values(y), tensor_values(x.grad(&grads).unwrap()))
        };
        let ours = run(&|x| leaky_relu(x, 0.2));
        let burns = run(&|x| burn::tensor::activation::leaky_relu(x, 0.2));
        assert_eq!(ours.0, burns.0, "values");
        assert_eq!(ours.1, burns.1, "gradients");
        // Inference tensors (no autodiff) give the same values.
        let plain = x.clone().inner();
        assert_eq!(tensor_values(leaky_relu(plain, 0.2)), ours.0);
    }
}
