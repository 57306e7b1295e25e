//! The adversarial losses, written on the discriminator's logits `l` (D = sigmoid(l)) so
//! that no probability is ever rounded to 0 or 1 before its logarithm is taken:
//! `-log D = softplus(-l)` and `-log(1 - D) = softplus(l)`.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_sigmoid, relu};
use serde::{Deserialize, Serialize};

/// The game both players play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum GanLoss {
    /// Goodfellow et al.'s minimax game: G minimises E log(1 - D(G(z))). Its gradient
    /// vanishes exactly when D confidently rejects the fakes, i.e. early in training.
    Minimax,
    /// The same D loss, but G maximises E log D(G(z)) (the "-log D trick"): same fixed
    /// points, strong gradients when D wins. What the PyTorch examples (and the course) use.
    NonSaturating,
    /// Hinge loss (Lim & Ye 2017; used by SAGAN/BigGAN): D penalised only inside the margin.
    Hinge,
}

/// `softplus(x) = log(1 + e^x)`, stable for large |x|.
fn softplus<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    -log_sigmoid(-x)
}

impl GanLoss {
    /// The discriminator's loss on logits of a real and a fake batch (each a mean over its
    /// batch, summed, as in PyTorch's DCGAN example).
    pub fn discriminator(self, real_logits: Tensor<2>, fake_logits: Tensor<2>) -> Tensor<1> {
        match self {
            GanLoss::Minimax | GanLoss::NonSaturating => {
                softplus(-real_logits).mean() + softplus(fake_logits).mean()
            }
            GanLoss::Hinge => {
                relu(-real_logits.add_scalar(-1.0)).mean()
                    + relu(fake_logits.add_scalar(1.0)).mean()
            }
        }
    }

    /// The discriminator's loss with one-sided label smoothing (Salimans et al. 2016): real
    /// images get the target `real_label` instead of 1, so D is not rewarded for ever more
    /// confident logits on them. Binary cross-entropy with target t on a real logit l is
    /// `t·softplus(-l) + (1-t)·softplus(l) = softplus(-l) + (1-t)·l`. For the cross-entropy
    /// losses only; at 1 it is [`Self::discriminator`].
    pub fn discriminator_with_real_label(
        self,
        real_logits: Tensor<2>,
        fake_logits: Tensor<2>,
        real_label: f64,
    ) -> Tensor<1> {
        let loss = self.discriminator(real_logits.clone(), fake_logits);
        if real_label == 1.0 {
            return loss;
        }
        loss + real_logits.mean().mul_scalar(1.0 - real_label)
    }

    /// The generator's loss on the discriminator's logits of its samples.
    pub fn generator(self, fake_logits: Tensor<2>) -> Tensor<1> {
        match self {
            // E log(1 - D(G(z))) = -E softplus(l)
            GanLoss::Minimax => -softplus(fake_logits).mean(),
            // -E log D(G(z)) = E softplus(-l)
            GanLoss::NonSaturating => softplus(-fake_logits).mean(),
            GanLoss::Hinge => -fake_logits.mean(),
        }
    }

    /// The value of the discriminator loss at the game's equilibrium (D = 1/2 everywhere):
    /// the level the D loss curve is read against.
    pub fn discriminator_at_equilibrium(self) -> f64 {
        match self {
            GanLoss::Minimax | GanLoss::NonSaturating => 2.0 * std::f64::consts::LN_2,
            GanLoss::Hinge => 2.0,
        }
    }

    /// The generator loss at the equilibrium.
    pub fn generator_at_equilibrium(self) -> f64 {
        match self {
            GanLoss::Minimax => -std::f64::consts::LN_2,
            GanLoss::NonSaturating => std::f64::consts::LN_2,
            GanLoss::Hinge => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn logits(values: &[f32], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values.to_vec(), [values.len(), 1]), device)
    }

    fn scalar(t: Tensor<1>) -> f64 {
        t.into_scalar::<f32>() as f64
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    fn mean(f: &dyn Fn(f64) -> f64, xs: &[f32]) -> f64 {
        xs.iter().map(|&x| f(x as f64)).sum::<f64>() / xs.len() as f64
    }

    #[test]
    fn losses_match_their_closed_forms() {
        let device = Device::flex();
        let real = [2.0f32, -1.0, 0.5];
        let fake = [-3.0f32, 0.0, 1.5];
        let bce_real = mean(&|l| -sigmoid(l).ln(), &real);
        let bce_fake = mean(&|l| -(1.0 - sigmoid(l)).ln(), &fake);
        for loss in [GanLoss::Minimax, GanLoss::NonSaturating] {
            let d = scalar(loss.discriminator(logits(&real, &device), logits(&fake, &device)));
            assert!((d - (bce_real + bce_fake)).abs() < 1e-5, "{loss:?}: {d}");
        }
        let minimax = scalar(GanLoss::Minimax.generator(logits(&fake, &device)));
        assert!((minimax - mean(&|l| (1.0 - sigmoid(l)).ln(), &fake)).abs() < 1e-5);
        let ns = scalar(GanLoss::NonSaturating.generator(logits(&fake, &device)));
        assert!((ns - mean(&|l| -sigmoid(l).ln(), &fake)).abs() < 1e-5);
        let hinge =
            scalar(GanLoss::Hinge.discriminator(logits(&real, &device), logits(&fake, &device)));
        let expected = mean(&|l| (1.0 - l).max(0.0), &real) + mean(&|l| (1.0 + l).max(0.0), &fake);
        assert!((hinge - expected).abs() < 1e-6);
        assert!(
            (scalar(GanLoss::Hinge.generator(logits(&fake, &device))) + mean(&|l| l, &fake)).abs()
                < 1e-6
        );
    }

    #[test]
    fn label_smoothing_is_cross_entropy_with_the_smoothed_target() {
        let device = Device::flex();
        let (real, fake) = ([2.0f32, -1.0, 0.5], [-0.3f32, 1.5]);
        let target = 0.9;
        let smoothed_real = mean(
            &|l| -(target * sigmoid(l).ln() + (1.0 - target) * (1.0 - sigmoid(l)).ln()),
            &real,
        );
        let bce_fake = mean(&|l| -(1.0 - sigmoid(l)).ln(), &fake);
        let loss = GanLoss::NonSaturating.discriminator_with_real_label(
            logits(&real, &device),
            logits(&fake, &device),
            target,
        );
        assert!((scalar(loss) - (smoothed_real + bce_fake)).abs() < 1e-5);
    }

    #[test]
    fn a_discriminator_that_cannot_tell_sits_at_the_equilibrium_value() {
        let device = Device::flex();
        let zeros = logits(&[0.0; 4], &device);
        for loss in [GanLoss::Minimax, GanLoss::NonSaturating] {
            let d = scalar(loss.discriminator(zeros.clone(), zeros.clone()));
            assert!((d - loss.discriminator_at_equilibrium()).abs() < 1e-6);
            let g = scalar(loss.generator(zeros.clone()));
            assert!((g - loss.generator_at_equilibrium()).abs() < 1e-6);
        }
    }

    #[test]
    fn losses_stay_finite_for_confident_logits() {
        let device = Device::flex();
        let extreme = logits(&[-200.0, 200.0], &device);
        for loss in [GanLoss::Minimax, GanLoss::NonSaturating, GanLoss::Hinge] {
            assert!(scalar(loss.discriminator(extreme.clone(), extreme.clone())).is_finite());
            assert!(scalar(loss.generator(extreme.clone())).is_finite());
        }
    }

    /// d loss / d logit, by autodiff.
    fn generator_gradient(loss: GanLoss, logit: f32) -> f64 {
        let device = Device::flex().autodiff();
        let l = logits(&[logit], &device).require_grad();
        let grads = loss.generator(l.clone()).backward();
        l.grad(&grads).unwrap().into_scalar::<f32>() as f64
    }

    #[test]
    fn generator_gradients_match_finite_differences() {
        let device = Device::flex();
        for loss in [GanLoss::Minimax, GanLoss::NonSaturating, GanLoss::Hinge] {
            for logit in [-4.0f32, -0.5, 0.0, 2.0] {
                let h = 1e-2f32;
                let at = |x: f32| scalar(loss.generator(logits(&[x], &device)));
                let numeric = (at(logit + h) - at(logit - h)) / (2.0 * h as f64);
                let autodiff = generator_gradient(loss, logit);
                assert!(
                    (numeric - autodiff).abs() < 1e-3,
                    "{loss:?} at {logit}: {numeric} vs {autodiff}"
                );
            }
        }
    }

    #[test]
    fn the_minimax_gradient_vanishes_when_the_discriminator_wins_and_the_non_saturating_one_does_not()
     {
        // D(G(z)) = sigmoid(-8) ~ 3e-4: the fakes are confidently rejected.
        let minimax = generator_gradient(GanLoss::Minimax, -8.0);
        let non_saturating = generator_gradient(GanLoss::NonSaturating, -8.0);
        assert!((minimax - -sigmoid(-8.0)).abs() < 1e-6, "{minimax}");
        assert!(minimax.abs() < 1e-3);
        assert!(
            (non_saturating - -(1.0 - sigmoid(-8.0))).abs() < 1e-5,
            "{non_saturating}"
        );
        assert!(non_saturating.abs() > 0.99);
    }
}
