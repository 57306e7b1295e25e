//! `reports/index.html`: the report as one self-contained web page. The Markdown of
//! `REPORT.md` becomes HTML (tables included) and every figure is embedded as a data URI, so
//! the page reads offline from a `file://` URL, mailed or moved without its folder.
//!
//! The page shell (head, style, script, the contents, the body) is the minijinja template
//! `xtask/templates/page.html`, with its style sheet `page.css` and script `page.js`. The
//! contents list every question of `crate::questions::all()` with its short title, grouped
//! by part, as a sidebar on wide screens and a collapsible menu on narrow ones. In the body,
//! each table sits in a box that scrolls sideways on its own, and each figure opens full size
//! on a click (a checkbox styled as an overlay: no script, no second copy of the image).
//!
//! Once loaded, the page measures itself and writes the results on `<body>` as `data-*`
//! attributes (images, broken ones, ones without alt text, dead in-page links, sideways
//! scrolling), which is what the browser test reads back from headless Chromium.

use std::path::Path;

use base64::Engine as _;
use minijinja::value::Serde;
use minijinja::{Environment, context};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use serde::Serialize;

const PAGE: &str = include_str!("../templates/page.html");
const STYLE: &str = include_str!("../templates/page.css");
const SCRIPT: &str = include_str!("../templates/page.js");

/// Around every table: the box that scrolls sideways so that the page does not.
const TABLE_BOX: (&str, &str) = ("<div class=\"table-box\">\n", "</div>\n");
/// Around every image: a click (or Space on the focused checkbox) shows it full size. The
/// opening tag is completed by the figure's anchor (see [`figure_anchor`]).
const ZOOM: (&str, &str) = (
    "\" title=\"Click to see it full size; click again to close\">\
     <input type=\"checkbox\" aria-label=\"Show this figure full size\">\
     <span class=\"zoom-box\">",
    "</span></label>",
);

/// One part of the assignment in the contents, with its questions.
#[derive(Debug, Serialize)]
struct Part {
    /// The part's heading without its parenthesis, e.g. `RBM — Restricted Boltzmann Machines`.
    title: String,
    /// The whole heading.
    heading: String,
    questions: Vec<Entry>,
}

#[derive(Debug, Serialize)]
struct Entry {
    id: String,
    title: &'static str,
}

/// The contents: the questions grouped by part, in the assignment's order.
fn parts() -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for question in crate::questions::all() {
        if parts
            .last()
            .is_none_or(|part| part.heading != question.part)
        {
            let title = question.part.split(" (").next().unwrap_or(&question.part);
            parts.push(Part {
                title: title.trim().to_string(),
                heading: question.part.clone(),
                questions: Vec::new(),
            });
        }
        let title = question.short_title();
        parts
            .last_mut()
            .expect("a part was just pushed")
            .questions
            .push(Entry {
                id: question.id,
                title,
            });
    }
    parts
}

/// The page of `markdown`, whose figure links are relative to `reports`. A figure that is
/// missing keeps its link, so that the page shows (and the browser test finds) it broken.
pub fn render(markdown: &str, reports: &Path, title: &str) -> String {
    let mut env = Environment::new();
    env.add_template("page.html", PAGE)
        .expect("xtask/templates/page.html parses");
    env.get_template("page.html")
        .and_then(|page| {
            page.render(context! {
                title,
                style => STYLE.trim_end(),
                script => SCRIPT.trim_end(),
                parts => Serde(parts()),
                body => body(markdown, reports),
            })
        })
        .map(|mut page| {
            page.push('\n');
            page
        })
        .expect("xtask/templates/page.html renders")
}

/// The HTML of `markdown`: figures embedded and zoomable, tables in their scrolling boxes.
fn body(markdown: &str, reports: &Path) -> String {
    let mut events = Vec::new();
    let mut anchors = std::collections::HashSet::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(alignments)) => {
                events.push(Event::Html(TABLE_BOX.0.into()));
                events.push(Event::Start(Tag::Table(alignments)));
            }
            Event::End(TagEnd::Table) => {
                events.push(Event::End(TagEnd::Table));
                events.push(Event::Html(TABLE_BOX.1.into()));
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let anchor = figure_anchor(&dest_url, &mut anchors);
                events.push(Event::InlineHtml(
                    ["<label class=\"zoom\" id=\"", &anchor, ZOOM.0]
                        .concat()
                        .into(),
                ));
                events.push(Event::Start(Tag::Image {
                    link_type,
                    dest_url: embedded(&dest_url, reports).map_or(dest_url, CowStr::from),
                    title,
                    id,
                }));
            }
            Event::End(TagEnd::Image) => {
                events.push(Event::End(TagEnd::Image));
                events.push(Event::InlineHtml(ZOOM.1.into()));
            }
            other => events.push(other),
        }
    }
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events.into_iter());
    body
}

/// A stable anchor for the figure at `link`: `figure-` and its file's stem
/// (`figures/rbm-q2-reconstructions.png` → `figure-rbm-q2-reconstructions`), with `-2`,
/// `-3`, ... where the same figure is shown again.
fn figure_anchor(link: &str, taken: &mut std::collections::HashSet<String>) -> String {
    let stem = Path::new(link)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("image");
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = format!("figure-{stem}");
    let anchor = (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|candidate| !taken.contains(candidate))
        .expect("an unused anchor");
    taken.insert(anchor.clone());
    anchor
}

/// `data:image/png;base64,...` of the figure `link` (relative to `reports`), if it is a
/// local PNG that exists.
fn embedded(link: &str, reports: &Path) -> Option<String> {
    if link.contains("://") || !link.ends_with(".png") {
        return None;
    }
    let bytes = std::fs::read(reports.join(link)).ok()?;
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn png(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let image = data::figure::digit_grid(&[0.5; data::PIXELS], 1, None);
        data::figure::save_png(&image, path).unwrap();
    }

    #[test]
    fn figures_are_embedded_tables_rendered_and_missing_figures_left_broken() {
        let reports = tempfile::tempdir().unwrap();
        png(&reports.path().join("figures/a.png"));
        let markdown = "<a id=\"RBM-Q1\"></a>\n### RBM-Q1\n\n![a](figures/a.png)\n\n\
                        ![gone](figures/missing.png)\n\n| x | y |\n|---|---:|\n| 1 | 2 |\n";
        let page = render(markdown, reports.path(), "genlab report");
        assert!(
            page.contains("src=\"data:image/png;base64,iVBORw0KGgo"),
            "{page}"
        );
        assert!(page.contains("src=\"figures/missing.png\""));
        assert!(page.contains("<a id=\"RBM-Q1\"></a>"));
        assert!(
            page.contains("<table>") && page.contains("<td style=\"text-align: right\">2</td>")
        );
        assert!(
            !page.contains("figures/a.png"),
            "no link outside the page remains"
        );
    }

    #[test]
    fn every_figure_has_a_stable_anchor_named_after_its_file() {
        let reports = tempfile::tempdir().unwrap();
        png(&reports.path().join("figures/rbm-q2.png"));
        let markdown = "![a](figures/rbm-q2.png)\n\n![again](figures/rbm-q2.png)\n";
        let page = render(markdown, reports.path(), "t");
        assert!(page.contains("id=\"figure-rbm-q2\""), "{page}");
        assert!(page.contains("id=\"figure-rbm-q2-2\""), "{page}");
    }

    #[test]
    fn tables_sit_in_scrolling_boxes_and_figures_open_full_size() {
        let reports = tempfile::tempdir().unwrap();
        png(&reports.path().join("figures/a.png"));
        let markdown = "| x | y |\n|---|---|\n| 1 | 2 |\n\ntext\n\n| z |\n|---|\n| 3 |\n\n\
                        ![a digit](figures/a.png)\n";
        let page = render(markdown, reports.path(), "t");
        assert_eq!(
            page.matches("<div class=\"table-box\">\n<table>").count(),
            2
        );
        assert_eq!(page.matches("</table>\n</div>").count(), 2);
        let image = page.find("<img src=\"data:image/png").unwrap();
        let zoom = page[..image].rfind("<label class=\"zoom\"").unwrap();
        assert!(page[zoom..image].contains("type=\"checkbox\""), "{page}");
        assert!(page[image..].contains("alt=\"a digit\""));
        assert!(page[image..].find("</span></label>").is_some());
        assert_eq!(page.matches("data:image/png").count(), 1, "one copy each");
    }

    /// The shell comes from the template: one document, inline style and script, no link
    /// outside the page, and contents (sidebar and menu) that list every question.
    #[test]
    fn the_page_lists_every_question_in_its_contents_and_loads_nothing_from_outside() {
        let page = render(
            "# Title\n\n<a id=\"summary\"></a>\n",
            Path::new("."),
            "A & B",
        );
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(page.contains("<title>A &amp; B</title>"), "title escaped");
        assert_eq!(page.matches("<nav ").count(), 2, "sidebar and menu");
        assert!(page.contains("<details class=\"menu\">"));
        assert!(page.contains("@media print") && page.contains("@media (min-width: 1000px)"));
        assert!(page.contains("window.addEventListener('load', measure)"));
        for needle in ["{{", "{%", "src=\"http", "href=\"http", "<link", "@import"] {
            assert!(!page.contains(needle), "{needle} in the page");
        }
        for question in crate::questions::all() {
            let entry = format!(
                "<a href=\"#{id}\"><span class=\"qid\">{id}</span> {}</a>",
                question.short_title().replace('\'', "&#x27;"),
                id = question.id
            );
            assert_eq!(page.matches(&entry).count(), 2, "{entry}");
        }
        for anchor in ["summary", "glossary", "evaluation", "speed", "details"] {
            assert_eq!(page.matches(&format!("href=\"#{anchor}\"")).count(), 2);
        }
        let parts = parts();
        assert_eq!(parts.len(), 6);
        assert_eq!(parts[0].title, "RBM — Restricted Boltzmann Machines");
        assert!(parts.iter().all(|part| !part.questions.is_empty()));
    }
}
