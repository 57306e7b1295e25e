//! Reader for the IDX format of MNIST-like data sets, gzip-compressed or raw.
//!
//! An IDX file is a 4-byte magic number `[0, 0, type, ndim]`, `ndim` big-endian `u32`
//! dimensions, then the data. Only unsigned bytes (type `0x08`) occur in the sets genlab
//! reads. The reader never trusts the header: the size it describes is checked against what
//! the file actually holds before anything of that size is kept, so a corrupt or hostile
//! file cannot make it allocate more than the file itself contains.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

/// The IDX type code of unsigned bytes, the only element type genlab reads.
const IDX_TYPE_U8: u8 = 0x08;
/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why an IDX file could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    #[error("{path}: file not found")]
    Missing { path: PathBuf },
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a valid gzip stream: {source}")]
    Gzip { path: PathBuf, source: io::Error },
    #[error("{path}: wrong magic number {found:02x?}: expected [00, 00, 08, {expected_ndim:02x}]")]
    BadMagic {
        path: PathBuf,
        found: [u8; 4],
        expected_ndim: u8,
    },
    #[error("{path}: header describes {expected} bytes of data but the file holds {found}")]
    Truncated {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("{path}: {extra} unexpected bytes after the {expected} bytes the header describes")]
    TrailingBytes {
        path: PathBuf,
        expected: u64,
        extra: u64,
    },
    #[error("{path}: header dimensions {dims:?} overflow the addressable size")]
    Overflow { path: PathBuf, dims: Vec<u32> },
    #[error("{path}: images are {rows}x{cols}, expected {expected_rows}x{expected_cols}")]
    ImageShape {
        path: PathBuf,
        rows: usize,
        cols: usize,
        expected_rows: usize,
        expected_cols: usize,
    },
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch {
        images: PathBuf,
        labels: PathBuf,
        image_count: usize,
        label_count: usize,
    },
    #[error("{path}: label {label} at index {index} is not below {classes}")]
    LabelRange {
        path: PathBuf,
        index: usize,
        label: u8,
        classes: usize,
    },
    #[error(
        "{path}: SHA-256 of the decompressed bytes is {actual}, expected {expected} \
         (the file is corrupt or is not the file it is named after)"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

/// The parsed contents of one IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions from the header, outermost first.
    pub dims: Vec<usize>,
    /// The data, row-major.
    pub data: Vec<u8>,
    /// SHA-256 of the whole decompressed file (header included), lower-case hex.
    pub sha256: String,
}

/// Passes bytes through while hashing them, so a file is checksummed in the same pass that
/// parses it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Opens `path` as a byte stream, transparently decompressing gzip.
fn open_stream(path: &Path) -> Result<(Box<dyn Read>, bool), IdxError> {
    let mut file = File::open(path).map_err(|source| io_error(path, source))?;
    let mut first = [0u8; 2];
    let n = read_up_to(&mut file, &mut first).map_err(|source| io_error(path, source))?;
    let head = io::Cursor::new(first[..n].to_vec());
    let chained = head.chain(file);
    if n == 2 && first == GZIP_MAGIC {
        Ok((Box::new(GzDecoder::new(chained)), true))
    } else {
        Ok((Box::new(chained), false))
    }
}

/// Reads an IDX file of unsigned bytes with `expected_ndim` dimensions.
pub fn read_idx(path: &Path, expected_ndim: u8) -> Result<IdxArray, IdxError> {
    let (stream, gzip) = open_stream(path)?;
    let mut stream = HashingReader {
        inner: stream,
        hasher: Sha256::new(),
    };
    let stream_error = |source: io::Error| {
        if gzip && source.kind() != io::ErrorKind::NotFound {
            IdxError::Gzip {
                path: path.to_owned(),
                source,
            }
        } else {
            io_error(path, source)
        }
    };

    let mut magic = [0u8; 4];
    let n = read_up_to(&mut stream, &mut magic).map_err(stream_error)?;
    if n < 4 {
        return Err(IdxError::Truncated {
            path: path.to_owned(),
            expected: 4,
            found: n as u64,
        });
    }
    if magic != [0, 0, IDX_TYPE_U8, expected_ndim] {
        return Err(IdxError::BadMagic {
            path: path.to_owned(),
            found: magic,
            expected_ndim,
        });
    }

    let mut header = vec![0u8; 4 * expected_ndim as usize];
    let n = read_up_to(&mut stream, &mut header).map_err(stream_error)?;
    if n < header.len() {
        return Err(IdxError::Truncated {
            path: path.to_owned(),
            expected: header.len() as u64,
            found: n as u64,
        });
    }
    let dims: Vec<u32> = header
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&len| usize::try_from(len).is_ok())
        .ok_or_else(|| IdxError::Overflow {
            path: path.to_owned(),
            dims: dims.clone(),
        })?;

    // Read at most one byte beyond what the header describes: the buffer grows only with
    // bytes that really exist, however large the header claims the data is.
    let mut data = Vec::new();
    stream
        .by_ref()
        .take(expected + 1)
        .read_to_end(&mut data)
        .map_err(stream_error)?;
    let found = data.len() as u64;
    if found < expected {
        return Err(IdxError::Truncated {
            path: path.to_owned(),
            expected,
            found,
        });
    }
    if found > expected {
        let extra = 1 + io::copy(&mut stream, &mut io::sink()).map_err(stream_error)?;
        return Err(IdxError::TrailingBytes {
            path: path.to_owned(),
            expected,
            extra,
        });
    }
    Ok(IdxArray {
        dims: dims.into_iter().map(|d| d as usize).collect(),
        data,
        sha256: hex(&stream.hasher.finalize()),
    })
}

/// Reads as much of `buf` as the stream holds; fewer bytes than `buf.len()` means end of stream.
fn read_up_to(stream: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(path: &Path, source: io::Error) -> IdxError {
    if source.kind() == io::ErrorKind::NotFound {
        IdxError::Missing {
            path: path.to_owned(),
        }
    } else {
        IdxError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
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

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Arbitrary bytes, raw or gzipped: an error or a consistent array, never a panic.
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                           ndim in 1u8..4, gz in any::<bool>()) {
                let dir = tempfile::tempdir().unwrap();
                let content = if gz { gzip(&bytes) } else { bytes.clone() };
                let path = write(&dir, "f", &content);
                if let Ok(array) = read_idx(&path, ndim) {
                    prop_assert_eq!(array.dims.iter().product::<usize>(), array.data.len());
                    prop_assert!(array.data.len() <= bytes.len());
                }
            }

            /// A valid file with a few bytes mutated, and possibly cut short: never a panic,
            /// never more data than the file holds.
            #[test]
            fn mutated_files_never_panic(n in 0u32..6, m in 0u32..6,
                                         mutations in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
                                         cut in any::<Option<usize>>(), gz in any::<bool>()) {
                let data: Vec<u8> = (0..n * m * 4).map(|i| i as u8).collect();
                let mut bytes = idx_bytes(&[n, m, 4], &data);
                for (at, value) in mutations {
                    let at = at % bytes.len();
                    bytes[at] = value;
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut % (bytes.len() + 1));
                }
                let content = if gz { gzip(&bytes) } else { bytes.clone() };
                let dir = tempfile::tempdir().unwrap();
                let path = write(&dir, "f", &content);
                if let Ok(array) = read_idx(&path, 3) {
                    prop_assert_eq!(array.dims.iter().product::<usize>(), array.data.len());
                    prop_assert!(array.data.len() + 16 <= bytes.len());
                }
            }
        }
    }
}
