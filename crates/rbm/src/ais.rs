//! The true likelihood of an RBM: its partition function `Z` estimated by annealed importance
//! sampling (Salakhutdinov & Murray 2008), and computed exactly for models small enough to
//! enumerate (the tests' ground truth).
//!
//! AIS anneals from a base-rate model `p_A(v) ∝ exp(v·b_A)` (independent pixels with the
//! training data's marginals, `W = 0`) to the RBM through the intermediate distributions
//! `log p*_β(v) = (1−β) v·b_A + β v·b + Σⱼ softplus(β (v Wᵀ + c)ⱼ)`, each chain carrying an
//! importance weight. `Z_B / Z_A` is the mean weight; the effective sample size of the
//! weights says whether that mean can be trusted.

use burn::config::Config;
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::model::{Rbm, bernoulli};
use data::sampling::sigmoid_bernoulli;

#[derive(Config, Debug)]
pub struct AisConfig {
    /// Independent annealing runs.
    #[config(default = 100)]
    pub chains: usize,
    /// Intermediate distributions. Salakhutdinov & Murray use 14,500: 500 with β in
    /// [0, 0.5), 4,000 in [0.5, 0.9) and 10,000 in [0.9, 1]; shorter schedules keep those
    /// proportions.
    #[config(default = 14_500)]
    pub betas: usize,
    #[config(default = 0)]
    pub seed: u64,
}

/// An AIS estimate of `log Z`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogZEstimate {
    pub log_z: f64,
    /// `log(mean ± 3 standard errors)` of the importance weights; the lower end is −∞ (here
    /// `null`) when three standard errors exceed the mean.
    pub log_z_low: Option<f64>,
    pub log_z_high: f64,
    pub log_z_base: f64,
    /// `(Σw)² / Σw²`: how many chains effectively carry the estimate.
    pub effective_sample_size: f64,
    pub chains: usize,
    pub betas: usize,
}

/// What `rbm evaluate` writes to `ais.json` (one file per test binarisation): the test
/// log-likelihood under each of the two schedules, the exact one for models small enough to
/// enumerate, and the convergence verdict (RBM-Q1 reads it back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AisEvaluation {
    /// How the test digits were binarised.
    pub test_input: crate::train::InputMode,
    pub test_images: usize,
    /// With `--betas` temperatures.
    pub short: ScheduleScore,
    /// With four times as many: the estimate to report when `convergence` says so.
    pub long: ScheduleScore,
    /// With `log Z` summed over every hidden state (20 hidden units or fewer).
    pub exact: Option<ExactScore>,
    pub convergence: Convergence,
}

/// The test log-likelihood with one AIS estimate of `log Z`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleScore {
    pub estimate: LogZEstimate,
    /// Mean over the test digits, nats per image.
    pub test_log_likelihood: f64,
}

/// The test log-likelihood with the exact `log Z`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExactScore {
    pub log_z: f64,
    /// Mean over the test digits, nats per image.
    pub test_log_likelihood: f64,
}

/// Whether an estimate can be reported: judged from the same estimate with a schedule four
/// times longer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// `log Z` of the longer schedule minus that of the shorter one.
    pub log_z_shift: f64,
    /// The longer schedule's effective sample size as a fraction of its chains.
    pub ess_fraction: f64,
    pub converged: bool,
    /// Why not, in words, when not converged.
    pub problems: Vec<String>,
}

/// Largest `log Z` shift (nats) between a schedule and one four times longer.
pub const MAX_LOG_Z_SHIFT: f64 = 1.0;
/// Smallest share of chains that must effectively carry the estimate: below it, a few
/// chains' weights decide `log Z` and the error bar itself is unreliable.
pub const MIN_ESS_FRACTION: f64 = 0.1;

/// Compares an estimate with the one from a 4x longer schedule: converged when `log Z`
/// moved by less than [`MAX_LOG_Z_SHIFT`] *and* the longer run's weights are spread over at
/// least [`MIN_ESS_FRACTION`] of its chains. A stable `log Z` with a tiny ESS is not
/// convergence: a rare heavy chain that neither run drew would move it.
pub fn convergence(short: &LogZEstimate, long: &LogZEstimate) -> Convergence {
    let log_z_shift = long.log_z - short.log_z;
    let ess_fraction = long.effective_sample_size / long.chains.max(1) as f64;
    let mut problems = Vec::new();
    if !(short.log_z.is_finite() && long.log_z.is_finite()) {
        problems.push(format!(
            "log Z is not finite ({} and {}): the weights hold NaN or infinity",
            short.log_z, long.log_z
        ));
    }
    if log_z_shift.abs() >= MAX_LOG_Z_SHIFT {
        problems.push(format!(
            "log Z moved by {log_z_shift:.2} nats with the 4x longer schedule"
        ));
    }
    if ess_fraction.is_nan() || ess_fraction < MIN_ESS_FRACTION {
        problems.push(format!(
            "effective sample size {:.1} of {} chains ({:.1}%)",
            long.effective_sample_size,
            long.chains,
            100.0 * ess_fraction
        ));
    }
    Convergence {
        log_z_shift,
        ess_fraction,
        converged: problems.is_empty(),
        problems,
    }
}

/// The annealing schedule: `n` inverse temperatures from 0 to 1 in the proportions of
/// Salakhutdinov & Murray (2008).
pub fn schedule(n: usize) -> Vec<f64> {
    assert!(n >= 3, "at least 3 temperatures");
    let first = (n * 500 / 14_500).max(1);
    let second = (n * 4_000 / 14_500).max(1);
    let third = n - first - second;
    let mut betas = Vec::with_capacity(n);
    let segment = |betas: &mut Vec<f64>, from: f64, to: f64, count: usize, last: bool| {
        for i in 0..count {
            let denom = if last { (count - 1).max(1) } else { count } as f64;
            betas.push(from + (to - from) * i as f64 / denom);
        }
    };
    segment(&mut betas, 0.0, 0.5, first, false);
    segment(&mut betas, 0.5, 0.9, second, false);
    segment(&mut betas, 0.9, 1.0, third, true);
    betas
}

/// Visible biases of the base-rate model: the log-odds of each pixel's mean on the training
/// data, smoothed so that never-lit pixels get a finite bias.
pub fn base_rate_bias(pixel_means: &[f32], train_images: usize) -> Vec<f32> {
    let n = train_images as f32;
    pixel_means
        .iter()
        .map(|&m| {
            let p = (m * n + 0.05) / (n + 0.1);
            (p / (1.0 - p)).ln()
        })
        .collect()
}

/// `log p*_β(v)` given the hidden pre-activations `x = v Wᵀ + c`, `[chains]`.
fn log_unnormalised(
    v: &Tensor<2>,
    x: &Tensor<2>,
    base: &Tensor<1>,
    rbm: &Rbm,
    beta: f64,
) -> Tensor<1> {
    let visible =
        v.clone() * (base.clone() * (1.0 - beta) + rbm.visible_bias.val() * beta).unsqueeze();
    let hidden = softplus(x.clone() * beta, 1.0);
    (visible.sum_dim(1) + hidden.sum_dim(1)).squeeze_dim(1)
}

/// A model AIS can anneal to from a tractable base model: the RBM here, a DBM (whose
/// chains also carry a hidden layer) by the same [`anneal`].
pub trait Annealable {
    /// The state of all chains, e.g. their visible units `[chains, visible]`.
    type State;
    /// `log Z` of the base model (β = 0).
    fn log_z_base(&self) -> f64;
    /// `chains` exact samples of the base model.
    fn base_samples(&self, chains: usize) -> Self::State;
    /// `log p*_β(x)` and `log p*_previous(x)` of every chain's state `x`, `[chains]` each,
    /// and the state after one transition that leaves `p_β` invariant.
    fn anneal_step(
        &self,
        state: Self::State,
        previous: f64,
        beta: f64,
    ) -> (Tensor<1>, Tensor<1>, Self::State);
}

/// Annealing from the base-rate model with visible biases `base_bias` to an RBM.
pub struct RbmAnnealing<'a> {
    rbm: &'a Rbm,
    base: Tensor<1>,
    log_z_base: f64,
}

impl<'a> RbmAnnealing<'a> {
    pub fn new(rbm: &'a Rbm, base_bias: &[f32], device: &Device) -> Self {
        let visible = rbm.visible();
        let log_z_base = base_bias
            .iter()
            .map(|&b| softplus_f64(b as f64))
            .sum::<f64>()
            + rbm.hidden() as f64 * std::f64::consts::LN_2;
        Self {
            rbm,
            base: Tensor::from_data(TensorData::new(base_bias.to_vec(), [visible]), device),
            log_z_base,
        }
    }
}

impl Annealable for RbmAnnealing<'_> {
    type State = Tensor<2>;

    fn log_z_base(&self) -> f64 {
        self.log_z_base
    }

    fn base_samples(&self, chains: usize) -> Tensor<2> {
        bernoulli(
            sigmoid(self.base.clone())
                .unsqueeze::<2>()
                .repeat_dim(0, chains),
        )
    }

    fn anneal_step(
        &self,
        v: Tensor<2>,
        previous: f64,
        beta: f64,
    ) -> (Tensor<1>, Tensor<1>, Tensor<2>) {
        let (rbm, base) = (self.rbm, &self.base);
        let x = rbm.hidden_input(v.clone());
        let at_beta = log_unnormalised(&v, &x, base, rbm, beta);
        let at_previous = log_unnormalised(&v, &x, base, rbm, previous);
        // One Gibbs transition that leaves p_β invariant.
        let (_, h) = sigmoid_bernoulli(x * beta);
        let input = (h.matmul(rbm.weights.val()) + rbm.visible_bias.val().unsqueeze()) * beta
            + base.clone().unsqueeze() * (1.0 - beta);
        (at_beta, at_previous, sigmoid_bernoulli(input).1)
    }
}

/// Estimates `log Z` of `rbm` by AIS from the base-rate model with visible biases `base_bias`.
pub fn estimate_log_z(
    rbm: &Rbm,
    base_bias: &[f32],
    config: &AisConfig,
    device: &Device,
) -> LogZEstimate {
    device.seed(config.seed);
    anneal(&RbmAnnealing::new(rbm, base_bias, device), config, device)
}

/// Runs `config.chains` annealing chains through `config.betas` intermediate distributions
/// and summarises their importance weights (the device's stream draws the samples: seed it
/// first for a reproducible estimate).
pub fn anneal<M: Annealable>(model: &M, config: &AisConfig, device: &Device) -> LogZEstimate {
    let betas = schedule(config.betas);
    let mut state = model.base_samples(config.chains);
    let mut log_w = Tensor::<1>::zeros([config.chains], device);
    // A converging schedule over a large model runs for an hour or more on a CPU.
    let mut progress = data::progress::Progress::new(
        format!("AIS, {} chains", config.chains),
        betas.len().saturating_sub(1) as u64,
    );
    for pair in betas.windows(2) {
        let (at_beta, at_previous, next) = model.anneal_step(state, pair[0], pair[1]);
        log_w = log_w + at_beta - at_previous;
        state = next;
        progress.inc(1);
    }
    progress.finish();
    let log_w: Vec<f64> = log_w
        .into_data()
        .try_to_vec::<f32>()
        .expect("float weights")
        .into_iter()
        .map(f64::from)
        .collect();
    summarise(&log_w, model.log_z_base(), config)
}

fn summarise(log_w: &[f64], log_z_base: f64, config: &AisConfig) -> LogZEstimate {
    let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let r: Vec<f64> = log_w.iter().map(|l| (l - max).exp()).collect();
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let variance = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let standard_error = (variance / n).sqrt();
    let ess = r.iter().sum::<f64>().powi(2) / r.iter().map(|x| x * x).sum::<f64>();
    let low = mean - 3.0 * standard_error;
    LogZEstimate {
        log_z: log_z_base + max + mean.ln(),
        log_z_low: (low > 0.0).then(|| log_z_base + max + low.ln()),
        log_z_high: log_z_base + max + (mean + 3.0 * standard_error).ln(),
        log_z_base,
        effective_sample_size: ess,
        chains: config.chains,
        betas: config.betas,
    }
}

fn softplus_f64(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

/// `log Σ exp(values)` in f64.
pub fn log_sum_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// The exact `log Z`, summing over every hidden configuration:
/// `Z = Σ_h exp(h·c) Πᵢ (1 + exp(bᵢ + (hW)ᵢ))`. Only for models with few hidden units.
pub fn exact_log_z(rbm: &Rbm, device: &Device) -> f64 {
    let hidden = rbm.hidden();
    assert!(
        hidden <= EXACT_MAX_HIDDEN,
        "2^{hidden} hidden states are too many to enumerate"
    );
    // In chunks of states, so that a 20-hidden model never holds 2^20 × 784 values at once.
    let chunk_bits = hidden.min(14);
    let chunk = binary_states(chunk_bits, device);
    let high_bits = hidden - chunk_bits;
    let terms: Vec<f64> = (0..1usize << high_bits)
        .flat_map(|high| {
            if high_bits == 0 {
                return log_unnormalised_hidden(rbm, chunk.clone());
            }
            let high_part: Vec<f32> = (0..high_bits).map(|j| ((high >> j) & 1) as f32).collect();
            let high_part = Tensor::<1>::from_data(TensorData::new(high_part, [high_bits]), device);
            let states = Tensor::cat(
                vec![
                    chunk.clone(),
                    high_part.unsqueeze::<2>().repeat_dim(0, 1 << chunk_bits),
                ],
                1,
            );
            log_unnormalised_hidden(rbm, states)
        })
        .collect();
    log_sum_exp(&terms)
}

/// Hidden units up to which [`exact_log_z`] enumerates every hidden state (2^20 of them).
pub const EXACT_MAX_HIDDEN: usize = 20;

/// `log Σ_v e^{−E(v, h)} = h·c + Σᵢ softplus((h W + b)ᵢ)` for each row `h` of `states`.
fn log_unnormalised_hidden(rbm: &Rbm, states: Tensor<2>) -> Vec<f64> {
    let hidden_term = (states.clone() * rbm.hidden_bias.val().unsqueeze()).sum_dim(1);
    let visible_term = softplus(
        states.matmul(rbm.weights.val()) + rbm.visible_bias.val().unsqueeze(),
        1.0,
    )
    .sum_dim(1);
    (hidden_term + visible_term)
        .into_data()
        .try_to_vec::<f32>()
        .expect("float terms")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Every configuration of `units` binary units, `[2^units, units]` (unit `j` of row `s` is
/// bit `j` of `s`): what exact partition functions of small models sum over.
pub fn binary_states(units: usize, device: &Device) -> Tensor<2> {
    let states = 1usize << units;
    let bits: Vec<f32> = (0..states)
        .flat_map(|s| (0..units).map(move |j| ((s >> j) & 1) as f32))
        .collect();
    Tensor::from_data(TensorData::new(bits, [states, units]), device)
}

/// Mean log-likelihood `mean(−F(v)) − log Z` of the rows of `v`, in nats.
pub fn mean_log_likelihood(rbm: &Rbm, v: Tensor<2>, log_z: f64) -> f64 {
    let neg_free_energy = -rbm.free_energy(v).mean().into_scalar::<f32>() as f64;
    neg_free_energy - log_z
}
