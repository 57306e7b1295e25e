//! DBM-Q2's comparison with the published DBM: the shipped DBM's `ais.json`, written by
//! `dbm evaluate` on stochastically binarised test digits (the way published likelihoods
//! are measured), against Salakhutdinov & Hinton (2009). The experiment only reads it: a
//! converging AIS run over this DBM takes an hour or more on a CPU.

use std::path::Path;

use dbm::ais::AisEvaluation;
use serde::{Deserialize, Serialize};

/// The test log-likelihood Salakhutdinov & Hinton (2009) report for their two-layer
/// 784-500-1000 DBM on MNIST (AIS `log Z`, variational lower bound per test digit).
pub const PUBLISHED_DBM: f64 = -84.62;

/// What DBM-Q2 reads from `ais.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean-field lower bound on the log-likelihood of stochastically binarised test digits,
    /// nats per image.
    pub bound: f64,
    /// The same bound with the 4x shorter schedule's `log Z` (the bound is the mean
    /// free-energy term minus `log Z`, so only `log Z` differs between the two).
    pub shorter_schedule_bound: f64,
    /// AIS chains, and intermediate distributions of the long and the short schedule.
    pub chains: usize,
    pub betas: usize,
    pub short_betas: usize,
    pub effective_sample_size: f64,
    pub test_images: usize,
    /// Whether the estimate passes the project's convergence rule, and if not, why.
    pub converged: bool,
    pub problems: Vec<String>,
}

impl Evaluation {
    pub fn from_ais(ais: &AisEvaluation) -> Self {
        let (long, short) = (&ais.log_z, &ais.log_z_short);
        let bound = ais.test_log_likelihood_bound_stochastic_binarisation;
        Self {
            bound,
            shorter_schedule_bound: bound + (long.log_z - short.log_z),
            chains: long.chains,
            betas: long.betas,
            short_betas: short.betas,
            effective_sample_size: long.effective_sample_size,
            test_images: ais.test_images,
            converged: ais.convergence.converged,
            problems: ais.convergence.problems.clone(),
        }
    }

    /// The `ais.json` of a shipped run, if it has one.
    pub fn read(dir: &Path) -> Option<Self> {
        let ais = data::run::read_json::<AisEvaluation>(&dir.join("ais.json")).ok()?;
        Some(Self::from_ais(&ais))
    }
}

#[cfg(test)]
mod tests {
    use rbm::ais::{Convergence, LogZEstimate};
    use serde_json::json;

    use super::*;

    fn ais(converged: bool) -> AisEvaluation {
        let estimate = |betas, log_z| LogZEstimate {
            log_z,
            log_z_low: None,
            log_z_high: log_z + 0.5,
            log_z_base: 1191.5,
            effective_sample_size: 9.9,
            chains: 100,
            betas,
        };
        AisEvaluation {
            test_log_likelihood_bound: -69.0,
            test_log_likelihood_bound_stochastic_binarisation: -84.87,
            test_images: 10000,
            log_z: estimate(80000, 302.0),
            log_z_short: estimate(20000, 300.5),
            convergence: Convergence {
                log_z_shift: 1.5,
                ess_fraction: 0.099,
                converged,
                problems: if converged {
                    vec![]
                } else {
                    vec!["log Z moved by 1.91 nats".into()]
                },
            },
        }
    }

    #[test]
    fn the_bound_is_read_with_the_shorter_schedule_s() {
        let e = Evaluation::from_ais(&ais(false));
        // 1.5 nats less log Z make the shorter schedule's bound 1.5 nats higher.
        assert!((e.shorter_schedule_bound - -83.37).abs() < 1e-9, "{e:?}");
        assert_eq!((e.bound, e.betas, e.short_betas), (-84.87, 80000, 20000));
        assert!(!e.converged && e.problems == ["log Z moved by 1.91 nats"]);
    }

    #[test]
    fn what_dbm_evaluate_writes_is_what_dbm_q2_reads() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Evaluation::read(dir.path()), None, "no ais.json");
        data::run::write_json(&dir.path().join("ais.json"), &ais(true)).unwrap();
        assert_eq!(
            Evaluation::read(dir.path()),
            Some(Evaluation::from_ais(&ais(true)))
        );
        // A file of another shape is no evaluation, not a paragraph of wrong numbers.
        data::run::write_json(&dir.path().join("ais.json"), &json!({ "log_z": 1.0 })).unwrap();
        assert_eq!(Evaluation::read(dir.path()), None);
    }
}
