//! RBM-Q1's account of the strong preset: shipped runs that undo one of its choices at a
//! time, scored by AIS on the same stochastically binarised test digits, say what each
//! choice gave. The experiment only reads them (each is an hour or more of training); the
//! section prints the commands that make the missing ones.

use std::path::Path;

use serde::{Deserialize, Serialize};

use rbm::ais::AisEvaluation;
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

/// An AIS result as the section reads it (the 4x longer of `evaluate`'s two schedules).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Nats per test image.
    pub log_likelihood: f64,
    /// The shorter schedule's score: with the longer one, the spread a reader sees where
    /// AIS has not converged.
    pub shorter_schedule_log_likelihood: f64,
    /// Chains (of `chains`) that effectively carry the estimate.
    pub effective_sample_size: f64,
    pub chains: usize,
    /// By the project's rule (`rbm::ais::convergence`).
    pub converged: bool,
}

impl Score {
    /// The longer schedule's score, with the shorter one's beside it.
    fn from_ais(ais: &AisEvaluation) -> Self {
        Self {
            log_likelihood: ais.long.test_log_likelihood,
            shorter_schedule_log_likelihood: ais.short.test_log_likelihood,
            effective_sample_size: ais.long.estimate.effective_sample_size,
            chains: ais.long.estimate.chains,
            converged: ais.convergence.converged,
        }
    }

    /// The score a shipped run wrote for test digits presented as `tested_as`, if any.
    fn read(dir: &Path, trained_as: InputMode, tested_as: InputMode) -> Option<Self> {
        let path = dir.join(ais_file(trained_as, tested_as));
        let ais = data::run::read_json::<AisEvaluation>(&path).ok()?;
        Some(Self::from_ais(&ais))
    }
}

/// One row of the table: a run, how its test digits were binarised, its score.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub run: String,
    /// What differs from the strong preset ("-" for the strong run).
    pub change: String,
    /// How the test digits were binarised ("dynamic" or "threshold").
    pub test_digits: String,
    pub score: Score,
}

/// The strong run and its shipped ablations, and the ablations this checkout lacks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Protocol {
    /// The strong run first, then each shipped ablation.
    pub rows: Vec<Row>,
    /// The ablations not shipped, with what the section needs to say how to make them.
    pub not_measured: Vec<Unmeasured>,
}

/// An ablation this checkout lacks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Unmeasured {
    pub name: String,
    pub change: String,
    /// The `--set` flags that make it from the strong preset.
    pub flags: Vec<String>,
}

impl Protocol {
    pub fn new(rows: Vec<Row>, missing: &[&Ablation]) -> Self {
        let not_measured = missing
            .iter()
            .map(|a| Unmeasured {
                name: a.name.into(),
                change: a.change.into(),
                flags: a.flags.iter().map(|f| f.to_string()).collect(),
            })
            .collect();
        Self { rows, not_measured }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/pretrained/rbm/strong");
        let ais: AisEvaluation = data::run::read_json(&dir.join("ais.json")).unwrap();
        let score = Score::read(&dir, InputMode::Dynamic, InputMode::Dynamic).unwrap();
        assert_eq!(
            score,
            Score {
                log_likelihood: ais.long.test_log_likelihood,
                shorter_schedule_log_likelihood: ais.short.test_log_likelihood,
                effective_sample_size: ais.long.estimate.effective_sample_size,
                chains: 100,
                converged: true
            }
        );
        assert_eq!(ais.long.estimate.betas, 4 * ais.short.estimate.betas);
        assert_eq!(
            Score::read(&dir, InputMode::Dynamic, InputMode::Threshold),
            None
        );
        // Where `rbm evaluate` writes each score, and so what `rbm ship` keeps.
        assert_eq!(ais_file(InputMode::Dynamic, InputMode::Dynamic), "ais.json");
        assert_eq!(
            ais_file(InputMode::Threshold, InputMode::Dynamic),
            "ais-test-dynamic.json"
        );
    }
}
