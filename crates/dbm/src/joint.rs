//! Joint training of the assembled DBM (Salakhutdinov & Hinton 2009): mean-field gives the
//! data-dependent statistics, persistent Gibbs chains the model's; and the assembly of the
//! DBM from its two pre-trained RBMs.

use burn::module::{Module, Param};
use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use data::momentum::MomentumStep;
use rbm::Coupling;

use crate::model::Dbm;
use crate::train::TrainConfig;

/// The joint-training state: the DBM, its momentum buffers and the persistent chains.
#[derive(Module, Debug)]
pub struct JointState {
    pub dbm: Dbm,
    pub weights_1_velocity: Param<Tensor<2>>,
    pub weights_2_velocity: Param<Tensor<2>>,
    pub visible_velocity: Param<Tensor<1>>,
    pub hidden_1_velocity: Param<Tensor<1>>,
    pub hidden_2_velocity: Param<Tensor<1>>,
    /// First-layer states of the persistent chains, `[chains, hidden_1]`.
    pub chains: Param<Tensor<2>>,
}

fn zeros_like2(t: &Param<Tensor<2>>) -> Param<Tensor<2>> {
    Param::from_tensor(t.val().zeros_like())
}

fn zeros_like1(t: &Param<Tensor<1>>) -> Param<Tensor<1>> {
    Param::from_tensor(t.val().zeros_like())
}

impl JointState {
    pub fn new(dbm: Dbm, chains: Tensor<2>) -> Self {
        Self {
            weights_1_velocity: zeros_like2(&dbm.weights_1),
            weights_2_velocity: zeros_like2(&dbm.weights_2),
            visible_velocity: zeros_like1(&dbm.visible_bias),
            hidden_1_velocity: zeros_like1(&dbm.hidden_1_bias),
            hidden_2_velocity: zeros_like1(&dbm.hidden_2_bias),
            chains: Param::from_tensor(chains),
            dbm,
        }
    }

    /// One joint update on the batch `v`; returns the mean-field updates it took.
    pub fn step(
        &mut self,
        v: Tensor<2>,
        config: &TrainConfig,
        learning_rate: f64,
        momentum: f64,
    ) -> usize {
        let [batch, _] = v.dims();
        let dbm = &self.dbm;
        let (mu1, mu2, steps) = dbm.mean_field(
            v.clone(),
            config.mean_field_steps,
            config.mean_field_tolerance,
        );
        let sweep = dbm.gibbs(self.chains.val(), config.gibbs_sweeps);
        let chains = sweep.state.hidden_1.dims()[0] as f64;
        let b = batch as f64;
        // ⟨h¹vᵀ⟩ and ⟨h²h¹ᵀ⟩, data minus model, each as one product (see rbm's step).
        let grad_w1 = Tensor::cat(
            vec![
                mu1.clone() / b,
                -sweep.hidden_1_probabilities.clone() / chains,
            ],
            0,
        )
        .transpose()
        .matmul(Tensor::cat(vec![v.clone(), sweep.state.visible.clone()], 0));
        let grad_w2 = Tensor::cat(
            vec![
                mu2.clone() / b,
                -sweep.hidden_2_probabilities.clone() / chains,
            ],
            0,
        )
        .transpose()
        .matmul(Tensor::cat(
            vec![mu1.clone(), sweep.previous_hidden_1.clone()],
            0,
        ));
        let mean = |t: Tensor<2>| t.mean_dim(0).squeeze_dim::<1>(0);
        let grad_b = mean(v) - mean(sweep.visible_probabilities.clone());
        let grad_c1 = mean(mu1) - mean(sweep.hidden_1_probabilities.clone());
        let grad_c2 = mean(mu2) - mean(sweep.hidden_2_probabilities.clone());

        let weights_step = MomentumStep {
            learning_rate,
            momentum,
            weight_decay: config.weight_decay,
        };
        let bias_step = weights_step.without_decay();
        let dbm = &mut self.dbm;
        weights_step.update(&mut dbm.weights_1, &mut self.weights_1_velocity, grad_w1);
        weights_step.update(&mut dbm.weights_2, &mut self.weights_2_velocity, grad_w2);
        bias_step.update(&mut dbm.visible_bias, &mut self.visible_velocity, grad_b);
        bias_step.update(&mut dbm.hidden_1_bias, &mut self.hidden_1_velocity, grad_c1);
        bias_step.update(&mut dbm.hidden_2_bias, &mut self.hidden_2_velocity, grad_c2);
        self.chains = Param::from_tensor(sweep.state.hidden_1);
        steps
    }
}

/// The DBM of two pre-trained RBMs: their weights, the bottom RBM's visible biases, the
/// top RBM's hidden biases, and for the middle layer the mean of the two biases each RBM
/// learned for it (each RBM modelled it with twice one neighbour's input; stacked, it gets
/// both neighbours once).
pub fn assemble(bottom: &rbm::Rbm, top: &rbm::Rbm) -> Dbm {
    Dbm {
        weights_1: Param::from_tensor(bottom.weights.val()),
        weights_2: Param::from_tensor(top.weights.val()),
        visible_bias: Param::from_tensor(bottom.visible_bias.val()),
        hidden_1_bias: Param::from_tensor(
            (bottom.hidden_bias.val() + top.visible_bias.val()) / 2.0,
        ),
        hidden_2_bias: Param::from_tensor(top.hidden_bias.val()),
    }
}

/// The bottom RBM's features of `v` as the top RBM sees them: `p(h¹ | v)` with the doubled
/// up pass.
pub fn bottom_features(bottom: &rbm::Rbm, v: Tensor<2>) -> Tensor<2> {
    sigmoid(bottom.hidden_input_coupled(v, Coupling::DOUBLED_UP))
}
