//! Where the ELBO falls short of log p(x) (Cremer et al. 2018, "Inference Suboptimality in
//! Variational Autoencoders"): the gap log p(x) - ELBO(x) = KL(q(z|x) || p(z|x)) splits into
//!
//! - the *amortisation* gap: the encoder's q(z|x) vs the best Gaussian for this one image,
//!   found by optimising a mean and log-variance per image with the decoder fixed;
//! - the *approximation* gap: that best Gaussian vs the true posterior, which no diagonal
//!   Gaussian can match.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use data::scaffold::{descend, fixed_normal};

use crate::importance::repeat_rows;
use crate::loss::{bernoulli_log_likelihood, gaussian_kl};
use crate::model::{Posterior, Vae};

/// One free Gaussian per image: the parameters the local optimisation moves.
#[derive(Module, Debug)]
pub struct LocalPosterior {
    mean: Param<Tensor<2>>,
    log_variance: Param<Tensor<2>>,
}

impl LocalPosterior {
    fn posterior(&self) -> Posterior {
        Posterior {
            mean: self.mean.val(),
            log_variance: self.log_variance.val(),
        }
    }
}

/// The ELBO per image with `samples` posterior draws each (the KL in closed form), averaged:
/// a low-noise estimate of the ELBO of `posterior` for `images`.
pub fn elbo(
    model: &Vae,
    images: Tensor<2>,
    posterior: &Posterior,
    samples: usize,
    seed: u64,
) -> Tensor<1> {
    let [n, _] = images.dims();
    let [_, latent] = posterior.mean.dims();
    let eps = fixed_normal(n * samples, latent, seed, &images.device());
    let repeated = Posterior {
        mean: repeat_rows(posterior.mean.clone(), samples),
        log_variance: repeat_rows(posterior.log_variance.clone(), samples),
    };
    let logits = model.decode(repeated.sample(eps));
    let log_px = bernoulli_log_likelihood(logits, repeat_rows(images, samples))
        .reshape([n, samples])
        .mean_dim(1)
        .squeeze_dim(1);
    log_px - gaussian_kl(posterior)
}

/// The best diagonal Gaussian for each image under `model`'s decoder (fixed), found by
/// `steps` Adam steps on the ELBO from the encoder's posterior; `model` and `images` on a
/// plain device, the optimisation on its autodiff twin. Returns the optimised posteriors.
pub fn optimise_posteriors(
    model: &Vae,
    images: Tensor<2>,
    steps: usize,
    samples: usize,
    learning_rate: f64,
    seed: u64,
) -> Posterior {
    let device: Device = images.device().autodiff();
    let start = model.encode(images.clone());
    let decoder = model.clone().to_device(&device).train().freeze();
    let images = images.to_device(&device);
    // Made on the autodiff device (not converted), so that the optimiser's updates stay there.
    let leaf = |t: Tensor<2>| Param::from_tensor(Tensor::from_data(t.into_data(), &device));
    let mut local = LocalPosterior {
        mean: leaf(start.mean),
        log_variance: leaf(start.log_variance),
    };
    let mut optimizer = data::adam::FusedAdam::new(0.9, 0.999, 1e-8).init();
    for step in 0..steps {
        let noise_seed = data::seed::mix(seed, 1, step as u64);
        let loss = elbo(
            &decoder,
            images.clone(),
            &local.posterior(),
            samples,
            noise_seed,
        )
        .mean()
        .neg();
        (local, _) = descend(local, &mut optimizer, learning_rate, &loss);
    }
    let local = local.valid();
    local.posterior()
}
