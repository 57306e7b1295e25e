//! The exponential moving average of a model's weights, θ_ema ← d·θ_ema + (1 − d)·θ after
//! every step: the weights a diffusion model samples with (Ho et al. 2020 use d = 0.9999),
//! and a GAN generator's (Yazıcı et al. 2019: the raw weights of the last step jitter with
//! each batch, and a GAN's more than most, because the game never settles).

use std::collections::HashMap;
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The averaged copy of a model, on the plain (non-autodiff) device.
#[derive(Clone, Debug)]
pub struct Ema<M: Module> {
    pub model: M,
    pub decay: f64,
    /// Updates done: the decay is warmed up as min(decay, (1 + n) / (10 + n)), so that the
    /// average is not dominated by the random initial weights early in training.
    pub updates: u64,
}

/// Every float parameter of a module, flattened, by id.
struct Collect(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val().inner();
        let count = value.shape().num_elements();
        self.0.insert(param.id, value.reshape([count]));
    }
}

/// Moves each parameter towards the collected value of the same id.
struct Blend {
    current: HashMap<ParamId, Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(current) = self.current.remove(&param.id) else {
            return param;
        };
        let decay = self.decay;
        param.map(|ema| {
            let shape = ema.shape();
            ema * decay + current.reshape(shape) * (1.0 - decay)
        })
    }
}

impl<M: Module> Ema<M> {
    /// Starts the average at `model`'s weights (moved off autodiff).
    pub fn new(model: &M, decay: f64) -> Self {
        Self {
            model: model.valid(),
            decay,
            updates: 0,
        }
    }

    /// The decay used at the next update.
    pub fn effective_decay(&self) -> f64 {
        let n = self.updates as f64;
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// One step of the average towards `model` (same parameter ids: a clone of the model the
    /// average started from, trained since).
    pub fn update(&mut self, model: &M) {
        let mut collect = Collect(HashMap::new());
        model.visit(&mut collect);
        let mut blend = Blend {
            current: collect.0,
            decay: self.effective_decay(),
        };
        self.model = self.model.clone().map(&mut blend);
        self.updates += 1;
    }

    /// Writes the average as module `<name>` and its update count as `<name>.json` in a
    /// checkpoint folder.
    pub fn save(&self, dir: &Path, name: &str) -> anyhow::Result<()> {
        crate::run::save_module(dir, name, &self.model)?;
        crate::run::write_json(
            &dir.join(format!("{name}.json")),
            &Progress {
                updates: self.updates,
            },
        )
    }

    /// Reads what [`Ema::save`] wrote, into this average's structure.
    pub fn load(self, dir: &Path, name: &str) -> anyhow::Result<Self> {
        let progress: Progress = crate::run::read_json(&dir.join(format!("{name}.json")))?;
        Ok(Self {
            model: crate::run::load_module(dir, name, self.model)?,
            updates: progress.updates,
            ..self
        })
    }
}

/// What a checkpoint keeps of an average besides its weights.
#[derive(Serialize, Deserialize)]
struct Progress {
    updates: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, TensorData};

    fn weights(linear: &burn::nn::Linear) -> Vec<f32> {
        crate::figure::tensor_values(linear.weight.val().inner())
    }

    #[test]
    fn the_average_moves_by_one_minus_the_decay_towards_the_model() {
        let device = Device::flex().autodiff();
        let start = LinearConfig::new(2, 2).init(&device);
        let mut ema = Ema::new(&start, 0.9);
        ema.updates = 1_000; // past the warm-up: the decay is 0.9
        let before = weights(&ema.model);
        let mut moved = start.clone();
        moved.weight = moved
            .weight
            .map(|w| Tensor::from_data(TensorData::new(vec![1.0f32; 4], [2, 2]), &w.device()));
        ema.update(&moved);
        let after = weights(&ema.model);
        for (a, b) in after.iter().zip(&before) {
            assert!(
                (a - (0.9 * b + 0.1)).abs() < 1e-6,
                "{after:?} from {before:?}"
            );
        }
        assert_eq!(ema.updates, 1_001);
    }

    #[test]
    fn the_decay_warms_up_from_a_tenth() {
        let device = Device::flex();
        let mut ema = Ema::new(&LinearConfig::new(1, 1).init(&device), 0.999);
        assert!((ema.effective_decay() - 0.1).abs() < 1e-12);
        ema.updates = 90;
        assert!((ema.effective_decay() - 0.91).abs() < 1e-12);
        ema.updates = 1_000_000;
        assert_eq!(ema.effective_decay(), 0.999);
    }
}
