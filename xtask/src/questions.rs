//! The study questions the report answers, parsed from `reports/questions.md` (a copy of the
//! course's assignment). Question ids (RBM-Q1, ...) are the report's section anchors.

/// The assignment as shipped with the repository.
pub const ASSIGNMENT: &str = include_str!("../../reports/questions.md");

/// One question of the assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// e.g. `RBM-Q1`, `CREATIVE`, `CLOSING`.
    pub id: String,
    /// The part it belongs to, e.g. `RBM — Restricted Boltzmann Machines (MNIST)`.
    pub part: String,
    pub text: String,
}

/// Parses the `## part` headings and their `- ID. text` items. An item without an id of its
/// own (CREATIVE, the closing part) takes the part's first word as its id.
pub fn parse(markdown: &str) -> Vec<Question> {
    let mut questions: Vec<Question> = Vec::new();
    let mut part = String::new();
    let mut in_item = false;
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            part = heading.trim().to_string();
            in_item = false;
        } else if let Some(item) = line.strip_prefix("- ").filter(|_| !part.is_empty()) {
            let (id, text) = match item.split_once(". ") {
                Some((id, text)) if is_question_id(id) => (id.to_string(), text.to_string()),
                _ => (part_id(&part), item.to_string()),
            };
            questions.push(Question {
                id,
                part: part.clone(),
                text,
            });
            in_item = true;
        } else if in_item && line.starts_with("  ") {
            let last = questions.last_mut().expect("inside an item");
            last.text.push(' ');
            last.text.push_str(line.trim());
        } else {
            in_item = false;
        }
    }
    questions
}

fn is_question_id(s: &str) -> bool {
    s.split_once("-Q").is_some_and(|(family, n)| {
        !family.is_empty()
            && family.chars().all(|c| c.is_ascii_uppercase())
            && n.parse::<u32>().is_ok()
    })
}

fn part_id(part: &str) -> String {
    let first = part.split_whitespace().next().unwrap_or("PART");
    if first.eq_ignore_ascii_case("closing") {
        "CLOSING".into()
    } else {
        first.to_uppercase()
    }
}

/// A few words naming what each question is about, for the report's table of contents.
const SHORT_TITLES: [(&str, &str); 19] = [
    ("RBM-Q1", "why a pseudo-likelihood"),
    ("RBM-Q2", "hidden units, learning rate, epochs"),
    ("RBM-Q3", "number of Gibbs steps"),
    ("RBM-Q4", "completing missing parts"),
    ("RBM-Q5", "which rows are removed"),
    ("DBM-Q1", "filters of the RBM and the DBM"),
    ("DBM-Q2", "DBM samples against the RBM's"),
    ("GAN-Q1", "losses and results"),
    ("GAN-Q2", "a much stronger discriminator"),
    ("GAN-Q3", "convergence and stability"),
    ("GAN-Q4", "the latent space"),
    ("GAN-Q5", "convolutional backbones"),
    ("GAN-Q6", "GANs against other families"),
    ("VAE-Q1", "the objective (ELBO)"),
    ("VAE-Q2", "against a stacked auto-encoder"),
    ("VAE-Q3", "the latent space"),
    ("VAE-Q4", "generation against GANs"),
    ("CREATIVE", "a diffusion model from scratch"),
    ("CLOSING", "interpretation and conclusion"),
];

impl Question {
    /// What the question is about in a few words ("" for an id without one).
    pub fn short_title(&self) -> &'static str {
        SHORT_TITLES
            .iter()
            .find(|(id, _)| *id == self.id)
            .map_or("", |(_, title)| title)
    }
}

/// The questions of the shipped assignment.
pub fn all() -> Vec<Question> {
    parse(ASSIGNMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_question_of_the_assignment_is_found_once() {
        let ids: Vec<String> = all().into_iter().map(|q| q.id).collect();
        let expected = [
            "RBM-Q1", "RBM-Q2", "RBM-Q3", "RBM-Q4", "RBM-Q5", "DBM-Q1", "DBM-Q2", "GAN-Q1",
            "GAN-Q2", "GAN-Q3", "GAN-Q4", "GAN-Q5", "GAN-Q6", "VAE-Q1", "VAE-Q2", "VAE-Q3",
            "VAE-Q4", "CREATIVE", "CLOSING",
        ];
        assert_eq!(ids, expected);
        let q2 = &all()[1];
        assert!(q2.text.contains("hidden components") && q2.text.ends_with("unseen test images."));
        assert!(q2.part.starts_with("RBM"));
        for q in all() {
            assert!(!q.short_title().is_empty(), "{} has no short title", q.id);
        }
    }

    /// The shipped copy is the course's assignment, when the course folder is beside the
    /// checkout (as in CI).
    #[test]
    fn the_shipped_copy_matches_the_course_assignment() {
        let course =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/assignment.md");
        match std::fs::read_to_string(&course) {
            Ok(text) => assert_eq!(parse(&text), all()),
            Err(_) => eprintln!(
                "{} not present: only the shipped copy is checked",
                course.display()
            ),
        }
    }
}
