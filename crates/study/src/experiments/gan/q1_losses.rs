//! GAN-Q1: the loss curves of the course's set-up and of the tuned one, read against the
//! game's equilibrium.

use crate::experiment::Question;
use data::Scale;
use data::plot::LinePlot;
use serde_json::json;

use super::{Setup, constant, step_series};
use gan::model::Backbone;
use gan::sampling::unit_values;
use gan::train::Preset;

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q1",
    answers: &["GAN-Q1"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// GAN-Q1: the loss curves of the course's set-up and of the tuned one, read against the
/// game's equilibrium.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let mut md = String::new();
    let mut numbers = Vec::new();
    for preset in [Preset::Course, Preset::Tuned] {
        let config = ctx.budget(preset.config(Backbone::Mlp), Backbone::Mlp);
        let trained = ctx.train(&format!("q1-{}-mlp", preset.name()), &config)?;
        let records = &trained.records;
        let name = preset.name();
        let loss = config.loss;
        let losses = LinePlot::new(
            format!("GAN-Q1: losses per step, {name} preset (MLP)"),
            "step",
            "loss",
        )
        .with_series(step_series("D loss", records, |s| s.d_loss))
        .with_series(step_series("G loss", records, |s| s.g_loss))
        .with_series(constant(
            "D loss at equilibrium (2 ln 2)",
            records,
            loss.discriminator_at_equilibrium(),
        ))
        .with_series(constant(
            "G loss at equilibrium (ln 2)",
            records,
            loss.generator_at_equilibrium(),
        ));
        let outputs = LinePlot::new(
            format!("GAN-Q1: discriminator outputs per step, {name} preset"),
            "step",
            "mean D",
        )
        .with_series(step_series("D(x)", records, |s| s.d_real))
        .with_series(step_series("D(G(z))", records, |s| s.d_fake))
        .with_series(constant("equilibrium 1/2", records, 0.5));
        let samples = ctx.samples(&trained.generator, &config, 64);
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
        for r in records {
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
                100.0 * r.record.negative_pixel_fraction.unwrap_or(f64::NAN)
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
    ctx.ctx
        .write_section("GAN-Q1", &md, &json!({ "runs": numbers }))
}
