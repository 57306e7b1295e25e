//! A two-hidden-layer Bernoulli Deep Boltzmann Machine `v — h¹ — h²`.
//!
//! Energy `E(v, h¹, h²) = −h¹ W¹ v − h² W² h¹ − b·v − c¹·h¹ − c²·h²` with `W¹` `[h¹, v]` and
//! `W²` `[h², h¹]`, as the rbm crate stores an RBM's weights. Given `h¹`, the visible and the
//! top layer are independent, so a Gibbs sweep samples `(v, h²)` together and then `h¹`;
//! with `v` clamped, the posterior over `(h¹, h²)` has no closed form and is approximated
//! by mean-field (a factorised `q(h¹) q(h²)`), which also gives a lower bound on `log p(v)`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Distribution, Tensor};
use data::sampling::sigmoid_bernoulli;

#[derive(Config, Debug)]
pub struct DbmConfig {
    #[config(default = 784)]
    pub visible: usize,
    /// Units of the first hidden layer (the course's model: 512).
    #[config(default = 512)]
    pub hidden_1: usize,
    /// Units of the second hidden layer (the course's model: 1024).
    #[config(default = 1024)]
    pub hidden_2: usize,
    /// Standard deviation of the initial weights (biases start at zero).
    #[config(default = 0.01)]
    pub init_std: f64,
}

impl DbmConfig {
    pub fn init(&self, device: &Device) -> Dbm {
        let normal = Distribution::Normal(0.0, self.init_std);
        Dbm {
            weights_1: Param::from_tensor(Tensor::random(
                [self.hidden_1, self.visible],
                normal,
                device,
            )),
            weights_2: Param::from_tensor(Tensor::random(
                [self.hidden_2, self.hidden_1],
                normal,
                device,
            )),
            visible_bias: Param::from_tensor(Tensor::zeros([self.visible], device)),
            hidden_1_bias: Param::from_tensor(Tensor::zeros([self.hidden_1], device)),
            hidden_2_bias: Param::from_tensor(Tensor::zeros([self.hidden_2], device)),
        }
    }
}

#[derive(Module, Debug)]
pub struct Dbm {
    /// `W¹`, `[hidden_1, visible]`.
    pub weights_1: Param<Tensor<2>>,
    /// `W²`, `[hidden_2, hidden_1]`.
    pub weights_2: Param<Tensor<2>>,
    pub visible_bias: Param<Tensor<1>>,
    pub hidden_1_bias: Param<Tensor<1>>,
    pub hidden_2_bias: Param<Tensor<1>>,
}

/// The state of Gibbs chains (or a mean-field posterior): one row per chain.
#[derive(Clone, Debug)]
pub struct Layers {
    pub visible: Tensor<2>,
    pub hidden_1: Tensor<2>,
    pub hidden_2: Tensor<2>,
}

/// One Gibbs sweep's states and the conditional probabilities they were drawn from.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The new states.
    pub state: Layers,
    /// `p(v = 1 | h¹)` of the old `h¹`.
    pub visible_probabilities: Tensor<2>,
    /// `p(h² = 1 | h¹)` of the old `h¹`.
    pub hidden_2_probabilities: Tensor<2>,
    /// `p(h¹ = 1 | v, h²)` of the new `v` and `h²`.
    pub hidden_1_probabilities: Tensor<2>,
    /// The `h¹` the sweep started from (the one `v` and `h²` were drawn given).
    pub previous_hidden_1: Tensor<2>,
}

impl Dbm {
    pub fn sizes(&self) -> [usize; 3] {
        let [h1, v] = self.weights_1.dims();
        [v, h1, self.weights_2.dims()[0]]
    }

    /// `W¹ᵀ`-side input of `h¹`: `v W¹ᵀ + h² W² + c¹`, `[batch, hidden_1]`.
    pub fn hidden_1_input(&self, v: Tensor<2>, h2: Tensor<2>) -> Tensor<2> {
        v.matmul(self.weights_1.val().transpose())
            + h2.matmul(self.weights_2.val())
            + self.hidden_1_bias.val().unsqueeze()
    }

    /// `h¹ W¹ + b`, `[batch, visible]`.
    pub fn visible_input(&self, h1: Tensor<2>) -> Tensor<2> {
        h1.matmul(self.weights_1.val()) + self.visible_bias.val().unsqueeze()
    }

    /// `h¹ W²ᵀ + c²`, `[batch, hidden_2]`.
    pub fn hidden_2_input(&self, h1: Tensor<2>) -> Tensor<2> {
        h1.matmul(self.weights_2.val().transpose()) + self.hidden_2_bias.val().unsqueeze()
    }

    /// One Gibbs sweep: `(v, h²) ~ p(· | h¹)`, then `h¹ ~ p(· | v, h²)`.
    pub fn gibbs_sweep(&self, hidden_1: Tensor<2>) -> Sweep {
        let (visible_probabilities, visible) =
            sigmoid_bernoulli(self.visible_input(hidden_1.clone()));
        let (hidden_2_probabilities, hidden_2) =
            sigmoid_bernoulli(self.hidden_2_input(hidden_1.clone()));
        let (hidden_1_probabilities, new_hidden_1) =
            sigmoid_bernoulli(self.hidden_1_input(visible.clone(), hidden_2.clone()));
        Sweep {
            state: Layers {
                visible,
                hidden_1: new_hidden_1,
                hidden_2,
            },
            visible_probabilities,
            hidden_2_probabilities,
            hidden_1_probabilities,
            previous_hidden_1: hidden_1,
        }
    }

    /// `sweeps` Gibbs sweeps from `hidden_1` (at least one).
    pub fn gibbs(&self, hidden_1: Tensor<2>, sweeps: usize) -> Sweep {
        assert!(sweeps >= 1, "at least one Gibbs sweep");
        let mut sweep = self.gibbs_sweep(hidden_1);
        for _ in 1..sweeps {
            sweep = self.gibbs_sweep(sweep.state.hidden_1.clone());
        }
        sweep
    }

    /// The mean-field posterior `(μ¹, μ²)` of `v`: the fixed point of
    /// `μ¹ = σ(v W¹ᵀ + μ² W² + c¹)`, `μ² = σ(μ¹ W²ᵀ + c²)`, started from the bottom-up pass
    /// with doubled first-layer weights (what the top layer's missing input is replaced by,
    /// as in Salakhutdinov & Hinton's code). Stops after `max_steps` updates or when no unit
    /// moves by more than `tolerance`; returns the posterior and the updates done.
    pub fn mean_field(
        &self,
        v: Tensor<2>,
        max_steps: usize,
        tolerance: f64,
    ) -> (Tensor<2>, Tensor<2>, usize) {
        let bottom_up = v.clone().matmul(self.weights_1.val().transpose());
        let bias_1 = self.hidden_1_bias.val().unsqueeze::<2>();
        let mut mu1 = sigmoid(bottom_up.clone() * 2.0 + bias_1.clone());
        let mut mu2 = sigmoid(self.hidden_2_input(mu1.clone()));
        for step in 1..=max_steps {
            let next = sigmoid(
                bottom_up.clone() + mu2.clone().matmul(self.weights_2.val()) + bias_1.clone(),
            );
            let change = (next.clone() - mu1).abs().max().into_scalar::<f32>() as f64;
            mu1 = next;
            mu2 = sigmoid(self.hidden_2_input(mu1.clone()));
            if change <= tolerance {
                return (mu1, mu2, step);
            }
        }
        (mu1, mu2, max_steps)
    }

    /// `−E(v, μ¹, μ²) + H(q)` for factorised `q` with means `(μ¹, μ²)`, `[batch]`: the
    /// variational lower bound on `log p*(v)` (the unnormalised `log p(v) + log Z`). The
    /// energy is linear in each layer, so its expectation under `q` is the energy at the
    /// means.
    pub fn variational_bound_unnormalised(
        &self,
        v: Tensor<2>,
        mu1: Tensor<2>,
        mu2: Tensor<2>,
    ) -> Tensor<1> {
        let pair_1 = (mu1.clone().matmul(self.weights_1.val()) * v.clone()).sum_dim(1);
        let pair_2 = (mu2.clone().matmul(self.weights_2.val()) * mu1.clone()).sum_dim(1);
        let biases = (v * self.visible_bias.val().unsqueeze()).sum_dim(1)
            + (mu1.clone() * self.hidden_1_bias.val().unsqueeze()).sum_dim(1)
            + (mu2.clone() * self.hidden_2_bias.val().unsqueeze()).sum_dim(1);
        (pair_1 + pair_2 + biases + entropy(mu1) + entropy(mu2)).squeeze_dim(1)
    }
}

/// `Σ −μ log μ − (1−μ) log(1−μ)` per row, `[batch, 1]` (0 at μ = 0 or 1).
fn entropy(mu: Tensor<2>) -> Tensor<2> {
    let mu = mu.clamp(1e-7, 1.0 - 1e-7);
    let one_minus = -mu.clone() + 1.0;
    (-(mu.clone() * mu.log()) - one_minus.clone() * one_minus.log()).sum_dim(1)
}
