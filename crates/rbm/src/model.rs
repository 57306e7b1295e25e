//! The Bernoulli-Bernoulli Restricted Boltzmann Machine.
//!
//! Energy `E(v, h) = −v·b − h·c − hᵀWv` with `W` of shape `[hidden, visible]`. Everything
//! here is a pure function of the parameters: conditionals, Gibbs steps, the free energy and
//! the pseudo-likelihoods. Training lives in `train`, likelihood estimation in `ais`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Distribution, Int, Tensor};

#[derive(Config, Debug)]
pub struct RbmConfig {
    #[config(default = 784)]
    pub visible: usize,
    #[config(default = 500)]
    pub hidden: usize,
    /// Standard deviation of the initial weights (scikit-learn: 0.01); biases start at 0.
    #[config(default = 0.01)]
    pub init_std: f64,
}

#[derive(Module, Debug)]
pub struct Rbm {
    /// `[hidden, visible]`.
    pub weights: Param<Tensor<2>>,
    /// `[visible]`.
    pub visible_bias: Param<Tensor<1>>,
    /// `[hidden]`.
    pub hidden_bias: Param<Tensor<1>>,
}

impl RbmConfig {
    pub fn init(&self, device: &Device) -> Rbm {
        Rbm {
            weights: Param::from_tensor(Tensor::random(
                [self.hidden, self.visible],
                Distribution::Normal(0.0, self.init_std),
                device,
            )),
            visible_bias: Param::from_tensor(Tensor::zeros([self.visible], device)),
            hidden_bias: Param::from_tensor(Tensor::zeros([self.hidden], device)),
        }
    }
}

/// 1 with probability `p`, elementwise (one parallel pass on flex).
pub use data::sampling::bernoulli;
use data::sampling::sigmoid_bernoulli;

/// How strongly each direction of an RBM couples its two layers. An RBM on its own uses
/// [`Coupling::SYMMETRIC`]. A DBM's greedy pre-training (Salakhutdinov & Hinton 2009)
/// doubles the bottom RBM's up pass and the top RBM's down pass: once the two are stacked,
/// the middle layer hears both neighbours, and each RBM was trained to expect twice the
/// input from its one side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coupling {
    /// Multiplies `v Wᵀ` in `p(h | v)`.
    pub up: f64,
    /// Multiplies `h W` in `p(v | h)`.
    pub down: f64,
}

impl Coupling {
    pub const SYMMETRIC: Coupling = Coupling { up: 1.0, down: 1.0 };
    /// The bottom RBM of a DBM.
    pub const DOUBLED_UP: Coupling = Coupling { up: 2.0, down: 1.0 };
    /// The top RBM of a DBM.
    pub const DOUBLED_DOWN: Coupling = Coupling { up: 1.0, down: 2.0 };
}

fn scaled(x: Tensor<2>, factor: f64) -> Tensor<2> {
    if factor == 1.0 { x } else { x * factor }
}

impl Rbm {
    pub fn visible(&self) -> usize {
        self.weights.dims()[1]
    }

    pub fn hidden(&self) -> usize {
        self.weights.dims()[0]
    }

    /// Hidden pre-activations `v Wᵀ + c`, `[batch, hidden]`.
    pub fn hidden_input(&self, v: Tensor<2>) -> Tensor<2> {
        self.hidden_input_coupled(v, Coupling::SYMMETRIC)
    }

    /// `up · v Wᵀ + c`.
    pub fn hidden_input_coupled(&self, v: Tensor<2>, coupling: Coupling) -> Tensor<2> {
        scaled(v.matmul(self.weights.val().transpose()), coupling.up)
            + self.hidden_bias.val().unsqueeze()
    }

    /// `p(h = 1 | v)`.
    pub fn hidden_probabilities(&self, v: Tensor<2>) -> Tensor<2> {
        sigmoid(self.hidden_input(v))
    }

    /// Visible pre-activations `h W + b`, `[batch, visible]`.
    pub fn visible_input(&self, h: Tensor<2>) -> Tensor<2> {
        self.visible_input_coupled(h, Coupling::SYMMETRIC)
    }

    /// `down · h W + b`.
    pub fn visible_input_coupled(&self, h: Tensor<2>, coupling: Coupling) -> Tensor<2> {
        scaled(h.matmul(self.weights.val()), coupling.down) + self.visible_bias.val().unsqueeze()
    }

    /// `p(v = 1 | h)`.
    pub fn visible_probabilities(&self, h: Tensor<2>) -> Tensor<2> {
        sigmoid(self.visible_input(h))
    }

    /// `k` steps of block Gibbs sampling from hidden states `h`: returns the last visible
    /// sample, its visible probabilities, and the hidden probabilities and sample after it.
    pub fn gibbs_from_hidden(&self, h: Tensor<2>, gibbs_steps: usize) -> GibbsState {
        self.gibbs_from_hidden_coupled(h, gibbs_steps, Coupling::SYMMETRIC)
    }

    /// [`Rbm::gibbs_from_hidden`] with each direction scaled by `coupling`.
    pub fn gibbs_from_hidden_coupled(
        &self,
        h: Tensor<2>,
        gibbs_steps: usize,
        coupling: Coupling,
    ) -> GibbsState {
        assert!(gibbs_steps >= 1, "at least one Gibbs step");
        let mut hidden = h;
        let mut state = None;
        for _ in 0..gibbs_steps {
            let (visible_probabilities, visible) =
                sigmoid_bernoulli(self.visible_input_coupled(hidden, coupling));
            let hidden_probabilities;
            (hidden_probabilities, hidden) =
                sigmoid_bernoulli(self.hidden_input_coupled(visible.clone(), coupling));
            state = Some(GibbsState {
                visible,
                visible_probabilities,
                hidden_probabilities,
                hidden: hidden.clone(),
            });
        }
        state.expect("at least one step ran")
    }

    /// `k` Gibbs steps starting from visible states `v` (e.g. data, or noise).
    pub fn gibbs_from_visible(&self, v: Tensor<2>, gibbs_steps: usize) -> GibbsState {
        self.gibbs_from_visible_coupled(v, gibbs_steps, Coupling::SYMMETRIC)
    }

    /// [`Rbm::gibbs_from_visible`] with each direction scaled by `coupling`.
    pub fn gibbs_from_visible_coupled(
        &self,
        v: Tensor<2>,
        gibbs_steps: usize,
        coupling: Coupling,
    ) -> GibbsState {
        let (_, h) = sigmoid_bernoulli(self.hidden_input_coupled(v, coupling));
        self.gibbs_from_hidden_coupled(h, gibbs_steps, coupling)
    }

    /// Deterministic mean-field reconstruction `σ(σ(v Wᵀ + c) W + b)`.
    /// The visible probabilities of Gibbs chains started at `start` after each of `steps`
    /// (cumulative step counts, ascending).
    pub fn gibbs_snapshots(&self, start: Tensor<2>, steps: &[usize]) -> Vec<Tensor<2>> {
        let mut v = start;
        let mut done = 0;
        steps
            .iter()
            .map(|&target| {
                let state = self.gibbs_from_visible(v.clone(), target.saturating_sub(done));
                done = target;
                v = state.visible;
                state.visible_probabilities
            })
            .collect()
    }

    pub fn reconstruct(&self, v: Tensor<2>) -> Tensor<2> {
        self.visible_probabilities(self.hidden_probabilities(v))
    }

    /// Free energy `F(v) = −v·b − Σⱼ softplus((v Wᵀ + c)ⱼ)`, `[batch]`; `p(v) = e^{−F(v)}/Z`.
    pub fn free_energy(&self, v: Tensor<2>) -> Tensor<1> {
        let visible_term = (v.clone() * self.visible_bias.val().unsqueeze()).sum_dim(1);
        let hidden_term = softplus(self.hidden_input(v), 1.0).sum_dim(1);
        (-visible_term - hidden_term).squeeze_dim(1)
    }

    /// The pseudo-likelihood scikit-learn's `BernoulliRBM.score_samples` reports: one
    /// randomly chosen pixel `i` per image is flipped (`vᵢ → 1 − vᵢ`) and
    /// `visible · log σ(F(ṽ) − F(v))` is returned, `[batch]`. A one-sample stochastic estimate
    /// of the exact pseudo-likelihood below.
    pub fn pseudo_log_likelihood_stochastic(
        &self,
        v: Tensor<2>,
        flip: Tensor<1, Int>,
    ) -> Tensor<1> {
        let [_, visible] = v.dims();
        let one_hot = flip.one_hot::<2>(visible).float();
        let flipped = v.clone() + one_hot.clone() - v.clone() * one_hot.clone() * 2.0;
        let gap = self.free_energy(flipped) - self.free_energy(v);
        log_sigmoid(gap) * visible as f64
    }

    /// The exact pseudo-log-likelihood `Σᵢ log p(vᵢ | v₋ᵢ) = Σᵢ log σ(F(ṽ⁽ⁱ⁾) − F(v))`,
    /// summed over all visible units, `[batch]`. Computed in chunks of images, each flip
    /// costing only the change of the hidden pre-activations.
    pub fn pseudo_log_likelihood_exact(&self, v: Tensor<2>) -> Tensor<1> {
        let [batch, visible] = v.dims();
        let hidden = self.hidden();
        let chunk = (4_000_000 / (visible * hidden).max(1)).max(1);
        let w_t = self.weights.val().transpose(); // [visible, hidden]
        let b = self.visible_bias.val();
        let parts: Vec<Tensor<1>> = (0..batch)
            .step_by(chunk)
            .map(|start| {
                let end = (start + chunk).min(batch);
                let vc = v.clone().slice([start..end, 0..visible]);
                let n = end - start;
                let a = self.hidden_input(vc.clone()); // [n, hidden]
                let delta = -(vc.clone() * 2.0) + 1.0; // ṽᵢ − vᵢ, [n, visible]
                let a_flipped = a.clone().reshape([n, 1, hidden])
                    + delta.clone().reshape([n, visible, 1])
                        * w_t.clone().reshape([1, visible, hidden]);
                // F(ṽ) − F(v) = −δᵢ bᵢ − Σⱼ [softplus(a + δᵢ Wⱼᵢ) − softplus(a)]
                let hidden_change = softplus(a_flipped, 1.0).sum_dim(2).reshape([n, visible])
                    - softplus(a, 1.0).sum_dim(1);
                let gap = -(delta * b.clone().unsqueeze()) - hidden_change;
                log_sigmoid_2d(gap).sum_dim(1).squeeze_dim(1)
            })
            .collect();
        Tensor::cat(parts, 0)
    }
}

/// The result of a run of Gibbs sampling.
#[derive(Clone, Debug)]
pub struct GibbsState {
    pub visible: Tensor<2>,
    pub visible_probabilities: Tensor<2>,
    pub hidden_probabilities: Tensor<2>,
    pub hidden: Tensor<2>,
}

/// `log σ(x) = −softplus(−x)`, stable for large |x|.
pub fn log_sigmoid(x: Tensor<1>) -> Tensor<1> {
    -softplus(-x, 1.0)
}

fn log_sigmoid_2d(x: Tensor<2>) -> Tensor<2> {
    -softplus(-x, 1.0)
}
