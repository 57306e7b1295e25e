//! RBM-Q5: more rows (or columns) removed, at different places, completed by clamped
//! mean-field with the model RBM-Q4 trained.

use data::Mask;
use data::plot::{LinePlot, Series};
use serde::{Deserialize, Serialize};

use super::Evaluation;
use super::q4_missing_parts::Completer;
use crate::answer::Answer;
use rbm::inpaint::Completion;
use rbm::train::TrainConfig;

/// A mask hiding `n` rows or columns at one place.
type MaskOfCount = fn(usize) -> Mask;

/// Rows (or columns) removed.
const COUNTS: [usize; 6] = [2, 4, 8, 12, 16, 20];

/// Where they are removed, as the section names each place.
const PLACES: [(&str, MaskOfCount); 5] = [
    ("top rows", |n| Mask::TopRows { n }),
    ("middle rows", |n| Mask::MiddleRows { n }),
    ("bottom rows", |n| Mask::BottomRows { n }),
    ("left columns", |n| Mask::LeftColumns { n }),
    ("right columns", |n| Mask::RightColumns { n }),
];

/// One place and count of removed rows, completed by clamped mean-field.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RowsResult {
    /// E.g. "top rows".
    pub place: String,
    /// Rows (or columns) removed.
    pub n: usize,
    /// Fraction in [0, 1] of completed digits the classifier reads as their label.
    pub accuracy: f64,
    /// Mean squared error per missing pixel, pixels in [0, 1].
    pub mse_missing: f64,
    /// The classifier's accuracy on the digits left incomplete.
    pub accuracy_incomplete: f64,
}

/// RBM-Q5's numbers: every place with every count.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RowsRemoved {
    pub config: TrainConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    /// Place by place, each with every count of [`COUNTS`] in order.
    pub results: Vec<RowsResult>,
}

impl Answer for RowsRemoved {
    const ID: &'static str = "RBM-Q5";
}

pub fn run(c: &Completer) -> anyhow::Result<()> {
    let ctx = c.setup;
    let mut accuracy_plot = LinePlot::new(
        "RBM-Q5: accuracy of completed digits",
        "rows (columns) removed",
        "classifier accuracy",
    );
    let mut error_plot = LinePlot::new(
        "RBM-Q5: error on the missing pixels",
        "rows (columns) removed",
        "MSE on missing pixels",
    );
    let mut results = Vec::new();
    for (place, mask_of) in PLACES {
        let mut acc_points = Vec::new();
        let mut err_points = Vec::new();
        for n in COUNTS {
            let done = c.measure(mask_of(n), Completion::MeanField);
            acc_points.push((n as f64, done.accuracy));
            err_points.push((n as f64, done.error));
            results.push(RowsResult {
                place: place.into(),
                n,
                accuracy: done.accuracy,
                mse_missing: done.error,
                accuracy_incomplete: done.accuracy_incomplete,
            });
        }
        accuracy_plot = accuracy_plot.with_series(Series::new(place, acc_points));
        error_plot = error_plot.with_series(Series::new(place, err_points));
    }
    let (acc_path, _) = ctx.ctx.figure("rbm-q5-accuracy.png");
    let (err_path, _) = ctx.ctx.figure("rbm-q5-error.png");
    accuracy_plot.save(&acc_path)?;
    error_plot.save(&err_path)?;
    ctx.ctx.write_answer(&RowsRemoved {
        config: c.config.clone(),
        evaluation: Some(ctx.evaluation()),
        results,
    })
}
