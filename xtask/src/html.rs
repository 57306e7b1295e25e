//! `reports/index.html`: the report as one self-contained web page. The Markdown of
//! `REPORT.md` becomes HTML (tables included) and every figure is embedded as a data URI, so
//! the page reads offline from a `file://` URL, mailed or moved without its folder.
//!
//! The page counts its own images once loaded (`data-images`, `data-broken-images` on
//! `<body>`), which is what the browser test reads back from headless Chromium.

use std::path::Path;

use base64::Engine as _;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#222}img{max-width:100%;height:auto}\
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}\
th,td{border:1px solid #ccc;padding:.25rem .5rem}th{background:#f4f4f4}\
td{font-variant-numeric:tabular-nums}blockquote{color:#555;border-left:3px solid #ccc;\
margin-left:0;padding-left:1rem}code{background:#f4f4f4;padding:0 .2rem}";

/// Counts the images once the page has loaded; broken ones have no natural width.
const SCRIPT: &str = "window.addEventListener('load',function(){\
var images=Array.prototype.slice.call(document.images);\
var broken=images.filter(function(i){return !(i.complete&&i.naturalWidth>0);});\
document.body.setAttribute('data-images',images.length);\
document.body.setAttribute('data-broken-images',broken.length);});";

/// The page of `markdown`, whose figure links are relative to `reports`. A figure that is
/// missing keeps its link, so that the page shows (and the browser test finds) it broken.
pub fn render(markdown: &str, reports: &Path, title: &str) -> String {
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|event| match event {
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: embedded(&dest_url, reports).map_or(dest_url, CowStr::from),
            title,
            id,
        }),
        other => other,
    });
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n</head>\n\
         <body>\n{body}</body>\n</html>\n"
    )
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
}
