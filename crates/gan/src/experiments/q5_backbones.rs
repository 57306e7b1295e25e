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
use eval::SampleScores;
use eval::neighbours::PrecisionRecall;

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

/// What the tuned players should reach (FID in the eval classifier's space, class KL to
/// uniform), next to published GANs on MNIST: the reference models of this project. The
/// convolutional aim holds for both convolutional backbones.
const AIMS: [(Backbone, f64, Option<f64>); 3] = [
    (Backbone::Mlp, 30.0, None),
    (Backbone::Cnn, 10.0, Some(0.02)),
    (Backbone::Dcgan, 10.0, Some(0.02)),
];

/// The paragraph comparing each backbone's last epoch with its aim and the real-data floor,
/// and saying what its precision and recall tell about a miss.
fn against_the_aims(finals: &[(Backbone, usize, SampleScores)], floor: &SampleScores) -> String {
    let real = &floor.precision_recall;
    let mut md = format!(
        "\n**Against the aims.** Real training digits score FID {:.2} against the test digits, \
         precision {:.3}, recall {:.3}: the floor no generator can beat.",
        floor.fid, real.precision, real.recall
    );
    for (backbone, fid_aim, kl_aim) in AIMS {
        let Some((_, epoch, scores)) = finals.iter().find(|(b, _, _)| *b == backbone) else {
            continue;
        };
        let classes = &scores.classes;
        let verdict = |value: f64, aim: f64| {
            if value <= aim {
                format!("aim {aim} met")
            } else {
                format!("aim {aim}, missed by {:.1}x", value / aim)
            }
        };
        md.push_str(&format!(
            " {} after {epoch} epochs: FID {:.1} ({}), {}/10 classes, class KL {:.3}{}.",
            label(backbone),
            scores.fid,
            verdict(scores.fid, fid_aim),
            classes.classes_covered,
            classes.kl_to_uniform,
            kl_aim.map_or(String::new(), |aim| format!(
                " ({})",
                verdict(classes.kl_to_uniform, aim)
            )),
        ));
        if scores.fid > fid_aim {
            md.push_str(&read_the_miss(
                &scores.precision_recall,
                real,
                classes.classes_covered,
            ));
        }
    }
    md.push('\n');
    md
}

/// The backbone as the report names it.
fn label(backbone: Backbone) -> &'static str {
    match backbone {
        Backbone::Mlp => "MLP",
        Backbone::Cnn => "course CNN",
        Backbone::Dcgan => "DCGAN",
    }
}

/// What a generator's precision and recall, against the real digits', say about an FID
/// above its aim (a gap of more than 0.1 counts).
fn read_the_miss(own: &PrecisionRecall, real: &PrecisionRecall, classes: usize) -> String {
    let low_precision = own.precision < real.precision - 0.1;
    let low_recall = own.recall < real.recall - 0.1;
    match (low_precision, low_recall) {
        (true, false) => format!(
            " Its recall ({:.3}) is near the real digits', its precision ({:.3}) is not: the \
             samples cover the digits' variety, but many are malformed digits that the \
             classifier's features place off the data; that, not missing modes, is the \
             distance FID measures.",
            own.recall, own.precision
        ),
        (false, true) => format!(
            " Its precision ({:.3}) is near the real digits', its recall ({:.3} against \
             {:.3}) is not: its samples lie among real digits in the classifier's features, \
             but the generator leaves out much of what the data has ({classes}/10 classes \
             covered).",
            own.precision, own.recall, real.recall
        ),
        (true, true) => format!(
            " Both its precision ({:.3}) and its recall ({:.3}) are far below the real \
             digits': its samples neither look like the digits nor cover them, a generator \
             far from converged.",
            own.precision, own.recall
        ),
        (false, false) => String::new(),
    }
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
        fid = fid.with_series(Series::new(label(backbone), points));
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
            let last = trained.records.last().context("an epoch")?;
            Ok((*backbone, last.epoch, last.scores()?.clone()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    md.push_str(&against_the_aims(&finals, &floor));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(fid: f64, precision: f64, recall: f64, kl: f64) -> SampleScores {
        serde_json::from_value(serde_json::json!({
            "images": 100, "classifier": "c", "fid": fid,
            "precision_recall": { "precision": precision, "recall": recall, "k": 3 },
            "density_coverage": { "density": 1.0, "coverage": 1.0, "k": 5 },
            "classes": { "histogram": vec![10; 10], "classes_covered": 10, "kl_to_uniform": kl,
                         "mean_confidence": 0.9, "inception_score": 9.0 },
            "nearest_train_mean": 4.0, "nearest_train_median": 4.0
        }))
        .unwrap()
    }

    #[test]
    fn each_aim_is_met_or_missed_by_a_factor_with_the_reason_precision_and_recall_give() {
        let floor = scores(3.09, 0.86, 0.86, 0.002);
        let md = against_the_aims(
            &[
                (Backbone::Mlp, 100, scores(25.0, 0.83, 0.80, 0.03)),
                (Backbone::Cnn, 30, scores(70.0, 0.5, 0.8, 0.05)),
                (Backbone::Dcgan, 30, scores(40.0, 0.48, 0.81, 0.03)),
            ],
            &floor,
        );
        assert!(md.contains("floor no generator can beat"), "{md}");
        assert!(
            md.contains("MLP after 100 epochs: FID 25.0 (aim 30 met)"),
            "{md}"
        );
        assert!(
            md.contains("DCGAN after 30 epochs: FID 40.0 (aim 10, missed by 4.0x), 10/10 classes, class KL 0.030 (aim 0.02, missed by 1.5x)"),
            "{md}"
        );
        assert!(md.contains("its precision (0.480) is not"), "{md}");
        // The convolutional aim holds for both convolutional backbones.
        assert!(
            md.contains("course CNN after 30 epochs: FID 70.0 (aim 10, missed by 7.0x)"),
            "{md}"
        );
        let dropped = against_the_aims(&[(Backbone::Mlp, 5, scores(90.0, 0.8, 0.3, 0.1))], &floor);
        assert!(
            dropped.contains("its recall (0.300 against 0.860) is not"),
            "{dropped}"
        );
        let early = against_the_aims(&[(Backbone::Mlp, 5, scores(900.0, 0.2, 0.0, 1.0))], &floor);
        assert!(early.contains("far from converged"), "{early}");
    }
}
