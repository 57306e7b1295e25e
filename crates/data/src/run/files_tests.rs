//! Checksums of weights files: written beside them, checked before they load.

use super::*;
use crate::run::pretrained_dir;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;

#[test]
fn weights_changed_after_they_were_written_are_refused_naming_the_file() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let layer: Linear = LinearConfig::new(4, 3).init(&device);
    save_module(dir.path(), "model", &layer).unwrap();
    let weights = dir.path().join("model.bpk");
    assert!(
        checksum_path(&weights).is_file(),
        "a checksum beside the weights"
    );
    assert!(load_module(dir.path(), "model", layer.clone()).is_ok());

    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&weights, &bytes).unwrap();
    let err = load_module(dir.path(), "model", layer.clone())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.bpk") && err.contains("do not match their checksum"),
        "{err}"
    );

    // Weights written before checksums were kept load unchecked.
    std::fs::remove_file(checksum_path(&weights)).unwrap();
    bytes[last] ^= 0xff;
    std::fs::write(&weights, &bytes).unwrap();
    assert!(load_module(dir.path(), "model", layer).is_ok());
}

#[test]
fn every_shipped_weights_file_has_a_checksum_it_matches() {
    fn weights_under(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                weights_under(&path, found);
            } else if path.extension().is_some_and(|e| e == "bpk") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    weights_under(&pretrained_dir(), &mut found);
    assert!(found.len() > 10, "{} weights files", found.len());
    for weights in found {
        assert!(
            checksum_path(&weights).is_file(),
            "{} has no checksum: ship it with the model's `ship` command",
            weights.display()
        );
        verify_checksum(&weights).unwrap();
    }
}
