//! Tests of [`super`]: the `dataset` module.

use super::*;
use crate::locate::workspace_data_dir;

#[test]
fn shipped_mnist_loads_with_the_published_label_counts() {
    let train = ImageSet::load(DataSetName::Mnist, Split::Train, None).unwrap();
    assert_eq!(train.len(), 60_000);
    assert_eq!(
        train.label_counts(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    let test = ImageSet::load(DataSetName::Mnist, Split::Test, None).unwrap();
    assert_eq!(
        test.label_counts(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(test.image(0).len(), PIXELS);
    // The first test digit is a 7.
    assert_eq!(test.label(0), 7);
}

#[test]
fn a_file_that_is_not_the_named_one_fails_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = workspace_data_dir().join("mnist");
    // The test labels stored under the training labels' name.
    std::fs::copy(
        shipped.join("t10k-labels-idx1-ubyte.gz"),
        dir.path().join("train-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let err = read_verified(dir.path(), &MNIST_FILES[1]).unwrap_err();
    assert!(matches!(err, IdxError::Checksum { .. }), "{err:?}");
    assert!(err.to_string().contains("train-labels-idx1-ubyte.gz"));
}

#[test]
fn image_label_count_mismatch_is_an_error() {
    let images = crate::idx::IdxArray {
        dims: vec![2, ROWS, COLS],
        data: vec![0; 2 * PIXELS],
        sha256: String::new(),
    };
    let labels = crate::idx::IdxArray {
        dims: vec![3],
        data: vec![0, 1, 2],
        sha256: String::new(),
    };
    let err = ImageSet::from_idx(
        DataSetName::Mnist,
        Split::Test,
        images,
        labels,
        Path::new("imgs"),
        Path::new("lbls"),
    )
    .unwrap_err();
    assert!(matches!(err, IdxError::CountMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("imgs") && msg.contains("lbls"), "{msg}");
}

#[test]
fn out_of_range_labels_and_wrong_image_size_are_errors() {
    let images = crate::idx::IdxArray {
        dims: vec![1, ROWS, COLS],
        data: vec![0; PIXELS],
        sha256: String::new(),
    };
    let labels = crate::idx::IdxArray {
        dims: vec![1],
        data: vec![10],
        sha256: String::new(),
    };
    let err = ImageSet::from_idx(
        DataSetName::Mnist,
        Split::Test,
        images,
        labels.clone(),
        Path::new("i"),
        Path::new("l"),
    )
    .unwrap_err();
    assert!(matches!(err, IdxError::LabelRange { label: 10, .. }));
    let small = crate::idx::IdxArray {
        dims: vec![1, 14, 14],
        data: vec![0; 196],
        sha256: String::new(),
    };
    let err = ImageSet::from_idx(
        DataSetName::Mnist,
        Split::Test,
        small,
        labels,
        Path::new("i"),
        Path::new("l"),
    )
    .unwrap_err();
    assert!(matches!(err, IdxError::ImageShape { rows: 14, .. }));
}
