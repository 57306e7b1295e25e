//! The DBM's partition function by the rbm crate's annealed importance sampling, and the
//! test log-likelihood bound it gives.
//!
//! Given `h¹`, the visible and top layers are independent, so both can be summed out. AIS
//! anneals from a base model in which the pixels are independent with the training data's
//! marginals (visible biases `b_A`, as for the RBM) and the hidden units fair coins, to the
//! DBM, through `p*_β(v, h¹, h²) ∝ exp((1−β) b_A·v − β E(v, h¹, h²))`, whose `h¹` marginal is
//! `log p*_β(h¹) = β c¹·h¹ + Σᵢ softplus(β (h¹W¹ + b)ᵢ + (1−β) b_Aᵢ) + Σₖ softplus(β (h¹W²ᵀ +
//! c²)ₖ)`. One transition is a Gibbs sweep of the tempered model, which leaves that marginal
//! invariant; [`rbm::ais::anneal`] runs the chains and summarises the weights, with the same
//! convergence rule as for the RBM.

use burn::tensor::activation::softplus;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use data::sampling::sigmoid_bernoulli;
use rbm::ais::{
    AisConfig, Annealable, Convergence, LogZEstimate, anneal, binary_states, log_sum_exp,
};
use serde::{Deserialize, Serialize};

use crate::model::Dbm;

/// What `dbm evaluate` writes to `ais.json`: the test bounds with the longer schedule's
/// `log Z`, both estimates and the convergence verdict (DBM-Q2 reads it back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AisEvaluation {
    /// Mean bound over test digits binarised as the model was trained.
    pub test_log_likelihood_bound: f64,
    /// The same over test digits binarised by sampling each pixel once: published DBM
    /// likelihoods are measured this way, and such digits are less likely than thresholded
    /// ones, so this is the comparable figure.
    pub test_log_likelihood_bound_stochastic_binarisation: f64,
    pub test_images: usize,
    /// The estimate the bounds use (the longer schedule).
    pub log_z: LogZEstimate,
    /// The same with a schedule four times shorter.
    pub log_z_short: LogZEstimate,
    pub convergence: Convergence,
}

/// Annealing from the base-rate model with visible biases `base` to `dbm`.
pub struct DbmAnnealing<'a> {
    dbm: &'a Dbm,
    base: Tensor<1>,
    log_z_base: f64,
}

impl<'a> DbmAnnealing<'a> {
    pub fn new(dbm: &'a Dbm, base_bias: &[f32]) -> Self {
        let [visible, h1, h2] = dbm.sizes();
        assert_eq!(base_bias.len(), visible, "one base-rate bias per pixel");
        let device = dbm.weights_1.device();
        let log_z_base = base_bias
            .iter()
            .map(|&b| (b as f64).exp().ln_1p())
            .sum::<f64>()
            + (h1 + h2) as f64 * std::f64::consts::LN_2;
        Self {
            dbm,
            base: Tensor::from_data(TensorData::new(base_bias.to_vec(), [visible]), &device),
            log_z_base,
        }
    }

    /// The visible pre-activations at `β`, from the DBM's `h¹ W¹ + b`.
    fn visible_input(&self, visible: Tensor<2>, beta: f64) -> Tensor<2> {
        visible * beta + self.base.clone().unsqueeze() * (1.0 - beta)
    }
}

/// What one annealing step needs of the chains' `h¹`: `c¹·h¹` `[chains, 1]`, `h¹ W¹ + b`
/// and `h¹ W²ᵀ + c²`.
struct LayerInputs {
    own: Tensor<2>,
    visible: Tensor<2>,
    hidden_2: Tensor<2>,
}

impl LayerInputs {
    fn new(dbm: &Dbm, h1: Tensor<2>) -> Self {
        Self {
            own: (h1.clone() * dbm.hidden_1_bias.val().unsqueeze()).sum_dim(1),
            visible: dbm.visible_input(h1.clone()),
            hidden_2: dbm.hidden_2_input(h1),
        }
    }

    /// `log p*_β(h¹)`, `[chains]`, given the visible pre-activations at `β`.
    fn log_unnormalised(&self, visible_input: Tensor<2>, beta: f64) -> Tensor<1> {
        let visible = softplus(visible_input, 1.0).sum_dim(1);
        let top = softplus(self.hidden_2.clone() * beta, 1.0).sum_dim(1);
        (self.own.clone() * beta + visible + top).squeeze_dim(1)
    }
}

/// `log p*(h¹)` of the DBM itself (β = 1), `[states]`.
fn log_unnormalised_hidden_1(dbm: &Dbm, h1: &Tensor<2>) -> Tensor<1> {
    let inputs = LayerInputs::new(dbm, h1.clone());
    inputs.log_unnormalised(inputs.visible.clone(), 1.0)
}

impl Annealable for DbmAnnealing<'_> {
    type State = Tensor<2>;

    fn log_z_base(&self) -> f64 {
        self.log_z_base
    }

    fn base_samples(&self, chains: usize) -> Tensor<2> {
        let [_, h1, _] = self.dbm.sizes();
        let device = self.dbm.weights_1.device();
        Tensor::<2>::random([chains, h1], Distribution::Default, &device)
            .lower_elem(0.5)
            .float()
    }

    fn anneal_step(
        &self,
        h1: Tensor<2>,
        previous: f64,
        beta: f64,
    ) -> (Tensor<1>, Tensor<1>, Tensor<2>) {
        // The two matrix products of h¹ serve both weights and the Gibbs sweep, and the
        // visible input at β both the weight at β and the sweep.
        let inputs = LayerInputs::new(self.dbm, h1);
        let visible_at_beta = self.visible_input(inputs.visible.clone(), beta);
        let at_beta = inputs.log_unnormalised(visible_at_beta.clone(), beta);
        let at_previous = inputs.log_unnormalised(
            self.visible_input(inputs.visible.clone(), previous),
            previous,
        );
        let (_, v) = sigmoid_bernoulli(visible_at_beta);
        let (_, h2) = sigmoid_bernoulli(inputs.hidden_2 * beta);
        let (_, next) = sigmoid_bernoulli(self.dbm.hidden_1_input(v, h2) * beta);
        (at_beta, at_previous, next)
    }
}

/// Estimates `log Z` of `dbm` from the base-rate model with visible biases `base_bias`
/// (the device's stream is seeded with `config.seed` first).
pub fn estimate_log_z(
    dbm: &Dbm,
    base_bias: &[f32],
    config: &AisConfig,
    device: &Device,
) -> LogZEstimate {
    device.seed(config.seed);
    anneal(&DbmAnnealing::new(dbm, base_bias), config, device)
}

/// The mean variational lower bound on `log p(v)` over the rows of `v`, in nats, with the
/// mean-field posterior of each row and `log Z` given.
pub fn mean_log_likelihood_bound(
    dbm: &Dbm,
    v: Tensor<2>,
    log_z: f64,
    mean_field_steps: usize,
) -> f64 {
    let (mu1, mu2, _) = dbm.mean_field(v.clone(), mean_field_steps, 1e-6);
    let bound = dbm.variational_bound_unnormalised(v, mu1, mu2);
    bound.mean().into_scalar::<f32>() as f64 - log_z
}

/// Every `h¹` configuration of a small first layer, `[2^hidden_1, hidden_1]`.
fn all_hidden_1(dbm: &Dbm, device: &Device) -> Tensor<2> {
    let [_, h1, _] = dbm.sizes();
    assert!(
        h1 <= 16,
        "2^{h1} first-layer states are too many to enumerate"
    );
    binary_states(h1, device)
}

fn to_f64(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .expect("float values")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// The exact `log Z` of a DBM with a small first layer (the tests' ground truth).
pub fn exact_log_z(dbm: &Dbm, device: &Device) -> f64 {
    let h1 = all_hidden_1(dbm, device);
    log_sum_exp(&to_f64(log_unnormalised_hidden_1(dbm, &h1)))
}

/// The exact `log p*(v)` of each row of `v` for a DBM with a small first layer: `h²` summed
/// out in closed form, `h¹` enumerated.
pub fn exact_log_unnormalised(dbm: &Dbm, v: Tensor<2>, device: &Device) -> Vec<f64> {
    let h1 = all_hidden_1(dbm, device);
    let [rows, _] = v.dims();
    // [rows, states]: b·v + c¹·h¹ + h¹W¹v + Σₖ softplus(h¹W²ᵀ + c²).
    let visible_term = (v.clone() * dbm.visible_bias.val().unsqueeze()).sum_dim(1); // [rows, 1]
    let pair = v
        .matmul(dbm.weights_1.val().transpose())
        .matmul(h1.clone().transpose());
    let per_state = (h1.clone() * dbm.hidden_1_bias.val().unsqueeze()).sum_dim(1)
        + softplus(dbm.hidden_2_input(h1), 1.0).sum_dim(1); // [states, 1]
    let terms = pair + visible_term + per_state.transpose();
    (0..rows)
        .map(|r| {
            let [_, states] = terms.dims();
            log_sum_exp(&to_f64(
                terms.clone().slice([r..r + 1, 0..states]).squeeze_dim(0),
            ))
        })
        .collect()
}
