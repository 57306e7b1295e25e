//! The convolution passes as a Burn backend extension: implemented on `flex` (with
//! [`super::kernels`]) and on `Autodiff<flex>` (with the backward of [`super::autodiff`]).

use burn::backend::ops::ModuleOps;
use burn::backend::{Backend, Flex, backend_extension, tensor::FloatTensor};
use burn::tensor::ops::ConvTransposeOptions;
use burn::tensor::{Bytes, DType, Shape};
use burn_flex::{FlexTensor, Layout};

use super::Geometry;
use super::kernels;

/// Up to this many output channels a transposed convolution's forward runs through flex's own
/// direct kernel: with one output channel (the DCGAN's and the conv VAE's last layer, and the
/// input gradient of their first convolution) the col2im product is a thin `[c, 16]` one and
/// flex's kernel is 2.3-2.6x faster (`cargo xtask bench conv`, docs/performance.md).
const DIRECT_TRANSPOSE_OUTPUTS: usize = 1;

#[backend_extension(Flex, Autodiff)]
pub trait Im2colConv: Backend {
    /// `x` `[n, c, h, w]`, `weight` `[o, c, kh, kw]` -> `[n, o, ho, wo]` (no bias).
    fn im2col_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self>;

    /// `x` `[n, c, h, w]`, `weight` `[c, o, kh, kw]` -> `[n, o, ho, wo]` (no bias).
    fn im2col_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self>;

    /// The gradient of a convolution's `[o, c, kh, kw]` weight, from its input `x`
    /// `[n, c, h, w]` and its output gradient `[n, o, ho, wo]`.
    fn im2col_conv2d_weight_grad(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self>;
}

impl Im2colConv for Flex {
    fn im2col_conv2d(x: FlexTensor, weight: FlexTensor, geometry: Geometry) -> FlexTensor {
        let [n, c, h, w] = dims(&x);
        let [o, _, _, _] = dims(&weight);
        let [ho, wo] = output_side(&geometry, [h, w]);
        let out = kernels::conv2d(
            &values(&x),
            [n, c, h, w],
            &values(&weight),
            o,
            &geometry,
            [ho, wo],
        );
        tensor(out, [n, o, ho, wo])
    }

    fn im2col_conv_transpose2d(
        x: FlexTensor,
        weight: FlexTensor,
        geometry: Geometry,
    ) -> FlexTensor {
        let [n, c, h, w] = dims(&x);
        let [_, o, _, _] = dims(&weight);
        if o <= DIRECT_TRANSPOSE_OUTPUTS {
            let options =
                ConvTransposeOptions::new(geometry.stride, geometry.padding, [0, 0], [1, 1], 1);
            return <Flex as ModuleOps<Flex>>::conv_transpose2d(x, weight, None, options);
        }
        let [ho, wo] = geometry
            .transposed_output([h, w])
            .expect("checked by conv_transpose2d");
        let out = kernels::conv_transpose2d(
            &values(&x),
            [n, c, h, w],
            &values(&weight),
            o,
            &geometry,
            [ho, wo],
        );
        tensor(out, [n, o, ho, wo])
    }

    fn im2col_conv2d_weight_grad(
        x: FlexTensor,
        output_grad: FlexTensor,
        geometry: Geometry,
    ) -> FlexTensor {
        let [n, c, h, w] = dims(&x);
        let [_, o, ho, wo] = dims(&output_grad);
        let [kh, kw] = geometry.kernel;
        let grad = kernels::conv2d_weight_grad(
            &values(&x),
            [n, c, h, w],
            &values(&output_grad),
            o,
            &geometry,
            [ho, wo],
        );
        tensor(grad, [o, c, kh, kw])
    }
}

fn output_side(geometry: &Geometry, input: [usize; 2]) -> [usize; 2] {
    geometry
        .conv_output(input)
        .expect("checked by conv2d before taking the im2col path")
}

fn dims(t: &FlexTensor) -> [usize; 4] {
    let shape = t.layout().shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

/// The tensor's values in row-major order (copied only when it is a strided view).
fn values(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(values) => std::borrow::Cow::Borrowed(values),
        None => std::borrow::Cow::Owned(t.to_contiguous().as_slice::<f32>().expect("f32").to_vec()),
    }
}

fn tensor(values: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(Shape::new(shape)),
        DType::F32,
    )
}
