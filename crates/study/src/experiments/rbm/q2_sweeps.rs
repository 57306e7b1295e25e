//! RBM-Q2: hidden units, learning rate and training length against reconstructions and
//! likelihood.

use crate::experiment::Question;
use data::figure::{digit_grid, save_png, tensor_values};
use data::plot::{LinePlot, Series};
use serde_json::{Map, json};

use super::{NoExtra, Setup, last, unreliable_ais};
use rbm::train::TrainConfig;

pub static EXPERIMENT: Question = Question {
    id: "RBM-Q2",
    answers: &["RBM-Q2"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// RBM-Q2: hidden units, learning rate and training length.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let base = ctx.base_config();
    let (hidden_sizes, learning_rates) = (ctx.budget.sweep_hidden, ctx.budget.sweep_learning_rates);
    let mut settings: Vec<(String, TrainConfig)> = Vec::new();
    for &hidden in hidden_sizes {
        let mut c = base.clone();
        c.model.hidden = hidden;
        settings.push((format!("{hidden} hidden, lr {}", c.learning_rate), c));
    }
    for &lr in learning_rates {
        let mut c = base.clone();
        c.learning_rate = lr;
        if lr != base.learning_rate {
            settings.push((format!("{} hidden, lr {lr}", c.model.hidden), c));
        }
    }
    let originals = ctx
        .test_batch(&base, None)
        .images
        .slice([0..10, 0..data::PIXELS]);
    let mut rows = vec![tensor_values(originals.clone())];
    let mut mse_plot = LinePlot::new(
        "RBM-Q2: reconstruction error of test digits",
        "epoch",
        "mean squared error",
    )
    .log_y(true);
    let mut md = format!(
        "Every run: PCD-1, momentum {}, batch {}, {} epochs on {} thresholded training digits; AIS \
         ({} chains, {} temperatures) after the last epoch on {} test digits.\n\n\
         | setting | AIS test log-likelihood | AIS ESS | PL exact | test reconstruction MSE | MSE after epoch 1 |\n|---|---:|---:|---:|---:|---:|\n",
        base.momentum,
        base.batch_size,
        base.epochs,
        ctx.train_subset(&base).len(),
        ctx.ais().chains,
        ctx.ais().betas,
        ctx.budget.test_images
    );
    let mut numbers = Vec::new();
    let mut ais_support = Vec::new();
    for (i, (label, config)) in settings.iter().enumerate() {
        let (state, records) =
            ctx.train::<NoExtra>(&format!("q2-{i}"), config, |_| Ok(Map::new()))?;
        let (ll, estimate) = ctx.log_likelihood(&state, config);
        let last = last(&records)?;
        md.push_str(&format!(
            "| {label} | {ll:.2} | {:.1} | {:.2} | {:.4} | {:.4} |\n",
            estimate.effective_sample_size,
            last.metrics.pseudo_likelihood_exact,
            last.metrics.test_reconstruction_mse,
            &records[0].metrics.test_reconstruction_mse
        ));
        mse_plot = mse_plot.with_series(Series::new(
            label.clone(),
            records
                .iter()
                .map(|r| (r.epoch as f64, r.metrics.test_reconstruction_mse))
                .collect(),
        ));
        rows.push(tensor_values(state.rbm.reconstruct(originals.clone())));
        ais_support.push((label.clone(), estimate.effective_sample_size));
        numbers.push(json!({ "setting": label, "config": config, "ais_test_log_likelihood": ll, "ais": estimate, "epochs": records }));
    }
    let (grid_path, grid_link) = ctx.ctx.figure("rbm-q2-reconstructions.png");
    save_png(&digit_grid(&rows.concat(), 10, None), &grid_path)?;
    let (plot_path, plot_link) = ctx.ctx.figure("rbm-q2-reconstruction-error.png");
    mse_plot.save(&plot_path)?;
    md.push_str(&format!(
        "\n![reconstructions]({grid_link})\n\nRows: unseen test digits, then their mean-field \
         reconstructions by each setting, in the order of the table.\n\n![error]({plot_link})\n\n\
         More hidden units give the model more features to explain a digit with, so reconstructions \
         sharpen and the error falls; the likelihood needs more than good reconstructions (a model \
         can reconstruct well and still spread probability badly), which is why both columns are \
         shown. The learning rate trades speed against stability; the curves show the effect of \
         training length epoch by epoch. {}\n",
        unreliable_ais(&ais_support)
    ));
    ctx.ctx
        .write_section("RBM-Q2", &md, &json!({ "runs": numbers }))
}
