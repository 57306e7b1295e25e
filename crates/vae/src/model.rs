//! The VAE: an encoder giving the Gaussian posterior q(z|x) = N(mean, diag(exp(log_variance)))
//! of a latent code, and a decoder giving the Bernoulli logits of p(x|z) for the 784 pixels.
//! Two backbones: an MLP (the course's and the strong presets) and a convolutional one whose
//! layers mirror the DCGAN players of the gan crate (stride-2 4x4 convolutions 28 -> 14 -> 7
//! and back).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
// Burn's layers, run through genlab's im2col passes on flex (docs/performance.md).
use data::conv::{conv_transpose2d, conv2d};
use data::{COLS, PIXELS, ROWS};
use serde::{Deserialize, Serialize};

/// The network family of the encoder and the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Backbone {
    /// Fully connected layers with ReLU: 784 -> hidden... -> latent, and mirrored back.
    Mlp,
    /// Two stride-2 convolutions (28 -> 14 -> 7) and a linear head; the decoder mirrors them
    /// with a linear projection and two transposed convolutions.
    Conv,
}

impl Backbone {
    pub fn name(self) -> &'static str {
        match self {
            Backbone::Mlp => "mlp",
            Backbone::Conv => "conv",
        }
    }
}

/// Architecture of the encoder and decoder.
#[derive(Config, Debug)]
pub struct VaeConfig {
    pub backbone: Backbone,
    /// Dimension of the latent code z (prior N(0, I)).
    #[config(default = 20)]
    pub latent: usize,
    /// Widths of the MLP encoder's hidden layers, input side first; the decoder uses them in
    /// reverse order.
    #[config(default = "vec![512, 256]")]
    pub hidden: Vec<usize>,
    /// Channels of the conv backbone's two convolutions ([32, 64]: the peers' conv VAE;
    /// [64, 128]: the DCGAN's discriminator and generator widths).
    #[config(default = "[32, 64]")]
    pub channels: [usize; 2],
}

impl VaeConfig {
    pub fn init(&self, device: &Device) -> Vae {
        let latent = self.latent;
        match self.backbone {
            Backbone::Mlp => {
                let mut widths = vec![PIXELS];
                widths.extend(&self.hidden);
                let linear = |pair: &[usize]| LinearConfig::new(pair[0], pair[1]).init(device);
                let encoder = widths.windows(2).map(linear).collect();
                let top = *widths.last().expect("784 at least");
                let mut back = vec![latent];
                back.extend(widths.iter().rev());
                Vae::Mlp(MlpVae {
                    encoder,
                    mean: LinearConfig::new(top, latent).init(device),
                    log_variance: LinearConfig::new(top, latent).init(device),
                    decoder: back.windows(2).map(linear).collect(),
                })
            }
            Backbone::Conv => {
                let [c1, c2] = self.channels;
                let features = c2 * 7 * 7;
                let conv = |from: usize, to: usize| {
                    Conv2dConfig::new([from, to], [4, 4])
                        .with_stride([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(device)
                };
                let deconv = |from: usize, to: usize| {
                    ConvTranspose2dConfig::new([from, to], [4, 4])
                        .with_stride([2, 2])
                        .with_padding([1, 1])
                        .init(device)
                };
                Vae::Conv(ConvVae {
                    conv1: conv(1, c1),
                    conv2: conv(c1, c2),
                    mean: LinearConfig::new(features, latent).init(device),
                    log_variance: LinearConfig::new(features, latent).init(device),
                    project: LinearConfig::new(latent, features).init(device),
                    deconv1: deconv(c2, c1),
                    deconv2: deconv(c1, 1),
                })
            }
        }
    }
}

/// q(z|x) for a batch: `[batch, latent]` means and log-variances.
#[derive(Clone, Debug)]
pub struct Posterior {
    pub mean: Tensor<2>,
    pub log_variance: Tensor<2>,
}

impl Posterior {
    /// z = mean + exp(log_variance / 2) * eps: the reparameterisation that lets gradients
    /// reach the encoder through a sample.
    pub fn sample(&self, eps: Tensor<2>) -> Tensor<2> {
        self.mean.clone() + (self.log_variance.clone() * 0.5).exp() * eps
    }
}

/// A VAE of either backbone.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Vae {
    Mlp(MlpVae),
    Conv(ConvVae),
}

impl Vae {
    /// q(z|x) of images `[batch, 784]` in [0, 1].
    pub fn encode(&self, images: Tensor<2>) -> Posterior {
        match self {
            Vae::Mlp(m) => m.encode(images),
            Vae::Conv(m) => m.encode(images),
        }
    }

    /// Bernoulli logits `[batch, 784]` of p(x|z) for codes `[batch, latent]`.
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        match self {
            Vae::Mlp(m) => m.decode(z),
            Vae::Conv(m) => m.decode(z),
        }
    }
}

#[derive(Module, Debug)]
pub struct MlpVae {
    encoder: Vec<Linear>,
    mean: Linear,
    log_variance: Linear,
    /// The last layer gives the 784 logits (no activation).
    decoder: Vec<Linear>,
}

impl MlpVae {
    fn encode(&self, images: Tensor<2>) -> Posterior {
        let h = self
            .encoder
            .iter()
            .fold(images, |x, layer| relu(layer.forward(x)));
        Posterior {
            mean: self.mean.forward(h.clone()),
            log_variance: self.log_variance.forward(h),
        }
    }

    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let last = self.decoder.len() - 1;
        let mut x = z;
        for (i, layer) in self.decoder.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = relu(x);
            }
        }
        x
    }
}

#[derive(Module, Debug)]
pub struct ConvVae {
    conv1: Conv2d,
    conv2: Conv2d,
    mean: Linear,
    log_variance: Linear,
    project: Linear,
    deconv1: ConvTranspose2d,
    deconv2: ConvTranspose2d,
}

impl ConvVae {
    fn encode(&self, images: Tensor<2>) -> Posterior {
        let [batch, _] = images.dims();
        let x = images.reshape([batch, 1, ROWS, COLS]);
        let x = relu(conv2d(&self.conv1, x));
        let h = relu(conv2d(&self.conv2, x)).flatten::<2>(1, 3);
        Posterior {
            mean: self.mean.forward(h.clone()),
            log_variance: self.log_variance.forward(h),
        }
    }

    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let [batch, _] = z.dims();
        let channels = self.deconv1.weight.val().dims()[0];
        let x = relu(self.project.forward(z)).reshape([batch, channels, 7, 7]);
        let x = relu(conv_transpose2d(&self.deconv1, x));
        conv_transpose2d(&self.deconv2, x).flatten::<2>(1, 3)
    }
}
