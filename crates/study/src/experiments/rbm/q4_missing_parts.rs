//! RBM-Q4: completing hidden parts of test digits, three ways, on two kinds of hole; the
//! same trained model then answers RBM-Q5 (see [`super::q5_rows_removed`]).

use crate::Context;
use crate::experiment::Question;
use burn::tensor::Tensor;
use data::Mask;
use data::figure::{digit_grid, save_png, tensor_values};
use eval::classifier::Classifier;
use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::{Evaluation, NoExtra, Setup, accuracy};
use crate::answer::Answer;
use rbm::inpaint::{Completion, complete, missing_mse};
use rbm::train::{RbmState, TrainConfig};

pub static EXPERIMENT: Question = Question {
    id: "RBM-Q4",
    answers: &["RBM-Q4", "RBM-Q5"],
    run: run_both,
};

fn run_both(ctx: &Context) -> anyhow::Result<()> {
    {
        let setup = Setup::new(ctx)?;
        let config = setup.base_config();
        let (state, _) = setup.train::<NoExtra>("base", &config, |_| Ok(Map::new()))?;
        let completer = Completer {
            classifier: setup.classifier()?,
            steps: setup.budget.completion_steps,
            setup: &setup,
            config,
            state,
        };
        run(&completer)?;
        super::q5_rows_removed::run(&completer)
    }
}

/// The trained model and the classifier that judge every completion.
pub struct Completer<'a> {
    pub setup: &'a Setup<'a>,
    pub config: TrainConfig,
    pub state: RbmState,
    pub classifier: Classifier,
    /// Iterations of each completion.
    pub steps: usize,
}

/// What one completion of the test digits measured.
pub struct Completed {
    /// Mean squared error on the missing pixels.
    pub error: f64,
    /// The same error for the digits left incomplete (the hole left blank): the mean squared
    /// ink of the hole, which the completion's error is read against.
    pub error_unfilled: f64,
    /// Classifier accuracy on the completed digits.
    pub accuracy: f64,
    /// Classifier accuracy on the digits left incomplete.
    pub accuracy_incomplete: f64,
    pub batch: data::ImageBatch,
    pub completed: Tensor<2>,
}

impl Completer<'_> {
    pub fn measure(&self, mask: Mask, how: Completion) -> Completed {
        let batch = self.setup.first_test_images(
            &self.config,
            Some(mask),
            self.setup.budget.completion_images,
        );
        let known = batch.known.clone().expect("masked batch");
        let clean = batch.clean.clone().expect("masked batch");
        let completed = complete(
            &self.state.rbm,
            batch.images.clone(),
            known.clone(),
            self.steps,
            how,
        );
        let error = missing_mse(completed.clone(), clean.clone(), known.clone());
        let error_unfilled = missing_mse(batch.images.clone(), clean, known);
        let acc = accuracy(&self.classifier, completed.clone(), batch.labels.clone());
        let corrupted_acc = accuracy(&self.classifier, batch.images.clone(), batch.labels.clone());
        Completed {
            error,
            error_unfilled,
            accuracy: acc,
            accuracy_incomplete: corrupted_acc,
            batch,
            completed,
        }
    }
}

/// One way of completing one kind of hole, measured on the test digits.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompletionResult {
    pub mask: Mask,
    pub method: Completion,
    /// Mean squared error per missing pixel, pixels in [0, 1].
    pub mse_missing: f64,
    /// The same for the hole left blank: how much ink the hole holds (absent from numbers
    /// written before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mse_unfilled: Option<f64>,
    /// Fraction in [0, 1] of completed digits the classifier reads as their label.
    pub accuracy: f64,
    /// The same for the digits left incomplete.
    pub accuracy_incomplete: f64,
}

/// RBM-Q4's numbers: three ways of completing, on two kinds of hole.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Completions {
    pub config: TrainConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    /// Fraction in [0, 1] of the intact test digits the classifier reads as their label
    /// (optional, so numbers without it still read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_intact: Option<f64>,
    /// Each hole with each method of [`Completion::ALL`], in that order.
    pub results: Vec<CompletionResult>,
}

impl Answer for Completions {
    const ID: &'static str = "RBM-Q4";
}

/// The holes RBM-Q4 completes.
const MASKS: [Mask; 2] = [
    Mask::BottomRows { n: 12 },
    Mask::Quadrant {
        quadrant: data::Quadrant::TopLeft,
    },
];

fn run(c: &Completer) -> anyhow::Result<()> {
    let (ctx, config, classifier) = (c.setup, &c.config, &c.classifier);
    let accuracy_intact = {
        let batch = ctx.first_test_images(config, None, ctx.budget.completion_images);
        accuracy(classifier, batch.images, batch.labels)
    };
    let mut results = Vec::new();
    for mask in MASKS {
        results.extend(complete_hole(c, mask)?);
    }
    ctx.ctx.write_answer(&Completions {
        config: config.clone(),
        evaluation: Some(ctx.evaluation()),
        accuracy_intact: Some(accuracy_intact),
        results,
    })
}

/// Every method on one kind of hole, and their figure: the originals, the digits with the
/// hole, then each method's completions.
fn complete_hole(c: &Completer, mask: Mask) -> anyhow::Result<Vec<CompletionResult>> {
    let mut rows = Vec::new();
    let mut results = Vec::new();
    for how in Completion::ALL {
        let Completed {
            error,
            error_unfilled,
            accuracy: acc,
            accuracy_incomplete,
            batch,
            completed,
        } = c.measure(mask, how);
        results.push(CompletionResult {
            mask,
            method: how,
            mse_missing: error,
            mse_unfilled: Some(error_unfilled),
            accuracy: acc,
            accuracy_incomplete,
        });
        if rows.is_empty() {
            rows.push(tensor_values(
                batch.clean.clone().expect("masked").slice([0..10, 0..784]),
            ));
            rows.push(tensor_values(batch.images.clone().slice([0..10, 0..784])));
        }
        rows.push(tensor_values(completed.slice([0..10, 0..784])));
    }
    let (path, _) = c.setup.ctx.figure(&format!("rbm-q4-{}.png", mask.label()));
    save_png(&digit_grid(&rows.concat(), 10, None), &path)?;
    Ok(results)
}
