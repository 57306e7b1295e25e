//! 2-D convolutions as one im2col and one matrix product per pass, forward and backward.
//!
//! Burn's generic convolution backward (the only one `flex` has) computes the weight gradient
//! as a convolution with the batch as channels and the output as kernel, and the input
//! gradient as a transposed convolution; on a 2-core CPU that made a DCGAN step three times
//! slower than PyTorch's (docs/performance.md). Here every pass of [`conv2d`] and
//! [`conv_transpose2d`] is an im2col (or its adjoint, col2im) over the whole batch plus one
//! `gemm` product, the way PyTorch's CPU path works:
//!
//! | pass | convolution | transposed convolution |
//! |---|---|---|
//! | forward | `im2col(x) · Wᵀ` | `col2im(x · W)` |
//! | input gradient | the transposed convolution of the output gradient | the convolution of the output gradient |
//! | weight gradient | `gᵀ · im2col(x)` | `xᵀ · im2col(g)` |
//!
//! The two functions take Burn's own modules (same parameters, same records) and use the fast
//! path on `flex` for `f32` tensors with symmetric padding, no dilation, one group and an
//! output that the kernel tiles exactly (`(side + 2·padding − kernel)` divisible by the
//! stride, so a convolution and its transpose map the same sizes onto each other); anything
//! else takes the module's own `forward`. Tests hold every pass to Burn's generic one.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::tensor::{DType, Tensor};

#[cfg(feature = "flex")]
mod autodiff;
#[cfg(feature = "flex")]
mod kernels;
#[cfg(feature = "flex")]
mod ops;

/// Kernel, stride and padding of a convolution (height, width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl Geometry {
    /// The output side of a convolution over `input`, when the kernel tiles the padded input
    /// exactly (else `None`: the transpose would not give `input` back).
    pub fn conv_output(&self, input: [usize; 2]) -> Option<[usize; 2]> {
        let side = |i: usize| {
            let span = (input[i] + 2 * self.padding[i]).checked_sub(self.kernel[i])?;
            span.is_multiple_of(self.stride[i])
                .then_some(span / self.stride[i] + 1)
        };
        Some([side(0)?, side(1)?])
    }

    /// The output side of the transposed convolution over `input`.
    pub fn transposed_output(&self, input: [usize; 2]) -> Option<[usize; 2]> {
        let side = |i: usize| {
            ((input[i] - 1) * self.stride[i] + self.kernel[i]).checked_sub(2 * self.padding[i])
        };
        Some([side(0)?, side(1)?])
    }
}

/// `conv.forward(x)`, through the im2col path where it applies.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match conv2d_geometry(conv, &x) {
        Some(geometry) => {
            let output = fast::conv2d(x, conv.weight.val(), geometry);
            with_bias(output, conv.bias.as_ref().map(|b| b.val()))
        }
        None => conv.forward(x),
    }
}

/// `conv.forward(x)` of a transposed convolution, through the col2im path where it applies.
pub fn conv_transpose2d(conv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    match conv_transpose2d_geometry(conv, &x) {
        Some(geometry) => {
            let output = fast::conv_transpose2d(x, conv.weight.val(), geometry);
            with_bias(output, conv.bias.as_ref().map(|b| b.val()))
        }
        None => conv.forward(x),
    }
}

/// The geometry of `conv` over `x` when [`conv2d`] takes the im2col path, else `None`.
pub fn conv2d_geometry(conv: &Conv2d, x: &Tensor<4>) -> Option<Geometry> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            [top, left]
        }
        _ => return None,
    };
    let geometry = Geometry {
        kernel: conv.kernel_size,
        stride: conv.stride,
        padding,
    };
    let [_, _, height, width] = x.dims();
    let fits = geometry.conv_output([height, width]).is_some();
    (fits && fast_path(x, conv.groups, conv.dilation)).then_some(geometry)
}

/// The geometry of `conv` over `x` when [`conv_transpose2d`] takes the col2im path.
pub fn conv_transpose2d_geometry(conv: &ConvTranspose2d, x: &Tensor<4>) -> Option<Geometry> {
    let geometry = Geometry {
        kernel: conv.kernel_size,
        stride: conv.stride,
        padding: conv.padding,
    };
    let [_, _, height, width] = x.dims();
    let exact = geometry
        .transposed_output([height, width])
        .and_then(|output| geometry.conv_output(output))
        == Some([height, width]);
    (exact && conv.padding_out == [0, 0] && fast_path(x, conv.groups, conv.dilation))
        .then_some(geometry)
}

/// Whether the im2col path is taken where it applies (process-wide; on unless turned off).
static IM2COL: AtomicBool = AtomicBool::new(true);

/// Turns the im2col path on or off for the whole process: `cargo xtask bench
/// --generic-conv` turns it off to time Burn's generic convolutions in the same sitting.
pub fn set_im2col(enabled: bool) {
    IM2COL.store(enabled, Ordering::Relaxed);
}

/// `flex`, `f32`, one group, no dilation.
fn fast_path(x: &Tensor<4>, groups: usize, dilation: [usize; 2]) -> bool {
    cfg!(feature = "flex")
        && IM2COL.load(Ordering::Relaxed)
        && groups == 1
        && dilation == [1, 1]
        && x.dtype() == DType::F32
        && crate::backend::on_flex(&x.device())
}

fn with_bias(output: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    match bias {
        Some(bias) => {
            let channels = bias.dims()[0];
            output + bias.reshape([1, channels, 1, 1])
        }
        None => output,
    }
}

/// The tensor-level entry points of the `flex` extension.
#[cfg(feature = "flex")]
mod fast {
    use burn::backend::Dispatch;
    use burn::tensor::Tensor;

    use super::Geometry;
    use super::ops::Im2colConv;

    pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, geometry: Geometry) -> Tensor<4> {
        Tensor::from_dispatch(<Dispatch as Im2colConv>::im2col_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            geometry,
        ))
    }

    pub fn conv_transpose2d(x: Tensor<4>, weight: Tensor<4>, geometry: Geometry) -> Tensor<4> {
        Tensor::from_dispatch(<Dispatch as Im2colConv>::im2col_conv_transpose2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            geometry,
        ))
    }
}

#[cfg(not(feature = "flex"))]
mod fast {
    use burn::tensor::Tensor;

    use super::Geometry;

    pub fn conv2d(_: Tensor<4>, _: Tensor<4>, _: Geometry) -> Tensor<4> {
        unreachable!("the im2col path is only taken on flex")
    }

    pub fn conv_transpose2d(_: Tensor<4>, _: Tensor<4>, _: Geometry) -> Tensor<4> {
        unreachable!("the im2col path is only taken on flex")
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
