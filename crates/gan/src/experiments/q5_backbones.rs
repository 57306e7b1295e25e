//! GAN-Q5: MLP vs the course CNN vs DCGAN, at equal epochs and at equal wall time.

use anyhow::Context as _;
use burn::module::Module;
use data::plot::{LinePlot, Series};
use eval::experiment::Question;
use serde_json::json;

use super::Setup;
use crate::model::Backbone;
use crate::sampling::unit_values;
use crate::train::TrainConfig;

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q5",
    answers: &["GAN-Q5"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// The shared run of `backbone` in this comparison, `(name, config)`: the tuned preset;
/// the convolutional players train `backbone_epochs.0` epochs, the MLP longer so that it can
/// also be read at the wall time the convolutional ones took. The VAE-Q4 comparison trains
/// (or reloads) the same runs.
pub fn backbone_run(ctx: &Setup, backbone: Backbone) -> (String, TrainConfig) {
    let (epochs, mlp_epochs) = ctx.budget.backbone_epochs;
    let config = ctx
        .tuned(backbone)
        .with_epochs(if backbone == Backbone::Mlp {
            mlp_epochs
        } else {
            epochs
        });
    // Same data per epoch for all three: in quick mode, the convolutional budget.
    let config = match ctx.budget.backbone_train_limit {
        0 => config,
        limit => config.with_train_limit(limit),
    };
    (format!("q5-{backbone:?}").to_lowercase(), config)
}

/// GAN-Q5: MLP vs the course CNN vs DCGAN, at equal epochs and at equal wall time.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let (epochs, mlp_epochs) = ctx.budget.backbone_epochs;
    let mut runs = Vec::new();
    let mut fid = LinePlot::new("GAN-Q5: FID against training time", "seconds", "FID").log_y(true);
    for backbone in [Backbone::Mlp, Backbone::Cnn, Backbone::Dcgan] {
        let (name, config) = backbone_run(ctx, backbone);
        let trained = ctx.train(&name, &config)?;
        let points = trained
            .records
            .iter()
            .map(|r| Ok((r.wall_s, r.scores()?.fid)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        fid = fid.with_series(Series::new(format!("{backbone:?}"), points));
        runs.push((backbone, config, trained));
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
    for (backbone, config, trained) in &runs {
        let records = &trained.records;
        let at_epochs = records
            .iter()
            .find(|r| r.epoch == epochs)
            .context("the run is shorter than the comparison")?;
        let scores = at_epochs.scores()?;
        let seconds =
            records.iter().map(|r| r.record.train_seconds).sum::<f64>() / records.len() as f64;
        md.push_str(&format!(
            "| {backbone:?} | {} / {} | {seconds:.1} | {:.0} | {:.1} | {} | {:.3} | {:.3} | {:.3} |\n",
            trained.generator.num_params(),
            trained.discriminator_parameters,
            at_epochs.record.images_per_second,
            scores.fid,
            scores.classes.classes_covered,
            scores.classes.kl_to_uniform,
            scores.density_coverage.density,
            scores.density_coverage.coverage,
        ));
        grids.push(unit_values(
            ctx.samples(&trained.generator, config, 32),
            config.real_scale,
        ));
        numbers.push(
            json!({ "backbone": backbone, "config": config, "seconds_per_epoch": seconds,
            "images_per_second": at_epochs.record.images_per_second,
            "at_equal_epochs": scores, "epochs": epochs }),
        );
    }
    // Equal wall time: the MLP's last epoch finished within each convolutional run's time.
    let mlp = &runs[0].2.records;
    md.push_str("\n| in the wall time of | seconds | MLP epochs done | MLP FID | that backbone's FID |\n|---|---:|---:|---:|---:|\n");
    let mut equal_time = Vec::new();
    for (backbone, _, trained) in &runs[1..] {
        let records = &trained.records;
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
    ctx.ctx.write_section(
        "GAN-Q5",
        &md,
        &json!({ "backbones": numbers, "equal_wall_time": equal_time }),
    )
}
