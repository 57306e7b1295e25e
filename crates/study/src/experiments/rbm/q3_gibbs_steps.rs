//! RBM-Q3: Gibbs chains of growing length, from test digits and from noise; and the Gibbs
//! steps of training (CD-1, CD-k, PCD-1).

use crate::experiment::Question;
use anyhow::Context as _;
use burn::tensor::{Distribution, Tensor};
use data::figure::{digit_grid, save_png, tensor_values};
use eval::FamilyRecord;
use serde_json::{Map, json};

use super::{NoExtra, Setup, accuracy, last, unreliable_ais};

pub static EXPERIMENT: Question = Question {
    id: "RBM-Q3",
    answers: &["RBM-Q3"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// RBM-Q3: Gibbs chains of growing length, from test digits and from noise.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let config = ctx.base_config();
    let (state, base_records) = ctx.train::<NoExtra>("base", &config, |_| Ok(Map::new()))?;
    let classifier = ctx.classifier()?;
    let device = ctx.device();
    let steps = [1usize, 10, 100, 1000];
    let mut sample_scores = None;
    let chains = 10;
    let batch = ctx.test_batch(&config, None);
    let labels = batch.labels.clone();
    let n = labels.dims()[0];
    let mut md = format!(
        "Model: {} hidden units, PCD-1, {} epochs (thresholded digits). Chains run block Gibbs \
         sampling; after k steps the classifier reads the visible probabilities.\n\n\
         | start | steps | kept their digit (from test) | mean classifier confidence |\n|---|---:|---:|---:|\n",
        config.model.hidden, config.epochs
    );
    let mut numbers = Vec::new();
    let mut figures = Vec::new();
    for from_test in [true, false] {
        let start = if from_test {
            batch.images.clone()
        } else {
            Tensor::<2>::random(
                [n, config.model.visible],
                Distribution::Bernoulli(0.5),
                device,
            )
        };
        let mut rows = vec![tensor_values(
            start.clone().slice([0..chains, 0..config.model.visible]),
        )];
        let started = std::time::Instant::now();
        let snapshots = state.rbm.gibbs_snapshots(start, &steps);
        // Sampling cost: every step up to the last, per 1000 chains.
        let sampling_ms_1000 = started.elapsed().as_secs_f64() * 1e6 / n as f64;
        for (&k, probabilities) in steps.iter().zip(snapshots) {
            let logits = classifier.forward(probabilities.clone());
            let confidence = burn::tensor::activation::softmax(logits, 1)
                .max_dim(1)
                .mean()
                .into_scalar::<f32>() as f64;
            let kept =
                from_test.then(|| accuracy(&classifier, probabilities.clone(), labels.clone()));
            md.push_str(&format!(
                "| {} | {k} | {} | {confidence:.3} |\n",
                if from_test { "test digits" } else { "noise" },
                kept.map_or("–".into(), |a| format!("{:.1}%", 100.0 * a))
            ));
            numbers.push(json!({ "from_test": from_test, "steps": k, "kept_label": kept, "confidence": confidence }));
            rows.push(tensor_values(
                probabilities
                    .clone()
                    .slice([0..chains, 0..config.model.visible]),
            ));
            if !from_test && k == *steps.last().expect("steps") {
                sample_scores = Some(family_record(
                    ctx,
                    probabilities,
                    format!(
                        "{} hidden, PCD-1, {} epochs; {k} Gibbs steps from noise, {n} chains",
                        config.model.hidden, config.epochs
                    ),
                    training_seconds(&base_records),
                    sampling_ms_1000,
                )?);
            }
        }
        let labels_row = std::iter::once("start".to_string())
            .chain(steps.iter().map(|s| format!("{s}")))
            .flat_map(|l| std::iter::repeat_n(l, chains))
            .collect();
        let name = if from_test {
            "rbm-q3-chains-from-test.png"
        } else {
            "rbm-q3-chains-from-noise.png"
        };
        let (path, link) = ctx.ctx.figure(name);
        save_png(&digit_grid(&rows.concat(), chains, Some(labels_row)), &path)?;
        figures.push(format!("![{name}]({link})"));
    }
    let last_step = steps[steps.len() - 1];
    if let Some(record) = &sample_scores {
        md.push_str(&format!(
            "\nThe {n} chains from noise after {last_step} steps, scored as samples by the eval \
             classifier: {}.",
            scores_text(record)
        ));
    }
    // The families are compared on their best models: the shipped strong RBM where this
    // checkout has it (loaded only if its config is the strong preset's), else the model above.
    let strong_config = rbm::train::Preset::Strong.config();
    if let Some((strong, records)) = ctx.shipped::<NoExtra>(&strong_config)? {
        let start = Tensor::<2>::random(
            [n, config.model.visible],
            Distribution::Bernoulli(0.5),
            device,
        );
        let started = std::time::Instant::now();
        let probabilities = strong.rbm.gibbs_snapshots(start, &[last_step]);
        let sampling_ms_1000 = started.elapsed().as_secs_f64() * 1e6 / n as f64;
        let record = family_record(
            ctx,
            probabilities.into_iter().next().context("one snapshot")?,
            format!(
                "strong preset (shipped): {} hidden, CD-{} to CD-{}, {} epochs; {last_step} Gibbs \
                 steps from noise, {n} chains",
                strong_config.model.hidden,
                strong_config.gibbs_steps,
                strong_config.final_gibbs_steps,
                strong_config.epochs
            ),
            training_seconds(&records),
            sampling_ms_1000,
        )?;
        md.push_str(&format!(
            " The shipped strong RBM (RBM-Q1), sampled the same way: {}; it stands for the RBMs \
             in GAN-Q6's comparison and the report's summary.",
            scores_text(&record)
        ));
        sample_scores = Some(record);
    } else if sample_scores.is_some() {
        md.push_str(" GAN-Q6 compares them with the other families.");
    }
    if let Some(record) = &sample_scores {
        md.push('\n');
        record.write(ctx.ctx.reports(), "rbm")?;
    }
    md.push('\n');
    for figure in figures {
        md.push_str(&format!("{figure}\n\n"));
    }
    md.push_str(
        "Rows: the starting images, then the chains after 1, 10, 100 and 1000 steps. A chain started \
         at a digit first reproduces it (one step is a reconstruction), then mixes: the share of \
         chains the classifier still reads as their original digit is the table's third column. \
         Chains from noise need many steps to reach digit-like states; how far they get in 1000 steps \
         measures how well the sampler mixes between the model's modes.\n",
    );
    // Gibbs steps in training: CD-1, CD-k and PCD-1 on the same data, same budget of epochs.
    let k = ctx.budget.long_cd_steps;
    md.push_str(&format!(
        "\n**Gibbs steps in training.** The same model trained with CD-1, CD-{k} and PCD-1 \
         ({} epochs), scored by AIS on {} test digits:\n\n\
         | training | AIS test log-likelihood | AIS ESS | PL exact | test reconstruction MSE | seconds per epoch |\n|---|---:|---:|---:|---:|---:|\n",
        config.epochs,
        ctx.budget.test_images
    ));
    let mut training = Vec::new();
    let mut ais_support = Vec::new();
    for (label, persistent, steps) in [
        ("CD-1".to_string(), false, 1),
        (format!("CD-{k}"), false, k),
        ("PCD-1".to_string(), true, 1),
    ] {
        let variant = config
            .clone()
            .with_persistent(persistent)
            .with_gibbs_steps(steps);
        let (trained, records) =
            ctx.train::<NoExtra>(&format!("q3-{}", label.to_lowercase()), &variant, |_| {
                Ok(Map::new())
            })?;
        let (ll, estimate) = ctx.log_likelihood(&trained, &variant);
        let last = last(&records)?;
        let seconds = records
            .iter()
            .map(|r| r.metrics.train_seconds.unwrap_or(f64::NAN))
            .sum::<f64>()
            / records.len() as f64;
        md.push_str(&format!(
            "| {label} | {ll:.2} | {:.1} | {:.2} | {:.4} | {seconds:.1} |\n",
            estimate.effective_sample_size,
            last.metrics.pseudo_likelihood_exact,
            last.metrics.test_reconstruction_mse
        ));
        ais_support.push((label.clone(), estimate.effective_sample_size));
        training.push(json!({ "training": label, "ais_test_log_likelihood": ll, "ais": estimate, "epochs": records }));
    }
    md.push_str(&format!(
        "\nCD-k starts its negative chain at the data: with k = 1 the chain barely moves, so the \
         update only pushes down the energy of states next to the data and leaves distant spurious \
         modes untouched (good reconstructions, worse likelihood). More steps make the negative \
         statistics closer to the model's, at k times the cost per update. PCD keeps its chains \
         running across updates, so they explore the model's modes at the cost of one step. {}\n",
        unreliable_ais(&ais_support)
    ));
    ctx.ctx.write_section(
        "RBM-Q3",
        &md,
        &json!({ "config": config, "chains": numbers, "training": training, "sample_scores": sample_scores }),
    )
}

/// Chains' final visible probabilities scored as the RBM family's samples, with the first
/// row of them saved as the family's figure.
fn family_record(
    ctx: &Setup,
    probabilities: Tensor<2>,
    run: String,
    train_seconds: f64,
    sampling_ms_1000: f64,
) -> anyhow::Result<FamilyRecord> {
    let shown = tensor_values(probabilities.clone().slice([0..10, 0..data::PIXELS]));
    let scores = ctx
        .ctx
        .evaluator()?
        .score_tensor(probabilities, data::Scale::ZeroOne);
    let (path, samples_figure) = ctx.ctx.figure("family-rbm.png");
    save_png(&digit_grid(&shown, 10, None), &path)?;
    Ok(FamilyRecord {
        family: "RBM".into(),
        from: "RBM-Q3".into(),
        run,
        scores,
        train_seconds,
        sampling_ms_1000,
        samples_figure,
    })
}

/// A run's training time by its epoch records.
fn training_seconds(records: &[super::Logged<NoExtra>]) -> f64 {
    records
        .iter()
        .map(|r| r.metrics.train_seconds.unwrap_or(f64::NAN))
        .sum()
}

/// The scores a family record's sentence quotes.
fn scores_text(record: &FamilyRecord) -> String {
    let s = &record.scores;
    format!(
        "FID {:.1}, {} classes covered, precision {:.3}, recall {:.3}",
        s.fid, s.classes.classes_covered, s.precision_recall.precision, s.precision_recall.recall,
    )
}
