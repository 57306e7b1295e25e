//! `reports/REPORT.md`: one section per study question, filled by the experiments that
//! answer it, and marked as not yet answered where none has run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::questions::Question;

/// What an experiment contributes to one question's section.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// Markdown: measured numbers, figure links, and the text that explains them.
    pub body: String,
}

/// The figures and numbers every report starts with, before the questions.
#[derive(Clone, Debug, Default)]
pub struct Preamble {
    pub mode: String,
    pub backend: String,
    pub data: Vec<String>,
    pub figures: Vec<(String, String)>,
    /// Whole markdown parts placed before the questions (the summary).
    pub parts: Vec<String>,
    /// Whole markdown parts after the answers: what no question asks for but a reader may
    /// look up (how samples are scored, training speed).
    pub appendices: Vec<String>,
}

/// The appendix that collects every section's details, last (after the appendices on
/// scoring and speed, which the sections cite by letter).
pub const DETAILS_TITLE: &str = "Appendix C: details of the answers";

/// The report's title, in the Markdown and on the web page.
pub const TITLE: &str = "genlab report";

pub fn render(
    questions: &[Question],
    preamble: &Preamble,
    answers: &BTreeMap<String, Answer>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {TITLE}\n");
    let _ = writeln!(out, "{INTRO}\n");
    write_contents(&mut out, questions);
    write_provenance(&mut out, preamble);
    for part in &preamble.parts {
        let _ = writeln!(out, "\n{}", part.trim_end());
    }
    let answered = questions
        .iter()
        .filter(|q| answers.contains_key(&q.id))
        .count();
    let _ = writeln!(
        out,
        "\nAnswered: {answered} of {} questions.\n",
        questions.len()
    );

    let mut details = String::new();
    let mut part = "";
    for q in questions {
        if q.part != part {
            part = &q.part;
            let _ = writeln!(out, "## {part}\n");
        }
        let _ = writeln!(out, "<a id=\"{}\"></a>\n### {}\n", q.id, q.id);
        let _ = writeln!(out, "> {}\n", q.text);
        match answers.get(&q.id) {
            Some(answer) => {
                let (main, more) = study::section::split_details(&answer.body);
                let _ = writeln!(out, "{main}\n");
                if !more.is_empty() {
                    let _ = writeln!(
                        out,
                        "*Details (settings, per-epoch tables, sweeps): [{}, details](#{}-details).*\n",
                        q.id, q.id
                    );
                    // Collapsed, in the Markdown as on the web page: a reader opens the
                    // details of the answer they are reading.
                    let _ = writeln!(
                        details,
                        "<a id=\"{id}-details\"></a>\n<details><summary><strong>{id}: details</strong></summary>\n\n\
                         {more}\n\n[Back to {id}](#{id})\n\n</details>\n",
                        id = q.id
                    );
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "**Not yet answered**: no experiment for {} has been run.\n",
                    q.id
                );
            }
        }
    }
    for appendix in &preamble.appendices {
        let _ = writeln!(out, "\n{}", appendix.trim_end());
    }
    if !details.is_empty() {
        let _ = writeln!(
            out,
            "\n<a id=\"details\"></a>\n## {DETAILS_TITLE}\n\n{}",
            details.trim_end()
        );
    }
    out
}

/// The words a reader of the answers meets: everything before the first appendix, except
/// collapsed `<details>` blocks (tables count, a cell's words like any others).
pub fn main_text_words(report: &str) -> usize {
    let main = report.split("\n## Appendix").next().unwrap_or(report);
    let mut collapsed = false;
    let mut words = 0;
    for line in main.lines() {
        if line.starts_with("<details>") {
            collapsed = true;
        }
        if !collapsed {
            words += line.split_whitespace().count();
        }
        if line.starts_with("</details>") {
            collapsed = false;
        }
    }
    words
}

/// The most words the main text may have: past this the answers drown in detail.
pub const MAIN_TEXT_WORDS: usize = 8_000;

/// What the report is, for a reader who opens it cold.
const INTRO: &str = "genlab trains Restricted and Deep Boltzmann Machines, GANs and \
variational auto-encoders on MNIST and a diffusion model on Fashion-MNIST, in Rust on Burn, \
and answers a deep-learning course's study questions on generative models with what it \
measures. Each section opens with its answers, then the figures and table they rest on; \
settings, per-epoch tables and sweeps are in Appendix C, one click away.";

/// One line per part of the assignment, linking each question's answer, collapsed so that
/// the summary stays on the first screen (the web page also lists them in its sidebar).
fn write_contents(out: &mut String, questions: &[Question]) {
    write_answer_links(out, questions);
    let _ = writeln!(
        out,
        "<details><summary>Contents: every question, the summary and the appendices</summary>\n\n\
         [Summary](#summary) · [Words used](#glossary) · [Appendix A: scoring](#evaluation) · \
         [Appendix B: speed](#speed) · [Appendix C: details](#details)\n"
    );
    let mut part = "";
    for q in questions {
        if q.part != part {
            part = &q.part;
            let _ = write!(out, "\n- **{part}**: ");
        } else {
            let _ = write!(out, " · ");
        }
        let _ = write!(out, "[{}](#{}) {}", q.id, q.id, q.short_title());
    }
    let _ = writeln!(out, "\n\n</details>\n");
}

/// One short line linking every answer, grouped by family ("RBM Q1 Q2 ... · DBM Q1 Q2 ·
/// ... · CREATIVE · CLOSING"): on any screen, every answer is one click from the top.
fn write_answer_links(out: &mut String, questions: &[Question]) {
    let _ = write!(out, "**Answers:**");
    let mut family = None;
    for (i, q) in questions.iter().enumerate() {
        let separator = if i == 0 { " " } else { " · " };
        match q.id.split_once("-Q") {
            Some((prefix, number)) if family == Some(prefix) => {
                let _ = write!(out, " [Q{number}](#{})", q.id);
            }
            Some((prefix, number)) => {
                let _ = write!(out, "{separator}{prefix} [Q{number}](#{})", q.id);
                family = Some(prefix);
            }
            None => {
                let _ = write!(out, "{separator}[{}](#{})", q.id, q.id);
                family = None;
            }
        }
    }
    let _ = writeln!(out, "\n");
}

/// How the report was made (command, backend, data, machines, timings, shipped runs), in a
/// collapsed block: a reader looks it up, but it is not what the page opens with.
fn write_provenance(out: &mut String, preamble: &Preamble) {
    let _ = writeln!(
        out,
        "<details><summary>How this report was made</summary>\n\n\
         Generated by `cargo xtask all{}`; every number and figure below was produced by {}, \
         except where a model was loaded instead of trained (the shipped runs listed below): \
         for those, the training curves and per-epoch tables come from the records saved when \
         they were trained, on the backend named. Do not edit by hand: rerun the command.\n",
        if preamble.mode == "quick" {
            " --quick"
        } else {
            ""
        },
        if preamble.mode.contains(" for ") {
            "its runs, each section by the profile named below (`--only` reruns one section)"
        } else {
            "its runs (`--only` reruns one section: the Machine line dates each section's run)"
        }
    );
    let _ = writeln!(out, "- Experiments: {}", preamble.mode);
    let _ = writeln!(out, "- Backend: {}", preamble.backend);
    for line in &preamble.data {
        let _ = writeln!(out, "- {line}");
    }
    for (caption, path) in &preamble.figures {
        let _ = writeln!(out, "\n![{caption}]({path})\n\n*{caption}*");
    }
    let _ = writeln!(out, "\n</details>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_text_words_skip_collapsed_blocks_and_appendices() {
        let report = "# t\n\none two three\n<details><summary>x</summary>\n\nfour five\n\n</details>\n\
                      | six | seven |\n\n## Appendix A: eight\nnine ten\n";
        // "#", "t", "one two three", "|", "six", "|", "seven", "|".
        assert_eq!(main_text_words(report), 10);
    }

    #[test]
    fn the_committed_report_keeps_its_main_text_short() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/REPORT.md");
        let words = main_text_words(&std::fs::read_to_string(path).unwrap());
        assert!(
            words < MAIN_TEXT_WORDS,
            "the answers run to {words} words before the appendices (at most {MAIN_TEXT_WORDS}): \
             move settings, per-epoch tables and sweeps below the sections' details marker"
        );
    }

    #[test]
    fn every_question_gets_an_anchored_section_and_unanswered_ones_say_so() {
        let questions = crate::questions::all();
        let mut answers = BTreeMap::new();
        answers.insert(
            "RBM-Q1".to_string(),
            Answer {
                body: format!(
                    "measured: 1.5 nats\n{}\n| epoch | loss |",
                    study::section::DETAILS_MARKER
                ),
            },
        );
        let preamble = Preamble {
            parts: vec!["## Summary".into()],
            appendices: vec!["## Appendix A: scores".into()],
            ..Preamble::default()
        };
        let report = render(&questions, &preamble, &answers);
        let first_answer = report.find("<a id=\"RBM-Q1\"></a>").unwrap();
        let last_answer = report.find("<a id=\"CLOSING\"></a>").unwrap();
        assert!(report.find("## Summary").unwrap() < first_answer);
        assert!(report.find("## Appendix A: scores").unwrap() > last_answer);
        for q in &questions {
            assert!(
                report.contains(&format!("<a id=\"{}\"></a>", q.id)),
                "{}",
                q.id
            );
        }
        assert!(report.contains("measured: 1.5 nats"));
        assert!(report.contains(
            "**Answers:** RBM [Q1](#RBM-Q1) [Q2](#RBM-Q2) [Q3](#RBM-Q3) [Q4](#RBM-Q4) [Q5](#RBM-Q5) · DBM [Q1](#DBM-Q1)"
        ));
        assert!(report.contains(" · [CREATIVE](#CREATIVE) · [CLOSING](#CLOSING)\n"));
        let details = report.find("<a id=\"RBM-Q1-details\"></a>").unwrap();
        assert!(details > report.find("## Appendix A").unwrap());
        assert!(report[details..].contains("| epoch | loss |"));
        assert!(report[details..].starts_with(
            "<a id=\"RBM-Q1-details\"></a>\n<details><summary><strong>RBM-Q1: details</strong></summary>"
        ));
        assert!(!report[..last_answer].contains("| epoch | loss |"));
        assert!(report[..last_answer].contains("](#RBM-Q1-details)"));
        assert_eq!(
            report.matches("**Not yet answered**").count(),
            questions.len() - 1
        );
        assert!(report.contains(&format!("Answered: 1 of {} questions.", questions.len())));
    }
}
