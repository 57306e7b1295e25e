//! RBM-Q4: completing hidden parts of test digits, three ways, on two kinds of hole; the
//! same trained model then answers RBM-Q5 (see [`super::q5_rows_removed`]).

use crate::Context;
use crate::experiment::Question;
use burn::tensor::Tensor;
use data::Mask;
use data::figure::{digit_grid, save_png, tensor_values};
use eval::classifier::Classifier;
use serde_json::{Map, json};

use super::{NoExtra, Setup, accuracy};
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
        let error = missing_mse(completed.clone(), clean, known);
        let acc = accuracy(&self.classifier, completed.clone(), batch.labels.clone());
        let corrupted_acc = accuracy(&self.classifier, batch.images.clone(), batch.labels.clone());
        Completed {
            error,
            accuracy: acc,
            accuracy_incomplete: corrupted_acc,
            batch,
            completed,
        }
    }
}

fn run(c: &Completer) -> anyhow::Result<()> {
    let (ctx, config, steps, classifier) = (c.setup, &c.config, c.steps, &c.classifier);

    // RBM-Q4: three ways of completing, on two kinds of hole.
    let clean_acc = {
        let batch = ctx.first_test_images(config, None, ctx.budget.completion_images);
        accuracy(classifier, batch.images, batch.labels)
    };
    let mut q4 = format!(
        "Model: {} hidden units, PCD-1, {} epochs (thresholded digits); {} iterations per completion; \
         {} test digits. Classifier accuracy on the intact digits: {:.1}%.\n\n\
         | hole | method | MSE on missing pixels | classifier accuracy | accuracy left incomplete |\n|---|---|---:|---:|---:|\n",
        config.model.hidden,
        config.epochs,
        steps,
        ctx.budget.completion_images,
        100.0 * clean_acc
    );
    let mut q4_numbers = Vec::new();
    let mut q4_figures = String::new();
    for mask in [
        Mask::BottomRows { n: 12 },
        Mask::Quadrant {
            quadrant: data::Quadrant::TopLeft,
        },
    ] {
        let mut rows = Vec::new();
        for how in Completion::ALL {
            let Completed {
                error,
                accuracy: acc,
                accuracy_incomplete: corrupted_acc,
                batch,
                completed,
            } = c.measure(mask, how);
            q4.push_str(&format!(
                "| {} | {} | {error:.4} | {:.1}% | {:.1}% |\n",
                mask.label(),
                how.name(),
                100.0 * acc,
                100.0 * corrupted_acc
            ));
            q4_numbers.push(json!({ "mask": mask, "method": how, "mse_missing": error, "accuracy": acc, "accuracy_incomplete": corrupted_acc }));
            if rows.is_empty() {
                rows.push(tensor_values(
                    batch.clean.clone().expect("masked").slice([0..10, 0..784]),
                ));
                rows.push(tensor_values(batch.images.clone().slice([0..10, 0..784])));
            }
            rows.push(tensor_values(completed.slice([0..10, 0..784])));
        }
        let name = format!("rbm-q4-{}.png", mask.label());
        let (path, link) = ctx.ctx.figure(&name);
        save_png(&digit_grid(&rows.concat(), 10, None), &path)?;
        q4_figures.push_str(&format!("![{name}]({link})\n\n"));
    }
    q4.push_str(&format!(
        "\n{q4_figures}Rows of each figure: original, with the hole, then free-running Gibbs, clamped \
         Gibbs, clamped mean-field.\n\n"
    ));
    q4.push_str(
        "The free-running chain (the course's method) resamples the known pixels too, so it may \
         wander off the digit it was given; clamping the known pixels turns the chain into a sampler \
         of `p(missing | known)`, and mean-field replaces sampling by its deterministic average. \
         Compare the rows of the table: error on the hole and whether the completed digit is \
         recognised as the right one.\n",
    );
    ctx.ctx.write_section(
        "RBM-Q4",
        &q4,
        &json!({ "config": config, "results": q4_numbers }),
    )
}
