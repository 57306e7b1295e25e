//! Tests of [`super`]: finding, loading and thinning shipped runs.

use super::*;
use crate::run::read_json;
use serde_json::{Value, json};

/// A shipped run is found by its config alone (here the diffusion model's, whatever its
/// folder is called); `--retrain` (ignore_shipped_runs) makes every lookup come back empty.
#[test]
fn shipped_runs_are_found_by_config_until_retraining_is_asked_for() {
    let saved: Value = read_json(&shipped_dir("creative", "full").join("config.json")).unwrap();
    let config = &saved["config"];
    let found = shipped_with_config("creative", config).expect("the shipped diffusion model");
    assert_eq!(found, shipped_dir("creative", "full"));
    assert!(shipped_runs_loaded().contains(&"data/pretrained/creative/full".to_string()));
    assert_eq!(
        shipped_with_config("dbm", config),
        None,
        "another model's folder"
    );
    ignore_shipped_runs();
    assert_eq!(shipped_with_config("creative", config), None);
}

/// A field added to a config later, as an `Option` left at none, does not make the runs saved
/// before it a different config; any value of it, or any other difference, does.
#[test]
fn a_null_field_and_an_absent_one_are_the_same_config() {
    let saved = json!({ "epochs": 10, "model": { "backbone": "dcgan" } });
    let wanted = json!({ "epochs": 10, "model": { "backbone": "dcgan", "discriminator": null } });
    assert!(same_config(&saved, &wanted) && same_config(&wanted, &saved));
    let swapped = json!({ "epochs": 10, "model": { "backbone": "dcgan", "discriminator": "cnn" } });
    assert!(!same_config(&saved, &swapped));
    assert!(!same_config(
        &saved,
        &json!({ "epochs": 11, "model": { "backbone": "dcgan" } })
    ));
}

/// Thinning keeps every epoch's step count and window means (exact here), the last epoch
/// whole, the other fields untouched, and is idempotent.
#[test]
fn thinned_step_records_keep_window_means_and_the_last_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let epoch = |e: usize, n: usize| {
        let steps: Vec<serde_json::Value> = (0..n)
            .map(|i| serde_json::json!({ "loss": (e * 100 + i) as f64, "acc": 0.5 }))
            .collect();
        serde_json::json!({ "epoch": e, "wall_s": 1.5, "steps": steps }).to_string()
    };
    std::fs::write(&path, format!("{}\n{}\n", epoch(1, 7), epoch(2, 7))).unwrap();
    thin_step_records(&path, 3).unwrap();
    let once = std::fs::read_to_string(&path).unwrap();
    thin_step_records(&path, 3).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), once);

    let lines: Vec<serde_json::Value> = once
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first = &lines[0];
    assert_eq!(first["step_stride"], 3);
    assert_eq!(first["step_count"], 7);
    assert_eq!(first["wall_s"], 1.5);
    let means: Vec<f64> = first["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["loss"].as_f64().unwrap())
        .collect();
    // Windows 100..=102, 103..=105 and the partial 106.
    assert_eq!(means, vec![101.0, 104.0, 106.0]);
    assert_eq!(first["steps"][0]["acc"], 0.5);
    assert_eq!(lines[1]["steps"].as_array().unwrap().len(), 7);
    assert!(lines[1].get("step_stride").is_none());
    assert!(thin_step_records(&path, 0).is_err());
}
