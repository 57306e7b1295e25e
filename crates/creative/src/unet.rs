//! The noise-prediction network ε_θ(x_t, t, y): a small DDPM U-Net (Ho et al. 2020) for
//! 28x28 one-channel images, conditioned on the timestep and on a class.
//!
//! - the timestep enters as a sinusoidal embedding through a two-layer MLP, the class as a
//!   learned embedding added to it; every residual block adds a projection of the sum to its
//!   feature maps, so all resolutions see both;
//! - resolutions 28 -> 14 -> 7 and back, skip connections concatenated on the way up (one
//!   per residual block and downsampling on the way down, so the way up has one block more
//!   per level than the way down, as in DDPM);
//! - the middle (7x7) is residual block, self-attention over the 49 positions, residual
//!   block: the only place where every pixel sees every other one;
//! - class id `classes` is "no class", the unconditional model that classifier-free
//!   guidance mixes with the conditional one.
//!
//! Resampling uses 4x4 stride-2 kernels with padding 1 (a convolution down, a transposed
//! convolution up): they tile 28 -> 14 -> 7 exactly, which is what genlab's im2col path
//! needs (`data::conv`); a 3x3 stride-2 convolution would fall back to Burn's generic, much
//! slower, backward pass on flex.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{
    Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
// Burn's layers, run through genlab's im2col passes on flex (docs/performance.md).
use data::conv::{conv_transpose2d, conv2d};

/// Architecture of the U-Net.
#[derive(Config, Debug)]
pub struct UNetConfig {
    /// Channels of the first level; level i has base_channels * channel_multipliers[i].
    #[config(default = 32)]
    pub base_channels: usize,
    /// One entry per resolution 28, 14, 7 (fewer entries stop at a coarser resolution).
    #[config(default = "vec![1, 2, 2]")]
    pub channel_multipliers: Vec<usize>,
    /// Residual blocks per level on the way down (the way up has one more, as in DDPM).
    #[config(default = 1)]
    pub blocks_per_level: usize,
    /// Width of the sinusoidal time embedding and of its MLP (hidden and output), which is
    /// also the width of the class embedding added to it.
    #[config(default = 128)]
    pub time_embedding: usize,
    /// Number of classes; the class id `classes` itself means "no class" (for classifier-free
    /// guidance).
    #[config(default = 10)]
    pub classes: usize,
    /// Groups of every group norm; must divide every channel count.
    #[config(default = 8)]
    pub groups: usize,
    /// Self-attention at the lowest resolution (7x7), between the two middle blocks.
    #[config(default = true)]
    pub attention: bool,
}

impl UNetConfig {
    pub fn init(&self, device: &Device) -> UNet {
        let levels = self.channel_multipliers.len();
        assert!(
            (1..=3).contains(&levels),
            "channel_multipliers needs 1 to 3 entries (resolutions 28, 14, 7), got {levels}"
        );
        let widths: Vec<usize> = self
            .channel_multipliers
            .iter()
            .map(|m| self.base_channels * m)
            .collect();
        for &w in std::iter::once(&self.base_channels).chain(&widths) {
            assert!(
                w > 0 && w.is_multiple_of(self.groups),
                "groups = {} must divide every channel count of the U-Net, but not {w} \
                 (base_channels = {} times channel_multipliers = {:?})",
                self.groups,
                self.base_channels,
                self.channel_multipliers
            );
        }
        assert!(
            self.time_embedding.is_multiple_of(2),
            "time_embedding must be even (sin and cos halves)"
        );
        let emb = self.time_embedding;
        let block = |from: usize, to: usize| ResBlock::new(from, to, emb, self.groups, device);

        // The way down, remembering the width of every feature map pushed as a skip.
        let mut skips = vec![self.base_channels];
        let mut down = Vec::new();
        let mut downsample = Vec::new();
        let mut channels = self.base_channels;
        for (level, &width) in widths.iter().enumerate() {
            for _ in 0..self.blocks_per_level {
                down.push(block(channels, width));
                channels = width;
                skips.push(channels);
            }
            if level + 1 < levels {
                downsample.push(conv(channels, channels, 4, 2, device));
                skips.push(channels);
            }
        }
        let middle = [block(channels, channels), block(channels, channels)];
        let attention = self
            .attention
            .then(|| Attention::new(channels, self.groups, device));

        // The way up: each block consumes one skip, in reverse order.
        let mut up = Vec::new();
        let mut upsample = Vec::new();
        for (level, &width) in widths.iter().enumerate().rev() {
            for _ in 0..=self.blocks_per_level {
                let skip = skips.pop().expect("one skip per block on the way up");
                up.push(block(channels + skip, width));
                channels = width;
            }
            if level > 0 {
                let deconv = ConvTranspose2dConfig::new([channels, channels], [4, 4])
                    .with_stride([2, 2])
                    .with_padding([1, 1])
                    .init(device);
                upsample.push(deconv);
            }
        }
        debug_assert!(skips.is_empty());

        UNet {
            input: conv(1, self.base_channels, 3, 1, device),
            time_in: LinearConfig::new(emb, emb).init(device),
            time_out: LinearConfig::new(emb, emb).init(device),
            class: EmbeddingConfig::new(self.classes + 1, emb).init(device),
            down,
            downsample,
            middle,
            attention,
            up,
            upsample,
            output_norm: GroupNormConfig::new(self.groups, channels).init(device),
            output: conv(channels, 1, 3, 1, device),
            blocks_per_level: self.blocks_per_level,
            time_embedding: emb,
        }
    }
}

/// A square convolution with padding (kernel - stride) / 2: 3x3 and 1x1 keep the size,
/// 4x4 stride 2 halves it exactly.
fn conv(from: usize, to: usize, kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let p = (kernel - stride) / 2;
    Conv2dConfig::new([from, to], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .init(device)
}

/// Sinusoidal embedding `[batch, dim]` of timesteps `t` `[batch]`: sin(t ω_i) in the first
/// half, cos(t ω_i) in the second, with ω_i = 10000^(-i / (dim/2)), i = 0..dim/2 ("Attention
/// is all you need", DDPM): nearby timesteps get nearby codes at every scale from 1 to 10^4.
pub fn sinusoidal_embedding(t: Tensor<1>, dim: usize) -> Tensor<2> {
    assert!(
        dim >= 2 && dim.is_multiple_of(2),
        "the embedding width must be even, got {dim}"
    );
    let half = dim / 2;
    let frequencies: Vec<f32> = (0..half)
        .map(|i| (-(10000f64.ln()) * i as f64 / half as f64).exp() as f32)
        .collect();
    let frequencies = Tensor::<1>::from_data(TensorData::new(frequencies, [half]), &t.device());
    let angles = t.unsqueeze_dim::<2>(1) * frequencies.unsqueeze_dim(0);
    Tensor::cat(vec![angles.clone().sin(), angles.cos()], 1)
}

/// The noise-prediction U-Net; see the module documentation.
#[derive(Module, Debug)]
pub struct UNet {
    input: Conv2d,
    time_in: Linear,
    time_out: Linear,
    /// `classes + 1` rows: the last one is "no class".
    class: Embedding,
    down: Vec<ResBlock>,
    downsample: Vec<Conv2d>,
    middle: [ResBlock; 2],
    attention: Option<Attention>,
    up: Vec<ResBlock>,
    upsample: Vec<ConvTranspose2d>,
    output_norm: GroupNorm,
    output: Conv2d,
    blocks_per_level: usize,
    time_embedding: usize,
}

impl UNet {
    /// Predicted noise `[batch, 1, 28, 28]` for noisy images `x` `[batch, 1, 28, 28]`,
    /// timesteps `t` `[batch]` (float, 0..T-1) and class ids `class` `[batch]` (Int;
    /// `classes` = unconditional).
    pub fn forward(&self, x: Tensor<4>, t: Tensor<1>, class: Tensor<1, Int>) -> Tensor<4> {
        let batch = x.dims()[0];
        let time = sinusoidal_embedding(t, self.time_embedding);
        let time = self.time_out.forward(silu(self.time_in.forward(time)));
        let class = self.class.forward(class.unsqueeze_dim(1));
        // The blocks see SiLU(time + class), once for all of them (as DDPM's `nonlinearity(temb)`).
        let emb = silu(time + class.reshape([batch, self.time_embedding]));

        let mut h = conv2d(&self.input, x);
        let mut skips = vec![h.clone()];
        let mut downsample = self.downsample.iter();
        for level in self.down.chunks(self.blocks_per_level) {
            for block in level {
                h = block.forward(h, &emb);
                skips.push(h.clone());
            }
            if let Some(conv) = downsample.next() {
                h = conv2d(conv, h);
                skips.push(h.clone());
            }
        }

        h = self.middle[0].forward(h, &emb);
        if let Some(attention) = &self.attention {
            h = attention.forward(h);
        }
        h = self.middle[1].forward(h, &emb);

        let mut upsample = self.upsample.iter();
        for level in self.up.chunks(self.blocks_per_level + 1) {
            for block in level {
                let skip = skips.pop().expect("one skip per block on the way up");
                h = block.forward(Tensor::cat(vec![h, skip], 1), &emb);
            }
            if let Some(deconv) = upsample.next() {
                h = conv_transpose2d(deconv, h);
            }
        }
        conv2d(&self.output, silu(self.output_norm.forward(h)))
    }
}

/// GroupNorm -> SiLU -> 3x3 conv -> + projection of the embedding -> GroupNorm -> SiLU ->
/// 3x3 conv, plus the input (through a 1x1 conv when the width changes).
#[derive(Module, Debug)]
struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    embedding: Linear,
    norm2: GroupNorm,
    conv2: Conv2d,
    skip: Option<Conv2d>,
}

impl ResBlock {
    fn new(from: usize, to: usize, emb: usize, groups: usize, device: &Device) -> Self {
        Self {
            norm1: GroupNormConfig::new(groups, from).init(device),
            conv1: conv(from, to, 3, 1, device),
            embedding: LinearConfig::new(emb, to).init(device),
            norm2: GroupNormConfig::new(groups, to).init(device),
            conv2: conv(to, to, 3, 1, device),
            skip: (from != to).then(|| conv(from, to, 1, 1, device)),
        }
    }

    /// `x` `[batch, from, h, w]`, `emb` `[batch, emb]` (already through SiLU).
    fn forward(&self, x: Tensor<4>, emb: &Tensor<2>) -> Tensor<4> {
        let h = conv2d(&self.conv1, silu(self.norm1.forward(x.clone())));
        // One shift per channel, the same over every pixel: how t and the class steer a block.
        let h = h + self
            .embedding
            .forward(emb.clone())
            .unsqueeze_dims::<4>(&[2, 3]);
        let h = conv2d(&self.conv2, silu(self.norm2.forward(h)));
        let x = match &self.skip {
            Some(skip) => conv2d(skip, x),
            None => x,
        };
        x + h
    }
}

/// Single-head self-attention over the pixels of a feature map, with a residual connection.
#[derive(Module, Debug)]
struct Attention {
    norm: GroupNorm,
    /// q, k and v in one product: `[c] -> [3c]`.
    qkv: Linear,
    output: Linear,
}

impl Attention {
    fn new(channels: usize, groups: usize, device: &Device) -> Self {
        Self {
            norm: GroupNormConfig::new(groups, channels).init(device),
            qkv: LinearConfig::new(channels, 3 * channels).init(device),
            output: LinearConfig::new(channels, channels).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, channels, height, width] = x.dims();
        let positions = height * width;
        // [b, c, h, w] -> [b, hw, c]: one token per pixel.
        let tokens = self
            .norm
            .forward(x.clone())
            .reshape([batch, channels, positions])
            .swap_dims(1, 2);
        let qkv = self.qkv.forward(tokens);
        let q = qkv.clone().narrow(2, 0, channels);
        let k = qkv.clone().narrow(2, channels, channels);
        let v = qkv.narrow(2, 2 * channels, channels);
        let scores = q.matmul(k.swap_dims(1, 2)) / (channels as f64).sqrt();
        let attended = softmax(scores, 2).matmul(v);
        let out = self
            .output
            .forward(attended)
            .swap_dims(1, 2)
            .reshape([batch, channels, height, width]);
        x + out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use data::figure::tensor_values;

    fn tiny(attention: bool) -> UNetConfig {
        let config = UNetConfig::new().with_base_channels(8).with_groups(4);
        config.with_time_embedding(16).with_attention(attention)
    }

    /// The model on fixed images (not from the device's random stream), times and classes.
    fn run(model: &UNet, t: &[f32], class: &[i64], device: &Device) -> Tensor<4> {
        let batch = t.len();
        let pixels = (0..batch * 784).map(|i| (i * 37 % 101) as f32 / 50.0 - 1.0);
        let x = TensorData::new(pixels.collect::<Vec<_>>(), [batch, 1, 28, 28]);
        let t = Tensor::from_data(TensorData::new(t.to_vec(), [batch]), device);
        let class = Tensor::from_data(TensorData::new(class.to_vec(), [batch]), device);
        model.forward(Tensor::from_data(x, device), t, class)
    }

    #[test]
    fn unet_output_has_the_input_shape() {
        let device = Device::flex();
        let configs = [
            tiny(true),
            tiny(false),
            tiny(true).with_blocks_per_level(2),
            tiny(true).with_channel_multipliers(vec![1, 2]),
        ];
        for config in configs {
            let out = run(
                &config.init(&device),
                &[0.0, 10.0, 999.0],
                &[0, 9, 10],
                &device,
            );
            assert_eq!(out.dims(), [3, 1, 28, 28], "{config:?}");
        }
    }

    #[test]
    #[should_panic(expected = "groups = 3 must divide every channel count")]
    fn unet_groups_must_divide_the_widths() {
        tiny(true).with_groups(3).init(&Device::flex());
    }

    #[test]
    fn sinusoidal_embedding_has_known_values() {
        let t = Tensor::from_data(TensorData::new(vec![0f32, 1.0], [2]), &Device::flex());
        let e = tensor_values(sinusoidal_embedding(t, 4));
        // t = 0: sin 0 = 0, cos 0 = 1. t = 1: frequencies 1 and 10000^(-1/2) = 0.01.
        let expected = [
            0.0,
            0.0,
            1.0,
            1.0,
            0.841_471,
            0.009_999_833,
            0.540_302_3,
            0.999_95,
        ];
        for (got, want) in e.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{e:?}");
        }
    }

    #[test]
    fn unet_output_depends_on_class_and_time() {
        let device = Device::flex();
        let model = tiny(true).init(&device);
        let output = |t: f32, class: i64| tensor_values(run(&model, &[t], &[class], &device));
        let base = output(5.0, 2);
        let differs = |other: Vec<f32>| base.iter().zip(&other).any(|(a, b)| (a - b).abs() > 1e-5);
        assert!(
            differs(output(5.0, 7)),
            "the class does not reach the output"
        );
        assert!(
            differs(output(5.0, 10)),
            "'no class' does not reach the output"
        );
        assert!(
            differs(output(500.0, 2)),
            "the time does not reach the output"
        );
        assert_eq!(
            base,
            output(5.0, 2),
            "the forward pass is not deterministic"
        );
    }

    #[test]
    fn unet_gradients_reach_the_class_embedding_and_the_first_conv() {
        let device = Device::flex().autodiff();
        let model = tiny(true).init(&device);
        let out = run(&model, &[3.0, 300.0], &[1, 10], &device);
        let grads = out.powi_scalar(2).mean().backward();
        let class = model
            .class
            .weight
            .val()
            .grad(&grads)
            .expect("a class gradient");
        assert!(tensor_values(class.abs().sum())[0] > 0.0);
        let first = model
            .input
            .weight
            .val()
            .grad(&grads)
            .expect("a first-conv gradient");
        assert!(tensor_values(first.abs().sum())[0] > 0.0);
    }
}
