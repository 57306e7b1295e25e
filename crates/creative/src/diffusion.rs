//! Denoising diffusion (Ho et al. 2020): the forward process q(x_t | x_0) that mixes an
//! image with Gaussian noise over T steps, the noise-prediction loss, and two samplers that
//! run it backwards with a noise predictor ε(x_t, t): ancestral DDPM (T steps, stochastic)
//! and DDIM (Song et al. 2021; any number of steps, deterministic). Images are in [-1, 1].

use std::f64::consts::PI;

use burn::tensor::{Device, Tensor};
use data::scaffold::fixed_normal;
use serde::{Deserialize, Serialize};

/// How the noise level rises with t.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// β_t from 1e-4 to 0.02, evenly spaced (DDPM; scaled by 1000 / T for other T).
    Linear,
    /// ᾱ_t = cos²(((t/T + s)/(1 + s)) π/2) / ᾱ_0 with s = 0.008 (Nichol & Dhariwal 2021):
    /// destroys the image more gradually at the start, where the linear one wastes steps on
    /// almost pure noise at the end.
    Cosine,
}

/// The per-step noise levels of a schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseSchedule {
    pub betas: Vec<f64>,
    /// ᾱ_t = Π_{s ≤ t} (1 − β_s): the share of the image's variance left at step t.
    pub alpha_bars: Vec<f64>,
}

impl NoiseSchedule {
    pub fn new(schedule: Schedule, steps: usize) -> Self {
        assert!(steps >= 2, "a diffusion needs at least 2 steps");
        let betas: Vec<f64> = match schedule {
            Schedule::Linear => {
                let scale = 1000.0 / steps as f64;
                let (first, last) = (1e-4 * scale, 0.02 * scale);
                (0..steps)
                    .map(|t| first + (last - first) * t as f64 / (steps - 1) as f64)
                    .collect()
            }
            Schedule::Cosine => {
                let s = 0.008;
                let f = |t: f64| {
                    (((t / steps as f64 + s) / (1.0 + s)) * PI / 2.0)
                        .cos()
                        .powi(2)
                };
                (0..steps)
                    .map(|t| (1.0 - f(t as f64 + 1.0) / f(t as f64)).min(0.999))
                    .collect()
            }
        };
        let alpha_bars = betas
            .iter()
            .scan(1.0, |product, beta| {
                *product *= 1.0 - beta;
                Some(*product)
            })
            .collect();
        Self { betas, alpha_bars }
    }

    pub fn steps(&self) -> usize {
        self.betas.len()
    }

    /// ᾱ at step `t`, with ᾱ_{−1} = 1 (the clean image) for `t = None`.
    pub fn alpha_bar(&self, t: Option<usize>) -> f64 {
        t.map_or(1.0, |t| self.alpha_bars[t])
    }

    /// x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, each image at its own step `t[i]`.
    pub fn q_sample(&self, x0: Tensor<4>, t: &[usize], noise: Tensor<4>) -> Tensor<4> {
        let device = x0.device();
        let column = |f: &dyn Fn(f64) -> f64| {
            let values: Vec<f32> = t.iter().map(|&s| f(self.alpha_bars[s]) as f32).collect();
            Tensor::<1>::from_floats(values.as_slice(), &device).reshape([t.len(), 1, 1, 1])
        };
        x0 * column(&|a| a.sqrt()) + noise * column(&|a| (1.0 - a).sqrt())
    }

    /// x̂_0 from x_t and the predicted noise, clamped to the data range [-1, 1].
    fn predicted_x0(&self, x: Tensor<4>, eps: Tensor<4>, t: usize) -> Tensor<4> {
        let a = self.alpha_bars[t];
        ((x - eps * (1.0 - a).sqrt()) / a.sqrt()).clamp(-1.0, 1.0)
    }

    /// Ancestral DDPM sampling from x_T = `start` through every step: at each step the
    /// posterior q(x_{t−1} | x_t, x̂_0) with x̂_0 from the predicted noise, and fresh noise
    /// drawn from `seed` (none at the last step). `predict(x_t, t)` is the noise predictor.
    pub fn ddpm(
        &self,
        start: Tensor<4>,
        seed: u64,
        predict: impl Fn(Tensor<4>, usize) -> Tensor<4>,
    ) -> Tensor<4> {
        let mut x = start;
        for t in (0..self.steps()).rev() {
            let eps = predict(x.clone(), t);
            let x0 = self.predicted_x0(x.clone(), eps, t);
            let (a, a_prev) = (self.alpha_bars[t], self.alpha_bar(t.checked_sub(1)));
            let beta = self.betas[t];
            let mean = x0 * (a_prev.sqrt() * beta / (1.0 - a))
                + x * ((1.0 - beta).sqrt() * (1.0 - a_prev) / (1.0 - a));
            x = if t == 0 {
                mean
            } else {
                let variance = beta * (1.0 - a_prev) / (1.0 - a);
                let noise = normal_like(&mean, data::seed::mix(seed, 1, t as u64));
                mean + noise * variance.sqrt()
            };
        }
        x
    }

    /// DDIM sampling (η = 0) from x_T = `start` in `steps` evenly spaced steps: each step
    /// jumps to x_{t'} = √ᾱ_{t'} x̂_0 + √(1 − ᾱ_{t'}) ε̂ with no fresh noise, so the same
    /// start gives the same image and far fewer network calls are needed.
    pub fn ddim(
        &self,
        start: Tensor<4>,
        steps: usize,
        predict: impl Fn(Tensor<4>, usize) -> Tensor<4>,
    ) -> Tensor<4> {
        let times = self.ddim_times(steps);
        let mut x = start;
        for (i, &t) in times.iter().enumerate().rev() {
            let eps = predict(x.clone(), t);
            let x0 = self.predicted_x0(x.clone(), eps.clone(), t);
            // ε̂ re-derived from the clamped x̂_0, so that the update stays consistent.
            let a = self.alpha_bars[t];
            let eps = (x - x0.clone() * a.sqrt()) / (1.0 - a).sqrt();
            let a_prev = self.alpha_bar(i.checked_sub(1).map(|j| times[j]));
            x = x0 * a_prev.sqrt() + eps * (1.0 - a_prev).sqrt();
        }
        x
    }

    /// The `steps` timesteps DDIM visits, ascending, ending at T − 1.
    pub fn ddim_times(&self, steps: usize) -> Vec<usize> {
        let total = self.steps();
        let steps = steps.clamp(1, total);
        (0..steps).map(|i| (i + 1) * total / steps - 1).collect()
    }
}

/// Standard normal noise shaped like `like`, drawn on the CPU from `seed`.
pub fn normal_like(like: &Tensor<4>, seed: u64) -> Tensor<4> {
    let dims = like.dims();
    let per_image = dims[1] * dims[2] * dims[3];
    fixed_normal(dims[0], per_image, seed, &like.device()).reshape(dims)
}

/// x_T: `count` images of pure noise `[count, 1, 28, 28]` from `seed`.
pub fn pure_noise(count: usize, seed: u64, device: &Device) -> Tensor<4> {
    fixed_normal(count, data::PIXELS, seed, device).reshape([count, 1, data::ROWS, data::COLS])
}

/// Classifier-free guidance: ε_u + w (ε_c − ε_u). w = 0 ignores the class, w = 1 is the
/// conditional model, w > 1 pushes samples further towards what the class looks like.
pub fn guide(conditional: Tensor<4>, unconditional: Tensor<4>, scale: f64) -> Tensor<4> {
    unconditional.clone() + (conditional - unconditional) * scale
}

/// The training loss: mean squared error between the true and the predicted noise.
pub fn noise_loss(predicted: Tensor<4>, noise: Tensor<4>) -> Tensor<1> {
    (predicted - noise).powi_scalar(2).mean()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Tensor<4>) -> Vec<f32> {
        data::figure::tensor_values(t)
    }

    #[test]
    fn schedules_have_their_published_end_points() {
        let linear = NoiseSchedule::new(Schedule::Linear, 1000);
        assert!((linear.betas[0] - 1e-4).abs() < 1e-12 && (linear.betas[999] - 0.02).abs() < 1e-12);
        assert!((linear.alpha_bars[0] - (1.0 - 1e-4)).abs() < 1e-12);
        // ᾱ_T of DDPM's schedule: about 4e-5, nearly pure noise.
        assert!(linear.alpha_bars[999] < 1e-4 && linear.alpha_bars[999] > 1e-5);
        let cosine = NoiseSchedule::new(Schedule::Cosine, 1000);
        assert!(cosine.betas.iter().all(|&b| b > 0.0 && b <= 0.999));
        assert!(cosine.alpha_bars.windows(2).all(|w| w[1] < w[0]));
        assert!(cosine.alpha_bars[999] < 1e-6);
        // Halfway, the cosine schedule keeps more of the image than the linear one.
        assert!(cosine.alpha_bars[500] > linear.alpha_bars[500]);
    }

    #[test]
    fn the_forward_process_mixes_image_and_noise_by_the_schedule() {
        let device = Device::flex();
        let schedule = NoiseSchedule::new(Schedule::Linear, 100);
        let x0 = Tensor::<4>::ones([2, 1, 28, 28], &device);
        let noise = Tensor::<4>::full([2, 1, 28, 28], 2.0, &device);
        let xt = values(schedule.q_sample(x0, &[0, 99], noise));
        let expect = |t: usize| {
            let a = schedule.alpha_bars[t];
            (a.sqrt() + 2.0 * (1.0 - a).sqrt()) as f32
        };
        assert!((xt[0] - expect(0)).abs() < 1e-5 && (xt[784] - expect(99)).abs() < 1e-5);
    }

    /// The noise that takes `x` at step t back to `x0` exactly: the ideal predictor.
    fn oracle(schedule: &NoiseSchedule, x0: &Tensor<4>) -> impl Fn(Tensor<4>, usize) -> Tensor<4> {
        move |x, t| {
            let a = schedule.alpha_bars[t];
            (x - x0.clone() * a.sqrt()) / (1.0 - a).sqrt()
        }
    }

    #[test]
    fn with_the_ideal_noise_predictor_both_samplers_return_the_image() {
        let device = Device::flex();
        let schedule = NoiseSchedule::new(Schedule::Cosine, 50);
        let x0 = pure_noise(2, 3, &device).clamp(-1.0, 1.0);
        let start = pure_noise(2, 4, &device);
        let target = values(x0.clone());
        for got in [
            values(schedule.ddpm(start.clone(), 5, oracle(&schedule, &x0))),
            values(schedule.ddim(start.clone(), 10, oracle(&schedule, &x0))),
            values(schedule.ddim(start, 1, oracle(&schedule, &x0))),
        ] {
            let worst = got
                .iter()
                .zip(&target)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-3, "{worst}");
        }
    }

    #[test]
    fn ddim_visits_evenly_spaced_steps_ending_at_the_last() {
        let schedule = NoiseSchedule::new(Schedule::Linear, 1000);
        assert_eq!(schedule.ddim_times(4), vec![249, 499, 749, 999]);
        assert_eq!(schedule.ddim_times(5000).len(), 1000);
    }

    #[test]
    fn ddpm_is_reproducible_from_its_seed_and_ddim_needs_none() {
        let device = Device::flex();
        let schedule = NoiseSchedule::new(Schedule::Linear, 20);
        let shrink = |x: Tensor<4>, _t: usize| x * 0.1;
        let start = pure_noise(1, 1, &device);
        let a = values(schedule.ddpm(start.clone(), 7, shrink));
        assert_eq!(a, values(schedule.ddpm(start.clone(), 7, shrink)));
        assert_ne!(a, values(schedule.ddpm(start.clone(), 8, shrink)));
        assert_eq!(
            values(schedule.ddim(start.clone(), 5, shrink)),
            values(schedule.ddim(start, 5, shrink))
        );
    }

    #[test]
    fn guidance_interpolates_and_extrapolates_between_the_two_predictions() {
        let device = Device::flex();
        let c = Tensor::<4>::full([1, 1, 1, 2], 3.0, &device);
        let u = Tensor::<4>::full([1, 1, 1, 2], 1.0, &device);
        assert_eq!(values(guide(c.clone(), u.clone(), 0.0)), vec![1.0, 1.0]);
        assert_eq!(values(guide(c.clone(), u.clone(), 1.0)), vec![3.0, 3.0]);
        assert_eq!(values(guide(c, u.clone(), 2.5)), vec![6.0, 6.0]);
        assert_eq!(
            values(noise_loss(u.clone(), u).reshape([1, 1, 1, 1])),
            vec![0.0]
        );
    }
}
