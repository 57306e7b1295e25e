//! VAE-Q4: the VAE's way of generating against the GAN's, on matched backbones: a conv VAE
//! with the DCGAN's widths against the DCGAN, the strong MLP VAE against the MLP GAN. Every
//! model is measured the same way (parameters, training time, sampling time, the eval scores,
//! a blur measure, the test ELBO where there is one), and the reading is computed from those.

use crate::experiment::Question;
use crate::experiments::gan::q5_backbones::backbone_run;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use data::Scale;
use data::figure::tensor_values;
use eval::{FamilyRecord, SampleScores};
use gan::sampling::unit_values;
use serde::Serialize;
use serde_json::{Value, json};

use super::Setup;
use vae::model::{Backbone, Vae};
use vae::train::Preset;

pub static EXPERIMENT: Question = Question {
    id: "VAE-Q4",
    answers: &["VAE-Q4"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// One model of the comparison, measured like the other three.
#[derive(Serialize)]
struct Entry {
    label: &'static str,
    run: String,
    trained_on: String,
    config: Value,
    /// VAEs: the whole model; GANs: the generator (the part that samples).
    parameters: usize,
    /// VAEs: ("decoder", the decoder alone: the sampler); GANs: ("D", the discriminator).
    other_parameters: (&'static str, usize),
    train_seconds: f64,
    /// (epochs whose FID was worse than the epoch before, epoch-to-epoch steps).
    fid_rises: (usize, usize),
    /// The last epoch's test ELBO (nats per digit); GANs have no likelihood.
    test_elbo: Option<f64>,
    #[serde(flatten)]
    drawn: Drawn,
}

/// What is measured on a model's samples.
#[derive(Serialize)]
struct Drawn {
    sampling_ms_1000: f64,
    /// The scored samples, [0, 1].
    #[serde(skip)]
    values: Vec<f32>,
    scores: SampleScores,
    grey_band_share: f64,
}

fn run(ctx: &Setup) -> anyhow::Result<()> {
    let gan_ctx = crate::experiments::gan::Setup::new(ctx.ctx)?;
    // The conv VAE sees the DCGAN run's digits per epoch for as many epochs. Its KL warm-up
    // is kept within the first half of those epochs, as the budget does for short runs, so
    // that the last epochs optimise the full ELBO.
    let (_, dcgan) = backbone_run(&gan_ctx, gan::Backbone::Dcgan);
    let conv = ctx.preset(Preset::Strong, Backbone::Conv);
    let warmup = conv.kl_warmup_epochs.min(dcgan.epochs / 2);
    let conv = conv
        .with_epochs(dcgan.epochs)
        .with_train_limit(dcgan.train_limit)
        .with_kl_warmup_epochs(warmup);
    // The run VAE-Q1 to VAE-Q3 use.
    let (mlp_name, mlp) = ctx.strong_mlp();
    let entries = [
        vae_entry(ctx, "conv VAE", "q4-conv", &conv)?,
        gan_entry(ctx, &gan_ctx, "DCGAN", gan::Backbone::Dcgan)?,
        vae_entry(ctx, "MLP VAE", mlp_name, &mlp)?,
        gan_entry(ctx, &gan_ctx, "MLP GAN", gan::Backbone::Mlp)?,
    ];
    let (real, _) = ctx.grey_test(ctx.budget.eval_samples);
    let real_grey = grey_fraction(&tensor_values(real));

    let mut md = format!(
        "Four shared runs, each family's own preset; {} samples of each scored by the eval \
         classifier. VAE samples are the decoder's Bernoulli means sigmoid(logits), not binary \
         draws.\n\n",
        ctx.budget.eval_samples
    );
    for e in &entries {
        md.push_str(&format!("- {} (`{}`): {}.\n", e.label, e.run, e.trained_on));
    }
    md.push_str(&format!(
        "\nThe conv VAE's encoder has the DCGAN discriminator's convolutions (1 -> {c1} -> \
         {c2}, 4x4, stride 2) and its decoder the generator's (linear -> {c2}x7x7, transposed \
         convolutions {c2} -> {c1} -> 1). What still differs within the pairs: the DCGAN \
         normalises with batch norm in both players, the VAE has none; the GANs end in tanh and \
         learn grey digits in [-1, 1], the VAEs output Bernoulli logits and learn dynamically \
         binarised digits; the latent codes have {} (GAN) and {} (VAE) dimensions; batch sizes, \
         learning rates and the MLPs' widths are each preset's own.\n\n\
         | model | parameters | training s | ms per 1000 samples | FID | precision | recall | \
         density | coverage | classes covered | grey-band share | FID rises | test ELBO (nats) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        dcgan.model.latent,
        conv.model.latent,
        c1 = conv.model.channels[0],
        c2 = conv.model.channels[1],
    ));
    for e in &entries {
        md.push_str(&e.row());
    }
    md.push_str(&format!(
        "| real test digits | | | | | | | | | | {real_grey:.3} | | |\n\n\
         Parameters: the whole VAE (its decoder alone), the GAN's generator G (its \
         discriminator D, needed only for training). \
         Grey-band share: the fraction of pixels strictly between 0.2 and 0.8, averaged over the \
         samples. FID rises: epochs whose FID was worse than the epoch before, of all \
         epoch-to-epoch steps. Test ELBO: a lower bound on log p(x) of the binarised test digits.\n\n"
    ));

    // Side by side: one row of 16 samples per model.
    let shown: Vec<f32> = (entries.iter())
        .flat_map(|e| e.drawn.values[..16 * data::PIXELS].iter().copied())
        .collect();
    let labels = (entries.iter())
        .flat_map(|e| std::iter::repeat_n(e.label.to_string(), 16))
        .collect();
    md.push_str(&format!(
        "{}\n\nRows: conv VAE, DCGAN, MLP VAE, MLP GAN (within a family, the same 16 codes).\n\n",
        {
            ctx.grid("vae-q4-samples.png", &shown, 16, Some(labels))?;
            "![vae-q4-samples.png](figures/vae-q4-samples.png)"
        }
    ));
    md.push_str(&reading(&entries, real_grey));

    // The MLP VAE's entry in the cross-family table (GAN-Q6 shows it).
    let vae = &entries[2];
    let ten = &vae.drawn.values[..10 * data::PIXELS];
    ctx.grid("family-vae.png", ten, 10, None)?;
    let record = FamilyRecord {
        family: "VAE (MLP)".into(),
        from: "VAE-Q4".into(),
        run: format!("strong preset, {}, Bernoulli means", vae.trained_on),
        scores: vae.drawn.scores.clone(),
        train_seconds: vae.train_seconds,
        sampling_ms_1000: vae.drawn.sampling_ms_1000,
        samples_figure: ctx.ctx.figure("family-vae.png").1,
    };
    record.write(ctx.ctx.reports(), "vae")?;
    ctx.ctx.write_section(
        "VAE-Q4",
        &md,
        &json!({ "models": entries, "real_grey_band_share": real_grey, "family": record }),
    )
}

impl Entry {
    fn row(&self) -> String {
        let s = &self.drawn.scores;
        let (part, count) = self.other_parameters;
        let parameters = format!("{} ({part} {count})", self.parameters);
        let elbo = (self.test_elbo).map_or("none (no likelihood)".into(), |v| format!("{v:.1}"));
        format!(
            "| {} | {parameters} | {:.1} | {:.1} | {:.1} | {:.3} | {:.3} | {:.3} | {:.3} | {} \
             | {:.3} | {} / {} | {elbo} |\n",
            self.label,
            self.train_seconds,
            self.drawn.sampling_ms_1000,
            s.fid,
            s.precision_recall.precision,
            s.precision_recall.recall,
            s.density_coverage.density,
            s.density_coverage.coverage,
            s.classes.classes_covered,
            self.drawn.grey_band_share,
            self.fid_rises.0,
            self.fid_rises.1,
        )
    }
}

/// Trains (or reloads) a VAE run and measures it.
fn vae_entry(
    ctx: &Setup,
    label: &'static str,
    name: &str,
    config: &vae::TrainConfig,
) -> anyhow::Result<Entry> {
    let trained = ctx.train(name, config)?;
    let fids: Vec<f64> = (trained.records.iter())
        .filter_map(|r| r.record.scores.as_ref().map(|s| s.fid))
        .collect();
    Ok(Entry {
        label,
        run: name.into(),
        trained_on: ctx.epoch_note(config),
        config: serde_json::to_value(config)?,
        parameters: trained.model.num_params(),
        other_parameters: ("decoder", decoder_parameters(&trained.model)),
        train_seconds: trained.train_seconds(),
        fid_rises: rises(&fids),
        test_elbo: trained.last()?.test.map(|t| t.elbo),
        drawn: draw(ctx, |n| ctx.samples(&trained, n), Scale::ZeroOne),
    })
}

/// Trains (or reloads) the GAN-Q5 run of `backbone` and measures it.
fn gan_entry(
    ctx: &Setup,
    gan_ctx: &crate::experiments::gan::Setup,
    label: &'static str,
    backbone: gan::Backbone,
) -> anyhow::Result<Entry> {
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
    Ok(Entry {
        label,
        trained_on: format!(
            "{} epochs over {digits} training digits, batch {}",
            config.epochs, config.batch_size
        ),
        run: name,
        config: serde_json::to_value(&config)?,
        parameters: generator.num_params(),
        other_parameters: ("D", trained.discriminator_parameters),
        train_seconds: records.iter().map(|r| r.record.train_seconds).sum(),
        fid_rises: rises(&fids),
        test_elbo: None,
        drawn: draw(
            ctx,
            |n| gan_ctx.samples(generator, &config, n),
            config.real_scale,
        ),
    })
}

/// Milliseconds to draw 1000 samples (after one warm-up draw, so that one-off allocations
/// are not counted), then the profile's samples as [0, 1] values and their measurements.
fn draw(ctx: &Setup, sample: impl Fn(usize) -> Tensor<2>, scale: Scale) -> Drawn {
    let _ = tensor_values(sample(1000));
    let started = std::time::Instant::now();
    let _ = tensor_values(sample(1000));
    let sampling_ms_1000 = started.elapsed().as_secs_f64() * 1000.0;
    let values = unit_values(sample(ctx.budget.eval_samples), scale);
    Drawn {
        sampling_ms_1000,
        scores: ctx.evaluator.score(&values, Scale::ZeroOne),
        grey_band_share: grey_fraction(&values),
        values,
    }
}

/// The **Reading**: the general mechanism, then what this table says, every comparison
/// computed from its numbers.
fn reading(e: &[Entry; 4], real_grey: f64) -> String {
    let pairs = [(&e[0], &e[1]), (&e[2], &e[3])];
    // "X (a against b for Y); X' (...)": the winner of each pair under `pick`.
    let both = |pick: &dyn Fn(&Entry) -> f64, higher: bool, digits: usize| {
        pairs
            .iter()
            .map(|(a, b)| winner(a, b, pick, higher, digits))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (precision, recall) = (
        |x: &Entry| x.drawn.scores.precision_recall.precision,
        |x: &Entry| x.drawn.scores.precision_recall.recall,
    );
    let typical = (pairs.iter())
        .filter(|(v, g)| recall(v) > recall(g) && precision(g) > precision(v))
        .count();
    let elbo = match (e[0].test_elbo, e[2].test_elbo) {
        (Some(_), Some(_)) => winner(&e[0], &e[2], &|x| x.test_elbo.unwrap_or(0.0), true, 1),
        _ => "not measured".into(),
    };
    format!(
        "**Reading.**\n\n\
         - *Blur vs sharpness.* A VAE's decoder is trained to give each pixel's probability \
         under a code; where the code leaves a stroke's position uncertain the best answer is a \
         grey between black and white, an average of the digits the code could be. A GAN's \
         generator is only asked to fool D, and real digits are nearly all black or white, so \
         grey pixels give its samples away. Real test digits have a grey-band share of \
         {real_grey:.3}. More grey: {}. Closer to the real share (distance to it): {}.\n\
         - *Coverage vs precision.* The ELBO's reconstruction term charges the VAE for every \
         training digit it cannot explain, so it spreads its mass over all of them (recall, \
         coverage), including between them; the generator is charged only for samples D rejects, \
         so it may settle on what it draws well (precision, density) and drop modes. Higher \
         precision: {}. Higher recall: {}. Higher coverage: {}. Lower FID: {}. The usual \
         pattern (VAE higher recall, GAN higher precision) holds in {typical} of the 2 pairs.\n\
         - *Likelihood vs none.* A VAE gives each test digit a lower bound on log p(x) (the \
         last column; VAE-Q1 tightens it by importance sampling), so it can be compared with \
         other likelihood models, checked for overfitting and used to score images. A GAN \
         defines no density: only its samples can be judged. Higher test ELBO of the two VAEs: \
         {}.\n\
         - *Training stability.* The VAE descends one objective; the GAN's players play a game \
         whose losses do not say how good the samples are, so sample quality can get worse from \
         one epoch to the next (GAN-Q3). Smaller share of epochs whose FID rose: {}. A count over a few epochs of one \
         seed is weak evidence either way.\n\
         - *Sampling cost.* Both draw a sample with one forward pass from Gaussian noise, no \
         Markov chain as in RBMs and DBMs: the cost is one pass of the decoder or generator, \
         set by its operations more than by its parameters (a convolution reuses each weight \
         at every position). Faster per 1000 samples: {}.\n\
         - *Encoder.* The VAE trains an encoder with its decoder: it maps a digit to a code, \
         so it can reconstruct, interpolate between real digits and measure a likelihood \
         (VAE-Q2, VAE-Q3). A GAN has no way back from an image to its code short of an \
         optimisation per image or a separately trained encoder; its discriminator, the other \
         half of its training, is thrown away after training.\n",
        both(&|x| x.drawn.grey_band_share, true, 3),
        both(&|x| (x.drawn.grey_band_share - real_grey).abs(), false, 3),
        both(&precision, true, 3),
        both(&recall, true, 3),
        both(&|x| x.drawn.scores.density_coverage.coverage, true, 3),
        both(&|x| x.drawn.scores.fid, false, 1),
        elbo,
        both(
            &|x| x.fid_rises.0 as f64 / x.fid_rises.1.max(1) as f64,
            false,
            2
        ),
        both(&|x| x.drawn.sampling_ms_1000, false, 1),
    )
}

/// "the DCGAN (0.9 against 0.5 for the conv VAE)": which of `a` and `b` has the higher (or
/// lower) value of `pick`, with both values; "neither" on a tie.
fn winner(a: &Entry, b: &Entry, pick: &dyn Fn(&Entry) -> f64, higher: bool, d: usize) -> String {
    let (x, y) = (pick(a), pick(b));
    if x == y {
        return format!(
            "neither of the {} and the {} ({x:.d$} each)",
            a.label, b.label
        );
    }
    let ((w, wv), (l, lv)) = if (x > y) == higher {
        ((a, x), (b, y))
    } else {
        ((b, y), (a, x))
    };
    let (w, l) = (w.label, l.label);
    format!("the {w} ({wv:.d$} against {lv:.d$} for the {l})")
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
