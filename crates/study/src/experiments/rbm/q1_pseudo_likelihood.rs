//! RBM-Q1: what the course's scikit-learn RBM reports (pseudo-likelihoods) against the
//! likelihood itself (AIS), epoch by epoch.

use crate::experiment::Question;
use data::plot::{LinePlot, Series};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Logged, RELIABLE_ESS, Setup, last};
use rbm::train::TrainConfig;

pub static EXPERIMENT: Question = Question {
    id: "RBM-Q1",
    answers: &["RBM-Q1"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// What the experiment adds to every epoch's record: AIS on the test digits.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AisEpoch {
    pub ais_test_log_likelihood: f64,
    pub ais_ess: f64,
    pub log_z: f64,
}

/// RBM-Q1: pseudo-likelihoods and the AIS likelihood of one run, epoch by epoch.
fn run(ctx: &Setup) -> anyhow::Result<()> {
    let config = ctx.base_config();
    let (_, records) = ctx.train::<AisEpoch>("q1", &config, |state| {
        let (ll, estimate) = ctx.log_likelihood(state, &config);
        let extra = AisEpoch {
            ais_test_log_likelihood: ll,
            ais_ess: estimate.effective_sample_size,
            log_z: estimate.log_z,
        };
        data::run::fields(&extra)
    })?;
    let epochs: Vec<f64> = records.iter().map(|r| r.epoch as f64).collect();
    let series = |pick: fn(&Logged<AisEpoch>) -> f64| -> Vec<(f64, f64)> {
        epochs
            .iter()
            .zip(&records)
            .map(|(e, r)| (*e, pick(r)))
            .collect()
    };
    let (path, link) = ctx.ctx.figure("rbm-q1-likelihoods.png");
    LinePlot::new(
        "RBM-Q1: what is monitored, epoch by epoch",
        "epoch",
        "nats per image",
    )
    .with_series(Series::new(
        "pseudo-likelihood, exact (784 conditionals)",
        series(|r| r.metrics.pseudo_likelihood_exact),
    ))
    .with_series(Series::new(
        "pseudo-likelihood, scikit-learn (1 pixel x 784)",
        series(|r| r.metrics.pseudo_likelihood_stochastic),
    ))
    .with_series(Series::new(
        "test log-likelihood (AIS)",
        series(|r| r.extra.ais_test_log_likelihood),
    ))
    .save(&path)?;

    let first = &records[0];
    let last = last(&records)?;
    let pl: Vec<f64> = records
        .iter()
        .map(|r| r.metrics.pseudo_likelihood_exact)
        .collect();
    let ll: Vec<f64> = records
        .iter()
        .map(|r| r.extra.ais_test_log_likelihood)
        .collect();
    let corr = pearson(&pl, &ll);
    let mut md = String::new();
    md.push_str(&format!(
        "Run: {} hidden units, PCD-1, learning rate {}, momentum {}, batch {}, {} epochs on {} thresholded \
         training digits; AIS with {} chains and {} temperatures on {} test digits after every epoch.\n\n",
        config.model.hidden,
        config.learning_rate,
        config.momentum,
        config.batch_size,
        config.epochs,
        ctx.train_subset(&config).len(),
        ctx.ais().chains,
        ctx.ais().betas,
        ctx.budget.test_images
    ));
    md.push_str("| epoch | PL exact | PL scikit-learn | AIS test log-likelihood | AIS ESS | test reconstruction MSE |\n|---:|---:|---:|---:|---:|---:|\n");
    for r in &records {
        md.push_str(&format!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.4} |\n",
            r.epoch as f64,
            r.metrics.pseudo_likelihood_exact,
            r.metrics.pseudo_likelihood_stochastic,
            r.extra.ais_test_log_likelihood,
            r.extra.ais_ess,
            r.metrics.test_reconstruction_mse
        ));
    }
    md.push_str(&format!("\n![RBM-Q1]({link})\n\n"));
    md.push_str(&format!(
        "**Why not the likelihood.** `log p(v) = −F(v) − log Z`, and `Z` sums `e^{{−F(v)}}` over all \
         2^784 binary images: it cannot be computed, only estimated (AIS above, seconds to minutes per \
         estimate). The pseudo-likelihood `Σᵢ log p(vᵢ | v₋ᵢ)` needs no `Z`: each conditional is a \
         ratio of two free energies, `σ(F(ṽ⁽ⁱ⁾) − F(v))`. scikit-learn evaluates one random pixel per \
         image and multiplies by 784, a noisy estimate of the same sum: here it read {:.2} against the \
         exact {:.2} nats after the last epoch.\n\n",
        last.metrics.pseudo_likelihood_stochastic,
        last.metrics.pseudo_likelihood_exact
    ));
    md.push_str(&ais_trust(
        &records,
        &config,
        ctx.ais().chains,
        ctx.ais().betas,
    ));
    let ais_reading = if last.extra.ais_ess >= RELIABLE_ESS {
        format!(
            " and the AIS test log-likelihood from {:.2} to {:.2} nats; across epochs their \
             Pearson correlation is {corr:.2}",
            first.extra.ais_test_log_likelihood, last.extra.ais_test_log_likelihood
        )
    } else {
        "; the AIS column cannot be compared with it epoch by epoch (above)".to_string()
    };
    md.push_str(&format!(
        "**What is optimised, what is monitored.** Training follows the PCD estimate of the likelihood \
         gradient, `⟨vhᵀ⟩_data − ⟨vhᵀ⟩_chains`; neither pseudo-likelihood enters the update. Over the \
         run the exact pseudo-likelihood moved from {:.2} to {:.2}{ais_reading}. The pseudo-likelihood \
         only scores each pixel given all the others — local consistency — so it can improve while \
         the model puts mass on spurious modes that only the global `Z` reveals.\n",
        first.metrics.pseudo_likelihood_exact,
        last.metrics.pseudo_likelihood_exact,
    ));
    let mut protocol = serde_json::Value::Null;
    if let Some(note) = shipped_strong_note()? {
        md.push_str(&note);
        if let Some(dir) = data::run::shipped("rbm", "strong") {
            let (rows, missing) = super::q1_protocol::rows(&dir);
            let (paragraph, numbers) = super::q1_protocol::paragraph(&rows, &missing);
            md.push_str(&paragraph);
            protocol = numbers;
        }
    }
    ctx.ctx.write_section(
        "RBM-Q1",
        &md,
        &json!({ "config": config, "epochs": records, "protocol": protocol }),
    )
}

/// How far the per-epoch AIS column can be trusted, from its effective sample sizes: when a
/// few chains carry every estimate the column swings between epochs, and the text says so with
/// the measured range rather than reading a trend into it.
fn ais_trust(
    records: &[Logged<AisEpoch>],
    config: &TrainConfig,
    chains: usize,
    betas: usize,
) -> String {
    let Some(last) = records.last() else {
        return String::new();
    };
    let ess = last.extra.ais_ess;
    let mut md = format!(
        "**How far to trust the AIS column.** After the last epoch the importance weights had an \
         effective sample size of {ess:.1} of {chains} chains"
    );
    if ess >= RELIABLE_ESS {
        md.push_str(".\n\n");
        return md;
    }
    let range = |pick: fn(&Logged<AisEpoch>) -> f64| {
        records
            .iter()
            .map(pick)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let (low, high) = range(|r| r.extra.ais_test_log_likelihood);
    let (ess_low, ess_high) = range(|r| r.extra.ais_ess);
    md.push_str(&format!(
        ": a few chains carry each estimate. Over the {} epochs the estimate ranged from {low:.2} \
         to {high:.2} nats with effective sample sizes of {ess_low:.1} to {ess_high:.1}, so the \
         column shows how unreliable AIS is on this model, not how the model improved. ",
        records.len()
    ));
    let full_betas = super::Budget::new(false).ais_betas;
    if betas < full_betas {
        md.push_str(&format!(
            "This profile anneals through {betas} temperatures; the full one uses {full_betas}.\n\n"
        ));
    } else {
        md.push_str(&format!(
            "Even {betas} temperatures do not carry the chains from the base-rate model to this \
             RBM's modes. It was trained by {}CD-{} at a {} learning rate of {} {}; the strong \
             preset below decays its learning rate and its weights, and AIS passes the \
             convergence rule on it. For this run, follow the two measures that need no Z: the \
             pseudo-likelihood and the reconstruction error.\n\n",
            if config.persistent { "P" } else { "" },
            config.gibbs_steps,
            if config.learning_rate_decay == 1.0 {
                "constant"
            } else {
                "decaying"
            },
            config.learning_rate,
            if config.weight_decay == 0.0 {
                "without weight decay".to_string()
            } else {
                format!("with weight decay {}", config.weight_decay)
            },
        ));
    }
    md
}

/// The published anchor for a 500-hidden RBM trained by CD-25 (Salakhutdinov & Murray 2008),
/// nats on MNIST's test digits.
const PUBLISHED_CD25_500: f64 = -86.34;

/// What the shipped `strong` RBM scores (its `ais.json`, written by `rbm evaluate`), when this
/// checkout has it: the likelihood a well-trained RBM reaches, beside the small run above.
fn shipped_strong_note() -> anyhow::Result<Option<String>> {
    let Some(dir) = data::run::shipped("rbm", "strong") else {
        return Ok(None);
    };
    let ais: serde_json::Value = data::run::read_json(&dir.join("ais.json"))?;
    let (config, _): (TrainConfig, _) = data::run::load_latest(&dir, "RBM")?;
    let records = data::run::read_records::<Logged<super::NoExtra>>(&dir)?;
    let seconds: f64 = records.iter().filter_map(|r| r.metrics.train_seconds).sum();
    let long = &ais["runs"][1];
    let estimate = &long["estimate"];
    let convergence = &ais["convergence"];
    let verdict = if convergence["converged"].as_bool() == Some(true) {
        "converged by the project's rule".to_string()
    } else {
        format!(
            "not converged by the project's rule ({})",
            convergence["problems"]
                .as_array()
                .map(|p| p
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join("; "))
                .unwrap_or_default()
        )
    };
    let number = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    Ok(Some(format!(
        "\n**What a well-trained RBM reaches.** The shipped `strong` preset \
         (`data/pretrained/rbm/strong`): {} hidden units, CD-k with k raised from {} to {} over {} \
         epochs, learning rate {} times {} per epoch, momentum {} then {}, weight decay {}, batch {}, \
         {} epochs on dynamically binarised digits ({:.0} s of training on one CPU thread). AIS \
         ({} chains, {} temperatures) on {} stochastically binarised test digits: \
         **{:.2} nats** (ESS {:.1}; log Z moved {:.2} nats from the 4x shorter schedule: {verdict}), \
         against {PUBLISHED_CD25_500} for Salakhutdinov & Murray's CD25(500).\n",
        config.model.hidden,
        config.gibbs_steps,
        config.final_gibbs_steps,
        config.gibbs_ramp_epochs,
        config.learning_rate,
        config.learning_rate_decay,
        config.momentum,
        config.final_momentum,
        config.weight_decay,
        config.batch_size,
        config.epochs,
        seconds,
        number(&estimate["chains"]),
        number(&estimate["betas"]),
        number(&long["test_images"]),
        number(&long["test_log_likelihood"]),
        number(&estimate["effective_sample_size"]),
        number(&convergence["log_z_shift"]),
    )))
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbm::train::EpochMetrics;

    fn epoch(epoch: usize, ll: f64, ess: f64) -> Logged<AisEpoch> {
        Logged {
            epoch,
            wall_s: 0.0,
            metrics: EpochMetrics {
                pseudo_likelihood_stochastic: -80.0,
                pseudo_likelihood_exact: -75.0,
                test_reconstruction_mse: 0.02,
                free_energy_gap: 1.0,
                train_seconds: None,
            },
            extra: AisEpoch {
                ais_test_log_likelihood: ll,
                ais_ess: ess,
                log_z: 0.0,
            },
        }
    }

    #[test]
    fn an_ais_column_carried_by_few_chains_is_read_as_unreliable() {
        let full = super::super::Budget::new(false).ais_betas;
        let noisy = [
            epoch(1, -133.88, 1.6),
            epoch(2, -68.34, 2.6),
            epoch(3, -89.77, 1.0),
        ];
        let config = TrainConfig::new(rbm::RbmConfig::new())
            .with_persistent(true)
            .with_learning_rate(0.05);
        let text = ais_trust(&noisy, &config, 100, full);
        assert!(text.contains("from -133.88 to -68.34 nats"), "{text}");
        assert!(text.contains("1.0 to 2.6"), "{text}");
        assert!(
            text.contains(&format!("Even {full} temperatures")),
            "{text}"
        );
        assert!(
            text.contains("PCD-1 at a constant learning rate of 0.05 without weight decay"),
            "{text}"
        );
        let quick = ais_trust(&noisy, &config, 100, 1000);
        assert!(
            quick.contains(&format!("the full one uses {full}")),
            "{quick}"
        );
        let good = ais_trust(&[epoch(1, -90.0, 60.0)], &config, 100, full);
        assert!(
            good.contains("60.0 of 100") && !good.contains("unreliable"),
            "{good}"
        );
        assert!(ais_trust(&[], &config, 100, full).is_empty());
    }
}
