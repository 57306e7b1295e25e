//! The MNIST-like data sets genlab knows: their files, checksums, mirrors, and an in-memory
//! split of one set kept as `u8` pixels.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::idx::{IdxError, read_idx};
use crate::locate::{DataError, Located, locate};

/// Images and labels of every set genlab reads are 28x28 digits or garments in 10 classes.
pub const ROWS: usize = 28;
pub const COLS: usize = 28;
pub const PIXELS: usize = ROWS * COLS;
pub const CLASSES: usize = 10;

/// A data set genlab can load by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DataSetName {
    Mnist,
    FashionMnist,
}

/// The training or the test part of a data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    Train,
    Test,
}

/// One IDX file of a data set and the SHA-256 of its decompressed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdxFileSpec {
    /// File name without the `.gz` suffix, e.g. `train-images-idx3-ubyte`.
    pub name: &'static str,
    pub sha256: &'static str,
    /// 3 for images, 1 for labels.
    pub ndim: u8,
}

const MNIST_FILES: [IdxFileSpec; 4] = [
    IdxFileSpec {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ndim: 3,
    },
    IdxFileSpec {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ndim: 1,
    },
    IdxFileSpec {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ndim: 3,
    },
    IdxFileSpec {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ndim: 1,
    },
];

const FASHION_MNIST_FILES: [IdxFileSpec; 4] = [
    IdxFileSpec {
        name: "train-images-idx3-ubyte",
        sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ndim: 3,
    },
    IdxFileSpec {
        name: "train-labels-idx1-ubyte",
        sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ndim: 1,
    },
    IdxFileSpec {
        name: "t10k-images-idx3-ubyte",
        sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ndim: 3,
    },
    IdxFileSpec {
        name: "t10k-labels-idx1-ubyte",
        sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ndim: 1,
    },
];

impl DataSetName {
    pub const ALL: [DataSetName; 2] = [DataSetName::Mnist, DataSetName::FashionMnist];

    /// The folder name under a data directory, and the name on the command line.
    pub fn dir_name(self) -> &'static str {
        match self {
            DataSetName::Mnist => "mnist",
            DataSetName::FashionMnist => "fashion-mnist",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            DataSetName::Mnist => "MNIST",
            DataSetName::FashionMnist => "Fashion-MNIST",
        }
    }

    pub fn class_names(self) -> [&'static str; CLASSES] {
        match self {
            DataSetName::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            DataSetName::FashionMnist => [
                "T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                "Bag", "Boot",
            ],
        }
    }

    /// All four files: train images, train labels, test images, test labels.
    pub fn files(self) -> &'static [IdxFileSpec; 4] {
        match self {
            DataSetName::Mnist => &MNIST_FILES,
            DataSetName::FashionMnist => &FASHION_MNIST_FILES,
        }
    }

    /// The image and label file of one split.
    pub fn split_files(self, split: Split) -> (&'static IdxFileSpec, &'static IdxFileSpec) {
        let files = self.files();
        match split {
            Split::Train => (&files[0], &files[1]),
            Split::Test => (&files[2], &files[3]),
        }
    }

    /// Upstream HTTPS mirrors holding `<name>.gz` for every file, tried in order.
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            DataSetName::Mnist => &[
                "https://ossci-datasets.s3.amazonaws.com/mnist",
                "https://storage.googleapis.com/cvdf-datasets/mnist",
            ],
            DataSetName::FashionMnist => &[
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
                "https://fashion-mnist.s3.eu-central-1.amazonaws.com",
            ],
        }
    }

    /// Where a Debian package installs this set, if one does.
    pub fn debian_package(self) -> Option<(&'static str, &'static str)> {
        match self {
            DataSetName::Mnist => None,
            DataSetName::FashionMnist => {
                Some(("dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist"))
            }
        }
    }
}

impl std::fmt::Display for DataSetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// The path of a data set file in `dir`: `<name>.gz` when present, else the raw `<name>`.
pub fn file_in(dir: &Path, spec: &IdxFileSpec) -> PathBuf {
    let gz = dir.join(format!("{}.gz", spec.name));
    if gz.is_file() {
        gz
    } else {
        let raw = dir.join(spec.name);
        if raw.is_file() { raw } else { gz }
    }
}

/// Reads one IDX file and checks it is the file the table names.
pub fn read_verified(dir: &Path, spec: &IdxFileSpec) -> Result<crate::idx::IdxArray, IdxError> {
    let path = file_in(dir, spec);
    let array = read_idx(&path, spec.ndim)?;
    if array.sha256 != spec.sha256 {
        return Err(IdxError::Checksum {
            path,
            expected: spec.sha256.to_owned(),
            actual: array.sha256,
        });
    }
    Ok(array)
}

/// One split of a data set in memory: `len` images of `ROWS x COLS` bytes and their labels.
///
/// Pixels stay `u8` (47 MB for MNIST's training set); batches are converted to `f32` as they
/// are drawn, so no float copy of the whole set is ever made.
#[derive(Clone, Debug)]
pub struct ImageSet {
    pub name: DataSetName,
    pub split: Split,
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

impl ImageSet {
    /// Finds (see [`locate`]), verifies and loads a split.
    pub fn load(
        name: DataSetName,
        split: Split,
        data_dir: Option<&Path>,
    ) -> Result<Self, DataError> {
        let located = locate(name, data_dir)?;
        Self::load_from(&located, split)
    }

    /// Loads a split from an already located folder, verifying both files' checksums.
    pub fn load_from(located: &Located, split: Split) -> Result<Self, DataError> {
        let (image_spec, label_spec) = located.name.split_files(split);
        let images = read_verified(&located.dir, image_spec)?;
        let labels = read_verified(&located.dir, label_spec)?;
        let images_path = file_in(&located.dir, image_spec);
        let labels_path = file_in(&located.dir, label_spec);
        Ok(Self::from_idx(
            located.name,
            split,
            images,
            labels,
            &images_path,
            &labels_path,
        )?)
    }

    /// Builds a set from parsed IDX arrays, checking shape, counts and label range.
    pub fn from_idx(
        name: DataSetName,
        split: Split,
        images: crate::idx::IdxArray,
        labels: crate::idx::IdxArray,
        images_path: &Path,
        labels_path: &Path,
    ) -> Result<Self, IdxError> {
        let (rows, cols) = (images.dims[1], images.dims[2]);
        if (rows, cols) != (ROWS, COLS) {
            return Err(IdxError::ImageShape {
                path: images_path.to_owned(),
                rows,
                cols,
                expected_rows: ROWS,
                expected_cols: COLS,
            });
        }
        if images.dims[0] != labels.dims[0] {
            return Err(IdxError::CountMismatch {
                images: images_path.to_owned(),
                labels: labels_path.to_owned(),
                image_count: images.dims[0],
                label_count: labels.dims[0],
            });
        }
        if let Some((index, &label)) = labels
            .data
            .iter()
            .enumerate()
            .find(|(_, l)| **l as usize >= CLASSES)
        {
            return Err(IdxError::LabelRange {
                path: labels_path.to_owned(),
                index,
                label,
                classes: CLASSES,
            });
        }
        Ok(Self {
            name,
            split,
            pixels: images.data,
            labels: labels.data,
        })
    }

    /// A set made in memory, e.g. by a test. Panics if the lengths disagree.
    pub fn from_parts(name: DataSetName, split: Split, pixels: Vec<u8>, labels: Vec<u8>) -> Self {
        assert_eq!(pixels.len(), labels.len() * PIXELS, "one label per image");
        assert!(
            labels.iter().all(|&l| (l as usize) < CLASSES),
            "labels in 0..10"
        );
        Self {
            name,
            split,
            pixels,
            labels,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The `index`-th image, `PIXELS` bytes, row-major.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.pixels[index * PIXELS..(index + 1) * PIXELS]
    }

    pub fn label(&self, index: usize) -> u8 {
        self.labels[index]
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// All pixels, image after image.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Number of images of each class.
    pub fn label_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The first `n` images (all of them if there are fewer), e.g. for quick runs.
    /// The first `limit` images, or all of them when `limit` is 0 (the `train_limit` of the
    /// model configs).
    pub fn limited(self, limit: usize) -> Self {
        if limit == 0 {
            self
        } else {
            self.truncated(limit)
        }
    }

    pub fn truncated(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels.truncate(n * PIXELS);
        self
    }

    /// Mean pixel intensity in [0, 1] over the whole split.
    pub fn mean_intensity(&self) -> f64 {
        let sum: u64 = self.pixels.iter().map(|&p| p as u64).sum();
        sum as f64 / (self.pixels.len().max(1) as f64 * 255.0)
    }
}

#[cfg(test)]
#[path = "dataset_tests.rs"]
mod tests;
