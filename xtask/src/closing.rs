//! CLOSING: the interpretation of the results, discussion points and the conclusion, written
//! across the families from the numbers the other sections measured
//! (`reports/numbers/*.json`): every claim carries its number and the section it comes from,
//! and a claim whose numbers are missing is left out rather than guessed.

use std::fmt::Write as _;
use std::path::Path;

use eval::FamilyRecord;
use serde_json::Value;

/// The CLOSING section's markdown, or None when no family has written its scores yet.
pub fn section(reports: &Path, pretrained: &Path) -> Option<String> {
    let (families, _) = crate::families::records(reports);
    if families.is_empty() {
        return None;
    }
    let numbers = |id: &str| -> Value {
        data::run::read_json(&reports.join("numbers").join(format!("{id}.json")))
            .unwrap_or(Value::Null)
    };
    let floor = data::run::read_json::<Value>(&pretrained.join("eval-reference.json"))
        .ok()
        .and_then(|r| r["mnist"]["real train images"]["fid"].as_f64());
    let mut md = String::new();
    md.push_str(&sample_quality(&families, floor));
    md.push_str(&likelihoods(&numbers, pretrained));
    md.push_str(&costs(&families));
    md.push_str(&diffusion(&numbers("CREATIVE")));
    md.push_str(&discussion(&families, &numbers));
    md.push_str(&conclusion(&families, floor));
    Some(md)
}

fn by_fid(families: &[FamilyRecord]) -> Vec<&FamilyRecord> {
    let mut sorted: Vec<&FamilyRecord> = families.iter().collect();
    sorted.sort_by(|a, b| a.scores.fid.total_cmp(&b.scores.fid));
    sorted
}

fn sample_quality(families: &[FamilyRecord], floor: Option<f64>) -> String {
    let mut md =
        String::from("**Interpretation: samples.** Ranked by FID (summary table, GAN-Q6): ");
    let ranked: Vec<String> = by_fid(families)
        .iter()
        .map(|r| {
            let s = &r.scores;
            format!(
                "{} {:.1} ({}/10 classes, precision {:.3}, recall {:.3})",
                r.family,
                s.fid,
                s.classes.classes_covered,
                s.precision_recall.precision,
                s.precision_recall.recall
            )
        })
        .collect();
    md.push_str(&ranked.join("; "));
    if let Some(floor) = floor {
        let _ = write!(
            md,
            ". Real training digits score {floor:.2} against the test digits (the floor no \
             model can beat)"
        );
    }
    md.push_str(
        ". Precision asks whether samples look like real digits, recall whether the real \
         digits' variety is reached: a model can be high on one and low on the other, which \
         is why FID alone does not rank the families.\n\n",
    );
    md
}

fn likelihoods(numbers: &dyn Fn(&str) -> Value, pretrained: &Path) -> String {
    let mut claims = Vec::new();
    let rbm_q1 = numbers("RBM-Q1");
    let last = rbm_q1["epochs"].as_array().and_then(|e| e.last());
    if let Some((ll, ess)) = last.and_then(|l| {
        Some((
            l["ais_test_log_likelihood"].as_f64()?,
            l["ais_ess"].as_f64()?,
        ))
    }) {
        claims.push(format!(
            "the RBM-Q1 run's AIS estimate {ll:.2} nats (ESS {ess:.1} of 100 chains)"
        ));
    }
    let strong = data::run::read_json::<Value>(&pretrained.join("rbm/strong/ais.json")).ok();
    if let Some(ll) = strong
        .as_ref()
        .and_then(|a| a["runs"][1]["test_log_likelihood"].as_f64())
    {
        claims.push(format!("the shipped strong RBM's {ll:.2} nats (RBM-Q1)"));
    }
    let dbm_q2 = numbers("DBM-Q2");
    if let (Some(bound), Some(rbm)) = (
        dbm_q2["dbm"]["test_log_likelihood_bound"].as_f64(),
        dbm_q2["rbm"]["test_log_likelihood"].as_f64(),
    ) {
        claims.push(format!(
            "the DBM's variational lower bound {bound:.2} nats against its comparison RBM's \
             {rbm:.2} (DBM-Q2)"
        ));
    }
    let vae_q1 = numbers("VAE-Q1");
    let best = vae_q1["bounds"].as_array().and_then(|b| b.last());
    if let Some((mean, k)) = best.and_then(|b| Some((b["mean"].as_f64()?, b["samples"].as_u64()?)))
    {
        claims.push(format!(
            "the VAE's importance-sampled bound {mean:.2} nats at k = {k} (VAE-Q1)"
        ));
    }
    if claims.is_empty() {
        return String::new();
    }
    format!(
        "**Interpretation: likelihoods.** Only the energy-based models and the VAE define one: \
         {}. They are not one measure: AIS estimates the RBM's log Z (trustworthy only when its \
         effective sample size is large), the DBM's and the VAE's figures are lower bounds, and \
         a GAN has no likelihood at all. Comparing them across families says less than \
         comparing each against its published anchor, which the sections do.\n\n",
        claims.join("; ")
    )
}

fn costs(families: &[FamilyRecord]) -> String {
    let mut sorted: Vec<&FamilyRecord> = families.iter().collect();
    sorted.sort_by(|a, b| a.train_seconds.total_cmp(&b.train_seconds));
    let rows: Vec<String> = sorted
        .iter()
        .map(|r| {
            format!(
                "{} {:.0} s to train, {:.0} ms to draw 1000 samples",
                r.family, r.train_seconds, r.sampling_ms_1000
            )
        })
        .collect();
    format!(
        "**Interpretation: cost.** {} (summary table). Sampling is one forward pass for the GAN \
         and the VAE but a Markov chain for the RBM and the DBM: their samples cost as many \
         passes as Gibbs steps.\n\n",
        rows.join("; ")
    )
}

fn diffusion(creative: &Value) -> String {
    let headline = &creative["headline"];
    let (Some(accuracy), Some(fid), Some(reference)) = (
        headline["class_accuracy"].as_f64(),
        headline["scores"]["fid"].as_f64(),
        creative["classifier_test_accuracy"].as_f64(),
    ) else {
        return String::new();
    };
    let floor = creative["floor_headline"]["fid"].as_f64();
    format!(
        "**Interpretation: the diffusion model (CREATIVE).** Its guided Fashion-MNIST samples \
         are read as the asked-for class {:.1}% of the time, against the classifier's {:.1}% on \
         real test images; their FID is {fid:.2}{}. Conditioning and guidance buy class control \
         that none of the unconditional MNIST families offers; the price is hundreds of network \
         passes per sample ({:.0} ms each).\n\n",
        100.0 * accuracy,
        100.0 * reference,
        floor.map_or(String::new(), |f| format!(
            " against a real-data floor of {f:.2} at the same sample count"
        )),
        headline["ms_per_sample"].as_f64().unwrap_or(f64::NAN)
    )
}

/// Why a family's samples can miss digit classes, by what its training objective rewards.
fn why_classes_are_missing(record: &FamilyRecord) -> String {
    let family = record.family.as_str();
    if family.starts_with("GAN") {
        "the generator is rewarded only for fooling the discriminator, not for covering the \
         data, so it can drop modes (mode collapse; GAN-Q3 follows it over seeds)"
            .to_string()
    } else if family.starts_with("RBM") || family.starts_with("DBM") {
        format!(
            "the model's samples come from Gibbs chains, which mix slowly between the modes \
             (RBM-Q3); run: {}",
            record.run
        )
    } else {
        format!(
            "its objective is a likelihood (bound), which penalises any digit the model cannot \
             produce, so missing classes point to too little training; run: {}",
            record.run
        )
    }
}

fn discussion(families: &[FamilyRecord], numbers: &dyn Fn(&str) -> Value) -> String {
    let mut points = Vec::new();
    let dropped: Vec<String> = families
        .iter()
        .filter(|r| r.scores.classes.classes_covered < 10)
        .map(|r| {
            format!(
                "{} ({}/10: {})",
                r.family,
                r.scores.classes.classes_covered,
                why_classes_are_missing(r)
            )
        })
        .collect();
    if !dropped.is_empty() {
        points.push(format!(
            "Mode coverage: not every family produced every digit class: {}.",
            dropped.join("; ")
        ));
    }
    let gan_q3 = numbers("GAN-Q3");
    if let Some(spread) = gan_q3["final_fid_spread"].as_f64() {
        points.push(format!(
            "Stability: the same GAN trained with three seeds ended {spread:.1} FID apart \
             (GAN-Q3); a single GAN run is an anecdote."
        ));
    }
    let vae_q1 = numbers("VAE-Q1");
    if let (Some(amortised), Some(optimised)) = (
        vae_q1["gap"]["elbo_amortised"].as_f64(),
        vae_q1["gap"]["elbo_optimised"].as_f64(),
    ) {
        points.push(format!(
            "The VAE's encoder costs likelihood: optimising each digit's posterior directly \
             raised the ELBO from {amortised:.2} to {optimised:.2} nats (VAE-Q1, the \
             amortisation gap)."
        ));
    }
    if points.is_empty() {
        return String::new();
    }
    let mut md = String::from("**Discussion points.**\n\n");
    for point in points {
        let _ = writeln!(md, "- {point}");
    }
    md.push('\n');
    md
}

fn conclusion(families: &[FamilyRecord], floor: Option<f64>) -> String {
    let ranked = by_fid(families);
    let (best, worst) = (ranked[0], ranked[ranked.len() - 1]);
    format!(
        "**Conclusion.** On these runs {} gives the samples closest to real digits (FID {:.1}{}) \
         and {} the farthest ({:.1}). Which family is best depends on the question asked: sample \
         fidelity, a likelihood to score new data by, a latent space to encode into (the VAE), \
         or control over what is drawn (the conditional diffusion model).\n",
        best.family,
        best.scores.fid,
        floor.map_or(String::new(), |f| format!(", floor {f:.2}")),
        worst.family,
        worst.scores.fid
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(family: &str, fid: f64, classes: usize) -> FamilyRecord {
        let scores = json!({
            "images": 1000, "classifier": "mnist-classifier", "fid": fid,
            "precision_recall": { "precision": 0.5, "recall": 0.25, "k": 3 },
            "density_coverage": { "density": 0.9, "coverage": 0.8, "k": 5 },
            "classes": { "histogram": [100, 100, 100, 100, 100, 100, 100, 100, 100, 100], "classes_covered": classes,
                         "kl_to_uniform": 0.0, "mean_confidence": 0.9, "inception_score": 9.0 },
            "nearest_train_mean": 1.0, "nearest_train_median": 1.0
        });
        FamilyRecord {
            family: family.into(),
            from: "X".into(),
            run: "r".into(),
            scores: serde_json::from_value(scores).unwrap(),
            train_seconds: 10.0,
            sampling_ms_1000: 3.0,
            samples_figure: "figures/x.png".into(),
        }
    }

    #[test]
    fn claims_carry_the_measured_numbers_and_missing_numbers_drop_their_claims() {
        let reports = tempfile::tempdir().unwrap();
        let pretrained = tempfile::tempdir().unwrap();
        assert_eq!(
            section(reports.path(), pretrained.path()),
            None,
            "nothing measured yet"
        );
        record("GAN (MLP)", 25.04, 10)
            .write(reports.path(), "gan")
            .unwrap();
        record("RBM", 300.0, 7)
            .write(reports.path(), "rbm")
            .unwrap();
        let numbers = reports.path().join("numbers");
        data::run::write_json(
            &numbers.join("DBM-Q2.json"),
            &json!({ "dbm": { "test_log_likelihood_bound": -84.61 },
                     "rbm": { "test_log_likelihood": -93.8 } }),
        )
        .unwrap();
        let md = section(reports.path(), pretrained.path()).unwrap();
        assert!(md.contains("GAN (MLP) 25.0 (10/10 classes"), "{md}");
        assert!(
            md.contains("bound -84.61 nats against its comparison RBM's -93.80"),
            "{md}"
        );
        assert!(
            md.contains("RBM (7/10: the model's samples come from Gibbs chains"),
            "mode coverage names the family and its reason: {md}"
        );
        assert!(
            !md.contains("GAN (MLP) (10"),
            "a family covering every class is not listed: {md}"
        );
        assert!(md.contains("GAN (MLP) gives the samples closest to real digits (FID 25.0"));
        // No VAE, no diffusion numbers: no claims about them.
        assert!(!md.contains("VAE-Q1") && !md.contains("CREATIVE"), "{md}");
    }

    #[test]
    fn missing_classes_are_explained_by_the_family_s_objective() {
        let reason = |family: &str| why_classes_are_missing(&record(family, 1.0, 9));
        assert!(reason("GAN (DCGAN)").contains("mode collapse"));
        assert!(reason("DBM").contains("Gibbs chains"));
        assert!(reason("VAE (MLP)").contains("too little training; run: r"));
    }
}
