//! Downloading a data set's files from its mirrors, verified and written atomically.
//!
//! Each file goes to a temporary name in the destination folder, is parsed and checked
//! against the SHA-256 table, and only then renamed into place: an interrupted or corrupt
//! download never leaves a file that a later run would take for the real one.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::dataset::{DataSetName, IdxFileSpec};
use crate::idx::{IdxError, read_idx};

/// The largest file genlab expects to download (Fashion-MNIST's training images are 26 MB).
const MAX_DOWNLOAD_BYTES: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(
        "could not download {file} from any mirror:\n{}",
        .attempts.iter().map(|a| format!("  - {a}")).collect::<Vec<_>>().join("\n")
    )]
    Unreachable { file: String, attempts: Vec<String> },
    #[error("downloaded {url} but it is not the expected file: {source}")]
    Rejected { url: String, source: IdxError },
    #[error("{path}: cannot write: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Downloads every file of `name` that `dest` lacks (or holds corrupt), from `mirrors`
/// (base URLs, `<base>/<file>.gz`), into `dest`. Returns the files it wrote.
pub fn fetch_set(
    name: DataSetName,
    dest: &Path,
    mirrors: &[String],
) -> Result<Vec<PathBuf>, DownloadError> {
    std::fs::create_dir_all(dest).map_err(|source| DownloadError::Io {
        path: dest.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    for spec in name.files() {
        let target = dest.join(format!("{}.gz", spec.name));
        if crate::dataset::read_verified(dest, spec).is_ok() {
            continue;
        }
        fetch_file(spec, &target, mirrors)?;
        written.push(target);
    }
    Ok(written)
}

/// Downloads one file to `target`, trying each mirror until one serves the right bytes.
pub fn fetch_file(
    spec: &IdxFileSpec,
    target: &Path,
    mirrors: &[String],
) -> Result<(), DownloadError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let mut attempts = Vec::new();
    for mirror in mirrors {
        let url = format!("{}/{}.gz", mirror.trim_end_matches('/'), spec.name);
        eprintln!("downloading {url}");
        match download_verified(&agent, &url, spec, target) {
            Ok(()) => return Ok(()),
            // A mirror that answers with the wrong bytes is a hard error: a stale or
            // tampered copy should be looked at, not silently replaced by another mirror's.
            Err(err @ DownloadError::Rejected { .. }) => return Err(err),
            Err(DownloadError::Unreachable { attempts: a, .. }) => attempts.extend(a),
            Err(err) => return Err(err),
        }
    }
    Err(DownloadError::Unreachable {
        file: format!("{}.gz", spec.name),
        attempts,
    })
}

fn download_verified(
    agent: &ureq::Agent,
    url: &str,
    spec: &IdxFileSpec,
    target: &Path,
) -> Result<(), DownloadError> {
    let unreachable = |why: String| DownloadError::Unreachable {
        file: format!("{}.gz", spec.name),
        attempts: vec![format!("{url}: {why}")],
    };
    let response = agent
        .get(url)
        .call()
        .map_err(|e| unreachable(e.to_string()))?;
    let mut body = response
        .into_body()
        .into_with_config()
        .limit(MAX_DOWNLOAD_BYTES)
        .reader();

    let temp = temp_path(target);
    let result = (|| {
        let io = |source| DownloadError::Io {
            path: temp.clone(),
            source,
        };
        let mut file = std::fs::File::create(&temp).map_err(io)?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = body
                .read(&mut buf)
                .map_err(|e| unreachable(e.to_string()))?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n]).map_err(io)?;
        }
        file.sync_all().map_err(io)?;
        let array = read_idx(&temp, spec.ndim).map_err(|source| DownloadError::Rejected {
            url: url.to_owned(),
            source,
        })?;
        if array.sha256 != spec.sha256 {
            return Err(DownloadError::Rejected {
                url: url.to_owned(),
                source: IdxError::Checksum {
                    path: temp.clone(),
                    expected: spec.sha256.to_owned(),
                    actual: array.sha256,
                },
            });
        }
        std::fs::rename(&temp, target).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// A temporary name beside `target`, unique to this process.
fn temp_path(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    target.with_file_name(format!(".{name}.part-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locate::workspace_data_dir;
    use std::io::BufRead;
    use std::net::TcpListener;
    use std::sync::Arc;

    /// A loopback HTTP/1.1 server answering `GET /<file>` from `files` (name, bytes), 404
    /// otherwise. Returns its base URL.
    fn serve(files: Vec<(String, Vec<u8>)>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let files = Arc::new(files);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let files = files.clone();
                std::thread::spawn(move || {
                    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                    let mut request = String::new();
                    reader.read_line(&mut request).unwrap();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                            break;
                        }
                    }
                    let path = request.split_whitespace().nth(1).unwrap_or("/");
                    let found = files.iter().find(|(name, _)| path == format!("/{name}"));
                    let (status, body): (&str, &[u8]) = match found {
                        Some((_, bytes)) => ("200 OK", bytes),
                        None => ("404 Not Found", b"not found"),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body);
                });
            }
        });
        base
    }

    /// The MNIST files as the course machines have them: ../shared/data when it is beside
    /// the checkout, else the copy shipped in data/.
    fn mnist_files() -> Vec<(String, Vec<u8>)> {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist");
        let dir = if shared.is_dir() {
            shared
        } else {
            workspace_data_dir().join("mnist")
        };
        DataSetName::Mnist
            .files()
            .iter()
            .map(|spec| {
                let name = format!("{}.gz", spec.name);
                let bytes = std::fs::read(dir.join(&name)).unwrap();
                (name, bytes)
            })
            .collect()
    }

    #[test]
    fn downloads_and_verifies_a_whole_set_then_skips_it() {
        let base = serve(mnist_files());
        let dest = tempfile::tempdir().unwrap();
        let written =
            fetch_set(DataSetName::Mnist, dest.path(), std::slice::from_ref(&base)).unwrap();
        assert_eq!(written.len(), 4);
        let located = crate::locate::locate(DataSetName::Mnist, Some(dest.path())).unwrap();
        let test = crate::dataset::ImageSet::load_from(&located, crate::Split::Test).unwrap();
        assert_eq!(test.len(), 10_000);
        // Already there and valid: nothing is downloaded again.
        assert!(
            fetch_set(DataSetName::Mnist, dest.path(), &[base])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_corrupted_download_is_rejected_and_leaves_nothing_behind() {
        let mut files = mnist_files();
        // Flip one pixel byte inside the test labels: still valid gzip and IDX, wrong bytes.
        let labels = &mut files[3].1;
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(labels.as_slice())
            .read_to_end(&mut raw)
            .unwrap();
        raw[100] = (raw[100] + 1) % 10;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&raw).unwrap();
        *labels = enc.finish().unwrap();

        let base = serve(files);
        let dest = tempfile::tempdir().unwrap();
        let spec = &DataSetName::Mnist.files()[3];
        let target = dest.path().join("t10k-labels-idx1-ubyte.gz");
        let err = fetch_file(spec, &target, &[base]).unwrap_err();
        assert!(
            matches!(
                err,
                DownloadError::Rejected {
                    source: IdxError::Checksum { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        let left: Vec<_> = std::fs::read_dir(dest.path()).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn unreachable_mirrors_are_all_reported() {
        // A port nothing listens on: bind, note it, close.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dead = format!("http://127.0.0.1:{port}");
        let missing = serve(Vec::new());
        let dest = tempfile::tempdir().unwrap();
        let err = fetch_set(
            DataSetName::FashionMnist,
            dest.path(),
            &[dead.clone(), missing.clone()],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DownloadError::Unreachable { .. }));
        assert!(msg.contains(&dead) && msg.contains(&missing), "{msg}");
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }
}
