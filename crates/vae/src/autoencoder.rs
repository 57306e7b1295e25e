//! The stacked auto-encoder the VAE is compared with (VAE-Q2): sigmoid layers 784-256-64,
//! each layer first trained greedily to reconstruct its own input with the squared error,
//! then the whole stack fine-tuned end to end on the pixels. It has no prior and no noise:
//! its codes are points, not distributions.

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::ModuleOptimizer;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use data::scaffold::descend;
use data::{BatchOrder, ImageBatcher, ImageSet, ImageTransform, train_batches};
use serde::{Deserialize, Serialize};

/// The stack and its training; saved in the run's `config.json`.
#[derive(Config, Debug)]
pub struct AutoencoderConfig {
    /// Layer widths, pixels first: 784-256-64 as in the course.
    #[config(default = "vec![784, 256, 64]")]
    pub widths: Vec<usize>,
    /// Epochs of greedy training of each layer on its own input.
    #[config(default = 5)]
    pub pretrain_epochs: usize,
    /// Epochs of end-to-end fine-tuning on the pixels.
    #[config(default = 20)]
    pub finetune_epochs: usize,
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    #[config(default = 128)]
    pub batch_size: usize,
    #[config(default = 0)]
    pub seed: u64,
    /// Train on the first N training images only (0 = all 60,000).
    #[config(default = 0)]
    pub train_limit: usize,
}

impl AutoencoderConfig {
    pub fn init(&self, device: &Device) -> StackedAutoencoder {
        let pairs = self.widths.windows(2);
        StackedAutoencoder {
            encoders: pairs
                .clone()
                .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                .collect(),
            decoders: pairs
                .map(|w| LinearConfig::new(w[1], w[0]).init(device))
                .collect(),
        }
    }

    /// Total epochs: each layer's pre-training, then the fine-tuning.
    pub fn epochs(&self) -> usize {
        self.pretrain_epochs * (self.widths.len() - 1) + self.finetune_epochs
    }

    /// What epoch `epoch` trains: `Some(layer)` for greedy pre-training, `None` for
    /// fine-tuning.
    pub fn stage(&self, epoch: usize) -> Option<usize> {
        let layer = epoch / self.pretrain_epochs.max(1);
        (self.pretrain_epochs > 0 && layer < self.widths.len() - 1).then_some(layer)
    }
}

/// Encoder layers 784 -> 256 -> 64 and decoder layers 64 -> 256 -> 784, all sigmoid.
#[derive(Module, Debug)]
pub struct StackedAutoencoder {
    encoders: Vec<Linear>,
    /// `decoders[i]` maps the output of `encoders[i]` back to its input.
    decoders: Vec<Linear>,
}

impl StackedAutoencoder {
    /// The codes of the first `layers` encoder layers.
    pub fn encode_to(&self, images: Tensor<2>, layers: usize) -> Tensor<2> {
        self.encoders[..layers]
            .iter()
            .fold(images, |x, layer| sigmoid(layer.forward(x)))
    }

    /// The top codes `[batch, 64]` of images `[batch, 784]` in [0, 1].
    pub fn encode(&self, images: Tensor<2>) -> Tensor<2> {
        self.encode_to(images, self.encoders.len())
    }

    /// Images in (0, 1) from top codes.
    pub fn decode(&self, codes: Tensor<2>) -> Tensor<2> {
        self.decoders
            .iter()
            .rev()
            .fold(codes, |x, layer| sigmoid(layer.forward(x)))
    }

    pub fn reconstruct(&self, images: Tensor<2>) -> Tensor<2> {
        self.decode(self.encode(images))
    }

    /// The stage's reconstruction loss (mean squared error per value): of layer `layer`'s
    /// input by that layer alone (its input fixed), or of the pixels by the whole stack.
    fn stage_loss(&self, images: Tensor<2>, stage: Option<usize>) -> Tensor<1> {
        let (target, output) = match stage {
            Some(layer) => {
                let input = self.encode_to(images, layer).detach();
                let code = sigmoid(self.encoders[layer].forward(input.clone()));
                (input, sigmoid(self.decoders[layer].forward(code)))
            }
            None => (images.clone(), self.reconstruct(images)),
        };
        (output - target).powi_scalar(2).mean()
    }
}

/// The stack and its optimiser: what a checkpoint holds.
pub struct AutoencoderState {
    pub model: StackedAutoencoder,
    optimizer: ModuleOptimizer,
}

impl data::Checkpointable for AutoencoderState {
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        data::run::save_trained(dir, &self.model, &self.optimizer)
    }

    fn load(self, dir: &Path) -> anyhow::Result<Self> {
        let (model, optimizer) = data::run::load_trained(dir, self.model, self.optimizer)?;
        Ok(Self { model, optimizer })
    }
}

/// One epoch of the auto-encoder, as logged.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AutoencoderEpoch {
    /// "layer 1", "layer 2" or "fine-tune".
    pub stage: String,
    /// Mean of the stage's loss over the epoch (squared error per value).
    pub loss: f64,
    pub train_seconds: f64,
}

impl AutoencoderState {
    pub fn new(config: &AutoencoderConfig, device: &Device) -> Self {
        Self {
            model: config.init(device),
            optimizer: data::adam::FusedAdam::new(0.9, 0.999, 1e-8).init(),
        }
    }

    /// Trains epoch `epoch` (its stage from [`AutoencoderConfig::stage`]) on grey digits.
    pub fn train_epoch(
        &mut self,
        epoch: usize,
        train: &ImageSet,
        config: &AutoencoderConfig,
        device: &Device,
    ) -> AutoencoderEpoch {
        let stage = config.stage(epoch);
        let batcher = ImageBatcher::new(ImageTransform {
            seed: config.seed,
            ..Default::default()
        });
        let order = BatchOrder::shuffled_full(config.batch_size, config.seed);
        let pass = train_batches(train.len(), order, epoch, |_, indices| {
            let images = batcher.batch_indices(train, indices, device).images;
            let loss = self.model.stage_loss(images, stage);
            (self.model, _) = descend(
                self.model.clone(),
                &mut self.optimizer,
                config.learning_rate,
                &loss,
            );
            loss.detach().inner()
        });
        let values = data::figure::tensor_values(Tensor::cat(pass.results, 0));
        AutoencoderEpoch {
            stage: stage.map_or("fine-tune".into(), |l| format!("layer {}", l + 1)),
            loss: values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len().max(1) as f64,
            train_seconds: pass.seconds,
        }
    }
}
