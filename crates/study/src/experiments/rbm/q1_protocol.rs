//! RBM-Q1's account of the strong preset: shipped runs that undo one of its choices at a
//! time, scored by AIS on the same stochastically binarised test digits, say what each
//! choice gave. The experiment only reads them (each is an hour or more of training); the
//! commands that make them are in the section itself.

use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use rbm::tasks::{ais_file, input_name};
use rbm::train::{InputMode, Preset, TrainConfig};

/// One choice of the strong preset undone.
pub struct Ablation {
    /// The name its run is trained and shipped under.
    pub name: &'static str,
    /// What differs from the strong preset.
    pub change: &'static str,
    /// The `--set` flags that turn `rbm train --preset strong` into this variant.
    pub flags: &'static [&'static str],
    /// The same change applied to a config.
    pub apply: fn(TrainConfig) -> TrainConfig,
}

/// The choices in which the strong preset follows Salakhutdinov & Murray (2008) rather than
/// the course's setup, one at a time.
pub const ABLATIONS: [Ablation; 5] = [
    Ablation {
        name: "strong-threshold",
        change: "pixels thresholded at 0.5 once, instead of drawn anew every epoch",
        flags: &["input=threshold"],
        apply: |c| c.with_input(InputMode::Threshold),
    },
    Ablation {
        name: "strong-cd-1",
        change: "CD-1 throughout, instead of k raised from 1 to 25",
        flags: &["final-gibbs-steps=0", "gibbs-ramp-epochs=0"],
        apply: |c| c.with_final_gibbs_steps(0).with_gibbs_ramp_epochs(0),
    },
    Ablation {
        name: "strong-no-weight-decay",
        change: "no weight decay, instead of 2e-4",
        flags: &["weight-decay=0"],
        apply: |c| c.with_weight_decay(0.0),
    },
    Ablation {
        name: "strong-constant-lr",
        change: "a constant learning rate, instead of x0.99 per epoch",
        flags: &["learning-rate-decay=1"],
        apply: |c| c.with_learning_rate_decay(1.0),
    },
    Ablation {
        name: "strong-100-epochs",
        change: "100 epochs (k reaching 25 after 50), instead of 200 (after 100)",
        flags: &["epochs=100", "gibbs-ramp-epochs=50"],
        apply: |c| c.with_epochs(100).with_gibbs_ramp_epochs(50),
    },
];

/// An AIS result as this paragraph reads it (the 4x longer of `evaluate`'s two schedules).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    pub log_likelihood: f64,
    /// The shorter schedule's score: with the longer one, the spread a reader sees where
    /// AIS has not converged.
    pub shorter_schedule_log_likelihood: f64,
    pub effective_sample_size: f64,
    pub chains: usize,
    pub converged: bool,
}

impl Score {
    fn from_ais(ais: &Value) -> Option<Self> {
        let runs = ais["runs"].as_array()?;
        let (short, long) = (runs.first()?, runs.last()?);
        Some(Self {
            log_likelihood: long["test_log_likelihood"].as_f64()?,
            shorter_schedule_log_likelihood: short["test_log_likelihood"].as_f64()?,
            effective_sample_size: long["estimate"]["effective_sample_size"].as_f64()?,
            chains: long["estimate"]["chains"].as_u64()? as usize,
            converged: ais["convergence"]["converged"].as_bool()?,
        })
    }

    /// The score a shipped run wrote for test digits presented as `tested_as`, if any.
    fn read(dir: &Path, trained_as: InputMode, tested_as: InputMode) -> Option<Self> {
        let ais = data::run::read_json::<Value>(&dir.join(ais_file(trained_as, tested_as)));
        Self::from_ais(&ais.ok()?)
    }
}

/// One row of the table: a run, how its test digits were binarised, its score.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub run: String,
    pub change: String,
    pub test_digits: String,
    pub score: Score,
}

/// The shipped strong run and every shipped ablation as rows (the threshold run twice: on
/// the stochastic test digits every other row uses, and on thresholded ones as it was
/// trained), and the ablations this checkout lacks.
pub fn rows(strong_dir: &Path) -> (Vec<Row>, Vec<&'static Ablation>) {
    let strong = Preset::Strong.config();
    let mut rows = Vec::new();
    let mut row = |run: &str, change: &str, dir: &Path, trained_as: InputMode, tested_as| {
        if let Some(score) = Score::read(dir, trained_as, tested_as) {
            rows.push(Row {
                run: run.into(),
                change: change.into(),
                test_digits: input_name(tested_as),
                score,
            });
        }
    };
    row("strong", "-", strong_dir, strong.input, InputMode::Dynamic);
    let mut missing = Vec::new();
    for ablation in &ABLATIONS {
        let config = (ablation.apply)(strong.clone());
        let Some(dir) = data::run::shipped_with_config("rbm", &config) else {
            missing.push(ablation);
            continue;
        };
        println!(
            "RBM: reading the AIS scores of the shipped run {} (same config)",
            dir.display()
        );
        row(
            ablation.name,
            ablation.change,
            &dir,
            config.input,
            InputMode::Dynamic,
        );
        if config.input != InputMode::Dynamic {
            row(
                ablation.name,
                ablation.change,
                &dir,
                config.input,
                config.input,
            );
        }
    }
    (rows, missing)
}

/// The paragraph: the table against the strong run's score, and how to make what is missing.
pub fn paragraph(rows: &[Row], missing: &[&Ablation]) -> (String, Value) {
    let mut md = String::from("\n**What each choice of the strong preset gave.** ");
    let strong = rows.first().filter(|r| r.run == "strong");
    if let Some(strong) = strong.filter(|_| rows.len() > 1) {
        md.push_str(
            "The strong preset with one of its choices undone (the same seed; 200 epochs but in \
             the epochs row), \
             scored by AIS like it:\n\n\
             | run | change from the strong preset | test digits | AIS test log-likelihood | against strong | ESS of chains | converged |\n\
             |---|---|---|---:|---:|---:|---|\n",
        );
        for r in rows {
            let against = if r.run == "strong" {
                "-".to_string()
            } else {
                format!(
                    "{:+.2}",
                    r.score.log_likelihood - strong.score.log_likelihood
                )
            };
            let converged = if r.score.converged {
                "yes".to_string()
            } else {
                format!(
                    "no (the 4x shorter schedule gave {:.2})",
                    r.score.shorter_schedule_log_likelihood
                )
            };
            md.push_str(&format!(
                "| {} | {} | {} | {:.2} | {against} | {:.1} of {} | {converged} |\n",
                r.run,
                r.change,
                r.test_digits,
                r.score.log_likelihood,
                r.score.effective_sample_size,
                r.score.chains,
            ));
        }
        md.push_str(
            "\nA negative difference is what undoing that choice cost. Thresholded and \
             stochastically binarised test digits are different test sets: only rows on the \
             same test digits compare.",
        );
        let mut same_digits: Vec<&Row> = rows
            .iter()
            .filter(|r| r.run != "strong" && r.test_digits == strong.test_digits)
            // An estimate AIS has not converged on says nothing about the cost.
            .filter(|r| r.score.converged)
            .collect();
        same_digits.sort_by(|a, b| a.score.log_likelihood.total_cmp(&b.score.log_likelihood));
        if !same_digits.is_empty() {
            let ranked: Vec<String> = same_digits
                .iter()
                .map(|r| {
                    let cost = r.score.log_likelihood - strong.score.log_likelihood;
                    format!("{} ({cost:.2} nats)", r.change)
                })
                .collect();
            md.push_str(&format!(
                " The choices measured here, costliest undone first (converged estimates only): {}.",
                ranked.join("; ")
            ));
        }
        md.push('\n');
    } else {
        md.push_str(
            "No run of the strong preset with one choice undone ships with this checkout yet.\n",
        );
    }
    if !missing.is_empty() {
        md.push_str("\nNot measured here: ");
        let commands: Vec<String> = missing
            .iter()
            .map(|a| {
                let flags: Vec<String> = a.flags.iter().map(|f| format!("--set {f}")).collect();
                format!(
                    "{} (`rbm train --preset strong --name {} {}`)",
                    a.change,
                    a.name,
                    flags.join(" ")
                )
            })
            .collect();
        md.push_str(&commands.join("; "));
        md.push_str(
            "; then `rbm evaluate --run runs/rbm/<name> --test-input dynamic` (a threshold-trained \
             run: `--test-input threshold,dynamic`) and `rbm ship`.\n",
        );
    }
    let names: Vec<&str> = missing.iter().map(|a| a.name).collect();
    (md, json!({ "rows": rows, "not_measured": names }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: &str, tested: &str, ll: f64) -> Row {
        Row {
            run: run.into(),
            change: format!("{run} change"),
            test_digits: tested.into(),
            score: Score {
                log_likelihood: ll,
                shorter_schedule_log_likelihood: ll + 0.5,
                effective_sample_size: 50.0,
                chains: 100,
                converged: run != "strong-cd-1",
            },
        }
    }

    #[test]
    fn the_table_gives_each_ablation_against_strong_and_the_commands_for_the_missing_ones() {
        let rows = [
            row("strong", "dynamic", -85.16),
            row("strong-cd-1", "dynamic", -105.5),
            row("strong-threshold", "dynamic", -101.25),
            row("strong-threshold", "threshold", -70.0),
            row("strong-constant-lr", "dynamic", -85.3),
        ];
        let (md, numbers) = paragraph(&rows, &[&ABLATIONS[2]]);
        assert!(
            md.contains("| strong | strong change | dynamic | -85.16 | - | 50.0 of 100 | yes |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| strong-cd-1 | strong-cd-1 change | dynamic | -105.50 | -20.34 | 50.0 of 100 | no (the 4x shorter schedule gave -105.00) |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| strong-threshold | strong-threshold change | threshold | -70.00 | +15.16 |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "`rbm train --preset strong --name strong-no-weight-decay --set weight-decay=0`"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "costliest undone first (converged estimates only): strong-threshold change \
                 (-16.09 nats); strong-constant-lr change (-0.14 nats)."
            ),
            "the unconverged CD-1 row (-20.34) is not read: {md}"
        );
        assert_eq!(numbers["not_measured"], json!(["strong-no-weight-decay"]));
        let (none, _) = paragraph(&rows[..1], &[]);
        assert!(none.contains("No run of the strong preset"), "{none}");
    }

    #[test]
    fn each_ablation_s_flags_make_its_config_and_change_the_strong_preset() {
        use clap::Parser as _;
        let strong = Preset::Strong.config();
        for ablation in &ABLATIONS {
            let mut argv = vec!["rbm", "train", "--preset", "strong"];
            for flag in ablation.flags {
                argv.extend(["--set", flag]);
            }
            let cli = rbm::cli::Cli::try_parse_from(argv).unwrap();
            let rbm::cli::Command::Train(args) = cli.command else {
                panic!("not a train command")
            };
            let from_flags = args.common.config.resolve(Preset::Strong.config()).unwrap();
            let applied = (ablation.apply)(strong.clone());
            let json = |c: &TrainConfig| serde_json::to_value(c).unwrap();
            assert_eq!(json(&from_flags), json(&applied), "{}", ablation.name);
            assert_ne!(json(&applied), json(&strong), "{}", ablation.name);
        }
    }

    #[test]
    fn a_score_is_read_from_the_longer_ais_schedule() {
        let ais = json!({ "runs": [
            { "estimate": { "effective_sample_size": 40.0, "chains": 100 }, "test_log_likelihood": -85.14 },
            { "estimate": { "effective_sample_size": 76.7, "chains": 100 }, "test_log_likelihood": -85.16 } ],
            "convergence": { "converged": true } });
        assert_eq!(
            Score::from_ais(&ais),
            Some(Score {
                log_likelihood: -85.16,
                shorter_schedule_log_likelihood: -85.14,
                effective_sample_size: 76.7,
                chains: 100,
                converged: true
            })
        );
        assert_eq!(Score::from_ais(&json!({ "runs": [] })), None);
        // Where `rbm evaluate` writes each score, and so what `rbm ship` keeps.
        assert_eq!(ais_file(InputMode::Dynamic, InputMode::Dynamic), "ais.json");
        assert_eq!(
            ais_file(InputMode::Threshold, InputMode::Dynamic),
            "ais-test-dynamic.json"
        );
    }
}
