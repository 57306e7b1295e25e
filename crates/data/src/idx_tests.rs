//! Tests of [`super`]: the `idx` module.

use super::*;
use flate2::{Compression, write::GzEncoder};
use std::io::Write;

pub(crate) fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, IDX_TYPE_U8, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn reads_raw_and_gzip_identically() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_bytes(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let raw = read_idx(&write(&dir, "raw", &bytes), 3).unwrap();
    let gz = read_idx(&write(&dir, "gz", &gzip(&bytes)), 3).unwrap();
    assert_eq!(raw, gz);
    assert_eq!(raw.dims, vec![2, 2, 3]);
    assert_eq!(raw.data[11], 12);
}

#[test]
fn wrong_magic_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_bytes(&[3], &[1, 2, 3]);
    bytes[2] = 0x0d; // float data
    let path = write(&dir, "labels-float", &bytes);
    let err = read_idx(&path, 1).unwrap_err();
    assert!(matches!(err, IdxError::BadMagic { .. }), "{err:?}");
    assert!(err.to_string().contains("labels-float"), "{err}");
    // An image file read as labels: right type, wrong number of dimensions.
    let images = write(&dir, "images", &idx_bytes(&[1, 1, 1], &[0]));
    assert!(matches!(
        read_idx(&images, 1),
        Err(IdxError::BadMagic { .. })
    ));
}

#[test]
fn truncated_data_and_header_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "short", &idx_bytes(&[10], &[1, 2, 3]));
    let err = read_idx(&path, 1).unwrap_err();
    assert!(
        matches!(
            err,
            IdxError::Truncated {
                expected: 10,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("short"));
    let header_only = write(&dir, "hdr", &[0, 0, 8, 3, 0, 0]);
    assert!(matches!(
        read_idx(&header_only, 3),
        Err(IdxError::Truncated { .. })
    ));
    let gz = write(&dir, "short.gz", &gzip(&idx_bytes(&[10], &[1])));
    assert!(matches!(read_idx(&gz, 1), Err(IdxError::Truncated { .. })));
}

#[test]
fn trailing_bytes_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "long", &idx_bytes(&[2], &[1, 2, 3, 4]));
    let err = read_idx(&path, 1).unwrap_err();
    assert!(
        matches!(err, IdxError::TrailingBytes { extra: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn bad_gzip_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = gzip(&idx_bytes(&[100], &[7; 100]));
    let n = bytes.len();
    bytes[n - 6] ^= 0xff; // the CRC no longer matches
    bytes[12] ^= 0x55;
    let path = write(&dir, "broken.gz", &bytes);
    let err = read_idx(&path, 1).unwrap_err();
    assert!(
        matches!(err, IdxError::Gzip { .. } | IdxError::Truncated { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("broken.gz"));
    let cut = write(&dir, "cut.gz", &gzip(&idx_bytes(&[100], &[7; 100]))[..20]);
    let err = read_idx(&cut, 1).unwrap_err();
    assert!(matches!(err, IdxError::Gzip { .. }), "{err:?}");
}

#[test]
fn missing_file_is_an_error_naming_the_file() {
    let err = read_idx(Path::new("/nonexistent/genlab/t10k-labels"), 1).unwrap_err();
    assert!(matches!(err, IdxError::Missing { .. }));
    assert!(err.to_string().contains("/nonexistent/genlab/t10k-labels"));
}

#[test]
fn huge_header_is_rejected_without_allocating_it() {
    let dir = tempfile::tempdir().unwrap();
    // 4 billion cubed: overflows u64.
    let path = write(&dir, "overflow", &idx_bytes(&[u32::MAX; 3], &[]));
    assert!(matches!(read_idx(&path, 3), Err(IdxError::Overflow { .. })));
    // 4 GiB described, 5 bytes present: a truncation, found without a 4 GiB buffer.
    let path = write(&dir, "huge", &idx_bytes(&[u32::MAX], &[1, 2, 3, 4, 5]));
    assert!(matches!(
        read_idx(&path, 1),
        Err(IdxError::Truncated { found: 5, .. })
    ));
}

/// Properties checked on many seeded random inputs (a failing case prints its seed).
mod properties {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const CASES: u64 = 256;

    /// Arbitrary bytes, raw or gzipped: an error or a consistent array, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic() {
        for seed in 0..CASES {
            let mut rng = StdRng::seed_from_u64(seed);
            let bytes: Vec<u8> = (0..rng.random_range(0..512))
                .map(|_| rng.random())
                .collect();
            let (ndim, gz) = (rng.random_range(1u8..4), rng.random::<bool>());
            let dir = tempfile::tempdir().unwrap();
            let content = if gz { gzip(&bytes) } else { bytes.clone() };
            let path = write(&dir, "f", &content);
            if let Ok(array) = read_idx(&path, ndim) {
                let n: usize = array.dims.iter().product();
                assert_eq!(n, array.data.len(), "seed {seed}");
                assert!(array.data.len() <= bytes.len(), "seed {seed}");
            }
        }
    }

    /// A valid file with a few bytes mutated, and possibly cut short: never a panic, never
    /// more data than the file holds.
    #[test]
    fn mutated_files_never_panic() {
        for seed in 0..CASES {
            let mut rng = StdRng::seed_from_u64(seed);
            let (n, m) = (rng.random_range(0u32..6), rng.random_range(0u32..6));
            let data: Vec<u8> = (0..n * m * 4).map(|i| i as u8).collect();
            let mut bytes = idx_bytes(&[n, m, 4], &data);
            for _ in 0..rng.random_range(0..6) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
            if rng.random::<bool>() {
                let cut = rng.random_range(0..=bytes.len());
                bytes.truncate(cut);
            }
            let content = if rng.random() {
                gzip(&bytes)
            } else {
                bytes.clone()
            };
            let dir = tempfile::tempdir().unwrap();
            let path = write(&dir, "f", &content);
            if let Ok(array) = read_idx(&path, 3) {
                let count: usize = array.dims.iter().product();
                assert_eq!(count, array.data.len(), "seed {seed}");
                assert!(array.data.len() + 16 <= bytes.len(), "seed {seed}");
            }
        }
    }
}
