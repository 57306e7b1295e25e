//! `reports/results.json`: every number the report cites, machine-readable: each section's
//! numbers as its experiment wrote them (`reports/numbers/<ID>.json`), the family
//! comparison, and the units the field names follow.

use std::path::Path;

use serde_json::{Map, Value, json};

/// The unit of every number a section writes, by field name (or `parent/field` where a
/// name means different things in different places): the first rule that matches wins.
/// A pattern is exact, `prefix*`, `*suffix` or `*infix*`.
const UNITS: &[(&[&str], &str)] = &[
    (&["bounds/mean", "log_likelihood/mean"], "nats per image"),
    (&["*_latent"], "latent dimensions"),
    (
        &["kl_to_uniform"],
        "nats (KL of the class histogram to uniform)",
    ),
    (
        &["log_z", "log_z_*"],
        "nats (log of the partition function, the whole model's)",
    ),
    (
        &[
            "*log_likelihood*",
            "*elbo*",
            "*_bound",
            "bound",
            "against_published/published",
            "log_px",
            "bce",
            "kl",
            "reconstruction",
            "free_energy_gap",
            "standard_error",
            "pseudo_likelihood_*",
            "*_train_loss",
        ],
        "nats per image",
    ),
    (
        &["d_loss", "g_loss", "*_loss_std_last_epoch"],
        "loss per image (nats for the cross-entropy losses)",
    ),
    (
        &["fid", "*_fid", "final_fid_spread"],
        "Fréchet distance between eval-classifier features of samples and of real test images (squared feature units)",
    ),
    (
        &["density"],
        "ratio (about 1 for real images; above 1 where samples crowd dense regions)",
    ),
    (
        &["inception_score"],
        "effective number of classes (exp of nats), 1 to 10",
    ),
    (
        &[
            "precision",
            "recall",
            "coverage",
            "accuracy*",
            "*_accuracy",
            "*confidence*",
            "*_fraction",
            "*share*",
            "d_real",
            "d_fake*",
            "kept_label",
            "class_dropout",
        ],
        "fraction in [0, 1]",
    ),
    (
        &["seconds", "*_seconds", "wall_s", "seconds_per_epoch"],
        "seconds of wall time",
    ),
    (&["ms_per_*"], "milliseconds"),
    (&["sampling_ms_1000"], "milliseconds to draw 1000 samples"),
    (&["images_per_second"], "training images per second"),
    (
        &["effective_sample_size", "ais_ess"],
        "chains (AIS effective sample size)",
    ),
    (
        &["nearest_train_*", "lerp_step_*", "slerp_step_*"],
        "Euclidean pixel distance, pixels in [0, 1]",
    ),
    (&["*mse*"], "mean squared error per pixel, pixels in [0, 1]"),
    (&["*_radius"], "pixels"),
    (
        &["code_norm_mean", "lerp_midpoint_norm_mean"],
        "Euclidean norm in latent space",
    ),
    (
        &[
            "aggregate_mean",
            "aggregate_variance",
            "mean_variance",
            "posterior_mean_variances",
            "active_variance",
        ],
        "latent units (the prior is N(0, 1))",
    ),
    (&["grad_norm_*"], "L2 norm of the gradient"),
    (&["epoch", "epochs", "*_epoch", "*_epochs"], "epochs"),
    (
        &[
            "*learning_rate*",
            "beta1",
            "beta2",
            "*momentum",
            "weight_decay",
            "kl_weight",
            "init_std",
            "*_decay",
            "loss_scale",
            "guidance*",
            "dropout",
            "*_tolerance",
        ],
        "config value (dimensionless; see the config field's documentation)",
    ),
    (
        &["schedule_runs"],
        "(base channels, epochs, training images)",
    ),
    (
        &["gan_run", "vae_run"],
        "(epochs, training images; 0 = all)",
    ),
    (
        &[
            "n",
            "k",
            "seed",
            "side",
            "steps",
            "*_steps",
            "*_sweeps",
            "*_step_counts",
            "images",
            "*_images",
            "samples",
            "*_samples",
            "chains",
            "*_chains",
            "classes",
            "classes_*",
            "*histogram",
            "digits",
            "*_digits",
            "pairs",
            "betas",
            "hidden",
            "hidden_*",
            "visible",
            "latent",
            "parameters",
            "*_parameters",
            "*channels",
            "filters",
            "groups",
            "widths",
            "*_multipliers",
            "*_per_level",
            "time_embedding",
            "*batch_size",
            "train_limit",
            "active_units",
            "samples_closer_than_any_test",
            "fid_rises",
        ],
        "count",
    ),
];

/// Whether `pattern` (see [`UNITS`]) matches `name`.
fn matches(pattern: &str, name: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), _) if rest.ends_with('*') => name.contains(&rest[..rest.len() - 1]),
        (Some(suffix), _) => name.ends_with(suffix),
        (None, Some(prefix)) => name.starts_with(prefix),
        (None, None) => name == pattern,
    }
}

/// The unit of the number at `parent/name`, if a rule knows it.
pub fn unit_of(parent: &str, name: &str) -> Option<&'static str> {
    let qualified = format!("{parent}/{name}");
    UNITS.iter().find_map(|(patterns, unit)| {
        patterns
            .iter()
            .any(|p| {
                if p.contains('/') {
                    *p == qualified
                } else {
                    matches(p, name)
                }
            })
            .then_some(*unit)
    })
}

/// Every numeric field under `value` as `(parent, name)`: the field `name` of the object
/// that is itself the field `parent`; arrays of numbers or objects count as their field.
fn numeric_fields(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = vec![(value, String::new(), String::new())];
    while let Some((value, parent, name)) = pending.pop() {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    pending.push((child, name.clone(), key.clone()));
                }
            }
            Value::Array(items) => {
                for item in items {
                    pending.push((item, parent.clone(), name.clone()));
                }
            }
            Value::Number(_) if !name.is_empty() => out.push((parent, name)),
            _ => {}
        }
    }
    out
}

/// The unit of every numeric field in `sections`, by `name` (or `parent/name` where the
/// rules tell them apart), and the fields no rule knows.
fn units(sections: &Value) -> (Map<String, Value>, Vec<String>) {
    let fields = numeric_fields(sections);
    let mut known = Map::new();
    let mut unknown = Vec::new();
    for (parent, name) in fields {
        match unit_of(&parent, &name) {
            Some(unit) => {
                let qualified = format!("{parent}/{name}");
                let key = if UNITS.iter().any(|(p, _)| p.contains(&qualified.as_str())) {
                    qualified
                } else {
                    name
                };
                known.insert(key, json!(unit));
            }
            None => unknown.push(format!("{parent}/{name}")),
        }
    }
    unknown.sort();
    unknown.dedup();
    (known, unknown)
}

/// The results file's content for the report in `reports`: each section's numbers, read
/// through its type where it has one (numbers the type does not hold fail here, naming the
/// section); the type of each typed section, whose field docs state the units; and units
/// guessed from field names for the sections without a type yet.
pub fn collect(reports: &Path, profile: &str, backend: &str) -> anyhow::Result<Value> {
    let mut sections = Map::new();
    let mut types = Map::new();
    let mut untyped = Map::new();
    for (id, numbers) in section_numbers(reports) {
        match study::experiments::templated_section(&id) {
            Some(templated) => {
                sections.insert(id.clone(), (templated.reread)(&numbers)?);
                types.insert(id, json!((templated.type_name)()));
            }
            None => {
                untyped.insert(id.clone(), numbers.clone());
                sections.insert(id, numbers);
            }
        }
    }
    let (units, unknown) = units(&Value::Object(untyped));
    Ok(json!({
        "profile": profile,
        "backend": backend,
        "types": types,
        "units": units,
        "fields_without_unit": unknown,
        "sections": sections,
    }))
}

/// Every `<reports>/numbers/<ID>.json`, by id.
fn section_numbers(reports: &Path) -> Vec<(String, Value)> {
    let Ok(entries) = std::fs::read_dir(reports.join("numbers")) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let id = path.file_stem()?.to_str()?.to_string();
            Some((id, data::run::read_json::<Value>(&path).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sections_numbers_are_collected_under_its_id() {
        let reports = tempfile::tempdir().unwrap();
        let numbers = reports.path().join("numbers");
        data::run::write_json(&numbers.join("X-Q1.json"), &json!({ "ll": -86.1 })).unwrap();
        data::run::write_json(&numbers.join("families.json"), &json!([{ "fid": 3.5 }])).unwrap();
        let results = collect(reports.path(), "quick", "flex").unwrap();
        assert_eq!(results["sections"]["X-Q1"]["ll"], json!(-86.1));
        assert_eq!(results["sections"]["families"][0]["fid"], json!(3.5));
        assert_eq!(results["profile"], json!("quick"));
        assert_eq!(results["units"]["ll"], json!(null), "no rule for `ll`");
        assert_eq!(results["fields_without_unit"], json!(["X-Q1/ll"]));
        assert_eq!(
            results["units"]["fid"],
            json!(unit_of("", "fid").unwrap()),
            "arrays of objects are searched too"
        );
    }

    #[test]
    fn typed_sections_are_read_through_their_type_and_name_it() {
        let reports = tempfile::tempdir().unwrap();
        let committed: Value = data::run::read_json(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/numbers/DBM-Q1.json"),
        )
        .unwrap();
        let path = reports.path().join("numbers").join("DBM-Q1.json");
        data::run::write_json(&path, &committed).unwrap();
        let results = collect(reports.path(), "full", "flex").unwrap();
        assert_eq!(results["sections"]["DBM-Q1"], committed);
        assert!(
            results["types"]["DBM-Q1"]
                .as_str()
                .is_some_and(|t| t.ends_with("q1_filters::FilterShapes")),
            "{}",
            results["types"]
        );
        assert_eq!(
            results["fields_without_unit"],
            json!([]),
            "typed: no guessing"
        );
        let mut broken = committed.clone();
        broken.as_object_mut().unwrap().remove("layer_1");
        data::run::write_json(&path, &broken).unwrap();
        let err = collect(reports.path(), "full", "flex").unwrap_err();
        assert!(format!("{err:#}").contains("DBM-Q1"), "{err:#}");
    }

    #[test]
    fn patterns_match_exactly_by_prefix_suffix_or_infix() {
        assert!(matches("fid", "fid") && !matches("fid", "best_fid"));
        assert!(matches("*_fid", "best_fid") && !matches("*_fid", "fid_rises"));
        assert!(matches("nearest_train_*", "nearest_train_mean"));
        assert!(matches("*share*", "inner_share_end_classes"));
        assert_eq!(
            unit_of("VAE-Q1", "test_log_likelihood"),
            Some("nats per image")
        );
        assert_eq!(unit_of("bounds", "mean"), Some("nats per image"));
        assert_eq!(unit_of("scores", "mean"), None, "`mean` alone is ambiguous");
        assert_eq!(
            unit_of("", "best_log_likelihood_latent"),
            Some("latent dimensions"),
            "earlier rules win"
        );
    }

    /// Every number of an untyped section the committed report cites has a unit: a new
    /// field without one fails here, naming it. (A typed section's units are its type's.)
    #[test]
    fn every_number_of_the_committed_untyped_sections_has_a_unit() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/results.json");
        let results: Value = data::run::read_json(&path).unwrap();
        let mut untyped = results["sections"].clone();
        for typed in results["types"].as_object().unwrap().keys() {
            untyped.as_object_mut().unwrap().remove(typed);
        }
        let (_, unknown) = units(&untyped);
        assert!(
            unknown.is_empty(),
            "no unit for {unknown:?}: add a rule to UNITS"
        );
    }
}
