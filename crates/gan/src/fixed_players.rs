//! The losses of both players held fixed, over many minibatches: how much one step's loss
//! varies from minibatch noise alone. The spread of the losses during training is read
//! against it; only a spread well beyond it shows the players moving (an oscillating game).

use burn::tensor::{Device, Tensor};
use data::scaffold::fixed_normal;
use data::{BatchOrder, ImageBatcher, ImageSet};
use serde::{Deserialize, Serialize};

use crate::train::{GanState, TrainConfig};

/// Mean and standard deviation of one loss over the minibatches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub mean: f64,
    pub std: f64,
}

impl Spread {
    /// The mean and the population standard deviation of `values`.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        Self {
            mean,
            std: variance.sqrt(),
        }
    }
}

/// Both losses of the players as they stand after an epoch, each measured on `batches`
/// disjoint minibatches of real images with fresh latent codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FixedPlayerLosses {
    pub batches: usize,
    pub d_loss: Spread,
    pub g_loss: Spread,
}

/// Stream of the minibatches and codes, apart from every stream training draws from.
const FIXED_PLAYER_STREAM: u64 = 0xF1_4ED;

/// Measures [`FixedPlayerLosses`] after epoch `epoch` (0-based). D runs as in training
/// (dropout on), so each value is what a training step would have logged had neither
/// player moved; nothing is updated.
pub fn fixed_player_losses(
    state: &GanState,
    train: &ImageSet,
    config: &TrainConfig,
    epoch: usize,
    batches: usize,
    device: &Device,
) -> FixedPlayerLosses {
    let seed = data::seed::mix(config.seed, FIXED_PLAYER_STREAM, epoch as u64);
    let batcher = ImageBatcher::new(config.transform()).for_epoch(epoch as u64);
    let order = BatchOrder::shuffled_full(config.batch_size, seed).epoch(train.len(), 0);
    // Both losses of every minibatch, read back from the device in one transfer.
    let mut losses = Vec::new();
    for (i, indices) in order.iter().take(batches).enumerate() {
        let real = batcher.batch_indices(train, indices, device).images;
        let codes = fixed_normal(indices.len(), config.model.latent, seed ^ i as u64, device);
        let fake = state.generator.forward(codes).detach();
        let real_logits = state.discriminator.forward(real).detach();
        let fake_logits = state.discriminator.forward(fake).detach();
        losses.push(config.discriminator_loss(real_logits, fake_logits.clone()));
        losses.push(config.loss.generator(fake_logits));
    }
    if losses.is_empty() {
        return FixedPlayerLosses::default();
    }
    let values: Vec<f64> = (data::figure::tensor_values(Tensor::cat(losses, 0)).into_iter())
        .map(f64::from)
        .collect();
    let d_losses: Vec<f64> = values.iter().step_by(2).copied().collect();
    let g_losses: Vec<f64> = values.iter().skip(1).step_by(2).copied().collect();
    FixedPlayerLosses {
        batches: d_losses.len(),
        d_loss: Spread::of(&d_losses),
        g_loss: Spread::of(&g_losses),
    }
}
