//! The report page in a real browser: headless Chromium loads `reports/index.html` from a
//! `file://` URL and the DOM it dumps says how many images loaded. Chromium is found at
//! `$CHROMIUM`, else `chromium` on the PATH (Debian's package; `.ci/run` installs it); where
//! there is none the tests say that they are skipped, and pass.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium binary, if this machine has one.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The DOM of `page` after it loaded (scripts run), as headless Chromium dumps it.
pub fn loaded_dom(chromium: &Path, page: &Path) -> anyhow::Result<String> {
    let page = page.canonicalize()?;
    let profile = tempfile::tempdir()?;
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            // Lets the load event and its script run before the DOM is dumped.
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "{} failed: {}",
        chromium.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// The value of `<body data-<name>="...">` in a dumped DOM.
pub fn body_count(dom: &str, name: &str) -> Option<usize> {
    let key = format!("data-{name}=\"");
    let start = dom.find(&key)? + key.len();
    dom[start..].split('"').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html;

    fn skip() -> Option<PathBuf> {
        let found = chromium();
        if found.is_none() {
            eprintln!(
                "browser test SKIPPED: no Chromium here (install Debian's `chromium`, or set CHROMIUM)"
            );
        }
        found
    }

    /// The check can fail: a page with a missing figure counts it as broken.
    #[test]
    fn chromium_counts_loaded_and_broken_images() {
        let Some(chromium) = skip() else { return };
        let reports = tempfile::tempdir().unwrap();
        html::tests::png(&reports.path().join("figures/a.png"));
        let markdown = "![a](figures/a.png)\n\n![b](figures/a.png)\n\n![gone](figures/gone.png)\n";
        let page = reports.path().join("index.html");
        std::fs::write(&page, html::render(markdown, reports.path(), "t")).unwrap();
        let dom = loaded_dom(&chromium, &page).unwrap();
        assert_eq!(body_count(&dom, "images"), Some(3), "{dom}");
        assert_eq!(body_count(&dom, "broken-images"), Some(1));
    }

    /// The committed page is the committed REPORT.md's, every figure loads, and every
    /// question has its section.
    #[test]
    fn the_committed_report_page_shows_every_figure_and_question() {
        let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
        let markdown = std::fs::read_to_string(reports.join("REPORT.md")).unwrap();
        let page = reports.join("index.html");
        let committed = std::fs::read_to_string(&page).unwrap();
        assert!(
            committed == html::render(&markdown, &reports, crate::report::TITLE),
            "reports/index.html is not REPORT.md's page: rerun `cargo xtask all`"
        );
        let Some(chromium) = skip() else { return };
        let dom = loaded_dom(&chromium, &page).unwrap();
        let images = body_count(&dom, "images").expect("the page's script ran");
        assert!(images > 20, "{images} images");
        assert_eq!(body_count(&dom, "broken-images"), Some(0));
        assert!(dom.contains("id=\"summary\""), "the summary table");
        for question in crate::questions::all() {
            assert!(
                dom.contains(&format!("id=\"{}\"", question.id)),
                "no section for {}",
                question.id
            );
        }
    }
}
