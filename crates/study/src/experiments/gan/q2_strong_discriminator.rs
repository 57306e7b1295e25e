//! GAN-Q2: a discriminator much stronger than the generator, with both generator losses.

use crate::experiment::Question;
use anyhow::Context as _;
use data::plot::LinePlot;
use serde_json::json;

use super::{Setup, step_series};
use gan::loss::GanLoss;
use gan::model::Backbone;
use gan::sampling::unit_values;
use gan::train::TrainConfig;

/// Samples shown of each setting: one row of the grid.
const SAMPLES_PER_SETTING: usize = 12;

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q2",
    answers: &["GAN-Q2"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// GAN-Q2: a discriminator much stronger than the generator, with both generator losses.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let base = ctx.tuned(Backbone::Mlp);
    let epochs = ctx.budget.strong_discriminator_epochs;
    let strong = |c: TrainConfig| {
        c.with_epochs(epochs)
            .with_discriminator_learning_rate(10.0 * base.generator_learning_rate)
            .with_discriminator_steps(5)
    };
    let settings = [
        (
            "balanced, minimax",
            base.clone().with_epochs(epochs).with_loss(GanLoss::Minimax),
        ),
        ("balanced, non-saturating", base.clone().with_epochs(epochs)),
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
        ctx.epoch_note(&base.clone().with_epochs(epochs)),
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
    let mut grids = Vec::new();
    let labels: Vec<&str> = settings.iter().map(|(label, _)| *label).collect();
    for (label, config) in settings.clone() {
        let slug = label.replace([',', ' '], "-").replace("--", "-");
        let trained = ctx.train(&format!("q2-{slug}"), &config)?;
        grids.push(unit_values(
            ctx.samples(&trained.generator, &config, SAMPLES_PER_SETTING),
            config.real_scale,
        ));
        let records = trained.records;
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
    let row_labels = labels
        .iter()
        .flat_map(|l| std::iter::repeat_n(l.to_string(), SAMPLES_PER_SETTING))
        .collect();
    md.push_str(&format!(
        "\n{}\n\n\
         **Why.** For a fake with logit l = D's log-odds, the minimax generator loss log(1 - sigmoid(l)) \
         has gradient -sigmoid(l) with respect to l, which goes to 0 as D(G(z)) = sigmoid(l) goes to 0: \
         the better D rejects the fakes, the less G learns (the loss *saturates*). The \
         non-saturating loss -log sigmoid(l) has gradient -(1 - sigmoid(l)), close to -1 in the same \
         situation. The unit tests check both gradients against finite differences and at \
         D(G(z)) = sigmoid(-8).\n\n\
         Measured here, last epoch against the strong discriminator: the minimax generator's \
         gradient norm was {} with D(G(z)) = {}; the non-saturating generator's was {} \
         with D(G(z)) = {}, i.e. {} times the minimax one. Against the balanced \
         discriminator the ratio was {}.\n\n{}\n\nRows: {SAMPLES_PER_SETTING} samples of each \
         setting after its last epoch, in the table's order (the same latent codes).\n",
        ctx.plot("gan-q2-generator-gradient.png", &norms)?,
        magnitude(last_norms[2].0),
        magnitude(last_norms[2].1),
        magnitude(last_norms[3].0),
        magnitude(last_norms[3].1),
        magnitude(last_norms[3].0 / last_norms[2].0),
        magnitude(last_norms[1].0 / last_norms[0].0),
        ctx.grid(
            "gan-q2-samples.png",
            &grids.concat(),
            SAMPLES_PER_SETTING,
            Some(row_labels),
        )?,
    ));
    ctx.ctx
        .write_section("GAN-Q2", &md, &json!({ "settings": numbers }))
}

/// A value for prose: four decimals in the usual range, `m × 10^e` where that would print
/// 0.0000 or a dozen digits (the saturated minimax gradient is ~1e-10).
fn magnitude(value: f64) -> String {
    let size = value.abs();
    if value.is_finite() && size != 0.0 && !(1e-3..1e4).contains(&size) {
        let exponent = size.log10().floor() as i32;
        format!("{:.1} × 10^{exponent}", value / 10f64.powi(exponent))
    } else if size >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::magnitude;

    #[test]
    fn prose_values_show_their_magnitude() {
        assert_eq!(magnitude(0.1731), "0.1731");
        assert_eq!(magnitude(57.43), "57.4");
        assert_eq!(magnitude(0.0), "0.0000");
        assert_eq!(magnitude(1.5187e10), "1.5 × 10^10");
        assert_eq!(magnitude(2.04e-10), "2.0 × 10^-10");
        assert_eq!(magnitude(f64::INFINITY), "inf");
    }
}
