//! The domain classifier every sample-quality metric is computed with: a small CNN whose
//! penultimate layer is the feature space of the Fréchet distance and of precision/recall.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::tensor::{Device, Int, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use data::ImageBatch;

/// Architecture of [`Classifier`].
#[derive(Config, Debug)]
pub struct ClassifierConfig {
    /// Channels of the first 3x3 convolution.
    #[config(default = 32)]
    pub conv1_channels: usize,
    /// Channels of the second 3x3 convolution.
    #[config(default = 64)]
    pub conv2_channels: usize,
    /// Width of the penultimate layer: the dimension of the metric feature space.
    #[config(default = 128)]
    pub features: usize,
    #[config(default = 0.3)]
    pub dropout: f64,
    #[config(default = 10)]
    pub classes: usize,
}

/// conv3x3 → ReLU → maxpool2 → conv3x3 → ReLU → maxpool2 → linear (features) → ReLU →
/// dropout → linear (logits). Inputs are `[batch, 784]` in [0, 1].
#[derive(Module, Debug)]
pub struct Classifier {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    features: Linear,
    dropout: Dropout,
    logits: Linear,
    activation: Relu,
}

impl ClassifierConfig {
    pub fn init(&self, device: &Device) -> Classifier {
        let conv = |channels| {
            Conv2dConfig::new(channels, [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device)
        };
        let flat = self.conv2_channels * 7 * 7;
        Classifier {
            conv1: conv([1, self.conv1_channels]),
            conv2: conv([self.conv1_channels, self.conv2_channels]),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            features: LinearConfig::new(flat, self.features).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            logits: LinearConfig::new(self.features, self.classes).init(device),
            activation: Relu::new(),
        }
    }
}

impl Classifier {
    /// Penultimate-layer features `[batch, features]` of images `[batch, 784]` in [0, 1].
    pub fn features(&self, images: Tensor<2>) -> Tensor<2> {
        let [batch, _] = images.dims();
        let x = images.reshape([batch, 1, data::ROWS, data::COLS]);
        let x = self
            .pool
            .forward(self.activation.forward(self.conv1.forward(x)));
        let x = self
            .pool
            .forward(self.activation.forward(self.conv2.forward(x)));
        let x = x.flatten::<2>(1, 3);
        self.activation.forward(self.features.forward(x))
    }

    /// Class logits `[batch, classes]` from features.
    pub fn logits_from_features(&self, features: Tensor<2>) -> Tensor<2> {
        self.logits.forward(self.dropout.forward(features))
    }

    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        self.logits_from_features(self.features(images))
    }

    pub fn forward_classification(
        &self,
        images: Tensor<2>,
        targets: Tensor<1, Int>,
    ) -> ClassificationOutput {
        let output = self.forward(images);
        let loss = CrossEntropyLossConfig::new()
            .init(&output.device())
            .forward(output.clone(), targets.clone());
        ClassificationOutput::new(loss, output, targets)
    }
}

impl TrainStep for Classifier {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch.images, batch.labels);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Classifier {
    type Input = ImageBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ImageBatch) -> ClassificationOutput {
        self.forward_classification(batch.images, batch.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_features_and_logits() {
        let device = Device::flex();
        let model = ClassifierConfig::new().init(&device);
        let x = Tensor::<2>::zeros([3, 784], &device);
        assert_eq!(model.features(x.clone()).dims(), [3, 128]);
        assert_eq!(model.forward(x).dims(), [3, 10]);
    }
}
