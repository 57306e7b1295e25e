//! VAE-Q4: the VAE's way of generating against the GAN's, on matched backbones: a conv VAE
//! with the DCGAN's widths against the DCGAN, the strong MLP VAE against the MLP GAN. Every
//! model is measured the same way (parameters, training time, sampling time, the eval scores,
//! a blur measure, the test ELBO where there is one).

use crate::experiments::gan::q5_backbones::backbone_run;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use data::Scale;
use data::figure::tensor_values;
use eval::{FamilyRecord, SampleScores};
use gan::sampling::unit_values;
use serde::{Deserialize, Serialize};

use super::Setup;
use crate::answer::Answer;
use crate::experiment::Question;
use vae::model::{Backbone, Vae};
use vae::train::Preset;

pub static EXPERIMENT: Question = Question {
    id: "VAE-Q4",
    answers: &["VAE-Q4"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Samples of each model shown side by side.
const SHOWN: usize = 16;

/// VAE-Q4's numbers: the four models measured alike, the real digits' grey share, and the
/// MLP VAE's entry in the cross-family comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VersusGan {
    /// The quick (CI) profile's small, briefly trained models; absent (false) in the full
    /// profile's numbers, which were written before the field existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    pub models: Models,
    /// Fraction in [0, 1] of the real test digits' pixels strictly between 0.2 and 0.8.
    pub real_grey_band_share: f64,
    pub family: FamilyRecord,
}

impl Answer for VersusGan {
    const ID: &'static str = "VAE-Q4";
}

/// The four models, each pair on matched backbones; written as the list
/// `[conv VAE, DCGAN, MLP VAE, MLP GAN]`, the table's order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "ModelList", into = "ModelList")]
pub struct Models {
    pub conv_vae: Entry<vae::TrainConfig>,
    pub dcgan: Entry<gan::TrainConfig>,
    pub mlp_vae: Entry<vae::TrainConfig>,
    pub mlp_gan: Entry<gan::TrainConfig>,
}

type ModelList = (
    Entry<vae::TrainConfig>,
    Entry<gan::TrainConfig>,
    Entry<vae::TrainConfig>,
    Entry<gan::TrainConfig>,
);

impl From<ModelList> for Models {
    fn from((conv_vae, dcgan, mlp_vae, mlp_gan): ModelList) -> Self {
        Self {
            conv_vae,
            dcgan,
            mlp_vae,
            mlp_gan,
        }
    }
}

impl From<Models> for ModelList {
    fn from(models: Models) -> Self {
        (
            models.conv_vae,
            models.dcgan,
            models.mlp_vae,
            models.mlp_gan,
        )
    }
}

/// One model of the comparison, measured like the other three.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry<C> {
    /// The model, as the table names it.
    pub label: String,
    /// The shared run's name.
    pub run: String,
    /// "N epochs over M training digits, batch B".
    pub trained_on: String,
    pub config: C,
    /// VAEs: the whole model; GANs: the generator (the part that samples).
    pub parameters: usize,
    /// VAEs: ("decoder", the decoder alone: the sampler); GANs: ("D", the discriminator).
    pub other_parameters: (String, usize),
    pub train_seconds: f64,
    /// (epochs whose FID was worse than the epoch before, epoch-to-epoch steps).
    pub fid_rises: (usize, usize),
    /// The last epoch's test ELBO, nats per image (one posterior sample per digit); GANs
    /// have no likelihood.
    pub test_elbo: Option<f64>,
    /// The stochastically binarised test digits it averages over: the first this many
    /// (absent from numbers written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_elbo_images: Option<usize>,
    /// Milliseconds to draw 1000 samples.
    pub sampling_ms_1000: f64,
    pub scores: SampleScores,
    /// Fraction in [0, 1] of the samples' pixels strictly between 0.2 and 0.8.
    pub grey_band_share: f64,
}

/// What is measured on a model's samples, and the scored samples ([0, 1]) themselves.
struct Drawn {
    sampling_ms_1000: f64,
    values: Vec<f32>,
    scores: SampleScores,
    grey_band_share: f64,
}

/// What describes a model before its samples are drawn.
struct Described<C> {
    label: &'static str,
    run: String,
    trained_on: String,
    config: C,
    parameters: usize,
    other_parameters: (&'static str, usize),
    train_seconds: f64,
    fid_rises: (usize, usize),
    test_elbo: Option<f64>,
    test_elbo_images: Option<usize>,
}

impl<C> Described<C> {
    /// The entry, and the scored samples.
    fn with(self, drawn: Drawn) -> (Entry<C>, Vec<f32>) {
        let entry = Entry {
            label: self.label.into(),
            run: self.run,
            trained_on: self.trained_on,
            config: self.config,
            parameters: self.parameters,
            other_parameters: (self.other_parameters.0.into(), self.other_parameters.1),
            train_seconds: self.train_seconds,
            fid_rises: self.fid_rises,
            test_elbo: self.test_elbo,
            test_elbo_images: self.test_elbo_images,
            sampling_ms_1000: drawn.sampling_ms_1000,
            scores: drawn.scores,
            grey_band_share: drawn.grey_band_share,
        };
        (entry, drawn.values)
    }
}

fn run(ctx: &Setup) -> anyhow::Result<()> {
    let gan_ctx = crate::experiments::gan::Setup::new(ctx.ctx)?;
    let conv = conv_config(ctx, &gan_ctx);
    // The run VAE-Q1 to VAE-Q3 use.
    let (mlp_name, mlp) = ctx.strong_mlp();
    let (conv_vae, conv_values) = vae_entry(ctx, "conv VAE", "q4-conv", &conv)?;
    let (dcgan, dcgan_values) = gan_entry(ctx, &gan_ctx, "DCGAN", gan::Backbone::Dcgan)?;
    let (mlp_vae, mlp_values) = vae_entry(ctx, "MLP VAE", mlp_name, &mlp)?;
    let (mlp_gan, mlp_gan_values) = gan_entry(ctx, &gan_ctx, "MLP GAN", gan::Backbone::Mlp)?;
    let (real, _) = ctx.grey_test(ctx.budget.eval_samples);
    let real_grey = grey_fraction(&tensor_values(real));
    let models = Models {
        conv_vae,
        dcgan,
        mlp_vae,
        mlp_gan,
    };
    let values = [&conv_values, &dcgan_values, &mlp_values, &mlp_gan_values];
    samples_figure(ctx, &models, values)?;
    let family = family_record(ctx, &models.mlp_vae, &mlp_values)?;
    let numbers = VersusGan {
        quick: ctx.budget.quick,
        models,
        real_grey_band_share: real_grey,
        family,
    };
    ctx.ctx.write_answer(&numbers)
}

/// The conv VAE sees the DCGAN run's digits per epoch for as many epochs. Its KL warm-up is
/// kept within the first half of those epochs, as the budget does for short runs, so that
/// the last epochs optimise the full ELBO.
fn conv_config(ctx: &Setup, gan_ctx: &crate::experiments::gan::Setup) -> vae::TrainConfig {
    let (_, dcgan) = backbone_run(gan_ctx, gan::Backbone::Dcgan);
    let conv = ctx.preset(Preset::Strong, Backbone::Conv);
    let warmup = conv.kl_warmup_epochs.min(dcgan.epochs / 2);
    conv.with_epochs(dcgan.epochs)
        .with_train_limit(dcgan.train_limit)
        .with_kl_warmup_epochs(warmup)
}

/// Side by side: one row of `SHOWN` samples per model, in the table's order.
fn samples_figure(ctx: &Setup, models: &Models, values: [&Vec<f32>; 4]) -> anyhow::Result<()> {
    let labels = [
        &models.conv_vae.label,
        &models.dcgan.label,
        &models.mlp_vae.label,
        &models.mlp_gan.label,
    ];
    let shown: Vec<f32> = (values.iter())
        .flat_map(|v| v[..SHOWN * data::PIXELS].iter().copied())
        .collect();
    let labels = (labels.iter())
        .flat_map(|label| std::iter::repeat_n(label.to_string(), SHOWN))
        .collect();
    ctx.grid("vae-q4-samples.png", &shown, SHOWN, Some(labels))
}

/// The MLP VAE's entry in the cross-family table (GAN-Q6 shows it), with a row of its
/// samples; written, and returned for the section's numbers.
fn family_record(
    ctx: &Setup,
    vae: &Entry<vae::TrainConfig>,
    values: &[f32],
) -> anyhow::Result<FamilyRecord> {
    ctx.grid("family-vae.png", &values[..10 * data::PIXELS], 10, None)?;
    let record = FamilyRecord {
        family: "VAE (MLP)".into(),
        from: "VAE-Q4".into(),
        run: format!("strong preset, {}, Bernoulli means", vae.trained_on),
        scores: vae.scores.clone(),
        train_seconds: vae.train_seconds,
        sampling_ms_1000: vae.sampling_ms_1000,
        samples_figure: ctx.ctx.figure("family-vae.png").1,
    };
    record.write(ctx.ctx.reports(), "vae")?;
    Ok(record)
}

/// Trains (or reloads) a VAE run and measures it.
fn vae_entry(
    ctx: &Setup,
    label: &'static str,
    name: &str,
    config: &vae::TrainConfig,
) -> anyhow::Result<(Entry<vae::TrainConfig>, Vec<f32>)> {
    let trained = ctx.train(name, config)?;
    let fids: Vec<f64> = (trained.records.iter())
        .filter_map(|r| r.record.scores.as_ref().map(|s| s.fid))
        .collect();
    let described = Described {
        label,
        run: name.into(),
        trained_on: ctx.epoch_note(config),
        config: config.clone(),
        parameters: trained.model.num_params(),
        other_parameters: ("decoder", decoder_parameters(&trained.model)),
        train_seconds: trained.train_seconds(),
        fid_rises: rises(&fids),
        test_elbo: trained.last()?.test.map(|t| t.elbo),
        test_elbo_images: trained.last()?.test.map(|t| t.images),
    };
    Ok(described.with(draw(ctx, |n| ctx.samples(&trained, n), Scale::ZeroOne)?))
}

/// Trains (or reloads) the GAN-Q5 run of `backbone` and measures it.
fn gan_entry(
    ctx: &Setup,
    gan_ctx: &crate::experiments::gan::Setup,
    label: &'static str,
    backbone: gan::Backbone,
) -> anyhow::Result<(Entry<gan::TrainConfig>, Vec<f32>)> {
    let (name, config) = backbone_run(gan_ctx, backbone);
    let trained = gan_ctx.train(&name, &config)?;
    let records = &trained.records;
    let fids: Vec<f64> = (records.iter())
        .filter_map(|r| r.record.scores.as_ref().map(|s| s.fid))
        .collect();
    let digits = match config.train_limit {
        0 => ctx.train.len(),
        limit => limit,
    };
    let generator = &trained.generator;
    let drawn = draw(
        ctx,
        |n| gan_ctx.samples(generator, &config, n),
        config.real_scale,
    )?;
    let described = Described {
        label,
        trained_on: format!(
            "{} epochs over {digits} training digits, batch {}",
            config.epochs, config.batch_size
        ),
        run: name,
        parameters: generator.num_params(),
        other_parameters: ("D", trained.discriminator_parameters),
        train_seconds: records.iter().map(|r| r.record.train_seconds).sum(),
        fid_rises: rises(&fids),
        test_elbo: None,
        test_elbo_images: None,
        config,
    };
    Ok(described.with(drawn))
}

/// Milliseconds to draw 1000 samples (after one warm-up draw, so that one-off allocations
/// are not counted), then the profile's samples as [0, 1] values and their measurements.
fn draw(ctx: &Setup, sample: impl Fn(usize) -> Tensor<2>, scale: Scale) -> anyhow::Result<Drawn> {
    let _ = tensor_values(sample(1000));
    let started = std::time::Instant::now();
    let _ = tensor_values(sample(1000));
    let sampling_ms_1000 = started.elapsed().as_secs_f64() * 1000.0;
    let values = unit_values(sample(ctx.budget.eval_samples), scale);
    Ok(Drawn {
        sampling_ms_1000,
        scores: (ctx.evaluator).score_for_verdict(
            &values,
            Scale::ZeroOne,
            &ctx.ctx.selected.autodiff(),
        )?,
        grey_band_share: grey_fraction(&values),
        values,
    })
}

/// Parameters of a VAE's decoder: those under its decoder-side fields (`decoder` of the MLP;
/// `project`, `deconv1`, `deconv2` of the conv net), found by the module paths Burn's
/// visitor walks.
fn decoder_parameters(model: &Vae) -> usize {
    const DECODER: [&str; 4] = ["decoder", "project", "deconv1", "deconv2"];
    #[derive(Default)]
    struct Count {
        path: Vec<String>,
        count: usize,
    }
    impl ModuleVisitor for Count {
        fn enter_module(&mut self, name: &str, _container: &str) {
            self.path.push(name.into());
        }
        fn exit_module(&mut self, _name: &str, _container: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.path.iter().any(|p| DECODER.contains(&p.as_str())) {
                self.count += param.lazy_shape().num_elements();
            }
        }
    }
    let mut visitor = Count::default();
    model.visit(&mut visitor);
    visitor.count
}

/// Share of `values` ([0, 1] pixels) strictly inside the grey band (0.2, 0.8): how much of
/// an image is neither ink nor background. Every image has 784 pixels, so this is also the
/// mean over images of each image's share.
fn grey_fraction(values: &[f32]) -> f64 {
    let grey = values.iter().filter(|&&v| v > 0.2 && v < 0.8).count();
    grey as f64 / values.len().max(1) as f64
}

/// (How many times a series went up from one value to the next, steps from one to the next).
fn rises(values: &[f64]) -> (usize, usize) {
    let steps = values.windows(2);
    (steps.clone().filter(|w| w[1] > w[0]).count(), steps.len())
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use vae::model::VaeConfig;

    #[test]
    fn the_grey_band_counts_only_values_strictly_inside_it() {
        // 0.2 and 0.8 are the band's edges, not inside it: 2 of 6 values are grey.
        let values = [0.0, 0.2, 0.5, 0.79, 0.8, 1.0];
        assert!((grey_fraction(&values) - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(grey_fraction(&[]), 0.0);
    }

    #[test]
    fn fid_rises_count_only_steps_up() {
        assert_eq!(rises(&[30.0, 20.0, 25.0, 10.0, 12.0]), (2, 4));
        assert_eq!(rises(&[5.0]), (0, 0));
    }

    #[test]
    fn the_decoder_parameters_are_its_layers_weights_and_biases() {
        let device = Device::flex();
        // MLP 784-8-4 / latent 2: decoder 2->4->8->784.
        let mlp = VaeConfig::new(Backbone::Mlp)
            .with_hidden(vec![8, 4])
            .with_latent(2)
            .init(&device);
        assert_eq!(
            decoder_parameters(&mlp),
            (2 * 4 + 4) + (4 * 8 + 8) + (8 * 784 + 784)
        );
        let encoder = (784 * 8 + 8) + (8 * 4 + 4) + 2 * (4 * 2 + 2);
        assert_eq!(mlp.num_params(), encoder + decoder_parameters(&mlp));
        // Conv 2/3 channels, latent 2: project 2->3x7x7, deconvs 3->2->1 of 4x4 kernels.
        let conv = VaeConfig::new(Backbone::Conv)
            .with_channels([2, 3])
            .with_latent(2)
            .init(&device);
        let project = 2 * 147 + 147;
        assert_eq!(
            decoder_parameters(&conv),
            project + (3 * 2 * 16 + 2) + (2 * 16 + 1)
        );
    }
}
