//! EVALUATION: how samples are scored, and which scores can be trusted. It measures nothing
//! itself: it reads what `cargo run -p eval` shipped in `data/pretrained/` (the classifiers'
//! cards and each data set's degradation ladder, `eval-reference.json`).

use std::path::Path;

use data::DataSetName;
use eval::ladder::{LadderCheck, Metric, PixelNeighbours, Rung, RungScores, VERDICT_METRICS};
use eval::reference::{DataSetReference, ShippedReferences};
use eval::train::{ClassifierCard, shipped_paths};
use eval::{SampleScores, reference::Corruption};
use serde::{Deserialize, Serialize};

use crate::Answer;

/// EVALUATION's numbers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Evaluation {
    pub classifiers: Vec<ClassifierFacts>,
    pub ladders: Vec<Ladder>,
    /// The metrics the report reads as verdicts (each must pass every ladder).
    pub verdict_metrics: Vec<Metric>,
    /// "data set: metric" for each verdict metric that misses a rung of a ladder.
    pub failed_verdicts: Vec<String>,
}

impl Answer for Evaluation {
    const ID: &'static str = "EVALUATION";
}

/// The classifier whose features a data set's scores use.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassifierFacts {
    pub dataset: String,
    /// Accuracy on the whole test split (0-1).
    pub test_accuracy: f64,
    pub test_images: usize,
    /// Width of the penultimate layer: the feature space of FID, KID and the neighbours.
    pub features: usize,
}

/// One data set's ladder, with the rungs the text names pulled out.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ladder {
    pub dataset: String,
    /// Images per rung.
    pub images: usize,
    pub rungs: Vec<LadderRow>,
    pub checks: Vec<LadderCheck>,
    /// The test split scored against itself (for its distances to the training images).
    pub real_test: SampleScores,
    /// Real training images (the floor), blur σ 2 and the 4-class collapse.
    pub real: SampleScores,
    pub blurred: SampleScores,
    pub collapsed: SampleScores,
    /// The neighbour metrics of real and blurred (σ 2) images on raw pixels.
    pub pixel_real: PixelNeighbours,
    pub pixel_blurred: PixelNeighbours,
}

/// A rung's label and scores, for the table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LadderRow {
    pub label: String,
    pub drops_variety: bool,
    pub scores: SampleScores,
}

impl Evaluation {
    /// Reads the shipped cards and ladders in `pretrained`.
    pub fn collect(pretrained: &Path) -> anyhow::Result<Self> {
        let references: ShippedReferences =
            data::run::read_json(&pretrained.join("eval-reference.json"))?;
        let mut classifiers = Vec::new();
        let mut ladders = Vec::new();
        for dataset in DataSetName::ALL {
            let card: ClassifierCard = data::run::read_json(&shipped_paths(pretrained, dataset).1)?;
            classifiers.push(ClassifierFacts {
                dataset: dataset.to_string(),
                test_accuracy: card.test_accuracy,
                test_images: card.test_images,
                features: card.config.model.features,
            });
            let reference = references.get(dataset.dir_name()).ok_or_else(|| {
                anyhow::anyhow!(
                    "eval-reference.json has no ladder of {dataset} (cargo run --release -p eval -- reference --dataset {})",
                    dataset.dir_name()
                )
            })?;
            ladders.push(Ladder::new(dataset, reference)?);
        }
        let failed_verdicts = (ladders.iter())
            .flat_map(|ladder| {
                (ladder.checks.iter())
                    .filter(|c| VERDICT_METRICS.contains(&c.metric) && !c.passed())
                    .map(|c| format!("{}: {:?}", ladder.dataset, c.metric))
            })
            .collect();
        Ok(Self {
            classifiers,
            ladders,
            verdict_metrics: VERDICT_METRICS.to_vec(),
            failed_verdicts,
        })
    }
}

impl Ladder {
    fn new(dataset: DataSetName, reference: &DataSetReference) -> anyhow::Result<Self> {
        let rung = |rung: Rung| {
            reference.rung(rung).cloned().ok_or_else(|| {
                anyhow::anyhow!("the ladder of {dataset} lacks the rung {}", rung.label())
            })
        };
        let blur = Rung::Corrupted {
            corruption: Corruption::Blur { sigma: 2.0 },
        };
        let pixels = |rung: Rung| {
            (reference.pixel_space.iter())
                .find(|p| p.rung == rung)
                .cloned()
                .ok_or_else(|| {
                    anyhow::anyhow!("no pixel-space scores of {} on {dataset}", rung.label())
                })
        };
        Ok(Self {
            dataset: dataset.to_string(),
            images: reference.floor().images,
            rungs: (reference.ladder.iter())
                .map(|RungScores { rung, scores }| LadderRow {
                    label: rung.label(),
                    drops_variety: rung.drops_variety(),
                    scores: scores.clone(),
                })
                .collect(),
            checks: reference.checks(),
            real_test: reference.real_test.clone(),
            real: rung(Rung::Real)?,
            blurred: rung(blur)?,
            collapsed: rung(Rung::Collapsed { classes: 4 })?,
            pixel_real: pixels(Rung::Real)?,
            pixel_blurred: pixels(blur)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped ladders support every claim of the Evaluation part, and a ladder on which
    /// a verdict metric fails breaks it.
    #[test]
    fn the_shipped_ladders_render_and_a_failing_verdict_breaks_the_answer() {
        let evaluation = Evaluation::collect(&eval::pretrained_dir()).unwrap();
        assert_eq!(evaluation.ladders.len(), 2);
        assert!(
            evaluation.failed_verdicts.is_empty(),
            "{:?}",
            evaluation.failed_verdicts
        );
        let text = crate::answer::render(&evaluation).unwrap();
        assert!(text.contains("| blur sigma 2 |"), "{text}");
        let mut broken = evaluation.clone();
        broken.failed_verdicts.push("MNIST: Fid".into());
        let err = crate::answer::render(&broken).unwrap_err();
        assert!(
            format!("{err:#}").contains("every verdict metric"),
            "{err:#}"
        );
    }
}
