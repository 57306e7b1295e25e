//! GAN-Q6: the GAN's entry in the comparison of the families, and what sets GANs apart.

use crate::answer::Answer;
use crate::experiment::Question;
use data::figure::tensor_values;
use eval::FamilyRecord;
use serde::{Deserialize, Serialize};

use super::Setup;
use crate::closing::HeadToHead;
use crate::experiments::creative::DiffusionStudy;
use gan::model::Backbone;

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q6",
    answers: &["GAN-Q6"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// GAN-Q6's numbers: the GAN's two entries in the comparison of the families.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GanEntries {
    /// The MLP GAN of GAN-Q1 (tuned preset).
    pub family: FamilyRecord,
    /// GAN-Q5's course CNN, the convolutional reference model.
    pub course_cnn: FamilyRecord,
    /// The other families' entries of this run (RBM, DBM, VAE), to set the GANs beside.
    #[serde(default)]
    pub others: Vec<FamilyRecord>,
    /// CREATIVE's comparison of the diffusion model with this project's VAE and GAN on
    /// Fashion-MNIST, when CREATIVE ran.
    #[serde(default)]
    pub diffusion: Option<HeadToHead>,
}

impl Answer for GanEntries {
    const ID: &'static str = "GAN-Q6";
}

/// GAN-Q6: the GAN's entries in the comparison of the families, beside the other families'
/// entries and CREATIVE's diffusion comparison (GAN-Q6 runs after every other experiment);
/// `cargo xtask all` puts every family's entries side by side in this section's table.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let config = ctx.tuned(Backbone::Mlp);
    let trained = ctx.train("q1-tuned-mlp", &config)?;
    let record = family_record(ctx, "GAN (MLP)", &trained, &config, "gan")?;
    // The convolutional reference model: GAN-Q5's course CNN (the shipped 100-epoch run in
    // the full profile), a second row beside the MLP.
    let (name, cnn_config) = super::q5_backbones::backbone_run(ctx, Backbone::Cnn);
    let cnn = ctx.train(&name, &cnn_config)?;
    let cnn_record = family_record(ctx, "GAN (course CNN)", &cnn, &cnn_config, "gan-cnn")?;
    let reports = ctx.ctx.reports();
    let diffusion = crate::closing::read::<DiffusionStudy>(reports)?;
    ctx.ctx.write_answer(&GanEntries {
        family: record,
        course_cnn: cnn_record,
        others: (["rbm", "dbm", "vae"].iter())
            .flat_map(|family| FamilyRecord::read_all(reports, family))
            .collect(),
        diffusion: diffusion.as_ref().and_then(HeadToHead::of),
    })
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
    let scores = (ctx.evaluator).score_for_verdict(
        &values,
        config.real_scale,
        &ctx.ctx.selected.autodiff(),
    )?;
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
