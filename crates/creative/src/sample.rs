//! Drawing images of asked-for classes: the guided noise predictor (conditional and
//! unconditional predictions in one batch), run by either sampler.

use burn::tensor::{Device, Int, Tensor, TensorData};
use data::{CLASSES, DataSetName};
use serde::{Deserialize, Serialize};

use crate::diffusion::{NoiseSchedule, guide, pure_noise};
use crate::unet::UNet;

/// Which reverse process draws the samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Sampler {
    /// Ancestral sampling through all T steps.
    Ddpm,
    /// Deterministic DDIM in `steps` network calls.
    Ddim { steps: usize },
}

impl Sampler {
    /// Network evaluations per image for a model of `diffusion_steps` steps: one per step,
    /// two with guidance (the conditional and the unconditional prediction), except at
    /// guidance 1, which needs the conditional one alone.
    pub fn network_calls(self, diffusion_steps: usize, guidance: f64) -> usize {
        let steps = match self {
            Sampler::Ddpm => diffusion_steps,
            Sampler::Ddim { steps } => steps,
        };
        if guidance == 1.0 { steps } else { 2 * steps }
    }
}

/// How `sample` and `evaluate` draw: `--guidance`, `--steps`, `--seed`.
#[derive(Clone, Debug, clap::Args)]
pub struct SamplingArgs {
    /// Classifier-free guidance scale (1 = the conditional model alone, 0 = unconditional).
    #[arg(long, default_value_t = 2.0)]
    pub guidance: f64,
    /// DDIM steps; 0 = ancestral DDPM through all T steps.
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SamplingArgs {
    /// The sampler `--steps` names (DDIM, or DDPM for 0), after checking `--guidance`.
    pub fn sampler(&self) -> anyhow::Result<Sampler> {
        anyhow::ensure!(self.guidance >= 0.0, "--guidance must be at least 0");
        Ok(match self.steps {
            0 => Sampler::Ddpm,
            steps => Sampler::Ddim { steps },
        })
    }
}

/// What to draw.
#[derive(Clone, Debug)]
pub struct Request {
    /// The class of each image.
    pub classes: Vec<usize>,
    /// Guidance scale: 1 = the conditional model alone (one network call per step);
    /// otherwise two predictions per image, batched together.
    pub guidance: f64,
    pub sampler: Sampler,
    /// Seed of x_T (and of DDPM's noise).
    pub seed: u64,
}

/// Images `[n, 1, 28, 28]` in [-1, 1] as `request` asks; `null_class` is the network's
/// "no class" id.
pub fn sample(
    model: &UNet,
    schedule: &NoiseSchedule,
    null_class: usize,
    request: &Request,
    device: &Device,
) -> Tensor<4> {
    sample_observed(model, schedule, null_class, request, device, |_, _| {})
}

/// [`sample`], with `observe(x_t, t)` called on the noisy images before every network
/// call: how the denoising trajectory is recorded.
pub fn sample_observed(
    model: &UNet,
    schedule: &NoiseSchedule,
    null_class: usize,
    request: &Request,
    device: &Device,
    observe: impl Fn(&Tensor<4>, usize),
) -> Tensor<4> {
    let Request {
        classes,
        guidance,
        sampler,
        seed,
    } = request.clone();
    let n = classes.len();
    let ids = |values: Vec<i64>| {
        Tensor::<1, Int>::from_data(TensorData::new(values.clone(), [values.len()]), device)
    };
    let conditional: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
    let unguided = (guidance - 1.0).abs() < 1e-12;
    let batch_classes = if unguided {
        ids(conditional)
    } else {
        ids([conditional, vec![null_class as i64; n]].concat())
    };
    let predict = |x: Tensor<4>, t: usize| {
        observe(&x, t);
        let x = if unguided {
            x
        } else {
            Tensor::cat(vec![x.clone(), x], 0)
        };
        let rows = x.dims()[0];
        let eps = model.forward(
            x,
            Tensor::<1>::full([rows], t as f32, device),
            batch_classes.clone(),
        );
        if unguided {
            eps
        } else {
            guide(eps.clone().narrow(0, 0, n), eps.narrow(0, n, n), guidance)
        }
    };
    let start = pure_noise(n, seed, device);
    let images = match sampler {
        Sampler::Ddpm => schedule.ddpm(start, data::seed::mix(seed, 2, 0), predict),
        Sampler::Ddim { steps } => schedule.ddim(start, steps, predict),
    };
    images.clamp(-1.0, 1.0)
}

/// Images in [-1, 1] as [0, 1] values, row-major.
pub fn unit_values(images: Tensor<4>) -> Vec<f32> {
    data::figure::tensor_values(images)
        .into_iter()
        .map(|v| data::Scale::MinusOneOne.to_unit(v))
        .collect()
}

/// A Fashion-MNIST class by its index (0-9) or its name ("sneaker", "T-shirt", ...; case
/// and a trailing "s" do not matter); the error lists the names.
pub fn class_index(name: &str) -> anyhow::Result<usize> {
    let names = DataSetName::FashionMnist.class_names();
    if let Ok(index) = name.parse::<usize>() {
        anyhow::ensure!(
            index < CLASSES,
            "--class {index}: classes are 0 to {}",
            CLASSES - 1
        );
        return Ok(index);
    }
    let wanted = name.trim().to_lowercase();
    let wanted = wanted
        .strip_suffix('s')
        .filter(|w| !w.is_empty())
        .unwrap_or(&wanted);
    names
        .iter()
        .position(|n| n.to_lowercase() == wanted || n.to_lowercase().replace('-', "") == wanted)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--class {name}: not a Fashion-MNIST class; one of {} (or 0-9)",
                names.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_found_by_name_or_index_and_unknown_ones_listed() {
        assert_eq!(class_index("sneaker").unwrap(), 7);
        assert_eq!(class_index("Sneakers").unwrap(), 7);
        assert_eq!(class_index("t-shirt").unwrap(), 0);
        assert_eq!(class_index("tshirt").unwrap(), 0);
        assert_eq!(class_index("9").unwrap(), 9);
        assert!(class_index("10").is_err());
        let err = class_index("hat").unwrap_err().to_string();
        assert!(err.contains("Sneaker") && err.contains("hat"), "{err}");
    }
}
