//! Generators and discriminators. Every generator maps latent codes `[batch, latent]` to
//! images `[batch, 784]` in (-1, 1) (a `tanh` output); every discriminator maps images
//! `[batch, 784]` to one logit each, `[batch, 1]` (D(x) = sigmoid(logit)).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Initializer, Linear, LinearConfig,
    PaddingConfig2d,
};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use data::activation::leaky_relu;
// Burn's layers, run through genlab's im2col passes on flex (docs/performance.md).
use data::conv::{conv_transpose2d, conv2d};
use data::{COLS, PIXELS, ROWS};
use serde::{Deserialize, Serialize};

/// Slope of the LeakyReLU used by every discriminator (and the MLP generator).
const LEAK: f64 = 0.2;

/// The network family of both players.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Backbone {
    /// The course's MLPs: G latent-256-512-1024-784, D 784-1024-512-256-1 with dropout.
    Mlp,
    /// The course's CNN: transposed convolutions growing 1 -> 5 -> 7 -> 14 -> 28 pixels,
    /// and a mirrored convolutional discriminator, both with batch norm.
    Cnn,
    /// A DCGAN for 28x28 (the network of `../shared/peers/torch_dcgan.py`).
    Dcgan,
}

impl Backbone {
    /// The name runs and figures use.
    pub fn name(self) -> &'static str {
        match self {
            Backbone::Mlp => "mlp",
            Backbone::Cnn => "cnn",
            Backbone::Dcgan => "dcgan",
        }
    }
}

/// Architecture of both players.
#[derive(Config, Debug)]
pub struct GanConfig {
    pub backbone: Backbone,
    /// Dimension of the latent code z ~ N(0, I).
    #[config(default = 100)]
    pub latent: usize,
    /// Dropout after each hidden layer of the MLP discriminator (the course used 0.3).
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Channels of the widest convolution of the course CNN (the others are 1/2 and 1/4 of it).
    #[config(default = 128)]
    pub cnn_channels: usize,
    /// Weights ~ N(0, 0.02) as in the DCGAN paper, instead of Burn's default (Kaiming-uniform,
    /// the same bounds as PyTorch's default).
    #[config(default = false)]
    pub dcgan_init: bool,
    /// The discriminator's network when it is not `backbone`'s: GAN-Q5 swaps one player
    /// between the course CNN and the DCGAN to find which of the two slows the DCGAN.
    /// Default (none): `backbone`'s discriminator.
    pub discriminator_backbone: Option<Backbone>,
    /// A third convolution in the DCGAN's discriminator (none: no, as the peers'). This and the
    /// next two fields are the changes GAN-Q5 tries one at a time; read them with defaults
    /// filled in through [`GanConfig::dcgan_discriminator`].
    pub dcgan_third_convolution: Option<bool>,
    /// Batch norm after the DCGAN discriminator's second convolution (none: yes, as the peers').
    pub dcgan_batch_norm: Option<bool>,
    /// Dropout after each LeakyReLU of the DCGAN discriminator (none: 0, as the peers'; the
    /// common MNIST ports of DCGAN, e.g. TensorFlow's tutorial, use 0.3).
    pub dcgan_dropout: Option<f64>,
    /// A 3x3 transposed convolution 128 -> 128 (5 -> 7 pixels, batch norm, ReLU) in the DCGAN's
    /// generator, so the projection is to 128·5·5 features as the course CNN's first layer
    /// (none: no, as the peers'). This and the next field are GAN-Q5's generator changes; read
    /// them with defaults filled in through [`GanConfig::dcgan_generator`].
    pub dcgan_generator_third_layer: Option<bool>,
    /// Batch norm of the DCGAN generator's projection per channel (over the 128 maps, as the
    /// course CNN's) instead of per feature (over each of the 128·7·7 values, the peers'
    /// `BatchNorm1d(6272)`; none: per feature).
    pub dcgan_channel_norm: Option<bool>,
}

/// The DCGAN generator's settings, defaults filled in: the peers' network is
/// `{ third_layer: false, channel_norm: false }`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DcganGeneratorSettings {
    pub third_layer: bool,
    pub channel_norm: bool,
}

/// The DCGAN discriminator's settings, defaults filled in: the peers' network is
/// `{ third_convolution: false, batch_norm: true, dropout: 0.0 }`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DcganDiscriminatorSettings {
    /// A 3x3 convolution 128 -> 128 (7 -> 5 pixels) with batch norm before the linear head,
    /// as the course CNN's third layer; the head then reads 128·5·5 features.
    pub third_convolution: bool,
    pub batch_norm: bool,
    pub dropout: f64,
}

impl GanConfig {
    /// N(0, 0.02) with `dcgan_init`, else the default of Burn's linear and convolution
    /// layers (Kaiming-uniform with gain 1/sqrt(3): U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
    fn initializer(&self) -> Initializer {
        if self.dcgan_init {
            Initializer::Normal {
                mean: 0.0,
                std: 0.02,
            }
        } else {
            Initializer::KaimingUniform {
                gain: 1.0 / 3f64.sqrt(),
                fan_out_only: false,
            }
        }
    }

    fn linear(&self, input: usize, output: usize, device: &Device) -> Linear {
        LinearConfig::new(input, output)
            .with_initializer(self.initializer())
            .init(device)
    }

    /// A `kernel`x`kernel` convolution with stride and symmetric padding.
    fn conv(
        &self,
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        padding: usize,
        device: &Device,
    ) -> Conv2d {
        Conv2dConfig::new(channels, [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(
                padding, padding, padding, padding,
            ))
            .with_initializer(self.initializer())
            .init(device)
    }

    /// A transposed convolution: output side = (input - 1) * stride - 2 * padding + kernel.
    fn deconv(
        &self,
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        padding: usize,
        device: &Device,
    ) -> ConvTranspose2d {
        ConvTranspose2dConfig::new(channels, [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding([padding, padding])
            .with_initializer(self.initializer())
            .init(device)
    }

    pub fn init_generator(&self, device: &Device) -> Generator {
        let z = self.latent;
        match self.backbone {
            Backbone::Mlp => Generator::Mlp(MlpGenerator {
                layers: vec![
                    self.linear(z, 256, device),
                    self.linear(256, 512, device),
                    self.linear(512, 1024, device),
                    self.linear(1024, PIXELS, device),
                ],
            }),
            Backbone::Cnn => {
                let c = self.cnn_channels;
                Generator::Cnn(CnnGenerator {
                    deconvs: vec![
                        self.deconv([z, c], 5, 1, 0, device),         // 1 -> 5
                        self.deconv([c, c / 2], 3, 1, 0, device),     // 5 -> 7
                        self.deconv([c / 2, c / 4], 4, 2, 1, device), // 7 -> 14
                        self.deconv([c / 4, 1], 4, 2, 1, device),     // 14 -> 28
                    ],
                    norms: [c, c / 2, c / 4]
                        .map(|n| BatchNormConfig::new(n).init(device))
                        .to_vec(),
                })
            }
            Backbone::Dcgan => {
                let settings = self.dcgan_generator();
                let third = settings.third_layer;
                let side = if third { 5 } else { 7 };
                let normalised = if settings.channel_norm {
                    128
                } else {
                    128 * side * side
                };
                Generator::Dcgan(DcganGenerator {
                    project: self.linear(z, 128 * side * side, device),
                    project_norm: BatchNormConfig::new(normalised).init(device),
                    side,
                    channel_norm: settings.channel_norm,
                    deconv0: third.then(|| self.deconv([128, 128], 3, 1, 0, device)),
                    norm0: third.then(|| BatchNormConfig::new(128).init(device)),
                    deconv1: self.deconv([128, 64], 4, 2, 1, device),
                    norm1: BatchNormConfig::new(64).init(device),
                    deconv2: self.deconv([64, 1], 4, 2, 1, device),
                })
            }
        }
    }

    /// The DCGAN generator's settings with their defaults.
    pub fn dcgan_generator(&self) -> DcganGeneratorSettings {
        DcganGeneratorSettings {
            third_layer: self.dcgan_generator_third_layer.unwrap_or(false),
            channel_norm: self.dcgan_channel_norm.unwrap_or(false),
        }
    }

    /// The DCGAN discriminator's settings with their defaults.
    pub fn dcgan_discriminator(&self) -> DcganDiscriminatorSettings {
        DcganDiscriminatorSettings {
            third_convolution: self.dcgan_third_convolution.unwrap_or(false),
            batch_norm: self.dcgan_batch_norm.unwrap_or(true),
            dropout: self.dcgan_dropout.unwrap_or(0.0),
        }
    }

    /// The discriminator's network: `discriminator_backbone`, else `backbone`.
    pub fn discriminator(&self) -> Backbone {
        self.discriminator_backbone.unwrap_or(self.backbone)
    }

    pub fn init_discriminator(&self, device: &Device) -> Discriminator {
        match self.discriminator() {
            Backbone::Mlp => Discriminator::Mlp(MlpDiscriminator {
                layers: vec![
                    self.linear(PIXELS, 1024, device),
                    self.linear(1024, 512, device),
                    self.linear(512, 256, device),
                    self.linear(256, 1, device),
                ],
                dropout: DropoutConfig::new(self.dropout).init(),
            }),
            Backbone::Cnn => {
                let c = self.cnn_channels;
                Discriminator::Cnn(CnnDiscriminator {
                    convs: vec![
                        self.conv([1, c / 4], 4, 2, 1, device),     // 28 -> 14
                        self.conv([c / 4, c / 2], 4, 2, 1, device), // 14 -> 7
                        self.conv([c / 2, c], 3, 1, 0, device),     // 7 -> 5
                        self.conv([c, 1], 5, 1, 0, device),         // 5 -> 1
                    ],
                    norms: [c / 2, c]
                        .map(|n| BatchNormConfig::new(n).init(device))
                        .to_vec(),
                })
            }
            Backbone::Dcgan => {
                let changes = self.dcgan_discriminator();
                let third = changes.third_convolution;
                let side = if third { 5 } else { 7 };
                Discriminator::Dcgan(DcganDiscriminator {
                    conv1: self.conv([1, 64], 4, 2, 1, device),
                    conv2: self.conv([64, 128], 4, 2, 1, device),
                    norm2: changes
                        .batch_norm
                        .then(|| BatchNormConfig::new(128).init(device)),
                    conv3: third.then(|| self.conv([128, 128], 3, 1, 0, device)),
                    norm3: third.then(|| BatchNormConfig::new(128).init(device)),
                    dropout: DropoutConfig::new(changes.dropout).init(),
                    logit: self.linear(128 * side * side, 1, device),
                })
            }
        }
    }
}

/// The generator of any backbone.
// One value per run: its size does not matter, and boxing would hide the layers from the
// Module derive's record layout.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Generator {
    Mlp(MlpGenerator),
    Cnn(CnnGenerator),
    Dcgan(DcganGenerator),
}

impl Generator {
    /// Images `[batch, 784]` in (-1, 1) from latent codes `[batch, latent]`.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        match self {
            Generator::Mlp(g) => g.forward(z),
            Generator::Cnn(g) => g.forward(z),
            Generator::Dcgan(g) => g.forward(z),
        }
    }
}

/// The discriminator of any backbone.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Discriminator {
    Mlp(MlpDiscriminator),
    Cnn(CnnDiscriminator),
    Dcgan(DcganDiscriminator),
}

impl Discriminator {
    /// One logit per image, `[batch, 1]`, for images `[batch, 784]`.
    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        match self {
            Discriminator::Mlp(d) => d.forward(images),
            Discriminator::Cnn(d) => d.forward(images),
            Discriminator::Dcgan(d) => d.forward(images),
        }
    }
}

fn flat_images(x: Tensor<4>) -> Tensor<2> {
    x.flatten::<2>(1, 3)
}

fn nchw(images: Tensor<2>) -> Tensor<4> {
    let [batch, _] = images.dims();
    images.reshape([batch, 1, ROWS, COLS])
}

#[derive(Module, Debug)]
pub struct MlpGenerator {
    layers: Vec<Linear>,
}

impl MlpGenerator {
    fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut x = z;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            x = if i < last {
                leaky_relu(x, LEAK)
            } else {
                x.tanh()
            };
        }
        x
    }
}

#[derive(Module, Debug)]
pub struct MlpDiscriminator {
    layers: Vec<Linear>,
    dropout: Dropout,
}

impl MlpDiscriminator {
    fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut x = images;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = self.dropout.forward(leaky_relu(x, LEAK));
            }
        }
        x
    }
}

#[derive(Module, Debug)]
pub struct CnnGenerator {
    deconvs: Vec<ConvTranspose2d>,
    norms: Vec<BatchNorm>,
}

impl CnnGenerator {
    fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        let [batch, latent] = z.dims();
        let mut x = z.reshape([batch, latent, 1, 1]);
        for (i, deconv) in self.deconvs.iter().enumerate() {
            x = conv_transpose2d(deconv, x);
            x = match self.norms.get(i) {
                Some(norm) => relu(norm.forward(x)),
                None => x.tanh(),
            };
        }
        flat_images(x)
    }
}

#[derive(Module, Debug)]
pub struct CnnDiscriminator {
    convs: Vec<Conv2d>,
    /// Batch norm after every convolution but the first and the last.
    norms: Vec<BatchNorm>,
}

impl CnnDiscriminator {
    fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        let last = self.convs.len() - 1;
        let mut x = nchw(images);
        for (i, conv) in self.convs.iter().enumerate() {
            x = conv2d(conv, x);
            if i == last {
                break;
            }
            if i > 0 {
                x = self.norms[i - 1].forward(x);
            }
            x = leaky_relu(x, LEAK);
        }
        flat_images(x)
    }
}

mod dcgan;
pub use dcgan::{DcganDiscriminator, DcganGenerator};

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
