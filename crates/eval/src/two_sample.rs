//! The classifier two-sample test (Lopez-Paz & Oquab 2017): a small network is trained to
//! tell a model's samples from real images, and its accuracy on images it did not train on
//! says how far apart the two sets are: 50 % when they cannot be told apart, 100 % when
//! every sample gives itself away. It needs no feature space chosen in advance, so blur,
//! noise or copies of one image are caught as readily as missing digits.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{log_sigmoid, relu};
use burn::tensor::{Device, Tensor, TensorData};
use data::PIXELS;
use data::adam::FusedAdam;
use data::scaffold::descend;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The test's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwoSampleTest {
    /// Held-out accuracy of telling samples from real images (0.5 to 1).
    pub accuracy: f64,
    /// Its binomial standard error, `√(p(1 − p) / n)` over the held-out images.
    pub standard_error: f64,
    /// Held-out images (half samples, half real).
    pub held_out: usize,
}

/// The network: one hidden layer of 256 ReLU units over the pixels, one logit.
#[derive(Module, Debug)]
struct Critic {
    hidden: Linear,
    out: Linear,
}

impl Critic {
    /// Burn's default initialisation, U(−1/√fan_in, 1/√fan_in), drawn from `rng` rather than
    /// the device's generator: scoring samples must not change what a model draws next.
    fn new(rng: &mut impl Rng, device: &Device) -> Self {
        Self {
            hidden: seeded_linear(PIXELS, 256, rng, device),
            out: seeded_linear(256, 1, rng, device),
        }
    }

    fn logits(&self, images: Tensor<2>) -> Tensor<1> {
        self.out
            .forward(relu(self.hidden.forward(images)))
            .flatten(0, 1)
    }
}

fn seeded_linear(inputs: usize, outputs: usize, rng: &mut impl Rng, device: &Device) -> Linear {
    let bound = 1.0 / (inputs as f32).sqrt();
    let mut uniform =
        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-bound..bound)).collect() };
    let weight = TensorData::new(uniform(inputs * outputs), [inputs, outputs]);
    let bias = TensorData::new(uniform(outputs), [outputs]);
    Linear {
        weight: Param::from_tensor(Tensor::from_data(weight, device)),
        bias: Some(Param::from_tensor(Tensor::from_data(bias, device))),
    }
}

/// How the critic is trained.
const EPOCHS: usize = 5;
const BATCH: usize = 128;
const LEARNING_RATE: f64 = 1e-3;

/// Tests `samples` against `real` (rows of 784 pixels in [0, 1], as many of each as the
/// smaller set holds, the real ones drawn in an order shuffled by `seed`): the critic trains
/// on half of each and is scored on the other half. `device` must support autodiff.
pub fn two_sample_test(samples: &[f32], real: &[f32], seed: u64, device: &Device) -> TwoSampleTest {
    let n = (samples.len() / PIXELS).min(real.len() / PIXELS);
    assert!(n >= 4, "the test needs at least four images a side");
    let real = crate::kernel::shuffled_rows(real, PIXELS, seed);
    // Rows 0..n are samples (label 1), n..2n real images (label 0).
    let images: Vec<f32> = [&samples[..n * PIXELS], &real[..n * PIXELS]].concat();
    let label = |row: usize| (row < n) as u8 as f32;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut train, mut test): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    for side in [0..n, n..2 * n] {
        let mut rows: Vec<usize> = side.collect();
        rows.shuffle(&mut rng);
        let half = rows.len() / 2;
        train.extend_from_slice(&rows[..half]);
        test.extend_from_slice(&rows[half..]);
    }
    let batch = |rows: &[usize]| {
        let pixels: Vec<f32> = (rows.iter())
            .flat_map(|&r| images[r * PIXELS..(r + 1) * PIXELS].iter().copied())
            .collect();
        let labels: Vec<f32> = rows.iter().map(|&r| label(r)).collect();
        (
            Tensor::<2>::from_data(TensorData::new(pixels, [rows.len(), PIXELS]), device),
            Tensor::<1>::from_data(TensorData::new(labels, [rows.len()]), device),
        )
    };
    let mut critic = Critic::new(&mut rng, device);
    let mut optimizer = FusedAdam::new(0.9, 0.999, 1e-8).init();
    for _ in 0..EPOCHS {
        train.shuffle(&mut rng);
        for rows in train.chunks(BATCH) {
            let (x, y) = batch(rows);
            let logits = critic.logits(x);
            // Binary cross-entropy from logits: −y log σ(l) − (1 − y) log σ(−l).
            let loss = -(y.clone() * log_sigmoid(logits.clone())
                + (y.neg() + 1.0) * log_sigmoid(logits.neg()))
            .mean();
            critic = descend(critic, &mut optimizer, LEARNING_RATE, &loss).0;
        }
    }
    let critic = critic.valid();
    let mut correct = 0usize;
    for rows in test.chunks(1000) {
        let (x, y) = batch(rows);
        let said_sample = critic.logits(x).greater_elem(0.0).float();
        correct += said_sample.equal(y).int().sum().into_scalar::<i64>() as usize;
    }
    let held_out = test.len();
    let accuracy = correct as f64 / held_out as f64;
    TwoSampleTest {
        accuracy,
        standard_error: (accuracy * (1.0 - accuracy) / held_out as f64).sqrt(),
        held_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::unit_pixels;
    use crate::reference::Corruption;
    use data::{DataSetName, ImageSet, Split};

    #[test]
    fn two_halves_of_the_test_set_are_indistinguishable_and_noise_is_not() {
        let device = Device::flex().autodiff();
        let test = unit_pixels(&ImageSet::load(DataSetName::Mnist, Split::Test, None).unwrap());
        let half = 2_000 * PIXELS;
        let (a, b) = (&test[..half], &test[half..2 * half]);
        let same = two_sample_test(a, b, 1, &device);
        assert!(
            (same.accuracy - 0.5).abs() < 3.0 * same.standard_error + 0.02,
            "two halves of the real test set: {same:?}"
        );
        let noisy = Corruption::Noise { sigma: 0.3 }.apply(a);
        let told = two_sample_test(&noisy, b, 1, &device);
        assert!(
            told.accuracy > 0.97,
            "noise σ 0.3 against real digits: {told:?}"
        );
    }
}
