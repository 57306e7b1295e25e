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
#[path = "idx_tests.rs"]
mod tests;
