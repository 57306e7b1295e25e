//! DBM-Q2's comparison with the published DBM: the shipped DBM's `ais.json`, written by
//! `dbm evaluate` on stochastically binarised test digits (the way published likelihoods
//! are measured), against Salakhutdinov & Hinton (2009). The experiment only reads it: a
//! converging AIS run over this DBM takes an hour or more on a CPU.

use std::path::Path;

use serde_json::{Value, json};

use dbm::ais::AisEvaluation;

/// The test log-likelihood Salakhutdinov & Hinton (2009) report for their two-layer
/// 784-500-1000 DBM on MNIST (AIS `log Z`, variational lower bound per test digit).
pub const PUBLISHED_DBM: f64 = -84.62;

/// What the paragraph reads from `ais.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub bound: f64,
    /// The same bound with the 4x shorter schedule's `log Z` (the bound is the mean
    /// free-energy term minus `log Z`, so only `log Z` differs between the two).
    pub shorter_schedule_bound: f64,
    pub chains: usize,
    pub betas: usize,
    pub short_betas: usize,
    pub effective_sample_size: f64,
    pub test_images: usize,
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

/// The paragraph (and its numbers) for the shipped DBM, or a line saying how to make the
/// evaluation where there is none.
pub fn paragraph(evaluation: Option<&Evaluation>, sizes: [usize; 3]) -> (String, Value) {
    let [_, h1, h2] = sizes;
    let Some(e) = evaluation else {
        return (
            "\n**Against the published DBM.** This DBM has no AIS evaluation on stochastically \
             binarised test digits (the way published likelihoods are measured); `dbm evaluate \
             --run <run>` writes one (`ais.json`).\n"
                .into(),
            Value::Null,
        );
    };
    let gap = e.bound - PUBLISHED_DBM;
    let mut md = format!(
        "\n**Against the published DBM.** `dbm evaluate` scored this 784-{h1}-{h2} DBM on {} \
         stochastically binarised test digits, the way published likelihoods are measured \
         (AIS over its first layer, {} chains, {} and {} temperatures): its mean-field bound is \
         {:.2} nats, {:.2} nats {} the {PUBLISHED_DBM:.2} that Salakhutdinov & Hinton (2009) \
         report for their 784-500-1000 DBM. ",
        e.test_images,
        e.chains,
        e.short_betas,
        e.betas,
        e.bound,
        gap.abs(),
        if gap >= 0.0 { "above" } else { "below" },
    );
    if e.converged {
        md.push_str(&format!(
            "The estimate passes the project's convergence rule (the shorter schedule gave \
             {:.2}, ESS {:.1} of {} chains).\n",
            e.shorter_schedule_bound, e.effective_sample_size, e.chains
        ));
    } else {
        md.push_str(&format!(
            "The estimate does not pass the project's convergence rule ({}; the shorter \
             schedule gave {:.2}), so it is not a result yet: AIS tends to underestimate log Z, \
             which makes an unconverged bound optimistic.\n",
            e.problems.join("; "),
            e.shorter_schedule_bound
        ));
    }
    let numbers = json!({
        "bound": e.bound, "shorter_schedule_bound": e.shorter_schedule_bound,
        "published": PUBLISHED_DBM, "chains": e.chains, "betas": e.betas,
        "effective_sample_size": e.effective_sample_size, "converged": e.converged,
    });
    (md, numbers)
}

#[cfg(test)]
mod tests {
    use rbm::ais::{Convergence, LogZEstimate};

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
    fn the_bound_is_read_with_the_shorter_schedule_s_and_set_against_the_published_one() {
        let e = Evaluation::from_ais(&ais(false));
        // 1.5 nats less log Z make the shorter schedule's bound 1.5 nats higher.
        assert!((e.shorter_schedule_bound - -83.37).abs() < 1e-9, "{e:?}");
        let (md, numbers) = paragraph(Some(&e), [784, 512, 1024]);
        assert!(md.contains("784-512-1024 DBM on 10000"), "{md}");
        assert!(
            md.contains("100 chains, 20000 and 80000 temperatures"),
            "{md}"
        );
        assert!(
            md.contains("-84.87 nats, 0.25 nats below the -84.62"),
            "{md}"
        );
        assert!(
            md.contains("does not pass the project's convergence rule (log Z moved by 1.91 nats; the shorter schedule gave -83.37)"),
            "{md}"
        );
        assert_eq!(numbers["converged"], json!(false));

        let e = Evaluation::from_ais(&ais(true));
        let (md, _) = paragraph(Some(&e), [784, 512, 1024]);
        assert!(md.contains("passes the project's convergence rule"), "{md}");
        assert!(!md.contains("not a result"), "{md}");
    }

    #[test]
    fn a_dbm_without_an_evaluation_says_how_to_make_one() {
        let (md, numbers) = paragraph(None, [784, 512, 1024]);
        assert!(md.contains("`dbm evaluate --run <run>`"), "{md}");
        assert_eq!(numbers, Value::Null);
    }

    #[test]
    fn what_dbm_evaluate_writes_is_what_the_paragraph_reads() {
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
