//! CREATIVE: a class-conditional diffusion model on Fashion-MNIST, every choice discussed
//! with the measurement behind it.

use std::cell::RefCell;

use crate::experiment::Question;
use data::plot::{LinePlot, Series};
use eval::SampleScores;
use serde_json::json;

use super::sweeps::{self, ScheduleRun, WidthCost};
use super::trade_offs::{
    FID_AIM, comparison, flat_from, guidance_table, sampler_table, scores_row, shortfall,
};
use super::{Model, Setup, baselines, sampler_label};
use creative::evaluate::Evaluation;
use creative::sample::{Request, Sampler, sample_observed, unit_values};

pub static EXPERIMENT: Question = Question {
    id: "CREATIVE",
    answers: &["CREATIVE"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Noise levels at which the trajectory figure shows x_t (T = 1000 steps, 999 = pure noise).
const TRAJECTORY_STEPS: [usize; 8] = [999, 900, 700, 500, 300, 150, 50, 0];

fn run(setup: &Setup) -> anyhow::Result<()> {
    let budget = &setup.budget;
    let model = setup.model()?;
    let widths = sweeps::widths(setup)?;
    let schedules = sweeps::schedules(setup)?;
    let headline = headline(setup, &model)?;
    let guidance = sweeps::guidance(setup, &model)?;
    let samplers = sweeps::samplers(setup, &model)?;
    let (vae, gan) = (baselines::vae(setup)?, baselines::gan(setup)?);
    let floor_headline = setup.floor(headline.samples)?;
    let floor_sweep = setup.floor(budget.sweep_samples)?;
    let classifier_accuracy = setup.evaluator.card.test_accuracy;

    let mut md = design(setup, &model, &widths)?;
    md += &training(setup, &model, &schedules)?;
    md += &samples(
        setup,
        &model,
        &headline,
        &floor_headline,
        classifier_accuracy,
    )?;
    md += &guidance_table(setup, &guidance, &floor_sweep)?;
    md += &sampler_table(setup, &samplers)?;
    let diffusion_at_sweep = guidance
        .iter()
        .find(|e| (e.guidance - 2.0).abs() < 1e-9)
        .unwrap_or(&headline);
    md += &comparison(setup, diffusion_at_sweep, &vae, &gan, &floor_sweep)?;
    md += &shortfall(
        &headline,
        &floor_headline,
        &guidance,
        &samplers,
        &model.records,
    );
    let numbers = json!({
        "budget": budget, "model_dir": model.dir, "shipped": model.shipped,
        "config": model.config, "widths": widths, "schedules": schedules,
        "headline": headline, "floor_headline": floor_headline, "guidance": guidance,
        "samplers": samplers, "floor_sweep": floor_sweep,
        "vae": without_grid(&vae), "gan": without_grid(&gan),
        "classifier_test_accuracy": classifier_accuracy,
    });
    setup.ctx.write_section("CREATIVE", &md, &numbers)
}

fn without_grid(baseline: &baselines::Baseline) -> serde_json::Value {
    let mut value = serde_json::to_value(baseline).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.remove("grid");
    }
    value
}

/// The headline evaluation: the shipped `evaluation.json` when it measured this setting at
/// this size, otherwise measured (and cached) now.
fn headline(setup: &Setup, model: &Model) -> anyhow::Result<Evaluation> {
    let sampler = Sampler::Ddim {
        steps: setup.budget.ddim_steps,
    };
    let n = setup.budget.eval_samples;
    let saved: Option<Evaluation> = data::run::read_json(&model.dir.join("evaluation.json")).ok();
    match saved {
        Some(e) if e.samples == n && e.sampler == sampler && (e.guidance - 2.0).abs() < 1e-9 => {
            Ok(e)
        }
        _ => setup.measure(model, n, 2.0, sampler),
    }
}

fn design(setup: &Setup, model: &Model, widths: &[WidthCost]) -> anyhow::Result<String> {
    let config = &model.config;
    let mut md = format!(
        "**Data.** Fashion-MNIST (Zalando Research, MIT licence): 60,000 training and 10,000 \
         test greyscale 28×28 images of ten kinds of clothing. It has MNIST's format, so every \
         tool of this project applies unchanged, and the project ships a classifier for it \
         ({:.2}% test accuracy) whose feature space the metrics below use; but its images \
         have texture, print and grey levels that a binary pixel model cannot represent, which \
         is why the model is a diffusion model on grey levels in [−1, 1].\n\n\
         **Model.** A U-Net that predicts the noise ε added to an image: residual blocks \
         (group norm, SiLU, 3×3 convolutions) at 28×28, 14×14 and 7×7 with channel multipliers \
         {:?} of a base width, 4×4 stride-2 convolutions down and transposed convolutions up, \
         skip connections between the two halves, self-attention at 7×7 (where 49 positions \
         make it cheap and every position can see the whole garment), the step t as a \
         sinusoidal embedding and the class as a learned embedding (an 11th entry meaning \
         \"no class\"), both added to every block. The width was chosen by measuring the \
         training step on this machine (threads: {}, batch 64, timed steps: {}):\n\n\
         | base width | parameters | ms per step | images/s |\n|---:|---:|---:|---:|\n",
        100.0 * setup.evaluator.card.test_accuracy,
        config.model.channel_multipliers,
        data::threads::current(),
        setup.budget.timed_steps,
    );
    for w in widths {
        md += &format!(
            "| {} | {} | {:.0} | {:.0} |\n",
            w.base_channels, w.parameters, w.ms_per_step, w.images_per_second
        );
    }
    let base = config.model.base_channels;
    md += &format!(
        "\nThe model uses base width {base} ({} parameters){}, and a GPU trains it in \
         minutes (below); the quality a width buys is measured only for the one trained.\n\n",
        burn::module::Module::num_params(&model.unet),
        widths
            .iter()
            .find(|w| w.base_channels == base)
            .map(|w| format!(
                ": one 60,000-image epoch at the rate above takes {:.0} minutes on this CPU",
                60_000.0 / w.images_per_second / 60.0
            ))
            .unwrap_or_default()
    );
    Ok(md)
}

fn training(setup: &Setup, model: &Model, schedules: &[ScheduleRun]) -> anyhow::Result<String> {
    let c = &model.config;
    let backend = model.record["backend_reason"]
        .as_str()
        .unwrap_or("this machine");
    let train_seconds: f64 = model.records.iter().map(|r| r.train_seconds).sum();
    let curve = LinePlot::new(
        "CREATIVE: noise-prediction loss per epoch",
        "epoch",
        "mean squared error of the predicted noise",
    )
    .with_series(Series::new(
        "training loss",
        model
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| ((i + 1) as f64, r.loss))
            .collect(),
    ));
    let mut md = format!(
        "**Training.** DDPM's objective (Ho et al. 2020): a training image x₀, a step \
         t ~ U{{0..{T}}}, noise ε, x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε, and the mean squared error \
         of the predicted ε. T = {T}, {schedule:?} schedule, Adam at {lr}, batch {batch}, \
         {epochs} epochs (batch and rate doubled from DDPM's 128 and 2·10⁻⁴: on a GPU \
         these small steps are bound by kernel launches, so fewer, larger ones train \
         faster); the class is hidden with probability {drop} so the same network \
         also learns the unconditional model that classifier-free guidance needs; sampling \
         uses an exponential moving average of the weights (decay {ema}), which smooths out \
         the last steps' noise. {origin}: {epochs_done} epochs in {train_seconds:.0} s of \
         training on {backend}. {flat}\n\n{plot}\n\n",
        T = c.diffusion_steps,
        schedule = c.schedule,
        lr = c.learning_rate,
        batch = c.batch_size,
        epochs = c.epochs,
        drop = c.class_dropout,
        ema = c.ema_decay,
        origin = if model.shipped {
            "The shipped weights (`data/pretrained/creative/full`, EMA, half precision; the \
             sweeps below read their samples' scores from its `measurements/` folder, where the \
             run that first drew them saved them: delete it to measure afresh)"
        } else {
            "Trained here"
        },
        epochs_done = model.records.len(),
        plot = setup.ctx.plot_figure("creative-loss.png", &curve)?,
        flat = flattening(&model.records),
    );
    md += &format!(
        "**Schedule.** The linear schedule (β from 10⁻⁴ to 0.02) destroys a 28×28 image \
         long before t = T, so many steps are spent on pure noise; the cosine schedule \
         (Nichol & Dhariwal 2021) adds noise more evenly. The same short run with each \
         (base width {}, {} epochs over {} images), {} samples at guidance 2:\n\n\
         | schedule | training s | class accuracy | FID | precision | recall |\n\
         |---|---:|---:|---:|---:|---:|\n",
        schedules[0].base_channels,
        schedules[0].epochs,
        schedules[0].train_images,
        setup.budget.sweep_samples
    );
    for s in schedules {
        let e = &s.evaluation;
        md += &format!(
            "| {:?} | {:.0} | {:.1}% | {:.2} | {:.3} | {:.3} |\n",
            s.schedule,
            s.train_seconds,
            100.0 * e.class_accuracy,
            e.scores.fid,
            e.scores.precision_recall.precision,
            e.scores.precision_recall.recall
        );
    }
    if let Some(better) = schedules
        .iter()
        .min_by(|a, b| a.evaluation.scores.fid.total_cmp(&b.evaluation.scores.fid))
    {
        md += &format!(
            "\nOn this run the {:?} schedule gave the lower FID; the model uses the {:?} \
             schedule.\n\n",
            better.schedule, model.config.schedule
        );
    }
    Ok(md)
}

fn samples(
    setup: &Setup,
    model: &Model,
    headline: &Evaluation,
    floor: &SampleScores,
    classifier_accuracy: f64,
) -> anyhow::Result<String> {
    let ctx = setup.ctx;
    let per_class = 10;
    let grid = creative::tasks::class_grid(
        &model.unet,
        &model.config,
        per_class,
        (2.0, Sampler::Ddim { steps: 50 }, 11),
        ctx.device(),
    );
    let grid = ctx.digit_figure("creative-classes.png", &grid, per_class, None)?;
    let trajectory = ctx.digit_figure(
        "creative-trajectory.png",
        &trajectory(model, ctx.device()),
        TRAJECTORY_STEPS.len(),
        None,
    )?;
    let s = &headline.scores;
    let mut md = format!(
        "**Samples.** Ten per class, one row each ({}), guidance 2, DDIM 50 steps:\n\n\
         {grid}\n\n\
         Denoising trajectories (ancestral DDPM; columns: x_t at t = {:?}): in these four the coarse \
         silhouette is decided in the first few hundred steps, the texture and print in the \
         last ones.\n\n{trajectory}\n\n\
         **Quality** of {} samples ({}, guidance {}), against the test split, next to the \
         real-data floor (the first {} training images scored the same way):\n\n\
         | | class accuracy | FID | precision | recall | density | coverage | nearest training image (L2) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
        data::DataSetName::FashionMnist.class_names().join(", "),
        TRAJECTORY_STEPS,
        headline.samples,
        sampler_label(headline.sampler),
        headline.guidance,
        floor.images,
    );
    md += &scores_row("diffusion samples", Some(headline.class_accuracy), s);
    md += &scores_row("real training images", None, floor);
    let easier = if headline.class_accuracy > classifier_accuracy {
        "above its accuracy on real images: guidance pushes samples towards what makes a \
         class recognisable, so they are easier to classify than real images"
    } else {
        "below its accuracy on real images: some samples are ambiguous or show another class"
    };
    let test_nearest = real_test_nearest_train()?;
    let copies = if s.nearest_train_mean >= test_nearest {
        "the samples are no closer to the training set than new real images are, so they \
         are not copies"
    } else {
        "the samples sit closer to the training set than new real images do; some may be \
         near-copies of training images"
    };
    md += &format!(
        "\nThe classifier reads {:.1}% of the samples as the class that was asked for, against \
         its own {:.1}% on the real test images, {easier}. The FID is {:.2}, {:.1}× the floor \
         of {:.2} at this sample count (the aim: below {FID_AIM}). The samples' nearest training image is {:.2} away on average (L2 over [0, 1] \
         pixels), the real test images' {test_nearest:.2}: {copies}. Sampling took {:.0} ms per \
         image on this machine.\n\n",
        100.0 * headline.class_accuracy,
        100.0 * classifier_accuracy,
        s.fid,
        s.fid / floor.fid.max(1e-12),
        floor.fid,
        s.nearest_train_mean,
        headline.ms_per_sample,
    );
    Ok(md)
}

/// Four samples (classes 0, 5, 7, 9), x_t at each of [`TRAJECTORY_STEPS`], one row each.
fn trajectory(model: &Model, device: &burn::tensor::Device) -> Vec<f32> {
    let classes = vec![0, 5, 7, 9];
    let snapshots = RefCell::new(Vec::new());
    let request = Request {
        classes: classes.clone(),
        guidance: 2.0,
        sampler: Sampler::Ddpm,
        seed: 3,
    };
    let last = sample_observed(
        &model.unet,
        &model.config.noise_schedule(),
        model.config.model.classes,
        &request,
        device,
        |x, t| {
            if TRAJECTORY_STEPS[..TRAJECTORY_STEPS.len() - 1].contains(&t) {
                snapshots
                    .borrow_mut()
                    .push(unit_values(x.clone().clamp(-1.0, 1.0)));
            }
        },
    );
    let mut columns = snapshots.into_inner();
    columns.push(unit_values(last));
    // Row-major: sample i's column j is snapshot j's image i.
    (0..classes.len())
        .flat_map(|i| {
            columns
                .iter()
                .flat_map(move |c| c[i * data::PIXELS..(i + 1) * data::PIXELS].to_vec())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The mean distance from each real Fashion-MNIST test image to its nearest training image
/// (`data/pretrained/eval-reference.json`): how far new real images are from the training set.
fn real_test_nearest_train() -> anyhow::Result<f64> {
    let real =
        eval::reference::shipped_reference(data::DataSetName::FashionMnist, "real test images")?;
    Ok(real.nearest_train_mean)
}

/// Where the loss curve flattens: the first epoch within 5% of the final loss.
fn flattening(records: &[creative::train::EpochRecord]) -> String {
    let (Some(last), Some(epoch)) = (records.last(), flat_from(records)) else {
        return String::new();
    };
    format!(
        "The loss is within 5% of its final {:.4} from epoch {} of {} on (it averages over \
         all noise levels; the low ones, where the image is nearly clean, stay easy, the high \
         ones stay hard):",
        last.loss,
        epoch + 1,
        records.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use creative::train::EpochRecord;

    fn records(losses: &[f64]) -> Vec<EpochRecord> {
        losses
            .iter()
            .map(|&loss| EpochRecord {
                loss,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn the_loss_flattens_at_the_first_epoch_within_five_percent_of_the_last() {
        let text = flattening(&records(&[0.5, 0.2, 0.104, 0.11, 0.1]));
        assert!(text.contains("from epoch 3 of 5"), "{text}");
        assert!(flattening(&[]).is_empty());
    }

    #[test]
    fn new_real_images_lie_a_positive_distance_from_the_training_set() {
        let distance = real_test_nearest_train().unwrap();
        assert!(distance > 1.0 && distance < 10.0, "{distance}");
    }
}
