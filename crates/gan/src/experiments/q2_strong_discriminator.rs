//! GAN-Q2: a discriminator much stronger than the generator, with both generator losses.

use anyhow::Context as _;
use data::plot::LinePlot;
use eval::experiment::Question;
use serde_json::json;

use super::{Setup, step_series};
use crate::loss::GanLoss;
use crate::model::Backbone;
use crate::train::TrainConfig;

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
    for (label, config) in settings {
        let slug = label.replace([',', ' '], "-").replace("--", "-");
        let records = ctx.train(&format!("q2-{slug}"), &config)?.records;
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
    ctx.ctx
        .write_section("GAN-Q2", &md, &json!({ "settings": numbers }))
}
