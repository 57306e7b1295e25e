//! GAN-Q6: the GAN's entry in the comparison of the families, and what sets GANs apart.

use crate::experiment::Question;
use data::figure::tensor_values;
use eval::FamilyRecord;
use serde_json::json;

use super::Setup;
use gan::model::Backbone;

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q6",
    answers: &["GAN-Q6"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// GAN-Q6: the families side by side from the eval metrics and their timings.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let config = ctx.tuned(Backbone::Mlp);
    let trained = ctx.train("q1-tuned-mlp", &config)?;
    let record = family_record(ctx, "GAN (MLP)", &trained, &config, "gan")?;
    // The convolutional reference model: GAN-Q5's course CNN (the shipped 100-epoch run in
    // the full profile), a second row beside the MLP.
    let (name, cnn_config) = super::q5_backbones::backbone_run(ctx, Backbone::Cnn);
    let cnn = ctx.train(&name, &cnn_config)?;
    let cnn_record = family_record(ctx, "GAN (course CNN)", &cnn, &cnn_config, "gan-cnn")?;
    let md = format!(
        "Every family is scored by the same eval classifier (FID against the test set, classes \
         covered, precision/recall, density/coverage); each family's experiments record their \
         samples' scores and `cargo xtask all` puts the records side by side here.\n\n\
         {}\n\n\
         **GANs against the other families.** A GAN's generator needs one forward pass from \
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
        eval::family::TABLE_PLACE,
    );
    ctx.ctx.write_section(
        "GAN-Q6",
        &md,
        &json!({ "family": record, "course_cnn": cnn_record }),
    )
}

/// Scores `trained`'s samples for the comparison of the families and writes the record as
/// `families/<key>.json`, with a row of its samples as `family-<key>.png`.
fn family_record(
    ctx: &Setup,
    family: &str,
    trained: &super::Trained,
    config: &gan::train::TrainConfig,
    key: &str,
) -> anyhow::Result<FamilyRecord> {
    let started = std::time::Instant::now();
    let _ = tensor_values(ctx.samples(&trained.generator, config, 1000));
    let sampling_ms_1000 = started.elapsed().as_secs_f64() * 1000.0;
    // As many samples as RBM-Q3 scores, for comparable FIDs (FID is biased upwards for
    // small sample counts).
    let values = tensor_values(ctx.samples(&trained.generator, config, ctx.budget.family_samples));
    let scores = ctx.evaluator.score(&values, config.real_scale);
    let shown: Vec<f32> = values[..10 * data::PIXELS]
        .iter()
        .map(|&v| config.real_scale.to_unit(v))
        .collect();
    let figure = format!("family-{key}.png");
    ctx.grid(&figure, &shown, 10, None)?;
    let record = FamilyRecord {
        family: family.into(),
        from: "GAN-Q6".into(),
        run: format!("tuned, {}", ctx.epoch_note(config)),
        scores,
        train_seconds: trained.records.iter().map(|r| r.record.train_seconds).sum(),
        sampling_ms_1000,
        samples_figure: ctx.ctx.figure(&figure).1,
    };
    record.write(ctx.ctx.reports(), key)?;
    Ok(record)
}
