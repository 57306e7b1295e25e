//! GAN-Q5: MLP vs the course CNN vs DCGAN, at equal epochs and at equal wall time.

use crate::experiment::Question;
use anyhow::Context as _;
use burn::module::Module;
use data::plot::{LinePlot, Series};
use serde_json::json;

use super::Setup;
use gan::model::Backbone;
use gan::sampling::unit_values;
use gan::train::TrainConfig;

use super::q5_players::swap_the_players;
use super::q5_reading::{against_the_aims, label, progress, why_the_dcgan_trails};

pub static EXPERIMENT: Question = Question {
    id: "GAN-Q5",
    answers: &["GAN-Q5"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// The shared run of `backbone` in this comparison, `(name, config)`: the tuned preset;
/// the DCGAN trains `backbone_epochs.0` epochs, the MLP longer so that it can also be read at
/// the wall time the convolutional ones took, and the course CNN as long as its reference
/// run (`course_cnn_epochs`; every run is scored after every epoch, so all three are also
/// read at `backbone_epochs.0`). The VAE-Q4 comparison trains (or reloads) the same runs.
pub fn backbone_run(ctx: &Setup, backbone: Backbone) -> (String, TrainConfig) {
    let (epochs, mlp_epochs) = ctx.budget.backbone_epochs;
    let config = ctx.tuned(backbone).with_epochs(match backbone {
        Backbone::Mlp => mlp_epochs,
        Backbone::Cnn => ctx.budget.course_cnn_epochs,
        Backbone::Dcgan => epochs,
    });
    // Same data per epoch for all three: in quick mode, the convolutional budget.
    let config = match ctx.budget.backbone_train_limit {
        0 => config,
        limit => config.with_train_limit(limit),
    };
    (format!("q5-{backbone:?}").to_lowercase(), config)
}

/// GAN-Q5's DCGAN trained on as long as the course CNN (`dcgan_reference_epochs`), the one
/// read against the aim; `None` where that is no longer than its compared run.
pub fn dcgan_reference_run(ctx: &Setup) -> Option<(String, TrainConfig)> {
    let (_, config) = backbone_run(ctx, Backbone::Dcgan);
    let epochs = ctx.budget.dcgan_reference_epochs;
    (epochs > config.epochs).then(|| ("q5-dcgan-reference".to_string(), config.with_epochs(epochs)))
}

/// GAN-Q5: MLP vs the course CNN vs DCGAN, at equal epochs and at equal wall time.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let (epochs, mlp_epochs) = ctx.budget.backbone_epochs;
    let mut runs = Vec::new();
    for backbone in [Backbone::Mlp, Backbone::Cnn, Backbone::Dcgan] {
        let (name, config) = backbone_run(ctx, backbone);
        let trained = ctx.train(&name, &config)?;
        runs.push((backbone, config, trained));
    }
    // The DCGAN trained on (its first epochs are the compared run's): read against the aim,
    // plotted and shown in its place.
    let dcgan_reference = match dcgan_reference_run(ctx) {
        Some((name, config)) => Some(ctx.train(&name, &config)?),
        None => None,
    };
    let last_run = |backbone: Backbone, trained| match (backbone, &dcgan_reference) {
        (Backbone::Dcgan, Some(reference)) => reference,
        _ => trained,
    };
    let mut fid = LinePlot::new("GAN-Q5: FID against training time", "seconds", "FID").log_y(true);
    for (backbone, _, trained) in &runs {
        let points = (last_run(*backbone, trained).records.iter())
            .map(|r| Ok((r.wall_s, r.scores()?.fid)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        fid = fid.with_series(Series::new(label(*backbone), points));
    }
    let cnn_epochs = ctx.budget.course_cnn_epochs;
    let dcgan_epochs =
        (last_run(Backbone::Dcgan, &runs[2].2).records.last()).map_or(epochs, |r| r.epoch);
    let mut md = format!(
        "Tuned preset for each backbone, {} (the MLP: {mlp_epochs} epochs, the course CNN: \
         {cnn_epochs}{}; all read at epoch {epochs} here, the MLP also at the DCGAN's and the \
         course CNN's wall time after {epochs} epochs).\n\n\
         | backbone | parameters G / D | seconds per epoch | images/s | FID after {epochs} epochs | classes covered | class KL | density | coverage |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        ctx.epoch_note(&runs[2].1),
        if dcgan_epochs > epochs {
            format!(", the DCGAN trained on to {dcgan_epochs} for its aim and samples")
        } else {
            String::new()
        },
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
            "| {} | {} / {} | {seconds:.1} | {:.0} | {:.1} | {} | {:.3} | {:.3} | {:.3} |\n",
            label(*backbone),
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
            ctx.samples(&last_run(*backbone, trained).generator, config, 32),
            config.real_scale,
        ));
        numbers.push(
            json!({ "backbone": backbone, "config": config, "seconds_per_epoch": seconds,
            "images_per_second": at_epochs.record.images_per_second,
            "at_equal_epochs": scores, "epochs": epochs }),
        );
    }
    // Equal wall time: the MLP's last epoch finished within each convolutional run's time
    // for the compared epochs.
    let mlp = &runs[0].2.records;
    md.push_str(&format!("\n| in the wall time of | seconds | MLP epochs done | MLP FID | that backbone's FID after {epochs} epochs |\n|---|---:|---:|---:|---:|\n"));
    let mut equal_time = Vec::new();
    for (backbone, _, trained) in &runs[1..] {
        let records = &trained.records;
        let last = records
            .iter()
            .find(|r| r.epoch == epochs)
            .context("the run is shorter than the comparison")?;
        if let Some(m) = mlp.iter().rfind(|r| r.wall_s <= last.wall_s) {
            md.push_str(&format!(
                "| {} | {:.0} | {} | {:.1} | {:.1} |\n",
                label(*backbone),
                last.wall_s,
                m.epoch,
                m.scores()?.fid,
                last.scores()?.fid
            ));
            equal_time.push(json!({ "backbone": backbone, "seconds": last.wall_s,
                "mlp_epochs": m.epoch, "mlp_fid": m.scores()?.fid, "fid": last.scores()?.fid }));
        }
    }
    let floor =
        eval::reference::shipped_reference(data::DataSetName::Mnist, eval::reference::REAL_FLOOR)?;
    let finals = runs
        .iter()
        .map(|(backbone, _, trained)| {
            let last = (last_run(*backbone, trained).records.last()).context("an epoch")?;
            Ok((*backbone, last.epoch, last.scores()?.clone()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    md.push_str(&against_the_aims(&finals, &floor));
    md.push_str(&why_the_dcgan_trails(
        &progress(&runs[1].2.records)?,
        &progress(&last_run(Backbone::Dcgan, &runs[2].2).records)?,
        epochs,
    ));
    let (players, swapped) = swap_the_players(
        ctx,
        &runs[1].2.records,
        &last_run(Backbone::Dcgan, &runs[2].2).records,
    )?;
    md.push_str(&players);
    let labels = ["MLP", "course CNN", "DCGAN"]
        .iter()
        .flat_map(|l| std::iter::repeat_n(l.to_string(), 32))
        .collect();
    md.push_str(&format!(
        "\n{}\n\n{}\n\nRows: 32 samples of each backbone (MLP after {mlp_epochs} epochs, course CNN after {cnn_epochs}, DCGAN after {dcgan_epochs}).\n\n\
         **Reading.** Convolutions share weights across positions and build digits from local \
         strokes, the right prior for images, with far fewer parameters (first table). On a CPU \
         each of their steps costs more (seconds per epoch), so the fair comparison is at equal \
         wall time as well as at equal epochs (second table). Batch norm in both convolutional \
         players also stabilises the game, at the price of samples in a batch depending on each \
         other during training.\n",
        ctx.ctx.plot_figure("gan-q5-fid-time.png", &fid)?,
        ctx.ctx.digit_figure("gan-q5-samples.png", &grids.concat(), 16, Some(labels))?,
    ));
    ctx.ctx.write_section(
        "GAN-Q5",
        &md,
        &json!({ "backbones": numbers, "equal_wall_time": equal_time,
            "swapped_players": swapped }),
    )
}
