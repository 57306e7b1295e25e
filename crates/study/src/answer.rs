//! Answers written by hand, filled by code, checked.
//!
//! A section's prose is a template, `crates/study/templates/<ID>.md` (minijinja), written by
//! hand and filled from the section's typed numbers: one `#[derive(Serialize, Deserialize)]`
//! type per section, declared in its experiment's file and implementing [`Answer`]. A
//! sentence whose truth rests on the numbers stands beside a check on them:
//!
//! ```jinja
//! {{ check("the second layer's filters are wider than the first's",
//!          layer_2.mean_radius > layer_1.mean_radius,
//!          layer_2=layer_2.mean_radius, layer_1=layer_1.mean_radius) }}
//! ```
//!
//! `check` prints nothing when its claim holds. When one does not, the section fails with
//! [`BrokenClaims`], naming every broken claim and the numbers handed to it, so a rerun whose
//! numbers break a claim never prints the false sentence. A field the template names that
//! the numbers lack fails the section too (strict undefined), and so does a template that
//! does not parse. Number formats are filters: `x | fixed(2)`, `share | percent(1)`,
//! `count | thousands`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A section's typed numbers: what its experiment measured and its template reads.
pub trait Answer: Serialize + DeserializeOwned {
    /// The question id, e.g. "DBM-Q1"; its template is `templates/<ID>.md`.
    const ID: &'static str;
}

/// The claims of one section that its numbers do not support.
#[derive(Debug, thiserror::Error)]
#[error("{id}: {} claim(s) do not hold for this run's numbers:\n{}", .claims.len(), .claims.join("\n"))]
pub struct BrokenClaims {
    pub id: String,
    /// Each broken claim with the numbers handed to its check, e.g.
    /// `- "layer 2 is wider" (layer_1 = 3.5, layer_2 = 3.1)`.
    pub claims: Vec<String>,
}

/// Where the templates are read from at render time, so that an edited answer shows on the
/// next `cargo xtask render` without rebuilding anything.
pub fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

/// Renders the template of `T::ID` with `numbers`.
pub fn render<T: Answer>(numbers: &T) -> anyhow::Result<String> {
    let path = templates_dir().join(format!("{}.md", T::ID));
    let source = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the template of {}: {}", T::ID, path.display()))?;
    render_source(T::ID, &source, numbers)
}

/// Renders the template of `T::ID` with numbers read from JSON (a section of
/// `results.json`): a field the type lacks or misses fails here, naming the section.
pub fn render_json<T: Answer>(numbers: &serde_json::Value) -> anyhow::Result<String> {
    let typed: T = serde_json::from_value(numbers.clone())
        .with_context(|| format!("{}: the numbers do not read as its typed result", T::ID))?;
    render(&typed)
}

/// The numbers read as `T` and written back: equal to `numbers` when the type holds every
/// field the JSON has, and nothing else.
pub fn reread<T: Answer>(numbers: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
    let typed: T = serde_json::from_value(numbers.clone())
        .with_context(|| format!("{}: the numbers do not read as its typed result", T::ID))?;
    Ok(serde_json::to_value(&typed)?)
}

/// Renders `source` as the answer of section `id` with `numbers`.
pub fn render_source(id: &str, source: &str, numbers: &impl Serialize) -> anyhow::Result<String> {
    let broken = Arc::new(Mutex::new(Vec::new()));
    let env = environment(broken.clone());
    let text = env
        .render_named_str(&format!("{id}.md"), source, Value::from(Serde(numbers)))
        .map_err(|err| anyhow::anyhow!("{id}: the template failed: {err:#}"))?;
    let claims = std::mem::take(&mut *broken.lock().unwrap());
    if claims.is_empty() {
        Ok(text)
    } else {
        Err(BrokenClaims {
            id: id.to_string(),
            claims,
        }
        .into())
    }
}

/// The markdown printed in place of an answer that failed: what failed, and where to look.
pub fn failure_notice(id: &str, err: &anyhow::Error) -> String {
    format!(
        "**This answer failed its checks, so its text is not shown.** This run's numbers do \
         not support what it says, or its template does not fit its numbers:\n\n```text\n\
         {err:#}\n```\n\nThe numbers are in `results.json` (`sections.{id}`), the text in \
         `crates/study/templates/{id}.md`.\n"
    )
}

fn environment(broken: Arc<Mutex<Vec<String>>>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env.add_filter("fixed", |value: f64, digits: usize| {
        format!("{value:.digits$}")
    });
    env.add_filter("percent", |value: f64, digits: usize| {
        format!("{:.digits$}%", 100.0 * value)
    });
    env.add_filter("thousands", thousands);
    env.add_function(
        "check",
        move |claim: String, holds: bool, numbers: Kwargs| -> Result<String, Error> {
            let mut named = Vec::new();
            for name in numbers.args() {
                let value: Value = numbers.get(name)?;
                named.push(format!("{name} = {value}"));
            }
            if !holds {
                broken
                    .lock()
                    .map_err(|_| Error::new(ErrorKind::InvalidOperation, "check poisoned"))?
                    .push(format!("- \"{claim}\" ({})", named.join(", ")));
            }
            Ok(String::new())
        },
    );
    env
}

/// 10000 -> "10,000".
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Radii {
        layer_1: f64,
        layer_2: f64,
    }

    const CLAIM: &str = "{{ check(\"layer 2 is wider\", layer_2 > layer_1, layer_1=layer_1, \
                         layer_2=layer_2) }}Layer 2 ({{ layer_2 | fixed(2) }} px) is wider.";

    #[test]
    fn a_claim_that_holds_prints_its_sentence_with_formatted_numbers() {
        let text = render_source(
            "T-Q1",
            CLAIM,
            &Radii {
                layer_1: 3.0,
                layer_2: 4.256,
            },
        )
        .unwrap();
        assert_eq!(text, "Layer 2 (4.26 px) is wider.");
    }

    #[test]
    fn a_broken_claim_fails_its_section_naming_the_claim_and_its_numbers() {
        let err = render_source(
            "T-Q1",
            CLAIM,
            &Radii {
                layer_1: 3.5,
                layer_2: 3.1,
            },
        )
        .unwrap_err();
        let broken = err.downcast_ref::<BrokenClaims>().expect("a BrokenClaims");
        assert_eq!(broken.id, "T-Q1");
        assert_eq!(
            broken.claims,
            ["- \"layer 2 is wider\" (layer_1 = 3.5, layer_2 = 3.1)"]
        );
        let notice = failure_notice("T-Q1", &err);
        assert!(
            notice.contains("layer 2 is wider") && !notice.contains("Layer 2 (3.10 px)"),
            "{notice}"
        );
    }

    #[test]
    fn a_field_the_numbers_lack_fails_the_section() {
        let err = render_source(
            "T-Q1",
            "{{ layer_3 | fixed(2) }}",
            &Radii {
                layer_1: 3.0,
                layer_2: 4.0,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("T-Q1"), "{err:#}");
        assert!(format!("{err:#}").contains("undefined"), "{err:#}");
    }

    #[test]
    fn number_filters_format_as_the_report_prints() {
        let text = render_source(
            "T-Q1",
            "{{ 0.1234 | percent(1) }} {{ 10000 | thousands }} {{ 999 | thousands }} {{ 2.0 | fixed(0) }}",
            &Radii {
                layer_1: 0.0,
                layer_2: 0.0,
            },
        )
        .unwrap();
        assert_eq!(text, "12.3% 10,000 999 2");
    }
}
