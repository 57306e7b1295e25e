//! The experiments that answer GAN-Q1 to GAN-Q6: each trains (or reloads) the runs it needs
//! under `runs/gan-experiments/`, writes its figures, and writes its report section with the
//! numbers it measured.

use std::path::Path;

use anyhow::Context as _;
use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use data::figure::{digit_grid, save_png, tensor_values};
use data::plot::{LinePlot, Series};
use data::section::{ExperimentArgs, write_section};
use data::{DataSetName, ImageSet, PIXELS, Run, Scale, SelectedDevice, Split};
use eval::{Evaluator, SampleScores};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::latent::{lerp, slerp, traversal};
use crate::loss::GanLoss;
use crate::model::{Backbone, Generator};
use crate::train::{
    EVAL_SEED, EpochRecord, GanState, Preset, StepStats, TrainConfig, fixed_latent, sample,
    train_run, unit_values,
};

/// The question ids this crate answers.
pub const QUESTIONS: [&str; 6] = ["GAN-Q1", "GAN-Q2", "GAN-Q3", "GAN-Q4", "GAN-Q5", "GAN-Q6"];

/// What every experiment needs.
pub struct Experiments<'a> {
    pub args: &'a ExperimentArgs,
    pub selected: &'a SelectedDevice,
    pub train: ImageSet,
    pub test: ImageSet,
    pub evaluator: Evaluator,
}

/// One epoch as logged in `metrics.jsonl`.
#[derive(Clone, Debug, Deserialize)]
pub struct Logged {
    pub epoch: usize,
    pub wall_s: f64,
    #[serde(flatten)]
    pub record: EpochRecord,
}

impl Logged {
    fn scores(&self) -> anyhow::Result<&SampleScores> {
        self.record
            .scores
            .as_ref()
            .context("the run was trained without evaluation")
    }
}

impl Experiments<'_> {
    /// The tuned preset at this mode's budget.
    fn tuned(&self, backbone: Backbone) -> TrainConfig {
        self.budget(Preset::Tuned.config(backbone), backbone)
    }

    /// Shrinks a config to CI size in quick mode; in full mode keeps the preset's epochs.
    fn budget(&self, config: TrainConfig, backbone: Backbone) -> TrainConfig {
        if !self.args.quick {
            return config.with_eval_samples(10_000);
        }
        let (epochs, images) = match backbone {
            Backbone::Mlp => (5, 10_240),
            // Convolutions on two CPU cores: a few thousand images per epoch.
            Backbone::Cnn | Backbone::Dcgan => (2, 2_560),
        };
        config
            .with_epochs(epochs)
            .with_train_limit(images)
            .with_eval_samples(2_000)
    }

    /// Trains `config` as run `runs/gan-experiments/gan/<name>`; a finished run with the same
    /// config is reloaded instead.
    fn train(&self, name: &str, config: &TrainConfig) -> anyhow::Result<(GanState, Vec<Logged>)> {
        let options =
            data::run::reuse_finished(Path::new("runs/gan-experiments"), "gan", name, config);
        let finished = options.resume;
        let train = if config.train_limit > 0 {
            self.train.clone().truncated(config.train_limit)
        } else {
            self.train.clone()
        };
        let mut run = Run::start("gan", name, &options, config, config.seed, self.selected)?;
        let state = train_run(
            &mut run,
            config,
            &train,
            Some(&self.evaluator),
            self.selected,
        )?;
        if !finished {
            run.finish(json!({}))?;
        }
        let records = data::run::read_metrics(&run.dir.join("metrics.jsonl"))?
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<Vec<Logged>, _>>()
            .context("reading the epoch records")?;
        Ok((state, records))
    }

    fn samples(&self, generator: &Generator, config: &TrainConfig, count: usize) -> Tensor<2> {
        sample(
            generator,
            config.model.latent,
            count,
            EVAL_SEED,
            &self.selected.device,
        )
    }

    /// Writes a grid of `values` ([0, 1]) and returns its markdown.
    fn grid(
        &self,
        file: &str,
        values: &[f32],
        cols: usize,
        labels: Option<Vec<String>>,
    ) -> anyhow::Result<String> {
        let (path, link) = self.args.figure(file);
        save_png(&digit_grid(values, cols, labels), &path)?;
        Ok(format!("![{file}]({link})"))
    }

    fn plot(&self, file: &str, plot: &LinePlot) -> anyhow::Result<String> {
        let (path, link) = self.args.figure(file);
        plot.save(&path)?;
        Ok(format!("![{file}]({link})"))
    }

    fn epoch_note(&self, config: &TrainConfig) -> String {
        format!(
            "{} epochs over {} training digits, batch {}, {} samples scored per epoch",
            config.epochs,
            if config.train_limit > 0 {
                config.train_limit
            } else {
                self.train.len()
            },
            config.batch_size,
            config.eval_samples
        )
    }
}

/// Per-step series of one figure over a whole run, x = global step.
fn step_series(name: &str, records: &[Logged], pick: fn(&StepStats) -> f64) -> Series {
    let points = records
        .iter()
        .flat_map(|r| r.record.steps.iter())
        .enumerate()
        .map(|(i, s)| (i as f64 + 1.0, pick(s)))
        .collect();
    Series::new(name, points)
}

/// Per-epoch series of an eval figure.
fn epoch_series(
    name: &str,
    records: &[Logged],
    pick: fn(&SampleScores) -> f64,
) -> anyhow::Result<Series> {
    let points = records
        .iter()
        .map(|r| Ok((r.epoch as f64, pick(r.scores()?))))
        .collect::<anyhow::Result<_>>()?;
    Ok(Series::new(name, points))
}

fn constant(name: &str, records: &[Logged], value: f64) -> Series {
    let steps: usize = records.iter().map(|r| r.record.steps.len()).sum();
    Series::new(name, vec![(1.0, value), (steps.max(2) as f64, value)])
}

fn histogram(scores: &SampleScores) -> String {
    scores
        .classes
        .histogram
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Standard deviation of a step figure over the last epoch: how much the game oscillates.
fn last_epoch_std(records: &[Logged], pick: fn(&StepStats) -> f64) -> f64 {
    let Some(last) = records.last() else {
        return f64::NAN;
    };
    let values: Vec<f64> = last.record.steps.iter().map(pick).collect();
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// Runs the experiment answering `id`.
pub fn run(id: &str, ctx: &Experiments) -> anyhow::Result<()> {
    match id {
        "GAN-Q1" => q1_losses(ctx),
        "GAN-Q2" => q2_strong_discriminator(ctx),
        "GAN-Q3" => q3_stability(ctx),
        "GAN-Q4" => q4_latent_space(ctx),
        "GAN-Q5" => q5_backbones(ctx),
        "GAN-Q6" => q6_families(ctx),
        other => {
            anyhow::bail!("no experiment answers {other} (this crate answers {QUESTIONS:?})")
        }
    }
}

/// GAN-Q1: the loss curves of the course's set-up and of the tuned one, read against the
/// game's equilibrium.
fn q1_losses(ctx: &Experiments) -> anyhow::Result<()> {
    let mut md = String::new();
    let mut numbers = Vec::new();
    for preset in [Preset::Course, Preset::Tuned] {
        let config = ctx.budget(preset.config(Backbone::Mlp), Backbone::Mlp);
        let (state, records) = ctx.train(&format!("q1-{}-mlp", preset.name()), &config)?;
        let name = preset.name();
        let loss = config.loss;
        let losses = LinePlot::new(
            format!("GAN-Q1: losses per step, {name} preset (MLP)"),
            "step",
            "loss",
        )
        .with_series(step_series("D loss", &records, |s| s.d_loss))
        .with_series(step_series("G loss", &records, |s| s.g_loss))
        .with_series(constant(
            "D loss at equilibrium (2 ln 2)",
            &records,
            loss.discriminator_at_equilibrium(),
        ))
        .with_series(constant(
            "G loss at equilibrium (ln 2)",
            &records,
            loss.generator_at_equilibrium(),
        ));
        let outputs = LinePlot::new(
            format!("GAN-Q1: discriminator outputs per step, {name} preset"),
            "step",
            "mean D",
        )
        .with_series(step_series("D(x)", &records, |s| s.d_real))
        .with_series(step_series("D(G(z))", &records, |s| s.d_fake))
        .with_series(constant("equilibrium 1/2", &records, 0.5));
        let samples = ctx.samples(&state.generator, &config, 64);
        md.push_str(&format!(
            "### {name} preset ({})\n\nReal images in {}, latent {}, Adam lr {} (beta1 {}).\n\n{}\n\n{}\n\n{}\n\n\
             | epoch | D loss | G loss | D(x) | D(G(z)) | D accuracy real / fake | FID | classes covered | generated pixels < 0 |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            ctx.epoch_note(&config),
            match config.real_scale {
                Scale::ZeroOne => "[0, 1]",
                Scale::MinusOneOne => "[-1, 1]",
            },
            config.model.latent,
            config.generator_learning_rate,
            config.beta1,
            ctx.plot(&format!("gan-q1-{name}-losses.png"), &losses)?,
            ctx.plot(&format!("gan-q1-{name}-outputs.png"), &outputs)?,
            ctx.grid(
                &format!("gan-q1-{name}-samples.png"),
                &unit_values(samples, config.real_scale),
                16,
                None
            )?,
        ));
        for r in &records {
            let m = &r.record.mean;
            let s = r.scores()?;
            md.push_str(&format!(
                "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} / {:.2} | {:.1} | {} | {:.1}% |\n",
                r.epoch,
                m.d_loss,
                m.g_loss,
                m.d_real,
                m.d_fake,
                m.accuracy_real,
                m.accuracy_fake,
                s.fid,
                s.classes.classes_covered,
                100.0 * r.record.negative_pixel_fraction
            ));
        }
        md.push('\n');
        numbers.push(
            json!({ "preset": name, "config": config, "epochs": records.iter().map(|r| json!({
            "epoch": r.epoch, "mean": r.record.mean, "scores": r.record.scores,
            "negative_pixel_fraction": r.record.negative_pixel_fraction })).collect::<Vec<_>>() }),
        );
    }
    md.push_str(
        "**Reading the curves.** D minimises the cross-entropy of telling real (label 1) from fake \
         (label 0); G (non-saturating form) minimises -log D(G(z)). At the game's equilibrium the \
         generator's distribution equals the data's, the best discriminator outputs 1/2 everywhere, \
         and the losses sit at 2 ln 2 = 1.386 (D) and ln 2 = 0.693 (G): the flat lines in the plots. \
         The losses are not a measure of sample quality: each is measured against an opponent that \
         changes every step, so a rising G loss means D currently separates the fakes better, not \
         that the samples got worse, and a D loss near 1.386 can equally mean a good generator or a \
         discriminator that has stopped learning. That is why every epoch is also scored with the \
         eval classifier (FID against the test set, classes covered), the only columns that compare \
         across epochs.\n\n\
         **The course's [0, 1] quirk.** The course fed real digits in [0, 1] to D while G ends in \
         tanh, whose range is (-1, 1). Any negative pixel is then proof of a fake, so D gets an easy \
         feature and G must learn to push its whole background to exactly 0, the middle of tanh's \
         range rather than its saturated end; the last column shows how much of G's output still \
         lies below 0 (clamped to black when the samples are shown or scored). With [-1, 1] data \
         (tuned preset) the background is tanh's saturated -1 and both ranges agree.\n",
    );
    write_section(
        &ctx.args.reports,
        "GAN-Q1",
        &md,
        &json!({ "runs": numbers }),
    )
}

/// GAN-Q2: a discriminator much stronger than the generator, with both generator losses.
fn q2_strong_discriminator(ctx: &Experiments) -> anyhow::Result<()> {
    let base = ctx.tuned(Backbone::Mlp);
    let quick_epochs = if ctx.args.quick { 3 } else { 15 };
    let strong = |c: TrainConfig| {
        c.with_epochs(quick_epochs)
            .with_discriminator_learning_rate(10.0 * base.generator_learning_rate)
            .with_discriminator_steps(5)
    };
    let settings = [
        (
            "balanced, minimax",
            base.clone()
                .with_epochs(quick_epochs)
                .with_loss(GanLoss::Minimax),
        ),
        (
            "balanced, non-saturating",
            base.clone().with_epochs(quick_epochs),
        ),
        (
            "strong D, minimax",
            strong(base.clone().with_loss(GanLoss::Minimax)),
        ),
        ("strong D, non-saturating", strong(base.clone())),
    ];
    let mut md = format!(
        "MLP GAN, tuned preset, {}. Strong D: learning rate 10x G's ({}) and 5 D updates per G \
         update.\n\n\
         | setting | mean G gradient norm, first epoch | last epoch | D(G(z)) last epoch | D accuracy on fakes | FID | classes covered |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        ctx.epoch_note(&base.clone().with_epochs(quick_epochs)),
        10.0 * base.generator_learning_rate
    );
    let mut norms = LinePlot::new(
        "GAN-Q2: gradient norm reaching G, per step",
        "step",
        "||grad G||",
    )
    .log_y(true);
    let mut numbers = Vec::new();
    let mut last_norms = Vec::new();
    for (label, config) in settings {
        let slug = label.replace([',', ' '], "-").replace("--", "-");
        let (_, records) = ctx.train(&format!("q2-{slug}"), &config)?;
        let first = records.first().context("an epoch")?;
        let last = records.last().context("an epoch")?;
        let scores = last.scores()?;
        md.push_str(&format!(
            "| {label} | {:.3} | {:.3} | {:.4} | {:.3} | {:.1} | {} |\n",
            first.record.mean.grad_norm_g,
            last.record.mean.grad_norm_g,
            last.record.mean.d_fake,
            last.record.mean.accuracy_fake,
            scores.fid,
            scores.classes.classes_covered
        ));
        norms = norms.with_series(step_series(label, &records, |s| s.grad_norm_g));
        last_norms.push((last.record.mean.grad_norm_g, last.record.mean.d_fake));
        numbers.push(json!({ "setting": label, "config": config,
            "grad_norm_g_first_epoch": first.record.mean.grad_norm_g,
            "grad_norm_g_last_epoch": last.record.mean.grad_norm_g,
            "d_fake_last_epoch": last.record.mean.d_fake, "scores": scores }));
    }
    md.push_str(&format!(
        "\n{}\n\n\
         **Why.** For a fake with logit l = D's log-odds, the minimax generator loss log(1 - sigmoid(l)) \
         has gradient -sigmoid(l) with respect to l, which goes to 0 as D(G(z)) = sigmoid(l) goes to 0: \
         the better D rejects the fakes, the less G learns (the loss *saturates*). The \
         non-saturating loss -log sigmoid(l) has gradient -(1 - sigmoid(l)), close to -1 in the same \
         situation. The unit tests check both gradients against finite differences and at \
         D(G(z)) = sigmoid(-8).\n\n\
         Measured here, last epoch against the strong discriminator: the minimax generator's \
         gradient norm was {:.4} with D(G(z)) = {:.4}; the non-saturating generator's was {:.4} \
         with D(G(z)) = {:.4}, i.e. {:.0} times the minimax one. Against the balanced \
         discriminator the ratio was {:.1}.\n",
        ctx.plot("gan-q2-generator-gradient.png", &norms)?,
        last_norms[2].0,
        last_norms[2].1,
        last_norms[3].0,
        last_norms[3].1,
        last_norms[3].0 / last_norms[2].0,
        last_norms[1].0 / last_norms[0].0,
    ));
    write_section(
        &ctx.args.reports,
        "GAN-Q2",
        &md,
        &json!({ "settings": numbers }),
    )
}

/// GAN-Q3: seeds, FID and classes over epochs, loss oscillation, the course's mode preference.
fn q3_stability(ctx: &Experiments) -> anyhow::Result<()> {
    let base = ctx.tuned(Backbone::Mlp);
    let mut fid = LinePlot::new("GAN-Q3: FID over epochs, three seeds", "epoch", "FID").log_y(true);
    let mut kl = LinePlot::new(
        "GAN-Q3: KL(class histogram || uniform) over epochs",
        "epoch",
        "KL (nats)",
    );
    let mut md = format!(
        "MLP GAN, tuned preset, {}; the same configuration with three seeds.\n\n\
         | seed | final FID | best FID (epoch) | classes covered | class KL | class histogram 0-9 | std of D loss over last epoch's steps | std of G loss |\n\
         |---:|---:|---:|---:|---:|---|---:|---:|\n",
        ctx.epoch_note(&base)
    );
    let mut numbers = Vec::new();
    let mut finals = Vec::new();
    for seed in [0u64, 1, 2] {
        let config = base.clone().with_seed(seed);
        let name = if seed == 0 {
            "q1-tuned-mlp".to_string()
        } else {
            format!("q3-seed-{seed}")
        };
        let (_, records) = ctx.train(&name, &config)?;
        let last = records.last().context("an epoch")?.scores()?;
        let best = records
            .iter()
            .map(|r| Ok((r.epoch, r.scores()?.fid)))
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .context("an epoch")?;
        let (d_std, g_std) = (
            last_epoch_std(&records, |s| s.d_loss),
            last_epoch_std(&records, |s| s.g_loss),
        );
        md.push_str(&format!(
            "| {seed} | {:.1} | {:.1} ({}) | {} | {:.3} | {} | {d_std:.3} | {g_std:.3} |\n",
            last.fid,
            best.1,
            best.0,
            last.classes.classes_covered,
            last.classes.kl_to_uniform,
            histogram(last)
        ));
        fid = fid.with_series(epoch_series(&format!("seed {seed}"), &records, |s| s.fid)?);
        kl = kl.with_series(epoch_series(&format!("seed {seed}"), &records, |s| {
            s.classes.kl_to_uniform
        })?);
        finals.push(last.fid);
        numbers.push(
            json!({ "seed": seed, "final": last, "best_fid": best.1, "best_epoch": best.0,
            "d_loss_std_last_epoch": d_std, "g_loss_std_last_epoch": g_std }),
        );
    }
    // The course run of GAN-Q1: which digits does it favour?
    let course = ctx.budget(Preset::Course.config(Backbone::Mlp), Backbone::Mlp);
    let (_, course_records) = ctx.train("q1-course-mlp", &course)?;
    let course_last = course_records.last().context("an epoch")?.scores()?;
    let spread = finals.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        - finals.iter().cloned().fold(f64::INFINITY, f64::min);
    md.push_str(&format!(
        "\nSpread of the final FID across seeds: {spread:.1}. The course preset's final class \
         histogram (0-9): {} (KL to uniform {:.3}, {} classes covered).\n\n{}\n\n{}\n\n\
         **Reading.** A GAN has no single objective that decreases: the two players follow each \
         other, so losses oscillate step to step (the standard deviations above) instead of \
         converging, and the quality measured by FID moves non-monotonically between epochs and \
         differs between seeds of the same configuration. Mode collapse shows in the class \
         histogram: a generator that has found a few digits which fool the current D produces them \
         more often than 1/10 of the time, D then learns to reject them, and the generator moves \
         on; the KL to the uniform histogram tracks this over epochs. The course's own run was \
         reported to favour round digits (0, 3, 5, 8), which share strokes, so one region of the \
         latent space can serve several of them; the course preset's histogram above is this \
         run's measurement of the same thing.\n",
        histogram(course_last),
        course_last.classes.kl_to_uniform,
        course_last.classes.classes_covered,
        ctx.plot("gan-q3-fid.png", &fid)?,
        ctx.plot("gan-q3-class-kl.png", &kl)?,
    ));
    write_section(
        &ctx.args.reports,
        "GAN-Q3",
        &md,
        &json!({ "seeds": numbers, "final_fid_spread": spread, "course_final": course_last }),
    )
}

/// GAN-Q4: interpolations, traversals and the nearest training images of samples.
fn q4_latent_space(ctx: &Experiments) -> anyhow::Result<()> {
    let config = ctx.tuned(Backbone::Mlp);
    let (state, _) = ctx.train("q1-tuned-mlp", &config)?;
    let device = &ctx.selected.device;
    let generator = state.generator.valid();
    let latent = config.model.latent;
    let decode = |codes: Vec<Vec<f32>>| -> Vec<f32> {
        let n = codes.len();
        let z = Tensor::<2>::from_data(TensorData::new(codes.concat(), [n, latent]), device);
        unit_values(generator.forward(z), config.real_scale)
    };
    let code = |seed: u64| tensor_values(fixed_latent(1, latent, seed, device));
    let steps = 10;
    let (mut lerps, mut slerps, mut norms) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..4u64 {
        let (a, b) = (code(100 + 2 * pair), code(101 + 2 * pair));
        let line = lerp(&a, &b, steps);
        let mid = &line[steps / 2];
        norms.push((
            mid.iter().map(|x| x * x).sum::<f32>().sqrt(),
            a.iter().map(|x| x * x).sum::<f32>().sqrt(),
        ));
        lerps.push(decode(line));
        slerps.push(decode(slerp(&a, &b, steps)));
    }
    let dims = 8.min(latent);
    let anchor = code(7);
    let traversals: Vec<f32> = (0..dims)
        .flat_map(|d| decode(traversal(&anchor, d, 3.0, steps)))
        .collect();

    // Memorisation check: nearest training image (pixel L2) of samples, against the same
    // distance for test digits, which the model never saw.
    let unit_train = eval::evaluator::unit_pixels(&ctx.train);
    let samples = unit_values(
        ctx.samples(&state.generator, &config, 1000),
        config.real_scale,
    );
    let nearest = eval::neighbours::nearest_rows(&samples, &unit_train, PIXELS, device);
    let test = ctx.test.clone().truncated(1000);
    let test_nearest = eval::neighbours::nearest_distances(
        &eval::evaluator::unit_pixels(&test),
        &unit_train,
        PIXELS,
        device,
    );
    let median = |mut d: Vec<f32>| {
        d.sort_by(f32::total_cmp);
        d[d.len() / 2] as f64
    };
    let sample_median = median(nearest.iter().map(|n| n.1).collect());
    let test_median = median(test_nearest.clone());
    let test_min = test_nearest.iter().cloned().fold(f32::INFINITY, f32::min) as f64;
    let closer_than_any_test = nearest.iter().filter(|n| (n.1 as f64) < test_min).count();
    let pairs: Vec<f32> = (0..16)
        .flat_map(|i| {
            let sample = samples[i * PIXELS..(i + 1) * PIXELS].to_vec();
            let j = nearest[i].0;
            sample
                .into_iter()
                .chain(unit_train[j * PIXELS..(j + 1) * PIXELS].iter().copied())
        })
        .collect();
    let pair_labels = (0..16)
        .flat_map(|i| [format!("{:.1}", nearest[i].1), "nearest".to_string()])
        .collect();

    let (lerp_mean_step, lerp_max_step) = frame_steps(&lerps);
    let (slerp_mean_step, slerp_max_step) = frame_steps(&slerps);
    let mean_norm = norms.iter().map(|n| n.1 as f64).sum::<f64>() / norms.len() as f64;
    let mean_mid = norms.iter().map(|n| n.0 as f64).sum::<f64>() / norms.len() as f64;
    let md = format!(
        "Generator: MLP, tuned preset (the GAN-Q1 run), latent dimension {latent}.\n\n\
         **Interpolations.** Each row walks from one code to another in {steps} steps, straight \
         (lerp) and along the great circle (slerp):\n\n{}\n\n{}\n\n\
         The codes' mean norm is {mean_norm:.2} (sqrt({latent}) = {:.2}); the midpoints of the \
         straight lines have mean norm {mean_mid:.2}: lerp passes through codes far inside the shell \
         where N(0, I) puts almost all its mass, which the generator was rarely trained on, while \
         slerp stays on it. Pixel distance (L2) between consecutive images of a row: lerp mean \
         {lerp_mean_step:.2}, largest {lerp_max_step:.2}; slerp mean {slerp_mean_step:.2}, largest \
         {slerp_max_step:.2}. A largest step far above the mean marks a jump, where the path \
         crosses from one digit to another abruptly instead of morphing.\n\n\
         **Traversals.** Rows: latent dimensions 0-{}, each swept from -3 to 3 with the others fixed:\n\n{}\n\n\
         Nothing in GAN training asks one latent dimension to control one factor (there is no \
         disentanglement objective), so a traversal can change several attributes at once; the \
         rows show what each of these dimensions does in this run.\n\n\
         **Memorisation.** Pairs: a sample (its distance above it) and its nearest training image \
         (pixel L2 on [0, 1] pixels, 784 dimensions):\n\n{}\n\n\
         | | median distance to the nearest training image |\n|---|---:|\n\
         | 1000 generated samples | {sample_median:.2} |\n| 1000 test digits (never trained on) | {test_median:.2} |\n\n\
         {closer_than_any_test} of 1000 samples are closer to a training image than the closest \
         test digit is ({test_min:.2}). Samples no closer to the training set than unseen digits \
         are new images, not copies.\n",
        ctx.grid("gan-q4-lerp.png", &lerps.concat(), steps, None)?,
        ctx.grid("gan-q4-slerp.png", &slerps.concat(), steps, None)?,
        (latent as f64).sqrt(),
        dims - 1,
        ctx.grid("gan-q4-traversals.png", &traversals, steps, None)?,
        ctx.grid("gan-q4-nearest.png", &pairs, 8, Some(pair_labels))?,
    );
    write_section(
        &ctx.args.reports,
        "GAN-Q4",
        &md,
        &json!({ "latent": latent, "code_norm_mean": mean_norm,
            "lerp_step_mean": lerp_mean_step, "lerp_step_max": lerp_max_step,
            "slerp_step_mean": slerp_mean_step, "slerp_step_max": slerp_max_step, "lerp_midpoint_norm_mean": mean_mid,
            "nearest_train_median_samples": sample_median, "nearest_train_median_test": test_median,
            "nearest_train_min_test": test_min, "samples_closer_than_any_test": closer_than_any_test }),
    )
}

/// Mean and largest pixel distance between consecutive images of each row of decoded paths.
fn frame_steps(rows: &[Vec<f32>]) -> (f64, f64) {
    let steps: Vec<f64> = rows
        .iter()
        .flat_map(|row| {
            let images: Vec<&[f32]> = row.chunks_exact(PIXELS).collect();
            images
                .windows(2)
                .map(|w| {
                    w[0].iter()
                        .zip(w[1])
                        .map(|(a, b)| ((a - b) as f64).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mean = steps.iter().sum::<f64>() / steps.len().max(1) as f64;
    (mean, steps.iter().cloned().fold(0.0, f64::max))
}

/// GAN-Q5: MLP vs the course CNN vs DCGAN, at equal epochs and at equal wall time.
fn q5_backbones(ctx: &Experiments) -> anyhow::Result<()> {
    // The convolutional players train `epochs`; the MLP trains longer so that it can also be
    // read at the wall time the convolutional ones took.
    let (epochs, mlp_epochs) = if ctx.args.quick { (2, 12) } else { (10, 50) };
    let mut runs = Vec::new();
    let mut fid = LinePlot::new("GAN-Q5: FID against training time", "seconds", "FID").log_y(true);
    for backbone in [Backbone::Mlp, Backbone::Cnn, Backbone::Dcgan] {
        let config = ctx
            .tuned(backbone)
            .with_epochs(if backbone == Backbone::Mlp {
                mlp_epochs
            } else {
                epochs
            });
        // Same data per epoch for all three: in quick mode, the convolutional budget.
        let config = if ctx.args.quick {
            config.with_train_limit(2_560)
        } else {
            config
        };
        let name = format!("q5-{backbone:?}").to_lowercase();
        let (state, records) = ctx.train(&name, &config)?;
        let points = records
            .iter()
            .map(|r| Ok((r.wall_s, r.scores()?.fid)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        fid = fid.with_series(Series::new(format!("{backbone:?}"), points));
        runs.push((backbone, config, state, records));
    }
    let mut md = format!(
        "Tuned preset for each backbone, {} (the MLP: {mlp_epochs} epochs, read at epoch {epochs} \
         and at the convolutional runs' wall times).\n\n\
         | backbone | parameters G / D | seconds per epoch | images/s | FID after {epochs} epochs | classes covered | class KL | density | coverage |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        ctx.epoch_note(&runs[1].1),
    );
    let mut numbers = Vec::new();
    let mut grids = Vec::new();
    for (backbone, config, state, records) in &runs {
        let at_epochs = records
            .iter()
            .find(|r| r.epoch == epochs)
            .context("the run is shorter than the comparison")?;
        let scores = at_epochs.scores()?;
        let seconds =
            records.iter().map(|r| r.record.train_seconds).sum::<f64>() / records.len() as f64;
        md.push_str(&format!(
            "| {backbone:?} | {} / {} | {seconds:.1} | {:.0} | {:.1} | {} | {:.3} | {:.3} | {:.3} |\n",
            state.generator.num_params(),
            state.discriminator.num_params(),
            at_epochs.record.images_per_second,
            scores.fid,
            scores.classes.classes_covered,
            scores.classes.kl_to_uniform,
            scores.density_coverage.density,
            scores.density_coverage.coverage,
        ));
        grids.push(unit_values(
            ctx.samples(&state.generator, config, 32),
            config.real_scale,
        ));
        numbers.push(
            json!({ "backbone": backbone, "config": config, "seconds_per_epoch": seconds,
            "images_per_second": at_epochs.record.images_per_second,
            "at_equal_epochs": scores, "epochs": epochs }),
        );
    }
    // Equal wall time: the MLP's last epoch finished within each convolutional run's time.
    let mlp = &runs[0].3;
    md.push_str("\n| in the wall time of | seconds | MLP epochs done | MLP FID | that backbone's FID |\n|---|---:|---:|---:|---:|\n");
    let mut equal_time = Vec::new();
    for (backbone, _, _, records) in &runs[1..] {
        let last = records.last().context("an epoch")?;
        if let Some(m) = mlp.iter().rfind(|r| r.wall_s <= last.wall_s) {
            md.push_str(&format!(
                "| {backbone:?} | {:.0} | {} | {:.1} | {:.1} |\n",
                last.wall_s,
                m.epoch,
                m.scores()?.fid,
                last.scores()?.fid
            ));
            equal_time.push(json!({ "backbone": backbone, "seconds": last.wall_s,
                "mlp_epochs": m.epoch, "mlp_fid": m.scores()?.fid, "fid": last.scores()?.fid }));
        }
    }
    let labels = ["MLP", "course CNN", "DCGAN"]
        .iter()
        .flat_map(|l| std::iter::repeat_n(l.to_string(), 32))
        .collect();
    md.push_str(&format!(
        "\n{}\n\n{}\n\nRows: 32 samples of each backbone (MLP after {mlp_epochs} epochs, course CNN, DCGAN).\n\n\
         **Reading.** Convolutions share weights across positions and build digits from local \
         strokes, the right prior for images, with far fewer parameters (first table). On a CPU \
         each of their steps costs more (seconds per epoch), so the fair comparison is at equal \
         wall time as well as at equal epochs (second table). Batch norm in both convolutional \
         players also stabilises the game, at the price of samples in a batch depending on each \
         other during training.\n",
        ctx.plot("gan-q5-fid-time.png", &fid)?,
        ctx.grid("gan-q5-samples.png", &grids.concat(), 16, Some(labels))?,
    ));
    write_section(
        &ctx.args.reports,
        "GAN-Q5",
        &md,
        &json!({ "backbones": numbers, "equal_wall_time": equal_time }),
    )
}

/// A row of the GAN-Q6 table read from another family's numbers, if its experiment has run.
fn other_family(reports: &Path, id: &str, key: &str) -> Option<Value> {
    let path = reports.join("numbers").join(format!("{id}.json"));
    let numbers: Value = data::run::read_json(&path).ok()?;
    let value = numbers.get(key)?.clone();
    (!value.is_null()).then_some(value)
}

/// GAN-Q6: the families side by side from the eval metrics and their timings.
fn q6_families(ctx: &Experiments) -> anyhow::Result<()> {
    let config = ctx.tuned(Backbone::Mlp);
    let (state, records) = ctx.train("q1-tuned-mlp", &config)?;
    let started = std::time::Instant::now();
    let _ = tensor_values(ctx.samples(&state.generator, &config, 1000));
    let gan_sampling_ms = started.elapsed().as_secs_f64() * 1000.0;
    // As many samples as RBM-Q3 scores, for comparable FIDs (FID is biased upwards for
    // small sample counts).
    let scored = if ctx.args.quick { 1000 } else { 10_000 };
    let values = tensor_values(ctx.samples(&state.generator, &config, scored));
    let gan_scores = ctx.evaluator.score(&values, config.real_scale);
    let gan_train_s: f64 = records.iter().map(|r| r.record.train_seconds).sum();
    let mut md = String::from(
        "Every family scored by the same eval classifier (FID against the test set, classes \
         covered, precision/recall, density/coverage).\n\n\
         | family | run | samples | FID | classes covered | precision | recall | density | coverage | training seconds | ms to draw 1000 samples |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let row = |family: &str, run: &str, s: &SampleScores, train_s: f64, sample_ms: f64| {
        format!(
            "| {family} | {run} | {} | {:.1} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {train_s:.0} | {sample_ms:.0} |\n",
            s.images,
            s.fid,
            s.classes.classes_covered,
            s.precision_recall.precision,
            s.precision_recall.recall,
            s.density_coverage.density,
            s.density_coverage.coverage,
        )
    };
    md.push_str(&row(
        "GAN (MLP)",
        &format!("tuned, {}", ctx.epoch_note(&config)),
        &gan_scores,
        gan_train_s,
        gan_sampling_ms,
    ));
    let mut numbers = vec![
        json!({ "family": "gan", "scores": gan_scores, "train_seconds": gan_train_s, "sampling_ms_1000": gan_sampling_ms }),
    ];
    let mut missing = Vec::new();
    for (family, id) in [
        ("RBM", "RBM-Q3"),
        ("DBM", "DBM-Q2"),
        ("VAE", "VAE-Q4"),
        ("Diffusion (creative part)", "CREATIVE"),
    ] {
        match other_family(&ctx.args.reports, id, "sample_scores") {
            Some(entry) => {
                let scores: SampleScores = serde_json::from_value(entry["scores"].clone())?;
                md.push_str(&row(
                    family,
                    entry["run"].as_str().unwrap_or(id),
                    &scores,
                    entry["train_seconds"].as_f64().unwrap_or(f64::NAN),
                    entry["sampling_ms_1000"].as_f64().unwrap_or(f64::NAN),
                ));
                numbers.push(json!({ "family": family, "from": id, "entry": entry }));
            }
            None => missing.push(family),
        }
    }
    if !missing.is_empty() {
        md.push_str(&format!(
            "\nNot in the table yet (their experiments have not produced sample scores in this \
             report): {}.\n",
            missing.join(", ")
        ));
    }
    md.push_str(
        "\n**GANs against the other families.** A GAN's generator needs one forward pass from \
         noise to image per sample (the last column measures what that costs against the other \
         families' samplers), and its samples tend to be sharp because no pixel-wise likelihood \
         averages over plausible images. What it lacks is a likelihood: it cannot score an image, \
         its training signal is an opponent rather than an objective, training is unstable \
         (GAN-Q3) and prone to dropping modes, which the class histogram, recall and coverage \
         show and the loss curves do not. RBMs and DBMs define an explicit (if unnormalised) \
         likelihood, estimated by AIS, but their samples need long Gibbs chains. VAEs optimise a \
         bound on the likelihood and encode images as well as generate them, typically with \
         blurrier samples. Diffusion models trade many network evaluations per sample for stable \
         training and broad coverage.\n",
    );
    write_section(
        &ctx.args.reports,
        "GAN-Q6",
        &md,
        &json!({ "families": numbers }),
    )
}

/// Loads the data and evaluator every experiment uses.
pub fn context<'a>(
    args: &'a ExperimentArgs,
    selected: &'a SelectedDevice,
    data_dir: Option<&Path>,
) -> anyhow::Result<Experiments<'a>> {
    let train = ImageSet::load(DataSetName::Mnist, Split::Train, data_dir)?;
    let test = ImageSet::load(DataSetName::Mnist, Split::Test, data_dir)?;
    let evaluator = Evaluator::with_sets(&eval::pretrained_dir(), &train, &test, &selected.device)?;
    Ok(Experiments {
        args,
        selected,
        train,
        test,
        evaluator,
    })
}
