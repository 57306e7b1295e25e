//! VAE-Q2: the VAE against a stacked auto-encoder of the course's shape: reconstruction under
//! two metrics, decoding from a prior, and what the KL term does to the codes.

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Distribution, Tensor};
use data::figure::tensor_values;
use eval::SampleScores;
use serde::{Deserialize, Serialize};

use super::{Setup, Trained};
use crate::answer::Answer;
use crate::experiment::Question;
use crate::run_or_load::{NoSummary, SharedRun, seeded_epochs};
use data::Checkpointable as _;
use vae::autoencoder::{AutoencoderConfig, AutoencoderEpoch, AutoencoderState, StackedAutoencoder};
use vae::latent::{LatentStatistics, reconstruction_errors};
use vae::model::Posterior;

pub static EXPERIMENT: Question = Question {
    id: "VAE-Q2",
    answers: &["VAE-Q2"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Codes within this distance of 0 or 1 count as saturated sigmoid units.
const SATURATED: f32 = 0.05;

/// VAE-Q2's numbers: both models' reconstruction errors and codes, and what decoding random
/// codes gives.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AutoencoderComparison {
    /// The quick (CI) profile's small, briefly trained models; absent (false) in the full
    /// profile's numbers, which were written before the field existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    pub autoencoder: AutoencoderNumbers,
    pub vae: VaeNumbers,
    /// The VAE's prior samples, then the auto-encoder's decoded random codes.
    pub samples: Vec<Decoded>,
}

impl Answer for AutoencoderComparison {
    const ID: &'static str = "VAE-Q2";
}

/// The stacked auto-encoder's reconstructions of the grey test digits.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AutoencoderNumbers {
    pub config: AutoencoderConfig,
    /// Mean squared error per pixel (pixels in [0, 1]).
    pub mse: f64,
    /// Binary cross-entropy, nats per image.
    pub bce: f64,
    pub train_seconds: f64,
    /// Fraction in [0, 1] of the test digits' code values within `SATURATED` of 0 or 1.
    pub saturated_fraction: f64,
}

/// The VAE's reconstructions (decoded posterior means) of the same digits, and its codes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VaeNumbers {
    /// Mean squared error per pixel (pixels in [0, 1]).
    pub mse: f64,
    /// Binary cross-entropy, nats per image.
    pub bce: f64,
    pub latent: LatentStatistics,
    pub train_seconds: f64,
}

/// The scores of samples decoded from one distribution of codes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Decoded {
    /// The codes' distribution, as the table names it.
    pub from: String,
    pub scores: SampleScores,
}

/// Reconstructions of the grey test digits: the auto-encoder's output, and the VAE's
/// decoder mean at the posterior mean (its most likely reconstruction, no sampling noise).
struct Reconstructions {
    autoencoder: Tensor<2>,
    vae: Tensor<2>,
    posterior: Posterior,
}

fn reconstruct(
    autoencoder: &StackedAutoencoder,
    vae: &Trained,
    grey: &Tensor<2>,
) -> Reconstructions {
    let posterior = vae.model.encode(grey.clone());
    Reconstructions {
        autoencoder: autoencoder.reconstruct(grey.clone()),
        vae: sigmoid(vae.model.decode(posterior.mean.clone())),
        posterior,
    }
}

/// Decoded random codes: the VAE's from its prior N(0, I); the auto-encoder has none, so its
/// code cube (0, 1)^width uniformly, and a Gaussian fitted to each code unit of `codes`.
struct Drawn {
    vae: Tensor<2>,
    uniform: Tensor<2>,
    fitted: Tensor<2>,
}

fn draw(
    ctx: &Setup,
    autoencoder: &StackedAutoencoder,
    vae: &Trained,
    codes: &Tensor<2>,
    width: usize,
) -> Drawn {
    let count = ctx.budget.eval_samples;
    let vae = ctx.samples(vae, count);
    let uniform = Tensor::<2>::random([count, width], Distribution::Default, ctx.ctx.device());
    let fitted = fitted_gaussian_codes(codes, count);
    Drawn {
        vae,
        uniform: autoencoder.decode(uniform),
        fitted: autoencoder.decode(fitted.clamp(0.0, 1.0)),
    }
}

/// Fraction of `codes` within `SATURATED` of 0 or 1.
fn saturated_fraction(codes: &[f32]) -> f64 {
    let saturated = codes
        .iter()
        .filter(|&&c| !(SATURATED..=1.0 - SATURATED).contains(&c))
        .count();
    saturated as f64 / codes.len().max(1) as f64
}

fn run(ctx: &Setup) -> anyhow::Result<()> {
    let (name, config) = ctx.strong_mlp();
    let vae = ctx.train(name, &config)?;
    let (autoencoder, ae_config, ae_seconds) = train_autoencoder(ctx)?;
    let digits = if ctx.budget.quick { 2_000 } else { 10_000 };
    let (grey, _) = ctx.grey_test(digits);
    let recon = reconstruct(&autoencoder, &vae, &grey);
    let (ae_mse, ae_bce) = reconstruction_errors(recon.autoencoder.clone(), grey.clone());
    let (vae_mse, vae_bce) = reconstruction_errors(recon.vae.clone(), grey.clone());
    let codes = autoencoder.encode(grey.clone());
    let width = ae_config.widths.last().copied().unwrap_or(64);
    let drawn = draw(ctx, &autoencoder, &vae, &codes, width);
    let samples = vec![
        decoded("VAE, z ~ N(0, I)", ctx.score(drawn.vae.clone())?),
        decoded(
            "auto-encoder, codes ~ U(0, 1)^64",
            ctx.score(drawn.uniform.clone())?,
        ),
        decoded(
            "auto-encoder, codes ~ Gaussian fitted per unit",
            ctx.score(drawn.fitted.clone())?,
        ),
    ];
    figures(ctx, &grey, &recon, &drawn)?;
    let numbers = AutoencoderComparison {
        quick: ctx.budget.quick,
        autoencoder: AutoencoderNumbers {
            config: ae_config,
            mse: ae_mse,
            bce: ae_bce,
            train_seconds: ae_seconds,
            saturated_fraction: saturated_fraction(&tensor_values(codes)),
        },
        vae: VaeNumbers {
            mse: vae_mse,
            bce: vae_bce,
            latent: LatentStatistics::of(&recon.posterior),
            train_seconds: vae.train_seconds(),
        },
        samples,
    };
    ctx.ctx.write_answer(&numbers)
}

fn decoded(from: &str, scores: SampleScores) -> Decoded {
    Decoded {
        from: from.into(),
        scores,
    }
}

/// Ten test digits with both reconstructions, and ten decoded codes of each kind.
fn figures(
    ctx: &Setup,
    grey: &Tensor<2>,
    recon: &Reconstructions,
    drawn: &Drawn,
) -> anyhow::Result<()> {
    let first = |t: &Tensor<2>| tensor_values(t.clone().narrow(0, 0, 10));
    let labels = |names: [&str; 3]| {
        names
            .iter()
            .flat_map(|n| std::iter::repeat_n(n.to_string(), 10))
            .collect()
    };
    let reconstructions = [first(grey), first(&recon.autoencoder), first(&recon.vae)].concat();
    ctx.grid(
        "vae-q2-reconstructions.png",
        &reconstructions,
        10,
        Some(labels(["test digit", "auto-encoder", "VAE"])),
    )?;
    let samples = [
        first(&drawn.vae),
        first(&drawn.uniform),
        first(&drawn.fitted),
    ]
    .concat();
    ctx.grid(
        "vae-q2-samples.png",
        &samples,
        10,
        Some(labels(["VAE prior", "AE uniform", "AE fitted"])),
    )
}

/// Trains (or reloads) the stacked auto-encoder as a shared run; returns it in evaluation
/// mode, its config and its training seconds.
fn train_autoencoder(ctx: &Setup) -> anyhow::Result<(StackedAutoencoder, AutoencoderConfig, f64)> {
    let (pretrain, finetune) = ctx.budget.autoencoder_epochs;
    let config = AutoencoderConfig::new()
        .with_pretrain_epochs(pretrain)
        .with_finetune_epochs(finetune)
        .with_train_limit(if ctx.budget.quick {
            ctx.budget.quick_mlp.1
        } else {
            0
        });
    let device = ctx.ctx.selected.autodiff();
    let run = SharedRun {
        model: "vae",
        name: "q2-autoencoder",
        config: &config,
        seed: config.seed,
    };
    let obtained = ctx.ctx.run_or_load(
        run,
        |run| {
            let train = ctx.train.clone().limited(config.train_limit);
            let init = || AutoencoderState::new(&config, &device);
            let epoch = |state: &mut AutoencoderState, epoch| {
                Ok(state.train_epoch(epoch, &train, &config, &device))
            };
            let seeded = ctx.ctx.device();
            seeded_epochs(
                run,
                seeded,
                config.seed,
                init,
                config.epochs(),
                epoch,
                &mut [],
            )
        },
        |_| NoSummary {},
        |state| state.model.valid(),
        |dir| {
            let (_, checkpoint) = data::run::load_latest::<AutoencoderConfig>(dir, "auto-encoder")?;
            let state = AutoencoderState::new(&config, &device).load(&checkpoint)?;
            Ok(state.model.valid())
        },
    )?;
    let records: Vec<AutoencoderEpoch> = data::run::read_records(&obtained.dir)?;
    let seconds = records.iter().map(|r| r.train_seconds).sum();
    Ok((obtained.model, config, seconds))
}

/// `count` codes drawn from independent Gaussians with each code unit's mean and standard
/// deviation over `codes` `[n, units]`.
fn fitted_gaussian_codes(codes: &Tensor<2>, count: usize) -> Tensor<2> {
    let [_, units] = codes.dims();
    let mean = codes.clone().mean_dim(0);
    let std = (codes.clone() - mean.clone())
        .powi_scalar(2)
        .mean_dim(0)
        .sqrt();
    let noise = Tensor::<2>::random(
        [count, units],
        Distribution::Normal(0.0, 1.0),
        &codes.device(),
    );
    noise * std + mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturated_codes_are_those_within_the_margin_of_0_or_1() {
        // The lower margin's edge, 0.05, is not saturated: 3 of 6 codes are.
        let codes = [0.0, 0.04, 0.05, 0.5, 0.94, 0.96];
        assert!((saturated_fraction(&codes) - 3.0 / 6.0).abs() < 1e-12);
        assert_eq!(saturated_fraction(&[]), 0.0);
    }
}
