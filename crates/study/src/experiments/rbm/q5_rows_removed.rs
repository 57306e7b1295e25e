//! RBM-Q5: more rows (or columns) removed, at different places, completed by clamped
//! mean-field with the model RBM-Q4 trained.

use data::Mask;
use data::plot::{LinePlot, Series};
use serde::{Deserialize, Serialize};

use super::Evaluation;
use super::q4_missing_parts::{Completed, Completer};
use crate::answer::Answer;
use burn::tensor::Tensor;
use data::figure::{digit_grid, save_png, tensor_values};
use rbm::inpaint::Completion;
use rbm::train::TrainConfig;

/// A mask hiding `n` rows or columns at one place.
type MaskOfCount = fn(usize) -> Mask;

/// Rows (or columns) removed in the figure that shows every place side by side.
const PICTURED_COUNT: usize = 8;

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
    /// The same for the rows left blank: how much ink they hold (absent from numbers written
    /// before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mse_unfilled: Option<f64>,
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
    let mut pictured = PlacesFigure::default();
    for (place, mask_of) in PLACES {
        let mut acc_points = Vec::new();
        let mut err_points = Vec::new();
        for n in COUNTS {
            let done = c.measure(mask_of(n), Completion::MeanField);
            if n == PICTURED_COUNT {
                pictured.add(place, &done);
            }
            acc_points.push((n as f64, done.accuracy));
            err_points.push((n as f64, done.error));
            results.push(RowsResult {
                place: place.into(),
                n,
                accuracy: done.accuracy,
                mse_missing: done.error,
                mse_unfilled: Some(done.error_unfilled),
                accuracy_incomplete: done.accuracy_incomplete,
            });
        }
        accuracy_plot = accuracy_plot.with_series(Series::new(place, acc_points));
        error_plot = error_plot.with_series(Series::new(place, err_points));
    }
    let (acc_path, _) = ctx.ctx.figure("rbm-q5-accuracy.png");
    let (err_path, _) = ctx.ctx.figure("rbm-q5-error.png");
    accuracy_plot.save(&acc_path)?;
    pictured.save(&ctx.ctx.figure("rbm-q5-places.png").0)?;
    error_plot.save(&err_path)?;
    ctx.ctx.write_answer(&RowsRemoved {
        config: c.config.clone(),
        evaluation: Some(ctx.evaluation()),
        results,
    })
}

/// The same ten test digits with [`PICTURED_COUNT`] rows (columns) removed at each place and
/// completed: the originals, then per place the incomplete digits and their completions.
#[derive(Default)]
struct PlacesFigure {
    values: Vec<f32>,
    labels: Vec<String>,
}

impl PlacesFigure {
    const DIGITS: usize = 10;

    fn add(&mut self, place: &str, done: &Completed) {
        if self.values.is_empty() {
            let clean = done.batch.clean.clone().expect("masked batch");
            self.row("original", clean);
        }
        self.row(&format!("{place}: hole"), done.batch.images.clone());
        self.row(&format!("{place}: completed"), done.completed.clone());
    }

    fn row(&mut self, label: &str, images: Tensor<2>) {
        let digits = images.slice([0..Self::DIGITS, 0..data::PIXELS]);
        self.values.extend(tensor_values(digits));
        self.labels
            .extend(std::iter::repeat_n(label.to_string(), Self::DIGITS));
    }

    fn save(self, path: &std::path::Path) -> anyhow::Result<()> {
        save_png(
            &digit_grid(&self.values, Self::DIGITS, Some(self.labels)),
            path,
        )
    }
}
