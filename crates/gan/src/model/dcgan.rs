//! The DCGAN's players (the network of `../shared/peers/torch_dcgan.py`), with the layers
//! GAN-Q5 adds one at a time ([`super::DcganGeneratorSettings`],
//! [`super::DcganDiscriminatorSettings`]).

use burn::module::Module;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{BatchNorm, Dropout, Linear};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use data::activation::leaky_relu;
use data::conv::{conv_transpose2d, conv2d};

use super::{LEAK, flat_images, nchw};

#[derive(Module, Debug)]
pub struct DcganGenerator {
    pub(super) project: Linear,
    /// Normalises each of the 6272 projected features (PyTorch's BatchNorm1d(6272)), or each
    /// of the 128 maps with `dcgan_channel_norm`.
    pub(super) project_norm: BatchNorm,
    /// The projected maps' side: 7, or 5 with the third layer.
    pub(super) side: usize,
    /// Whether `project_norm` normalises per channel (over 128 maps) rather than per feature.
    pub(super) channel_norm: bool,
    pub(super) deconv0: Option<ConvTranspose2d>,
    pub(super) norm0: Option<BatchNorm>,
    pub(super) deconv1: ConvTranspose2d,
    pub(super) norm1: BatchNorm,
    pub(super) deconv2: ConvTranspose2d,
}

impl DcganGenerator {
    pub(super) fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        let [batch, _] = z.dims();
        let projected = self.project.forward(z);
        let maps = |x: Tensor<2>| x.reshape([batch, 128, self.side, self.side]);
        let mut x = if self.channel_norm {
            relu(self.project_norm.forward(maps(projected)))
        } else {
            maps(relu(self.project_norm.forward(projected)))
        };
        if let (Some(deconv), Some(norm)) = (&self.deconv0, &self.norm0) {
            x = relu(norm.forward(conv_transpose2d(deconv, x)));
        }
        let x = relu(self.norm1.forward(conv_transpose2d(&self.deconv1, x)));
        flat_images(conv_transpose2d(&self.deconv2, x).tanh())
    }
}

#[derive(Module, Debug)]
pub struct DcganDiscriminator {
    pub(super) conv1: Conv2d,
    pub(super) conv2: Conv2d,
    pub(super) norm2: Option<BatchNorm>,
    pub(super) conv3: Option<Conv2d>,
    pub(super) norm3: Option<BatchNorm>,
    pub(super) dropout: Dropout,
    pub(super) logit: Linear,
}

impl DcganDiscriminator {
    pub(super) fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        let activate = |x: Tensor<4>, norm: &Option<BatchNorm>| {
            let x = match norm {
                Some(norm) => norm.forward(x),
                None => x,
            };
            self.dropout.forward(leaky_relu(x, LEAK))
        };
        let x = activate(conv2d(&self.conv1, nchw(images)), &None);
        let mut x = activate(conv2d(&self.conv2, x), &self.norm2);
        if let Some(conv3) = &self.conv3 {
            x = activate(conv2d(conv3, x), &self.norm3);
        }
        self.logit.forward(x.flatten::<2>(1, 3))
    }
}
