//! RBM-Q3: Gibbs chains of growing length, from test digits and from noise; and the Gibbs
//! steps of training (CD-1, CD-k, PCD-1).

use crate::answer::Answer;
use crate::experiment::Question;
use anyhow::Context as _;
use burn::tensor::{Distribution, Tensor};
use data::figure::{digit_grid, save_png, tensor_values};
use eval::{FamilyRecord, SampleScores};
use rbm::ais::LogZEstimate;
use rbm::train::{RbmState, TrainConfig};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::{Evaluation, Logged, NoExtra, Setup, accuracy};
use eval::classifier::Classifier;

pub static EXPERIMENT: Question = Question {
    id: "RBM-Q3",
    answers: &["RBM-Q3"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Gibbs steps after which the chains are read.
const STEPS: [usize; 4] = [1, 10, 100, 1000];

/// Chains shown per figure row.
const SHOWN: usize = 10;

/// One reading of the chains: where they started, after how many steps, what the classifier
/// made of them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainReading {
    /// Started at test digits (else at uniform noise).
    pub from_test: bool,
    pub steps: usize,
    /// Fraction in [0, 1] of chains still classified as their starting digit's label (null
    /// for chains from noise).
    pub kept_label: Option<f64>,
    /// Mean of the classifier's top softmax probability, in [0, 1].
    pub confidence: f64,
}

/// One way of training the model (CD-1, CD-k, PCD-1), scored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainingRun {
    /// E.g. "CD-25".
    pub training: String,
    /// Nats per test image, by `ais`.
    pub ais_test_log_likelihood: f64,
    pub ais: LogZEstimate,
    /// Every epoch's monitor (pseudo-likelihoods in nats per image, reconstruction error per
    /// pixel, training seconds).
    pub epochs: Vec<Logged<NoExtra>>,
    /// Its chains from noise after the last step count, scored as samples (absent from
    /// numbers written before they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<SampleScores>,
}

/// Chains from noise each training's model is sampled with: enough to rank the three, fewer
/// than the family comparison's, to keep the section's run short.
const COMPARED_CHAINS: usize = 2_000;

/// RBM-Q3's numbers: the chains of the model, its samples, and its training by CD-1, CD-k
/// and PCD-1.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GibbsSteps {
    pub config: TrainConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    /// From test digits, then from noise, each after every step count of [`STEPS`].
    pub chains: Vec<ChainReading>,
    /// The model's chains from noise after the last step count, scored as samples (optional,
    /// so numbers without it still read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_chain_scores: Option<SampleScores>,
    /// The record that stands for the RBMs in the family comparison: the shipped strong RBM
    /// sampled the same way where this checkout has it, else the model's chains from noise.
    pub sample_scores: Option<FamilyRecord>,
    pub training: Vec<TrainingRun>,
}

impl Answer for GibbsSteps {
    const ID: &'static str = "RBM-Q3";
}

/// RBM-Q3: Gibbs chains of growing length, from test digits and from noise.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let config = ctx.base_config();
    let (state, base_records) = ctx.train::<NoExtra>("base", &config, |_| Ok(Map::new()))?;
    let model = Model {
        state,
        records: base_records,
        classifier: ctx.classifier()?,
        batch: ctx.test_batch(&config, None),
    };
    let mut chains = Vec::new();
    let mut noise_record = None;
    for from_test in [true, false] {
        let (readings, record) = read_chains(ctx, &model, from_test)?;
        chains.extend(readings);
        noise_record = noise_record.or(record);
    }
    let noise_chain_scores = noise_record.as_ref().map(|r| r.scores.clone());
    let sample_scores = shipped_strong_record(ctx, model.batch.labels.dims()[0])?.or(noise_record);
    if let Some(record) = &sample_scores {
        record.write(ctx.ctx.reports(), "rbm")?;
    }
    let numbers = GibbsSteps {
        evaluation: Some(ctx.evaluation()),
        chains,
        noise_chain_scores,
        sample_scores,
        training: train_each_way(
            ctx,
            &config,
            COMPARED_CHAINS.min(model.batch.labels.dims()[0]),
        )?,
        config,
    };
    ctx.ctx.write_answer(&numbers)
}

/// The model whose chains are read, and what reads them.
struct Model {
    state: RbmState,
    records: Vec<Logged<NoExtra>>,
    classifier: Classifier,
    /// The test digits the chains start from (and as many chains start from noise).
    batch: data::ImageBatch,
}

/// The chains from the test digits (or from noise) read after every step count, their
/// figure, and (from noise) the last reading scored as the family's samples.
fn read_chains(
    ctx: &Setup,
    model: &Model,
    from_test: bool,
) -> anyhow::Result<(Vec<ChainReading>, Option<FamilyRecord>)> {
    let config = ctx.base_config();
    let Model {
        state,
        records: base_records,
        classifier,
        batch,
    } = model;
    let labels = batch.labels.clone();
    let n = labels.dims()[0];
    let visible = config.model.visible;
    let start = if from_test {
        batch.images.clone()
    } else {
        Tensor::<2>::random([n, visible], Distribution::Bernoulli(0.5), ctx.device())
    };
    let mut rows = vec![tensor_values(start.clone().slice([0..SHOWN, 0..visible]))];
    let started = std::time::Instant::now();
    let snapshots = state.rbm.gibbs_snapshots(start, &STEPS);
    // Sampling cost: every step up to the last, per 1000 chains.
    let sampling_ms_1000 = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    let mut readings = Vec::new();
    let mut record = None;
    for (&k, probabilities) in STEPS.iter().zip(snapshots) {
        let logits = classifier.forward(probabilities.clone());
        let confidence = burn::tensor::activation::softmax(logits, 1)
            .max_dim(1)
            .mean()
            .into_scalar::<f32>() as f64;
        let kept = from_test.then(|| accuracy(classifier, probabilities.clone(), labels.clone()));
        readings.push(ChainReading {
            from_test,
            steps: k,
            kept_label: kept,
            confidence,
        });
        rows.push(tensor_values(
            probabilities.clone().slice([0..SHOWN, 0..visible]),
        ));
        if !from_test && k == STEPS[STEPS.len() - 1] {
            let run = format!(
                "{} hidden, PCD-1, {} epochs; {k} Gibbs steps from noise, {n} chains",
                config.model.hidden, config.epochs
            );
            let seconds = training_seconds(base_records);
            record = Some(family_record(
                ctx,
                probabilities,
                run,
                seconds,
                sampling_ms_1000,
            )?);
        }
    }
    let labels_row = std::iter::once("start".to_string())
        .chain(STEPS.iter().map(|s| format!("{s}")))
        .flat_map(|l| std::iter::repeat_n(l, SHOWN))
        .collect();
    let name = if from_test {
        "rbm-q3-chains-from-test.png"
    } else {
        "rbm-q3-chains-from-noise.png"
    };
    let (path, _) = ctx.ctx.figure(name);
    save_png(&digit_grid(&rows.concat(), SHOWN, Some(labels_row)), &path)?;
    Ok((readings, record))
}

/// The shipped strong RBM sampled like the model (the families are compared on their best
/// models), where this checkout has it and its config is the strong preset's.
fn shipped_strong_record(ctx: &Setup, n: usize) -> anyhow::Result<Option<FamilyRecord>> {
    let strong_config = rbm::train::Preset::Strong.config();
    let Some((strong, records)) = ctx.shipped::<NoExtra>(&strong_config)? else {
        return Ok(None);
    };
    let last_step = STEPS[STEPS.len() - 1];
    let start = Tensor::<2>::random(
        [n, strong_config.model.visible],
        Distribution::Bernoulli(0.5),
        ctx.device(),
    );
    let started = std::time::Instant::now();
    let probabilities = strong.rbm.gibbs_snapshots(start, &[last_step]);
    let sampling_ms_1000 = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    let run = format!(
        "strong preset (shipped): {} hidden, CD-{} to CD-{}, {} epochs; {last_step} Gibbs \
         steps from noise, {n} chains",
        strong_config.model.hidden,
        strong_config.gibbs_steps,
        strong_config.final_gibbs_steps,
        strong_config.epochs
    );
    let record = family_record(
        ctx,
        probabilities.into_iter().next().context("one snapshot")?,
        run,
        training_seconds(&records),
        sampling_ms_1000,
    )?;
    Ok(Some(record))
}

/// Gibbs steps in training: CD-1, CD-k and PCD-1 on the same data, same budget of epochs,
/// each model's `chains` chains from noise scored as samples.
fn train_each_way(
    ctx: &Setup,
    config: &TrainConfig,
    chains: usize,
) -> anyhow::Result<Vec<TrainingRun>> {
    let k = ctx.budget.long_cd_steps;
    let mut training = Vec::new();
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
        training.push(TrainingRun {
            training: label,
            ais_test_log_likelihood: ll,
            ais: estimate,
            epochs: records,
            samples: Some(noise_samples(ctx, &trained.rbm, chains)?),
        });
    }
    Ok(training)
}

/// `n` chains of `rbm` started at uniform noise, after the last step count, scored as samples.
fn noise_samples(ctx: &Setup, rbm: &rbm::Rbm, n: usize) -> anyhow::Result<SampleScores> {
    let start = Tensor::<2>::random(
        [n, data::PIXELS],
        Distribution::Bernoulli(0.5),
        ctx.device(),
    );
    let last = (rbm
        .gibbs_snapshots(start, &[STEPS[STEPS.len() - 1]])
        .into_iter())
    .next()
    .context("one snapshot")?;
    let autodiff = ctx.ctx.selected.autodiff();
    ctx.ctx
        .evaluator()?
        .score_tensor_for_verdict(last, data::Scale::ZeroOne, &autodiff)
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
    let scores = ctx.ctx.evaluator()?.score_tensor_for_verdict(
        probabilities,
        data::Scale::ZeroOne,
        &ctx.ctx.selected.autodiff(),
    )?;
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
fn training_seconds(records: &[Logged<NoExtra>]) -> f64 {
    records
        .iter()
        .map(|r| r.metrics.train_seconds.unwrap_or(f64::NAN))
        .sum()
}
