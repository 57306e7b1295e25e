//! GAN-Q5's reading of its runs: each backbone's last epoch against the aims, and why the
//! DCGAN trails the course CNN, from what the runs logged.

use eval::SampleScores;
use eval::neighbours::PrecisionRecall;
use gan::model::Backbone;

/// What the tuned players should reach (FID in the eval classifier's space, class KL to
/// uniform), next to published GANs on MNIST: the reference models of this project. The
/// convolutional aim holds for both convolutional backbones.
pub const AIMS: [(Backbone, f64, Option<f64>); 3] = [
    (Backbone::Mlp, 30.0, None),
    (Backbone::Cnn, 10.0, Some(0.02)),
    (Backbone::Dcgan, 10.0, Some(0.02)),
];

/// The paragraph comparing each backbone's last epoch with its aim and the real-data floor,
/// and saying what its precision and recall tell about a miss.
pub fn against_the_aims(
    finals: &[(Backbone, usize, SampleScores)],
    floor: &SampleScores,
) -> String {
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

/// One scored epoch of a run, as the DCGAN paragraph reads it.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub epoch: usize,
    pub fid: f64,
    pub recall: f64,
    /// The discriminator's mean accuracy on real and fake images over the epoch.
    pub d_accuracy: f64,
}

pub fn progress(records: &[super::Logged]) -> anyhow::Result<Vec<Progress>> {
    records
        .iter()
        .map(|r| {
            let scores = r.scores()?;
            let mean = &r.record.mean;
            Ok(Progress {
                epoch: r.epoch,
                fid: scores.fid,
                recall: scores.precision_recall.recall,
                d_accuracy: (mean.accuracy_real + mean.accuracy_fake) / 2.0,
            })
        })
        .collect()
}

/// Why the DCGAN trails the course CNN at the compared epochs, from what both runs logged:
/// how far behind it is in epochs, whether its discriminator wins more often, whether its
/// recall shows dropped modes, whether its FID was still falling, and, where `dcgan` was
/// trained on past `epochs`, where it ended. Empty when it does not trail.
pub fn why_the_dcgan_trails(cnn: &[Progress], dcgan: &[Progress], epochs: usize) -> String {
    let at = |run: &[Progress], epoch: usize| run.iter().find(|p| p.epoch == epoch).copied();
    let (Some(c), Some(d)) = (at(cnn, epochs), at(dcgan, epochs)) else {
        return String::new();
    };
    if d.fid <= c.fid {
        return String::new();
    }
    let mut md = format!(
        "\n**Why the DCGAN trails.** After {epochs} epochs of the same preset its FID is {:.1}, \
         the course CNN's {:.1}",
        d.fid, c.fid
    );
    if let Some(caught) = cnn.iter().find(|p| p.fid <= d.fid) {
        md.push_str(&format!(
            " (the course CNN was there after {} epochs)",
            caught.epoch
        ));
    }
    let stronger = d.d_accuracy > c.d_accuracy + 0.02;
    md.push_str(&format!(
        ". Its discriminator is {}: over epoch {epochs} it told real from fake {:.1}% of the \
         time, the course CNN's {:.1}%{}. ",
        if stronger {
            "the stronger one"
        } else {
            "no stronger"
        },
        100.0 * d.d_accuracy,
        100.0 * c.d_accuracy,
        if stronger {
            ", so its generator gets the weaker gradient (GAN-Q2)"
        } else {
            ""
        }
    ));
    md.push_str(&if d.recall < c.recall - 0.1 {
        format!(
            "Its recall ({:.3} against {:.3}) says it covers less of the digits: dropped modes \
             are part of the gap.",
            d.recall, c.recall
        )
    } else {
        format!(
            "Its recall ({:.3} against {:.3}) shows no dropped modes.",
            d.recall, c.recall
        )
    });
    let trained_on = dcgan.last().filter(|last| last.epoch > epochs).copied();
    if let Some(earlier) = at(dcgan, epochs - epochs / 3).filter(|e| e.epoch < epochs) {
        md.push_str(&format!(
            " Its FID went from {:.1} at epoch {} to {:.1} at epoch {epochs}: {}",
            earlier.fid,
            earlier.epoch,
            d.fid,
            trend(earlier, d),
        ));
        if still_falling(earlier, d) {
            md.push_str(&format!(
                ", so it learns more slowly rather than failing{}",
                if trained_on.is_none() {
                    "; where it would end trained as long was not measured"
                } else {
                    ""
                }
            ));
        }
        md.push('.');
    }
    if let Some(last) = trained_on {
        md.push_str(&format!(
            " Trained on to epoch {}, it reached FID {:.1}",
            last.epoch, last.fid
        ));
        if let Some(c) = at(cnn, last.epoch) {
            md.push_str(&format!(" (the course CNN's at that epoch: {:.1}", c.fid));
            if let Some(caught) = cnn.iter().find(|p| p.fid <= last.fid) {
                md.push_str(&format!(
                    "; the course CNN was there after {} epochs",
                    caught.epoch
                ));
            }
            md.push(')');
        }
        if let Some(earlier) = at(dcgan, last.epoch - last.epoch / 3) {
            md.push_str(&format!(
                ", from {:.1} at epoch {}: {}",
                earlier.fid,
                earlier.epoch,
                trend(earlier, last)
            ));
        }
        md.push('.');
    }
    md.push('\n');
    md
}

/// Whether FID fell by more than 10% from `earlier` to `later` (a third of the epochs apart).
fn still_falling(earlier: Progress, later: Progress) -> bool {
    earlier.fid > 1.1 * later.fid
}

/// The trend from `earlier` to `later`, in words.
fn trend(earlier: Progress, later: Progress) -> &'static str {
    if still_falling(earlier, later) {
        "still falling"
    } else {
        "levelling off, so more epochs alone would not close the gap"
    }
}

/// The backbone as the report names it.
pub fn label(backbone: Backbone) -> &'static str {
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

    fn epoch(epoch: usize, fid: f64, recall: f64, d_accuracy: f64) -> Progress {
        Progress {
            epoch,
            fid,
            recall,
            d_accuracy,
        }
    }

    #[test]
    fn the_dcgan_paragraph_reads_its_lag_discriminator_recall_and_trend_from_the_logs() {
        let cnn = [
            epoch(5, 75.0, 0.73, 0.89),
            epoch(8, 50.0, 0.78, 0.89),
            epoch(20, 20.8, 0.82, 0.91),
            epoch(30, 15.2, 0.85, 0.93),
        ];
        let slow = [epoch(20, 66.1, 0.79, 0.89), epoch(30, 51.1, 0.81, 0.88)];
        let md = why_the_dcgan_trails(&cnn, &slow, 30);
        assert!(
            md.contains(
                "its FID is 51.1, the course CNN's 15.2 (the course CNN was there after 8 epochs)"
            ),
            "{md}"
        );
        assert!(md.contains("is no stronger: over epoch 30 it told real from fake 88.0% of the time, the course CNN's 93.0%. "), "{md}");
        assert!(md.contains("shows no dropped modes"), "{md}");
        assert!(
            md.contains("from 66.1 at epoch 20 to 51.1 at epoch 30: still falling"),
            "{md}"
        );
        let stuck = [epoch(20, 52.0, 0.5, 0.99), epoch(30, 51.1, 0.5, 0.99)];
        let md = why_the_dcgan_trails(&cnn, &stuck, 30);
        assert!(
            md.contains("the stronger one") && md.contains("weaker gradient"),
            "{md}"
        );
        assert!(md.contains("dropped modes are part of the gap"), "{md}");
        assert!(md.contains("levelling off"), "{md}");
        // Nothing to explain when the DCGAN is ahead, or a run lacks the compared epoch.
        assert!(why_the_dcgan_trails(&cnn, &[epoch(30, 9.0, 0.9, 0.9)], 30).is_empty());
        assert!(why_the_dcgan_trails(&cnn, &slow, 12).is_empty());
        // Trained on past the compared epochs: where it ended, against the course CNN.
        let cnn_long = [cnn.as_slice(), &[epoch(100, 8.7, 0.85, 0.93)]].concat();
        let long = [
            slow.as_slice(),
            &[epoch(67, 22.0, 0.84, 0.9), epoch(100, 21.0, 0.84, 0.9)],
        ]
        .concat();
        let md = why_the_dcgan_trails(&cnn_long, &long, 30);
        assert!(
            md.contains("Trained on to epoch 100, it reached FID 21.0 (the course CNN's at that epoch: 8.7; the course CNN was there after 20 epochs), from 22.0 at epoch 67: levelling off, so more epochs alone would not close the gap."),
            "{md}"
        );
        assert!(!md.contains("where it would end"), "{md}");
    }
}
