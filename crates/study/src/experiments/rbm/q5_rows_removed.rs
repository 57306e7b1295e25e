//! RBM-Q5: more rows (or columns) removed, at different places, completed by clamped
//! mean-field with the model RBM-Q4 trained.

use data::Mask;
use data::plot::{LinePlot, Series};
use serde_json::json;

use super::q4_missing_parts::Completer;
use rbm::inpaint::Completion;

/// A mask hiding `n` rows or columns at one place.
type MaskOfCount = fn(usize) -> Mask;

pub fn run(c: &Completer) -> anyhow::Result<()> {
    let (ctx, config, steps) = (c.setup, &c.config, c.steps);
    let counts = [2usize, 4, 8, 12, 16, 20];
    let places: [(&str, MaskOfCount); 5] = [
        ("top rows", |n| Mask::TopRows { n }),
        ("middle rows", |n| Mask::MiddleRows { n }),
        ("bottom rows", |n| Mask::BottomRows { n }),
        ("left columns", |n| Mask::LeftColumns { n }),
        ("right columns", |n| Mask::RightColumns { n }),
    ];
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
    let mut q5 = format!(
        "Clamped mean-field completion ({steps} iterations) of {} test digits with rows (or columns) removed.\n\n\
         | place | {} |\n|---|{}\n",
        ctx.budget.completion_images,
        counts.map(|n| format!("{n}")).join(" | "),
        "---:|".repeat(counts.len())
    );
    let mut q5_numbers = Vec::new();
    for (place, mask_of) in places {
        let mut acc_points = Vec::new();
        let mut err_points = Vec::new();
        let mut cells = Vec::new();
        for n in counts {
            let done = c.measure(mask_of(n), Completion::MeanField);
            let (error, acc, corrupted_acc) = (done.error, done.accuracy, done.accuracy_incomplete);
            acc_points.push((n as f64, acc));
            err_points.push((n as f64, error));
            cells.push(format!("{:.1}% ({:.3})", 100.0 * acc, error));
            q5_numbers.push(json!({ "place": place, "n": n, "accuracy": acc, "mse_missing": error, "accuracy_incomplete": corrupted_acc }));
        }
        q5.push_str(&format!("| {place} | {} |\n", cells.join(" | ")));
        accuracy_plot = accuracy_plot.with_series(Series::new(place, acc_points));
        error_plot = error_plot.with_series(Series::new(place, err_points));
    }
    let (acc_path, acc_link) = ctx.ctx.figure("rbm-q5-accuracy.png");
    let (err_path, err_link) = ctx.ctx.figure("rbm-q5-error.png");
    accuracy_plot.save(&acc_path)?;
    error_plot.save(&err_path)?;
    q5.push_str(&format!(
        "\nCells: classifier accuracy on the completed digits (MSE on the missing pixels).\n\n\
         ![accuracy]({acc_link})\n\n![error]({err_link})\n\n\
         The more rows are missing, the less the known pixels constrain the hidden units and the \
         more the completion falls back on the model's prior; where the rows are removed matters \
         because MNIST digits carry their distinguishing strokes unevenly (the curves show where).\n"
    ));
    ctx.ctx.write_section(
        "RBM-Q5",
        &q5,
        &json!({ "config": config, "results": q5_numbers }),
    )
}
