//! CLOSING: the interpretation across the families, the discussion points and the
//! conclusion. It measures nothing itself: it reads what the other sections measured, each
//! through its section's type, so a renamed field fails to compile and numbers of another
//! shape fail loudly, naming the section.

use std::path::Path;

use anyhow::Context as _;
use eval::{FamilyRecord, SampleScores};
use serde::{Deserialize, Serialize};

use crate::Answer;
use crate::experiments::{creative as creative_study, dbm, gan, rbm, vae as vae_study};

/// CLOSING's numbers, gathered from the sections that measured them. A section the run did
/// not produce (`--only`) leaves its part out.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Closing {
    /// Whether any section it reads ran the quick (CI) profile: then it interprets nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// The summary table's MNIST families, least often told from real digits first.
    pub families: Vec<FamilyRecord>,
    /// Real training digits scored against the test digits: the floor of every score.
    pub real_floor: SampleScores,
    /// RBM-Q1: the strong RBM's AIS estimate on the test digits.
    pub rbm: Option<rbm::q1_protocol::Score>,
    /// DBM-Q2: the DBM's variational bound on stochastically binarised test digits, and the
    /// published DBM's (nats).
    pub dbm: Option<dbm::q2_published::Evaluation>,
    pub dbm_published: Option<f64>,
    /// VAE-Q1: the importance-sampled bound with the most samples, and the amortisation gap.
    pub vae: Option<vae::importance::LikelihoodEstimate>,
    pub vae_gap: Option<vae_study::q1_objective::GapSplit>,
    /// GAN-Q3: largest minus smallest final FID of three seeds of one configuration.
    pub gan_seed_fid_spread: Option<f64>,
    /// CREATIVE: the headline evaluation of the diffusion model, the real-data floor at the
    /// same sample count, and the classifier's accuracy on real test images (0-1).
    pub diffusion: Option<Diffusion>,
}

impl Answer for Closing {
    const ID: &'static str = "CLOSING";
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Diffusion {
    pub headline: creative::evaluate::Evaluation,
    pub floor: SampleScores,
    pub classifier_test_accuracy: f64,
    /// CREATIVE's head-to-head on Fashion-MNIST at one sample count: FIDs of the diffusion
    /// model (guidance 2), the project's VAE and GAN, and the real-data floor.
    #[serde(default)]
    pub head_to_head: Option<HeadToHead>,
}

/// CREATIVE's comparison of the diffusion model (guidance 2) with the project's VAE and GAN
/// on Fashion-MNIST, at one sample count.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeadToHead {
    pub samples: usize,
    /// Network evaluations per diffusion sample at the sampler and guidance compared.
    #[serde(default)]
    pub network_calls: usize,
    pub diffusion_fid: f64,
    pub vae_fid: f64,
    pub gan_fid: f64,
    pub floor_fid: f64,
    #[serde(default)]
    pub diffusion_recall: f64,
    #[serde(default)]
    pub gan_recall: f64,
    #[serde(default)]
    pub diffusion_coverage: f64,
    #[serde(default)]
    pub gan_coverage: f64,
}

impl HeadToHead {
    /// The comparison CREATIVE measured, if its guidance sweep holds guidance 2.
    pub fn of(study: &creative_study::DiffusionStudy) -> Option<Self> {
        let e = study.guidance.iter().find(|e| e.guidance == 2.0)?;
        Some(Self {
            samples: e.samples,
            network_calls: e
                .sampler
                .network_calls(study.config.diffusion_steps, e.guidance),
            diffusion_fid: e.scores.fid,
            vae_fid: study.vae.scores.fid,
            gan_fid: study.gan.scores.fid,
            floor_fid: study.floor_sweep.fid,
            diffusion_recall: e.scores.precision_recall.recall,
            gan_recall: study.gan.scores.precision_recall.recall,
            diffusion_coverage: e.scores.density_coverage.coverage,
            gan_coverage: study.gan.scores.density_coverage.coverage,
        })
    }
}

impl Closing {
    /// Gathers CLOSING's numbers from `<reports>/numbers/`; `None` without any family.
    pub fn collect(reports: &Path, families: &[FamilyRecord]) -> anyhow::Result<Option<Self>> {
        if families.is_empty() {
            return Ok(None);
        }
        let mut families = families.to_vec();
        // The headline score first: how often a critic tells the samples from real digits.
        let told = |r: &FamilyRecord| {
            (r.scores.verdict.as_ref()).map_or(f64::INFINITY, |v| v.two_sample.accuracy)
        };
        families.sort_by(|a, b| told(a).total_cmp(&told(b)));
        let rbm_q1 = read::<rbm::q1_pseudo_likelihood::MonitoredRun>(reports)?;
        let dbm_q2 = read::<dbm::q2_samples::DbmSamples>(reports)?;
        let vae_q1 = read::<vae_study::q1_objective::Objective>(reports)?;
        let creative_q = read::<creative_study::DiffusionStudy>(reports)?;
        let gan_q3 = read::<gan::q3_stability::Stability>(reports)?;
        let quick = [
            dbm_q2.as_ref().map(|q| q.quick),
            vae_q1.as_ref().map(|q| q.quick),
            creative_q.as_ref().map(|q| q.budget.quick),
            gan_q3.as_ref().map(|q| q.quick),
        ]
        .contains(&Some(true));
        Ok(Some(Self {
            quick,
            families,
            real_floor: eval::reference::shipped_reference(data::DataSetName::Mnist)?
                .floor()
                .clone(),
            rbm: rbm_q1.and_then(|q1| q1.protocol).and_then(|p| {
                (p.rows.into_iter())
                    .find(|row| row.run == "strong")
                    .map(|row| row.score)
            }),
            dbm_published: dbm_q2.as_ref().map(|q2| q2.published),
            dbm: dbm_q2.and_then(|q2| q2.against_published),
            vae: vae_q1.as_ref().and_then(|q1| q1.bounds.last().cloned()),
            vae_gap: vae_q1.map(|q1| q1.gap),
            gan_seed_fid_spread: gan_q3.map(|q3| q3.final_fid_spread),
            diffusion: creative_q.map(|c| Diffusion {
                head_to_head: HeadToHead::of(&c),
                headline: c.headline,
                floor: c.floor_headline,
                classifier_test_accuracy: c.classifier_test_accuracy,
            }),
        }))
    }
}

/// Section `T::ID`'s numbers read as `T`; `None` when the run did not write them.
pub fn read<T: Answer>(reports: &Path) -> anyhow::Result<Option<T>> {
    let path = reports.join("numbers").join(format!("{}.json", T::ID));
    if !path.exists() {
        return Ok(None);
    }
    data::run::read_json(&path)
        .map(Some)
        .with_context(|| format!("CLOSING reads the numbers of {}", T::ID))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_reports() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports")
    }

    fn committed_families() -> Vec<FamilyRecord> {
        ["rbm", "dbm", "gan", "vae"]
            .iter()
            .flat_map(|family| FamilyRecord::read_all(&committed_reports(), family))
            .collect()
    }

    #[test]
    fn the_committed_numbers_give_every_part_of_closing_with_their_values() {
        let closing = Closing::collect(&committed_reports(), &committed_families())
            .unwrap()
            .unwrap();
        let told: Vec<f64> = (closing.families.iter())
            .map(|f| f.scores.verdict.as_ref().unwrap().two_sample.accuracy)
            .collect();
        assert!(told.is_sorted(), "{told:?}");
        let rbm = closing.rbm.as_ref().expect("RBM-Q1's strong run");
        assert!(rbm.converged, "the strong RBM's AIS, not the course run's");
        let text = crate::answer::render(&closing).unwrap();
        for part in [
            "**Interpretation: likelihoods.**",
            "(CREATIVE).**",
            "(three seeds of one GAN configuration ended",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        assert!(
            text.contains(&format!("the RBM {:.2} (an AIS", rbm.log_likelihood)),
            "{text}"
        );
    }

    #[test]
    fn a_likelihood_that_breaks_the_comparison_fails_closing_naming_the_claim() {
        let mut closing = Closing::collect(&committed_reports(), &committed_families())
            .unwrap()
            .unwrap();
        closing.vae.as_mut().unwrap().mean = -95.0;
        let err = format!("{:#}", crate::answer::render(&closing).unwrap_err());
        assert!(err.contains("within 1.5 nats of each other"), "{err}");
    }

    #[test]
    fn the_quick_profile_interprets_nothing() {
        let mut closing = Closing::collect(&committed_reports(), &committed_families())
            .unwrap()
            .unwrap();
        assert!(!closing.quick, "the committed report is the full profile's");
        closing.quick = true;
        let text = crate::answer::render(&closing).unwrap();
        assert!(text.contains("*Quick profile:"), "{text}");
        assert!(!text.contains("**Conclusion.**"), "{text}");
    }

    #[test]
    fn sections_the_run_did_not_write_leave_their_parts_out() {
        let reports = tempfile::tempdir().unwrap();
        assert!(Closing::collect(reports.path(), &[]).unwrap().is_none());
        let closing = Closing::collect(reports.path(), &committed_families())
            .unwrap()
            .unwrap();
        assert!(closing.rbm.is_none() && closing.diffusion.is_none());
        let text = crate::answer::render(&closing).unwrap();
        assert!(
            !text.contains("likelihoods.**") && !text.contains("CREATIVE"),
            "{text}"
        );
        assert!(text.contains("**Conclusion.**"), "{text}");
    }

    #[test]
    fn numbers_of_another_shape_fail_naming_their_section() {
        let reports = tempfile::tempdir().unwrap();
        let path = reports.path().join("numbers").join("GAN-Q3.json");
        data::run::write_json(&path, &serde_json::json!({ "seeds": "renamed" })).unwrap();
        let err = Closing::collect(reports.path(), &committed_families()).unwrap_err();
        assert!(format!("{err:#}").contains("GAN-Q3"), "{err:#}");
    }
}
