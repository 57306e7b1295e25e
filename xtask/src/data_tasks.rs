//! `cargo xtask data-info` and `fetch-data`: where the data sets are, and getting them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use data::{DataSetName, ImageSet, Split};

/// `path` relative to the current directory when it lies below it, for reports that do not
/// depend on where the checkout is.
pub fn relative(path: &Path) -> PathBuf {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_owned))
        .unwrap_or(path)
}

pub fn data_info(data_dir: Option<&Path>) -> anyhow::Result<()> {
    for name in DataSetName::ALL {
        println!("{name}");
        let located = match data::locate(name, data_dir) {
            Ok(located) => located,
            Err(err) => {
                println!("  {}", err.to_string().replace('\n', "\n  "));
                continue;
            }
        };
        println!(
            "  found in {} (via {})",
            located.dir.display(),
            located.origin
        );
        for split in [Split::Train, Split::Test] {
            let set = ImageSet::load_from(&located, split)
                .with_context(|| format!("loading {name} {}", split.name()))?;
            let counts: Vec<String> = set.label_counts().iter().map(ToString::to_string).collect();
            println!(
                "  {:<5} {} images, checksums OK, mean intensity {:.4}",
                split.name(),
                set.len(),
                set.mean_intensity()
            );
            println!("        per label: {}", counts.join(" "));
        }
        println!("  classes: {}", name.class_names().join(", "));
    }
    Ok(())
}

pub fn fetch_data(
    set: DataSetName,
    dest: Option<PathBuf>,
    mirrors: Vec<String>,
) -> anyhow::Result<()> {
    let dest = dest.unwrap_or_else(|| data::locate::workspace_data_dir().join(set.dir_name()));
    let mirrors = if mirrors.is_empty() {
        set.mirrors().iter().map(ToString::to_string).collect()
    } else {
        mirrors
    };
    match data::download::fetch_set(set, &dest, &mirrors) {
        Ok(written) if written.is_empty() => {
            println!("{set} is already in {} and verified", dest.display());
            Ok(())
        }
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Err(err @ data::download::DownloadError::Unreachable { .. }) => {
            let searched: Vec<String> = data::locate::candidates(set, None)
                .into_iter()
                .map(|(dir, _)| format!("  - {}", dir.display()))
                .collect();
            let debian = set
                .debian_package()
                .map(|(package, dir)| {
                    format!("\nOn Debian: `sudo apt install {package}` installs it in {dir}.")
                })
                .unwrap_or_default();
            anyhow::bail!(
                "{err}\nThis machine seems to be offline. {set} was not found locally either; looked in:\n{}{debian}\n\
                 Or copy its four IDX files into a folder and pass --data-dir / GENLAB_DATA_DIR.",
                searched.join("\n")
            )
        }
        Err(err) => Err(err.into()),
    }
}
