//! The report page in a real browser: headless Chromium loads `reports/index.html` from a
//! `file://` URL into a viewport of a given size (a frame of that size: Chromium's window is
//! never narrower than 500 px), the page's own load script measures it (see
//! `xtask/templates/page.js`: images loaded, broken and without alt text, in-page links
//! without a target, sideways scrolling and the first element that causes it), and the DOM
//! Chromium dumps carries those measures as `data-*` attributes of `<body>`. Chromium also
//! takes a screenshot of the first screen, for a person to look at.
//!
//! Chromium is found at `$CHROMIUM`, else `chromium` on the PATH (Debian's package;
//! `.ci/run` installs it); where there is none the tests say that they are skipped, and pass.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A desktop window, in CSS pixels.
pub const DESKTOP: Window = Window {
    width: 1280,
    height: 800,
};
/// A phone's window (an iPhone 12 to 15 held upright), in CSS pixels.
pub const PHONE: Window = Window {
    width: 390,
    height: 844,
};

/// The size of Chromium's window, in CSS pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

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

/// Headless Chromium's narrowest window, in CSS pixels.
const NARROWEST: u32 = 500;

/// Runs headless Chromium on `page` seen through a `window`, doing `action` (`--dump-dom`,
/// `--screenshot=...`); its standard output. The page loads in a frame of the window's
/// size (`xtask/templates/frame.html`), whose document carries what the page measured.
fn headless(chromium: &Path, page: &Path, window: Window, action: &str) -> anyhow::Result<String> {
    let page = page.canonicalize()?;
    let folder = tempfile::tempdir()?;
    let frame = folder.path().join("frame.html");
    let mut env = minijinja::Environment::new();
    env.add_template("frame.html", include_str!("../templates/frame.html"))?;
    let url = format!("file://{}", page.display());
    std::fs::write(
        &frame,
        env.get_template("frame.html")?
            .render(minijinja::context! {
                url,
                width => window.width,
                height => window.height,
            })?,
    )?;
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--hide-scrollbars",
            // Lets the load events and their scripts run before the DOM is dumped.
            "--virtual-time-budget=10000",
        ])
        .arg(format!(
            "--window-size={},{}",
            window.width.max(NARROWEST),
            window.height
        ))
        .arg(format!(
            "--user-data-dir={}",
            folder.path().join("profile").display()
        ))
        .arg(action)
        .arg(format!("file://{}", frame.display()))
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "{} failed: {}",
        chromium.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// The DOM of the frame around `page` after the page loaded in a `window` (scripts run), as
/// headless Chromium dumps it: on `<body>` the page's `data-*` measures, then its `<nav>`s.
pub fn loaded_dom(chromium: &Path, page: &Path, window: Window) -> anyhow::Result<String> {
    headless(chromium, page, window, "--dump-dom")
}

/// Saves what a reader sees first of `page` in a `window` as the PNG `out`.
pub fn screenshot(chromium: &Path, page: &Path, window: Window, out: &Path) -> anyhow::Result<()> {
    if let Some(folder) = out.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let _ = std::fs::remove_file(out);
    headless(
        chromium,
        page,
        window,
        &format!("--screenshot={}", out.display()),
    )?;
    let shot = image::open(out)?;
    anyhow::ensure!(
        shot.width() >= window.width && shot.height() >= window.height,
        "Chromium's screenshot is {}x{}, smaller than {window}",
        shot.width(),
        shot.height()
    );
    shot.crop_imm(0, 0, window.width, window.height).save(out)?;
    Ok(())
}

/// The value of `<body data-<name>="...">` in a dumped DOM.
pub fn body_attribute<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let body = &dom[dom.find("<body")?..];
    let key = format!(" data-{name}=\"");
    let start = body.find(&key)? + key.len();
    body[start..].split('"').next()
}

/// What the page measured about itself once loaded in a window (`xtask/templates/page.js`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Look {
    pub images: usize,
    pub broken_images: usize,
    pub images_without_alt: usize,
    /// In-page links (`href="#..."`) whose target id is not in the page.
    pub dead_links: usize,
    pub first_dead_link: String,
    /// The page's width (the window's, scrollbars overlaid).
    pub client_width: usize,
    /// How far the page scrolls sideways, in CSS pixels (0: it does not).
    pub sideways_scroll: usize,
    /// The first element reaching past the window's edge, as `tag#id.class` ("" if none).
    pub sticking_out: String,
    /// Which contents show: `sidebar`, `menu` or `none`.
    pub contents_shown: String,
    /// Where the summary starts, in CSS pixels from the top of the page (-1: no summary).
    pub summary_top: i64,
}

impl Look {
    /// Reads the measures back from a dumped DOM; fails if the page's script did not run.
    pub fn of(dom: &str) -> anyhow::Result<Look> {
        let text = |name: &str| {
            body_attribute(dom, name)
                .map(|value| value.replace("&quot;", "\"").replace("&amp;", "&"))
                .ok_or_else(|| {
                    anyhow::anyhow!("no data-{name} on <body>: the page's script did not run")
                })
        };
        let count = |name: &str| -> anyhow::Result<usize> { Ok(text(name)?.parse()?) };
        Ok(Look {
            images: count("images")?,
            broken_images: count("broken-images")?,
            images_without_alt: count("images-without-alt")?,
            dead_links: count("dead-links")?,
            first_dead_link: text("first-dead-link")?,
            client_width: count("client-width")?,
            sideways_scroll: count("sideways-scroll")?,
            sticking_out: text("sticking-out")?,
            contents_shown: text("contents-shown")?,
            summary_top: text("summary-top")?.parse()?,
        })
    }
}

/// The part of `dom` from the element whose opening tag starts with `open` to the next
/// `</nav>` (the contents, in the sidebar or the menu).
pub fn nav<'a>(dom: &'a str, open: &str) -> Option<&'a str> {
    let start = dom.find(open)?;
    let end = dom[start..].find("</nav>")?;
    Some(&dom[start..start + end])
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

    /// Every anchor the page's contents link to, so that a small test page has no dead
    /// links but the ones it is given.
    fn anchors() -> String {
        let mut ids: Vec<String> = ["summary", "glossary", "evaluation", "speed", "details"]
            .map(String::from)
            .to_vec();
        ids.extend(crate::questions::all().into_iter().map(|q| q.id));
        ids.iter()
            .map(|id| format!("<a id=\"{id}\"></a>\n"))
            .collect::<String>()
            + "\n"
    }

    /// Writes the page of `markdown` (figure `figures/a.png` provided) into a temporary
    /// folder, kept alive by the returned guard.
    fn page(markdown: &str) -> (tempfile::TempDir, PathBuf) {
        let reports = tempfile::tempdir().unwrap();
        html::tests::png(&reports.path().join("figures/a.png"));
        let page = reports.path().join("index.html");
        std::fs::write(&page, html::render(markdown, reports.path(), "t")).unwrap();
        (reports, page)
    }

    /// A table of `columns` numbers too wide for a phone, as Markdown or as raw HTML.
    fn wide_table(columns: usize, markdown: bool) -> String {
        let cells: Vec<String> = (0..columns)
            .map(|i| format!("{}.123456", 1000 + i))
            .collect();
        if markdown {
            format!(
                "| {} |\n|{}\n| {} |\n",
                cells.join(" | "),
                "---|".repeat(columns),
                cells.join(" | ")
            )
        } else {
            format!(
                "<table id=\"raw\"><tr><td>{}</td></tr></table>\n",
                cells.join("</td><td>")
            )
        }
    }

    /// The checks can fail: a missing figure counts as broken, a figure without alt text
    /// and a link to an anchor that does not exist are counted.
    #[test]
    fn chromium_counts_broken_images_images_without_alt_and_dead_links() {
        let Some(chromium) = skip() else { return };
        let markdown = format!(
            "{}![a](figures/a.png)\n\n![](figures/a.png)\n\n![gone](figures/gone.png)\n\n\
             [there](#RBM-Q1) and [nowhere](#nowhere)\n",
            anchors()
        );
        let (_folder, page) = page(&markdown);
        let dom = loaded_dom(&chromium, &page, DESKTOP).unwrap();
        let look = Look::of(&dom).unwrap();
        assert_eq!(look.images, 3, "{dom}");
        assert_eq!(look.broken_images, 1, "{look:?}");
        assert_eq!(look.images_without_alt, 1, "{look:?}");
        assert_eq!(look.dead_links, 1, "{look:?}");
        assert_eq!(look.first_dead_link, "#nowhere");
        assert_eq!(look.sideways_scroll, 0, "{look:?}");
        assert!(look.summary_top >= 0, "{look:?}");
    }

    /// The sideways check can fail: a wide table outside its scrolling box makes a phone's
    /// page scroll sideways, and the check names it; the same table from Markdown (in its
    /// box) does not.
    #[test]
    fn a_wide_table_outside_its_box_makes_the_page_scroll_sideways_on_a_phone() {
        let Some(chromium) = skip() else { return };
        let (_raw_folder, raw) = page(&format!("{}{}", anchors(), wide_table(30, false)));
        let look = Look::of(&loaded_dom(&chromium, &raw, PHONE).unwrap()).unwrap();
        assert_eq!(look.client_width, PHONE.width as usize, "{look:?}");
        assert!(look.sideways_scroll > 1000, "{look:?}");
        assert_eq!(look.sticking_out, "table#raw", "{look:?}");

        let (_boxed_folder, boxed) = page(&format!("{}{}", anchors(), wide_table(30, true)));
        let look = Look::of(&loaded_dom(&chromium, &boxed, PHONE).unwrap()).unwrap();
        assert_eq!(look.sideways_scroll, 0, "{look:?}");
        assert_eq!(look.sticking_out, "", "{look:?}");
    }

    /// The committed page is the committed REPORT.md's; in Chromium at desktop and phone
    /// widths it does not scroll sideways, every figure loads and has alt text, every
    /// in-page link lands, the contents link every question and the summary is there.
    /// Screenshots of the first screen go to `target/report-page/`.
    #[test]
    fn the_committed_report_page_shows_every_figure_and_question() {
        let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
        let markdown = std::fs::read_to_string(reports.join("REPORT.md")).unwrap();
        let page = reports.join("index.html");
        let committed = std::fs::read_to_string(&page).unwrap();
        assert!(
            committed == html::render(&markdown, &reports, crate::report::TITLE),
            "reports/index.html is not REPORT.md's page: rerun `cargo xtask render`"
        );
        assert!(committed.contains("<a id=\"summary\"></a>"), "the summary");
        for question in crate::questions::all() {
            let anchor = format!("<a id=\"{}\"></a>", question.id);
            assert!(
                committed.contains(&anchor),
                "no section for {}",
                question.id
            );
        }
        let Some(chromium) = skip() else { return };
        let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/report-page");
        for (window, contents) in [(DESKTOP, "sidebar"), (PHONE, "menu")] {
            let dom = loaded_dom(&chromium, &page, window).unwrap();
            let look = Look::of(&dom).unwrap();
            eprintln!("{window}: {look:?}");
            assert_eq!(
                look.client_width, window.width as usize,
                "{window}: {look:?}"
            );
            assert_eq!(
                look.sideways_scroll, 0,
                "{window}: the page scrolls sideways by {} px; first element past the edge: {}",
                look.sideways_scroll, look.sticking_out
            );
            assert!(look.images > 20, "{window}: {} images", look.images);
            assert_eq!(look.broken_images, 0, "{window}: {look:?}");
            assert_eq!(look.images_without_alt, 0, "{window}: {look:?}");
            assert_eq!(
                look.dead_links, 0,
                "{window}: in-page links without a target, the first {}",
                look.first_dead_link
            );
            assert_eq!(look.contents_shown, contents, "{window}: {look:?}");
            assert!(
                (0..window.height as i64).contains(&look.summary_top),
                "{window}: the summary does not start on the first screen: {look:?}"
            );
            for open in ["<nav class=\"sidebar\"", "<nav class=\"toc-menu\""] {
                let nav = nav(&dom, open).unwrap_or_else(|| panic!("no {open}"));
                for question in crate::questions::all() {
                    assert!(
                        nav.contains(&format!("href=\"#{}\"", question.id)),
                        "{open} does not link {}",
                        question.id
                    );
                }
            }
            let shot = shots.join(format!("index-{window}.png"));
            screenshot(&chromium, &page, window, &shot).unwrap();
            eprintln!("{window}: screenshot {}", shot.display());
        }
    }
}
