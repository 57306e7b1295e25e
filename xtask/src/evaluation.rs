//! The report's "Evaluation" part: the classifier every metric is computed with, and the
//! floors and ceilings of each metric, read from what `cargo run -p eval` shipped in
//! `data/pretrained/`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use data::DataSetName;
use eval::reference::Reference;
use eval::train::{ClassifierCard, shipped_paths};

/// Markdown for the evaluation part, or a note saying what is missing and how to make it.
pub fn section(pretrained: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Evaluation: how samples are scored\n");
    let _ = writeln!(
        out,
        "Every model's samples are scored by `crates/eval` in the feature space (128-d penultimate \
         layer) of a CNN classifier trained by this project: FID is the squared Fréchet distance \
         to the test split's features, precision/recall are the improved k-NN metrics \
         (Kynkäänniemi et al. 2019, k = 3), density/coverage their outlier-robust successors \
         (Naeem et al. 2020, k = 5: one real outlier with a huge neighbourhood can give samples \
         far from every digit a precision of 1, not a density near 1), classes covered counts \
         classes that receive at least 1% of the samples, and the nearest-training-image distance (L2 on [0, 1] pixels) tells \
         whether a model copies its training data.\n"
    );
    for dataset in DataSetName::ALL {
        let (_, card_path) = shipped_paths(pretrained, dataset);
        match data::run::read_json::<ClassifierCard>(&card_path) {
            Ok(card) => {
                let _ = writeln!(
                    out,
                    "- {dataset} classifier: test accuracy {:.2}% on {} images ({} epochs, batch {}, Adam lr {}).",
                    100.0 * card.test_accuracy,
                    card.test_images,
                    card.config.epochs,
                    card.config.batch_size,
                    card.config.learning_rate
                );
            }
            Err(_) => {
                let _ = writeln!(
                    out,
                    "- {dataset} classifier: not trained yet (`cargo run --release -p eval -- train-classifier --dataset {}`).",
                    dataset.dir_name()
                );
            }
        }
    }
    let reference_path = pretrained.join("eval-reference.json");
    let Ok(all) = data::run::read_json::<BTreeMap<String, Reference>>(&reference_path) else {
        let _ = writeln!(
            out,
            "\nNo reference figures yet (`cargo run --release -p eval -- reference --dataset mnist`)."
        );
        return out;
    };
    for (dataset, reference) in &all {
        let _ = writeln!(
            out,
            "\nFloors and ceilings on {dataset} (10,000 images each; `eval-reference.json`):\n"
        );
        let _ = writeln!(
            out,
            "| images | FID | precision | recall | density | coverage | classes covered | KL(hist ‖ uniform) | mean confidence | IS | nearest train image |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (label, s) in reference {
            let _ = writeln!(
                out,
                "| {label} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {}/10 | {:.4} | {:.3} | {:.2} | {:.3} |",
                s.fid,
                s.precision_recall.precision,
                s.precision_recall.recall,
                s.density_coverage.density,
                s.density_coverage.coverage,
                s.classes.classes_covered,
                s.classes.kl_to_uniform,
                s.classes.mean_confidence,
                s.classes.inception_score,
                s.nearest_train_mean
            );
        }
    }
    out
}
