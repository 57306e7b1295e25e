//! The trade-offs of the CREATIVE section: guidance scale, sampler, and the diffusion model
//! against a VAE and a GAN on the same data.

use data::plot::{LinePlot, Series};
use eval::SampleScores;

use super::{Setup, baselines, sampler_label};
use creative::evaluate::Evaluation;
use creative::sample::Sampler;

/// One table row of sample scores; `class_accuracy` is None for the real training images,
/// whose class accuracy is not asked for and whose nearest training image is themselves.
pub fn scores_row(label: &str, class_accuracy: Option<f64>, s: &SampleScores) -> String {
    let nearest =
        class_accuracy.map_or("–".to_owned(), |_| format!("{:.2}", s.nearest_train_mean));
    format!(
        "| {label} | {} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {nearest} |\n",
        class_accuracy.map_or("–".to_owned(), |a| format!("{:.1}%", 100.0 * a)),
        s.fid,
        s.precision_recall.precision,
        s.precision_recall.recall,
        s.density_coverage.density,
        s.density_coverage.coverage,
    )
}

pub fn guidance_table(
    setup: &Setup,
    sweep: &[Evaluation],
    floor: &SampleScores,
) -> anyhow::Result<String> {
    let points = |f: fn(&Evaluation) -> f64| sweep.iter().map(|e| (e.guidance, f(e))).collect();
    let plot = LinePlot::new(
        "CREATIVE: guidance scale, quality against diversity",
        "guidance scale",
        "share",
    )
    .with_series(Series::new("class accuracy", points(|e| e.class_accuracy)))
    .with_series(Series::new(
        "precision",
        points(|e| e.scores.precision_recall.precision),
    ))
    .with_series(Series::new(
        "recall",
        points(|e| e.scores.precision_recall.recall),
    ));
    let mut md = format!(
        "**Guidance.** Classifier-free guidance predicts ε̂ = ε(x, ∅) + w·(ε(x, c) − ε(x, ∅)): \
         w = 0 is the unconditional model, w = 1 the conditional one, w > 1 exaggerates what \
         distinguishes the class. {} samples per scale (DDIM {}), floor at this count: FID \
         {:.2}, recall {:.3}.\n\n\
         | guidance | class accuracy | FID | precision | recall | coverage |\n\
         |---:|---:|---:|---:|---:|---:|\n",
        setup.budget.sweep_samples,
        setup.budget.sweep_ddim_steps,
        floor.fid,
        floor.precision_recall.recall
    );
    for e in sweep {
        md += &format!(
            "| {} | {:.1}% | {:.2} | {:.3} | {:.3} | {:.3} |\n",
            e.guidance,
            100.0 * e.class_accuracy,
            e.scores.fid,
            e.scores.precision_recall.precision,
            e.scores.precision_recall.recall,
            e.scores.density_coverage.coverage
        );
    }
    let best = sweep
        .iter()
        .min_by(|a, b| a.scores.fid.total_cmp(&b.scores.fid));
    if let Some(best) = best {
        let (first, last) = (&sweep[0], &sweep[sweep.len() - 1]);
        md += &format!(
            "\n{}\n\nThe lowest FID is at guidance {}. From guidance {} to {} the class \
             accuracy goes from {:.1}% to {:.1}%, precision from {:.3} to {:.3}, recall from \
             {:.3} to {:.3} and coverage from {:.3} to {:.3}: guidance trades diversity for \
             recognisable samples (the quality–diversity trade-off), and the FID counts \
             both. `sample` uses guidance 2 by default.\n\n",
            setup.ctx.plot_figure("creative-guidance.png", &plot)?,
            best.guidance,
            first.guidance,
            last.guidance,
            100.0 * first.class_accuracy,
            100.0 * last.class_accuracy,
            first.scores.precision_recall.precision,
            last.scores.precision_recall.precision,
            first.scores.precision_recall.recall,
            last.scores.precision_recall.recall,
            first.scores.density_coverage.coverage,
            last.scores.density_coverage.coverage,
        );
    }
    Ok(md)
}

pub fn sampler_table(setup: &Setup, sweep: &[Evaluation]) -> anyhow::Result<String> {
    let mut md = "**Sampler.** DDIM (Song et al. 2021, η = 0) skips steps deterministically; \
                  ancestral DDPM takes all T with fresh noise at each. Guidance 2:\n\n\
                  | sampler | samples | network calls per image | ms per image | class accuracy | FID | recall |\n\
                  |---|---:|---:|---:|---:|---:|---:|\n"
        .to_owned();
    for e in sweep {
        let calls = match e.sampler {
            Sampler::Ddpm => 1000,
            Sampler::Ddim { steps } => steps,
        };
        md += &format!(
            "| {} | {} | {} (×2 with guidance) | {:.0} | {:.1}% | {:.2} | {:.3} |\n",
            sampler_label(e.sampler),
            e.samples,
            calls,
            e.ms_per_sample,
            100.0 * e.class_accuracy,
            e.scores.fid,
            e.scores.precision_recall.recall
        );
    }
    let ddim: Vec<&Evaluation> = sweep
        .iter()
        .filter(|e| matches!(e.sampler, Sampler::Ddim { .. }))
        .collect();
    if let (Some(few), Some(many)) = (ddim.first(), ddim.last()) {
        md += &format!(
            "\nThe time per image grows with the network calls ({} to {} ms from {} to {}); \
             the FID goes from {:.2} to {:.2} over the same range. `sample` uses DDIM with 50 \
             steps by default; this section's headline, DDIM {}. FIDs compare only at equal \
             sample counts.\n\n",
            few.ms_per_sample.round(),
            many.ms_per_sample.round(),
            sampler_label(few.sampler),
            sampler_label(many.sampler),
            few.scores.fid,
            many.scores.fid,
            setup.budget.ddim_steps
        );
    }
    Ok(md)
}

pub fn comparison(
    setup: &Setup,
    diffusion: &Evaluation,
    vae: &baselines::Baseline,
    gan: &baselines::Baseline,
    floor: &SampleScores,
) -> anyhow::Result<String> {
    let ctx = setup.ctx;
    let mut md = format!(
        "**Against a VAE and a GAN** trained on Fashion-MNIST by this project's own crates \
         (`--dataset fashion-mnist`), {} samples each (the VAE's and the GAN's \
         unconditional, the diffusion model's ten classes in turn, guidance 2):\n\n\
         | model | epochs | training s | parameters | FID | classes covered | precision | recall | coverage |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        setup.budget.sweep_samples
    );
    for b in [vae, gan] {
        md += &format!(
            "| {} | {} | {:.0} | {} | {:.2} | {} | {:.3} | {:.3} | {:.3} |\n",
            b.model,
            b.epochs,
            b.train_seconds,
            b.parameters,
            b.scores.fid,
            b.scores.classes.classes_covered,
            b.scores.precision_recall.precision,
            b.scores.precision_recall.recall,
            b.scores.density_coverage.coverage
        );
    }
    let s = &diffusion.scores;
    md += &format!(
        "| diffusion model (this section) | – | – | – | {:.2} | {} | {:.3} | {:.3} | {:.3} |\n\
         | real training images (floor) | – | – | – | {:.2} | {} | {:.3} | {:.3} | {:.3} |\n\n",
        s.fid,
        s.classes.classes_covered,
        s.precision_recall.precision,
        s.precision_recall.recall,
        s.density_coverage.coverage,
        floor.fid,
        floor.classes.classes_covered,
        floor.precision_recall.precision,
        floor.precision_recall.recall,
        floor.density_coverage.coverage
    );
    md += &format!(
        "VAE samples (decoder means):\n\n{}\n\nGAN samples:\n\n{}\n\n",
        ctx.digit_figure("creative-vae.png", &vae.grid, 8, None)?,
        ctx.digit_figure("creative-gan.png", &gan.grid, 8, None)?
    );
    md += &format!(
        "At {n} samples the diffusion model's FID is {:.2} against the VAE's {:.2} and the \
         GAN's {:.2} (floor {:.2}). The VAE shows decoder means, which average over what the \
         latent code leaves open and so blur texture; the GAN maps a latent code to an image \
         in one pass and is judged only by its discriminator, which lets it drop modes (its \
         recall: {:.3}); the diffusion model refines each image over many noise levels and is \
         told the class. That refinement is its cost: {:.0} ms per image against one network \
         call for the VAE and the GAN.\n",
        s.fid,
        vae.scores.fid,
        gan.scores.fid,
        floor.fid,
        gan.scores.precision_recall.recall,
        diffusion.ms_per_sample,
        n = setup.budget.sweep_samples,
    );
    Ok(md)
}

/// The first epoch (from 0) whose loss is within 5% of the last one's.
pub fn flat_from(records: &[creative::train::EpochRecord]) -> Option<usize> {
    let last = records.last()?;
    records.iter().position(|r| r.loss <= last.loss * 1.05)
}

/// The FID this project aims the shipped model at (10,000 samples against the test split).
pub const FID_AIM: f64 = 5.0;

/// Where the headline FID falls short of [`FID_AIM`], and which of the sweeps above says
/// why: the sampler's steps, guidance, or training; an empty string when the aim is met.
pub fn shortfall(
    headline: &Evaluation,
    floor: &SampleScores,
    guidance: &[Evaluation],
    samplers: &[Evaluation],
    records: &[creative::train::EpochRecord],
) -> String {
    let s = &headline.scores;
    if s.fid < FID_AIM {
        return String::new();
    }
    let mut md = format!(
        "**Why the FID misses the aim.** {:.2} against the aim of {FID_AIM} ({:.1}× it; the \
         floor is {:.2}). ",
        s.fid,
        s.fid / FID_AIM,
        floor.fid
    );
    let ddim: Vec<&Evaluation> = samplers
        .iter()
        .filter(|e| matches!(e.sampler, Sampler::Ddim { .. }))
        .collect();
    let at_headline = ddim.iter().find(|e| e.sampler == headline.sampler);
    if let (Some(used), Some(most)) = (at_headline, ddim.last())
        && most.sampler != used.sampler
    {
        let gain = 1.0 - most.scores.fid / used.scores.fid;
        let needed = 1.0 - FID_AIM / s.fid;
        md += &format!(
            "Steps: at {} samples {} scores {:.2} against {:.2} for {}, {:.0}% lower, where \
             the aim needs {:.0}%{}. ",
            most.samples,
            sampler_label(most.sampler),
            most.scores.fid,
            used.scores.fid,
            sampler_label(used.sampler),
            100.0 * gain,
            100.0 * needed,
            if gain < needed {
                ": more steps help but do not close the gap"
            } else {
                ": more steps alone may close it, at their cost in time"
            }
        );
    }
    if let Some(best) = guidance
        .iter()
        .min_by(|a, b| a.scores.fid.total_cmp(&b.scores.fid))
    {
        md += &format!(
            "Guidance: the sweep's lowest FID is at guidance {} (the headline uses {}). ",
            best.guidance, headline.guidance
        );
    }
    let (p, r) = (&s.precision_recall, &floor.precision_recall);
    md += &format!(
        "What is left is in both directions at once: precision {:.3} and recall {:.3}, against \
         {:.3} and {:.3} for real images, so the samples are both less faithful and less varied \
         than the data, which neither more steps nor another guidance scale changes. ",
        p.precision, p.recall, r.precision, r.recall
    );
    if let Some(flat) = flat_from(records) {
        md += &format!(
            "Training: the loss was within 5% of its final value from epoch {} of {} on, so \
             more epochs of this model would buy little; the untested lever is capacity (the \
             width was chosen for the CPU's training time), which the next GPU run should \
             test with base width 48 or 64.",
            flat + 1,
            records.len()
        );
    }
    md + "\n\n"
}
