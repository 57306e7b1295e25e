//! The trade-offs of the CREATIVE section: guidance scale, sampler, and the diffusion model
//! against a VAE and a GAN on the same data.

use data::plot::{LinePlot, Series};
use eval::SampleScores;

use super::{Setup, baselines, sampler_label};
use crate::evaluate::Evaluation;
use crate::sample::Sampler;

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
