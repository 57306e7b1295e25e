//! VAE-Q2: the VAE against a stacked auto-encoder of the course's shape: reconstruction under
//! two metrics, decoding from a prior, and what the KL term does to the codes.

use crate::experiment::Question;
use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Distribution, Tensor};
use data::figure::tensor_values;
use eval::SampleScores;
use serde_json::json;

use super::Setup;
use crate::run_or_load::{NoSummary, SharedRun, seeded_epochs};
use data::Checkpointable as _;
use vae::autoencoder::{AutoencoderConfig, AutoencoderEpoch, AutoencoderState, StackedAutoencoder};
use vae::latent::{LatentStatistics, reconstruction_errors};

pub static EXPERIMENT: Question = Question {
    id: "VAE-Q2",
    answers: &["VAE-Q2"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Codes within this distance of 0 or 1 count as saturated sigmoid units.
const SATURATED: f32 = 0.05;

fn run(ctx: &Setup) -> anyhow::Result<()> {
    let (name, config) = ctx.strong_mlp();
    let vae = ctx.train(name, &config)?;
    let (autoencoder, ae_config, ae_seconds) = train_autoencoder(ctx)?;
    let digits = if ctx.budget.quick { 2_000 } else { 10_000 };
    let (grey, _) = ctx.grey_test(digits);

    // Reconstructions: the auto-encoder's output, and the VAE's decoder mean at the
    // posterior mean (its most likely reconstruction, no sampling noise).
    let ae_recon = autoencoder.reconstruct(grey.clone());
    let posterior = vae.model.encode(grey.clone());
    let vae_recon = sigmoid(vae.model.decode(posterior.mean.clone()));
    let (ae_mse, ae_bce) = reconstruction_errors(ae_recon.clone(), grey.clone());
    let (vae_mse, vae_bce) = reconstruction_errors(vae_recon.clone(), grey.clone());

    // Decoding from a prior: the VAE's N(0, I); the auto-encoder has none, so its code cube
    // (0, 1)^64 uniformly, and a Gaussian fitted to each code unit of the test digits.
    let count = ctx.budget.eval_samples;
    let vae_samples = ctx.samples(&vae, count);
    let codes = autoencoder.encode(grey.clone());
    let code_values = tensor_values(codes.clone());
    let width = ae_config.widths.last().copied().unwrap_or(64);
    let device = ctx.ctx.device();
    let uniform = Tensor::<2>::random([count, width], Distribution::Default, device);
    let fitted = fitted_gaussian_codes(&codes, count);
    let ae_uniform = autoencoder.decode(uniform);
    let ae_fitted = autoencoder.decode(fitted.clamp(0.0, 1.0));
    let scores: Vec<(&str, SampleScores)> = vec![
        ("VAE, z ~ N(0, I)", ctx.score(vae_samples.clone())),
        (
            "auto-encoder, codes ~ U(0, 1)^64",
            ctx.score(ae_uniform.clone()),
        ),
        (
            "auto-encoder, codes ~ Gaussian fitted per unit",
            ctx.score(ae_fitted.clone()),
        ),
    ];

    let stats = LatentStatistics::of(&posterior);
    let saturated = code_values
        .iter()
        .filter(|&&c| !(SATURATED..=1.0 - SATURATED).contains(&c))
        .count() as f64
        / code_values.len().max(1) as f64;

    let first = |t: Tensor<2>, n: usize| tensor_values(t.narrow(0, 0, n));
    let recon_grid = [
        first(grey.clone(), 10),
        first(ae_recon, 10),
        first(vae_recon, 10),
    ]
    .concat();
    let sample_grid = [
        first(vae_samples, 10),
        first(ae_uniform, 10),
        first(ae_fitted, 10),
    ]
    .concat();
    let labels = |names: [&str; 3]| {
        names
            .iter()
            .flat_map(|n| std::iter::repeat_n(n.to_string(), 10))
            .collect()
    };
    let widths = ae_config
        .widths
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("-");
    let (pre, fine) = (ae_config.pretrain_epochs, ae_config.finetune_epochs);
    let note = ctx.epoch_note(&vae.config);
    let vae_seconds = vae.train_seconds();
    let (ae_params, vae_params) = (autoencoder.num_params(), vae.model.num_params());
    let (latent, active) = (stats.latent, stats.active_units);
    let mut md = format!(
        "Stacked auto-encoder: sigmoid layers {widths}, each layer pre-trained greedily to \
         reconstruct its input ({pre} epochs each, squared error), then fine-tuned end to end \
         ({fine} epochs) on grey digits ({ae_seconds:.0} s). VAE: the strong preset of VAE-Q1 \
         ({note}, {vae_seconds:.0} s). Errors on the first {digits} grey test digits; the VAE \
         reconstructs from its posterior mean.\n\n\
         | model | parameters | MSE per pixel | BCE, nats per digit | code units | active units |\n\
         |---|---:|---:|---:|---:|---:|\n\
         | stacked auto-encoder | {ae_params} | {ae_mse:.4} | {ae_bce:.1} | {width} | – |\n\
         | VAE | {vae_params} | {vae_mse:.4} | {vae_bce:.1} | {latent} | {active} |\n\n\
         {}\n\nRows: test digits, the auto-encoder's reconstructions, the VAE's.\n\n\
         | decoded from | FID | classes covered | precision | recall |\n|---|---:|---:|---:|---:|\n",
        ctx.grid(
            "vae-q2-reconstructions.png",
            &recon_grid,
            10,
            Some(labels(["test digit", "auto-encoder", "VAE"]))
        )?,
    );
    for (name, s) in &scores {
        md.push_str(&format!(
            "| {name} | {:.1} | {} | {:.3} | {:.3} |\n",
            s.fid,
            s.classes.classes_covered,
            s.precision_recall.precision,
            s.precision_recall.recall
        ));
    }
    md.push_str(&format!(
        "\n{}\n\nRows: VAE prior samples, auto-encoder codes from U(0, 1)^64, from the fitted \
         Gaussian.\n\n\
         **The codes.** VAE: {} of {} latent units active (posterior mean varying across digits \
         by more than 0.01); the aggregate posterior has mean |E[μ]| {:.3} and variance \
         Var(μ) + E[σ²] {:.3} per unit on average (the prior: 0 and 1). Auto-encoder: {:.1}% of \
         its code values lie within {SATURATED} of 0 or 1.\n\n\
         **Reading.** Both are encoder-decoder pairs trained to reconstruct, and both compress \
         784 pixels into a small code. The auto-encoder minimises a reconstruction error only \
         (here the squared error, whose natural metric is the MSE); the VAE maximises the ELBO, \
         whose reconstruction term is the Bernoulli log-likelihood (the BCE in nats) and whose \
         KL term charges every code for the information it carries about its digit. The table \
         shows what each buys under both metrics. The KL term is what makes the VAE generative: \
         it pulls the codes of all digits into one region that matches the prior, so that \
         decoding z ~ N(0, I) lands where the decoder was trained, and it switches off the \
         units it cannot pay for. The auto-encoder's codes sit wherever reconstruction put \
         them, with holes between clusters and saturated units; no distribution is fitted to \
         them during training, so decoding random codes (second and third rows) mostly leaves \
         the region of real codes, which the FID, classes and precision above measure.\n",
        ctx.grid(
            "vae-q2-samples.png",
            &sample_grid,
            10,
            Some(labels(["VAE prior", "AE uniform", "AE fitted"]))
        )?,
        stats.active_units,
        stats.latent,
        stats.mean_abs_aggregate_mean(),
        stats.mean_aggregate_variance(),
        100.0 * saturated,
    ));
    ctx.ctx.write_section(
        "VAE-Q2",
        &md,
        &json!({ "autoencoder": { "config": ae_config, "mse": ae_mse, "bce": ae_bce,
            "train_seconds": ae_seconds, "saturated_fraction": saturated },
            "vae": { "mse": vae_mse, "bce": vae_bce, "latent": stats,
            "train_seconds": vae.train_seconds() },
            "samples": scores.iter().map(|(n, s)| json!({ "from": n, "scores": s })).collect::<Vec<_>>() }),
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
