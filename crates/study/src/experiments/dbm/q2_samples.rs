//! DBM-Q2: samples of the DBM (its persistent chains and fresh chains after 1 to 1000
//! sweeps) against an RBM's drawn the same way: eval scores and AIS likelihoods.

use burn::tensor::Tensor;
use data::figure::{digit_grid, save_png, tensor_values};
use dbm::train::TrainConfig;
use eval::{FamilyRecord, SampleScores};
use rbm::ais::LogZEstimate;
use serde::{Deserialize, Serialize};

use super::q2_published::{Evaluation, PUBLISHED_DBM};
use super::{Setup, TrainedDbm};
use crate::answer::Answer;
use crate::experiment::Question;

pub static EXPERIMENT: Question = Question {
    id: "DBM-Q2",
    answers: &["DBM-Q2"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Cumulative Gibbs sweeps (DBM) or steps (RBM) after which the chains are shown.
const SWEEPS: [usize; 4] = [1, 10, 100, 1000];
/// Chains per grid row.
const SHOWN: usize = 10;

/// DBM-Q2's numbers: both models' samples and likelihoods, and the shipped DBM's evaluation
/// against the published one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DbmSamples {
    /// The quick (CI) profile's small, briefly trained models rather than the full ones.
    pub quick: bool,
    pub dbm_config: TrainConfig,
    pub rbm_config: rbm::TrainConfig,
    /// Chains drawn per model, each from fair coins.
    pub chains: usize,
    /// Gibbs sweeps (DBM) or steps (RBM) each chain ran before it was scored.
    pub sweeps: usize,
    /// Persistent training chains of the DBM shown after one more sweep.
    pub persistent_chains: usize,
    /// Thresholded test digits both likelihoods average over.
    pub test_images: usize,
    pub dbm: DbmMeasures,
    pub rbm: RbmMeasures,
    /// RBM-Q1's strong RBM, sampled the same way, with the AIS evaluation its shipped run
    /// carries (absent where this checkout ships no strong RBM, and from numbers written
    /// before it was compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strong_rbm: Option<StrongRbm>,
    /// `dbm evaluate`'s AIS run over the shipped DBM on stochastically binarised test digits
    /// (none where the DBM was trained here, or was never evaluated so).
    pub against_published: Option<Evaluation>,
    /// The bound Salakhutdinov & Hinton (2009) report for their 784-500-1000 DBM, nats per
    /// image.
    pub published: f64,
}

/// The DBM's measures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DbmMeasures {
    /// Mean-field lower bound on the test log-likelihood given the AIS `log Z`, nats per
    /// image.
    pub test_log_likelihood_bound: f64,
    pub ais: LogZEstimate,
    /// Whether the AIS estimate rests on at least `rbm::ais::MIN_ESS_FRACTION` of its chains
    /// (effective sample size): below that a few chains carry it and it is not trusted.
    pub ais_well_supported: bool,
    pub scores: SampleScores,
    /// Milliseconds to run one chain through every sweep, per 1000 chains.
    pub sampling_ms_1000: f64,
}

/// The RBM's measures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RbmMeasures {
    /// Test log-likelihood given the AIS `log Z`, nats per image.
    pub test_log_likelihood: f64,
    pub ais: LogZEstimate,
    /// Whether the AIS estimate rests on at least `rbm::ais::MIN_ESS_FRACTION` of its chains
    /// (effective sample size): below that a few chains carry it and it is not trusted.
    pub ais_well_supported: bool,
    pub scores: SampleScores,
    /// Milliseconds to run one chain through every step, per 1000 chains.
    pub sampling_ms_1000: f64,
}

/// The strong RBM's measures: samples drawn as the DBM's are, and the likelihood its shipped
/// run's `rbm evaluate` wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StrongRbm {
    pub config: rbm::TrainConfig,
    pub scores: SampleScores,
    /// Milliseconds to run one chain through every step, per 1000 chains.
    pub sampling_ms_1000: f64,
    /// On stochastically binarised test digits, as the DBM's `against_published`.
    pub evaluation: Option<rbm::ais::AisEvaluation>,
}

impl Answer for DbmSamples {
    const ID: &'static str = "DBM-Q2";
}

/// Fresh chains of one model: the first `SHOWN` chains after each of `SWEEPS`, the visible
/// probabilities of every chain at the end, and the time they took.
struct FreshChains {
    rows: Vec<Vec<f32>>,
    last: Tensor<2>,
    ms_1000: f64,
}

fn run(setup: &Setup) -> anyhow::Result<()> {
    let trained = setup.dbm()?;
    let rbm = setup.rbm(&trained.config)?;
    // Loaded here, as always: its classifier's initial weights come from the device's stream,
    // which the chains below draw from too.
    let evaluator = setup.ctx.evaluator()?;
    let persistent_chains = persistent_figure(setup, &trained)?;
    let dbm_chains = dbm_chains(setup, &trained);
    let rbm_chains = fresh_rbm_chains(setup, &rbm.state.rbm);
    let strong = setup.strong_rbm()?;
    let strong_chains = strong
        .as_ref()
        .map(|(trained, _)| fresh_rbm_chains(setup, &trained.state.rbm));
    let mut figures = vec![
        ("dbm-q2-fresh-chains.png", &dbm_chains),
        ("dbm-q2-rbm-fresh-chains.png", &rbm_chains),
    ];
    if let Some(chains) = &strong_chains {
        figures.push(("dbm-q2-strong-rbm-fresh-chains.png", chains));
    }
    for (file, chains) in figures {
        let labels = SWEEPS
            .iter()
            .flat_map(|s| std::iter::repeat_n(s.to_string(), SHOWN))
            .collect();
        let (path, _) = setup.ctx.figure(file);
        save_png(
            &digit_grid(&chains.rows.concat(), SHOWN, Some(labels)),
            &path,
        )?;
    }
    let autodiff = setup.ctx.selected.autodiff();
    let score = |chains: &Tensor<2>| {
        evaluator.score_tensor_for_verdict(chains.clone(), data::Scale::ZeroOne, &autodiff)
    };
    let (dbm_scores, rbm_scores) = (score(&dbm_chains.last)?, score(&rbm_chains.last)?);
    let strong_rbm = strong
        .zip(strong_chains)
        .map(|((trained, evaluation), chains)| -> anyhow::Result<_> {
            Ok(StrongRbm {
                scores: score(&chains.last)?,
                sampling_ms_1000: chains.ms_1000,
                config: trained.config,
                evaluation,
            })
        })
        .transpose()?;
    let (dbm_ll, dbm_log_z) = setup.dbm_log_likelihood(&trained.dbm, &trained.config);
    let (rbm_ll, rbm_log_z) = setup.rbm_log_likelihood(&rbm);
    write_family_record(setup, &trained, &dbm_chains, &dbm_scores)?;
    let numbers = DbmSamples {
        quick: setup.ctx.quick(),
        chains: setup.budget.chains,
        sweeps: SWEEPS[SWEEPS.len() - 1],
        persistent_chains,
        test_images: setup.budget.test_images,
        dbm: DbmMeasures {
            test_log_likelihood_bound: dbm_ll,
            ais_well_supported: well_supported(&dbm_log_z),
            ais: dbm_log_z,
            scores: dbm_scores,
            sampling_ms_1000: dbm_chains.ms_1000,
        },
        rbm: RbmMeasures {
            test_log_likelihood: rbm_ll,
            ais_well_supported: well_supported(&rbm_log_z),
            ais: rbm_log_z,
            scores: rbm_scores,
            sampling_ms_1000: rbm_chains.ms_1000,
        },
        strong_rbm,
        against_published: trained.shipped.as_deref().and_then(Evaluation::read),
        published: PUBLISHED_DBM,
        dbm_config: trained.config,
        rbm_config: rbm.config,
    };
    setup.ctx.write_answer(&numbers)
}

fn well_supported(estimate: &LogZEstimate) -> bool {
    estimate.effective_sample_size >= rbm::ais::MIN_ESS_FRACTION * estimate.chains as f64
}

/// The first `SHOWN` of `chains` rows.
fn shown(chains: &Tensor<2>) -> Vec<f32> {
    let [count, visible] = chains.dims();
    tensor_values(chains.clone().slice([0..SHOWN.min(count), 0..visible]))
}

/// The persistent chains at the end of training, after one more sweep (their visible
/// probabilities); returns how many there are.
fn persistent_figure(setup: &Setup, trained: &TrainedDbm) -> anyhow::Result<usize> {
    let persistent = trained.dbm.gibbs_sweep(trained.chains.clone());
    let count = persistent.visible_probabilities.dims()[0];
    let visible = trained.dbm.sizes()[0];
    let values = tensor_values(persistent.visible_probabilities);
    let (path, _) = setup.ctx.figure("dbm-q2-persistent-chains.png");
    save_png(
        &digit_grid(&values[..values.len().min(50 * visible)], 10, None),
        &path,
    )?;
    Ok(count)
}

/// The DBM's fresh chains from fair coins on its first layer.
fn dbm_chains(setup: &Setup, trained: &TrainedDbm) -> FreshChains {
    let chains = setup.budget.chains;
    let started = std::time::Instant::now();
    let mut hidden_1 = setup.coins(chains, trained.dbm.sizes()[1]);
    let (mut rows, mut last, mut done) = (Vec::new(), None, 0);
    for &target in &SWEEPS {
        let sweep = trained.dbm.gibbs(hidden_1, target - done);
        rows.push(shown(&sweep.visible_probabilities));
        hidden_1 = sweep.state.hidden_1.clone();
        last = Some(sweep.visible_probabilities);
        done = target;
    }
    FreshChains {
        rows,
        last: last.expect("at least one sweep count"),
        ms_1000: started.elapsed().as_secs_f64() * 1e6 / chains as f64,
    }
}

/// The RBM's fresh chains from fair coins on its pixels.
fn fresh_rbm_chains(setup: &Setup, rbm: &rbm::Rbm) -> FreshChains {
    let chains = setup.budget.chains;
    let visible = rbm.visible();
    let started = std::time::Instant::now();
    let snapshots = rbm.gibbs_snapshots(setup.coins(chains, visible), &SWEEPS);
    let ms_1000 = started.elapsed().as_secs_f64() * 1e6 / chains as f64;
    FreshChains {
        rows: snapshots.iter().map(shown).collect(),
        last: snapshots.last().expect("at least one step count").clone(),
        ms_1000,
    }
}

/// The DBM's row of the cross-family comparison (GAN-Q6).
fn write_family_record(
    setup: &Setup,
    trained: &TrainedDbm,
    chains: &FreshChains,
    scores: &SampleScores,
) -> anyhow::Result<()> {
    let [_, h1, h2] = trained.dbm.sizes();
    let (path, samples_figure) = setup.ctx.figure("family-dbm.png");
    save_png(&digit_grid(&shown(&chains.last), SHOWN, None), &path)?;
    FamilyRecord {
        family: "DBM".into(),
        from: "DBM-Q2".into(),
        run: format!(
            "784-{h1}-{h2}; {} Gibbs sweeps from coins, {} chains",
            SWEEPS[SWEEPS.len() - 1],
            setup.budget.chains
        ),
        scores: scores.clone(),
        train_seconds: trained.records.iter().map(|r| r.train_seconds).sum::<f64>(),
        sampling_ms_1000: chains.ms_1000,
        samples_figure,
    }
    .write(setup.ctx.reports(), "dbm")
}
