//! The figures of the CREATIVE section's trade-offs (guidance scale; the diffusion model
//! against a VAE and a GAN), and where the training loss flattens.

use data::plot::{LinePlot, Series};

use super::{Setup, baselines::Baseline};
use creative::evaluate::Evaluation;

/// Class accuracy, precision and recall against the guidance scale.
pub fn guidance_figure(setup: &Setup, sweep: &[Evaluation]) -> anyhow::Result<()> {
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
    setup.ctx.plot_figure("creative-guidance.png", &plot)?;
    Ok(())
}

/// 64 samples of the VAE (decoder means) and of the GAN, eight a row.
pub fn baseline_figures(setup: &Setup, vae: &Baseline, gan: &Baseline) -> anyhow::Result<()> {
    setup
        .ctx
        .digit_figure("creative-vae.png", &vae.grid, 8, None)?;
    setup
        .ctx
        .digit_figure("creative-gan.png", &gan.grid, 8, None)?;
    Ok(())
}

/// The first epoch (from 0) whose loss is within 5% of the last one's.
pub fn flat_from(records: &[creative::train::EpochRecord]) -> Option<usize> {
    let last = records.last()?;
    records.iter().position(|r| r.loss <= last.loss * 1.05)
}
