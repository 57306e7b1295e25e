use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
use burn::tensor::{Device, Tensor, TensorData};

use super::*;
use crate::figure::tensor_values;

/// Deterministic values in [-1, 1] (the tests share the device's random stream).
fn values(len: usize, salt: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919 + salt * 104_729) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

fn tensor(shape: [usize; 4], salt: usize, device: &Device) -> Tensor<4> {
    let len = shape.iter().product();
    Tensor::from_data(TensorData::new(values(len, salt), shape), device)
}

fn assert_close(ours: &[f32], reference: &[f32], what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: lengths");
    for (i, (a, b)) in ours.iter().zip(reference).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
            "{what}[{i}]: {a} (im2col) vs {b} (Burn)"
        );
    }
}

/// Output, input gradient, weight gradient and bias gradient of `forward` for the loss
/// `sum(output · r)` with a fixed `r`.
struct Passes {
    output: Vec<f32>,
    grad_x: Vec<f32>,
    grad_weight: Vec<f32>,
    grad_bias: Vec<f32>,
}

fn passes(
    x: &Tensor<4>,
    forward: impl Fn(Tensor<4>) -> Tensor<4>,
    weight: impl Fn() -> Tensor<4>,
    bias: impl Fn() -> Tensor<1>,
) -> Passes {
    let x = x.clone().require_grad();
    let output = forward(x.clone());
    let r = tensor(output.dims(), 7, &output.device());
    let grads = (output.clone() * r).sum().backward();
    Passes {
        output: tensor_values(output),
        grad_x: tensor_values(x.grad(&grads).expect("x is tracked")),
        grad_weight: tensor_values(weight().grad(&grads).expect("weight is tracked")),
        grad_bias: tensor_values(bias().grad(&grads).expect("bias is tracked")),
    }
}

fn assert_same(ours: Passes, reference: Passes, case: &str) {
    assert_close(&ours.output, &reference.output, &format!("{case} output"));
    assert_close(
        &ours.grad_x,
        &reference.grad_x,
        &format!("{case} input gradient"),
    );
    assert_close(
        &ours.grad_weight,
        &reference.grad_weight,
        &format!("{case} weight gradient"),
    );
    assert_close(
        &ours.grad_bias,
        &reference.grad_bias,
        &format!("{case} bias gradient"),
    );
}

/// Images per test batch: several tiles of `kernels::TILE_ROWS` output pixels, the last
/// one partial, so the per-tile products and the summed weight gradient are exercised.
const BATCH: usize = 37;
// The first case's 4x4 outputs fill more than two tiles.
const _: () = assert!(BATCH * 4 * 4 > 2 * super::kernels::TILE_ROWS);

/// (channels in, channels out, kernel, stride, padding, side): the layers of the DCGAN and
/// CNN backbones and the conv VAE, shrunk, plus a non-square kernel.
type Case = ([usize; 2], [usize; 2], [usize; 2], [usize; 2], usize);

const CONVS: [Case; 5] = [
    ([1, 4], [4, 4], [2, 2], [1, 1], 8),
    ([3, 5], [4, 4], [2, 2], [1, 1], 6),
    ([4, 6], [3, 3], [1, 1], [0, 0], 7),
    ([6, 1], [5, 5], [1, 1], [0, 0], 5),
    ([2, 3], [3, 2], [1, 1], [1, 0], 5),
];

#[test]
fn convolutions_match_burns_forward_and_gradients() {
    let device = Device::flex().autodiff();
    for (channels, kernel, stride, [ph, pw], side) in CONVS {
        let conv = Conv2dConfig::new(channels, kernel)
            .with_stride(stride)
            .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
            .init(&device);
        let x = tensor([BATCH, channels[0], side, side], 1, &device);
        let weight = || conv.weight.val();
        let bias = || conv.bias.as_ref().unwrap().val();
        let case = format!("conv {channels:?} k{kernel:?} s{stride:?} p{:?}", [ph, pw]);
        let geometry = Geometry {
            kernel,
            stride,
            padding: [ph, pw],
        };
        assert!(
            geometry.conv_output([side, side]).is_some(),
            "{case}: fast path"
        );
        assert_same(
            passes(&x, |x| conv2d(&conv, x), weight, bias),
            passes(&x, |x| conv.forward(x), weight, bias),
            &case,
        );
    }
}

#[test]
fn transposed_convolutions_match_burns_forward_and_gradients() {
    let device = Device::flex().autodiff();
    for (channels, kernel, stride, padding, side) in CONVS {
        let conv = ConvTranspose2dConfig::new(channels, kernel)
            .with_stride(stride)
            .with_padding(padding)
            .init(&device);
        // The transposed layer maps the convolution's output side back to its input side.
        let geometry = Geometry {
            kernel,
            stride,
            padding,
        };
        let [h, w] = geometry.conv_output([side, side]).unwrap();
        let x = tensor([BATCH, channels[0], h, w], 2, &device);
        let weight = || conv.weight.val();
        let bias = || conv.bias.as_ref().unwrap().val();
        let case = format!("transposed {channels:?} k{kernel:?} s{stride:?} p{padding:?}");
        assert_eq!(
            conv_transpose2d_geometry(&conv, &x),
            Some(geometry),
            "{case}: col2im path"
        );
        let ours = passes(&x, |x| conv_transpose2d(&conv, x), weight, bias);
        assert_eq!(
            ours.output.len(),
            BATCH * channels[1] * side * side,
            "{case}: output size"
        );
        assert_same(ours, passes(&x, |x| conv.forward(x), weight, bias), &case);
    }
}

#[test]
fn inference_tensors_take_the_same_path() {
    let device = Device::flex();
    let conv = Conv2dConfig::new([2, 3], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&device);
    let x = tensor([2, 2, 8, 8], 3, &device);
    assert!(conv2d_geometry(&conv, &x).is_some());
    assert_close(
        &tensor_values(conv2d(&conv, x.clone())),
        &tensor_values(conv.forward(x)),
        "inference conv",
    );
}

#[test]
fn geometry_says_when_a_transpose_gives_the_input_back() {
    let dcgan = Geometry {
        kernel: [4, 4],
        stride: [2, 2],
        padding: [1, 1],
    };
    assert_eq!(dcgan.conv_output([28, 28]), Some([14, 14]));
    assert_eq!(dcgan.transposed_output([14, 14]), Some([28, 28]));
    // 3x3 at stride 2 over 8 leaves one row over: the module's own forward is used.
    let ragged = Geometry {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [0, 0],
    };
    assert_eq!(ragged.conv_output([8, 8]), None);
    assert_eq!(
        ragged.conv_output([2, 2]),
        None,
        "kernel larger than the input"
    );
}

#[test]
fn layers_off_the_fast_path_keep_burns_result() {
    let device = Device::flex().autodiff();
    let conv = Conv2dConfig::new([2, 3], [3, 3])
        .with_stride([2, 2])
        .init(&device);
    let x = tensor([2, 2, 8, 8], 4, &device);
    assert_eq!(conv2d_geometry(&conv, &x), None);
    let weight = || conv.weight.val();
    let bias = || conv.bias.as_ref().unwrap().val();
    assert_same(
        passes(&x, |x| conv2d(&conv, x), weight, bias),
        passes(&x, |x| conv.forward(x), weight, bias),
        "ragged stride",
    );
}
