//! The backward passes of the im2col convolutions, as Burn autodiff nodes.
//!
//! A convolution's input gradient is the transposed convolution of its output gradient with
//! the same weight, and a transposed convolution's is the convolution of its output
//! gradient; both weight gradients are one `im2col_conv2d_weight_grad` (for the transposed
//! convolution with the roles of input and output gradient swapped). First-order only:
//! the gradient passes themselves are not differentiated again.

use burn::backend::{Backend, tensor::FloatTensor};
use burn_autodiff::Autodiff;
use burn_autodiff::NodeId;
use burn_autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};

use super::Geometry;
use super::ops::Im2colConv;

#[derive(Debug)]
struct Conv2dBackward;

impl<B: Backend + Im2colConv> Backward<B, 2> for Conv2dBackward {
    type State = (NodeId, NodeId, Geometry);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, geometry) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight);
        if let Some(node) = node_weight {
            let grad_weight = B::im2col_conv2d_weight_grad(x, grad.clone(), geometry);
            grads.register::<B>(node.id, grad_weight);
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::im2col_conv_transpose2d(grad, weight, geometry));
        }
    }
}

#[derive(Debug)]
struct ConvTranspose2dBackward;

impl<B: Backend + Im2colConv> Backward<B, 2> for ConvTranspose2dBackward {
    type State = (NodeId, NodeId, Geometry);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, geometry) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight);
        if let Some(node) = node_weight {
            // y = convᵀ(x, W) is the adjoint of a convolution from y's space to x's, so
            // dW has the shape and the formula of that convolution's weight gradient with
            // y's gradient as its input and x as its output gradient.
            let grad_weight = B::im2col_conv2d_weight_grad(grad.clone(), x, geometry);
            grads.register::<B>(node.id, grad_weight);
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::im2col_conv2d(grad, weight, geometry));
        }
    }
}

const SECOND_ORDER: &str = "genlab's im2col convolution has first-order gradients only";

impl<B: Backend + Im2colConv, C: CheckpointStrategy> Im2colConv for Autodiff<B, C> {
    fn im2col_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self> {
        match Conv2dBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&weight), geometry);
                prep.finish(
                    state,
                    B::im2col_conv2d(x.into_primitive(), weight.into_primitive(), geometry),
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(B::im2col_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                geometry,
            )),
        }
    }

    fn im2col_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self> {
        match ConvTranspose2dBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&weight), geometry);
                let output = B::im2col_conv_transpose2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    geometry,
                );
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::im2col_conv_transpose2d(
                x.into_primitive(),
                weight.into_primitive(),
                geometry,
            )),
        }
    }

    fn im2col_conv2d_weight_grad(
        _x: FloatTensor<Self>,
        _output_grad: FloatTensor<Self>,
        _geometry: Geometry,
    ) -> FloatTensor<Self> {
        panic!("{SECOND_ORDER}")
    }
}
