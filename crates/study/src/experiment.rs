//! What every experiment is: the [`Experiment`] trait and the [`Context`] it runs in.
//!
//! Each family's folder under `src/experiments/` holds one file per question, each a unit
//! struct that implements [`Experiment`], exported in the family's `REGISTRY`. The `study`
//! binary's `experiment <ID>` subcommand calls [`run`] with every registry; `cargo xtask all`
//! reads the same registries, so an id is declared once. The [`Context`] hands every
//! experiment the device, the data and the evaluator (loaded once, on first use), its report
//! folder and the runs it shares with other experiments.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use data::{DataSetName, ImageSet, RunOptions, SelectedDevice, Split};
use serde::Serialize;

use crate::section::ExperimentArgs;

use eval::Evaluator;

/// One experiment: it trains or loads what it needs, writes its figures and the sections of
/// the questions it answers.
pub trait Experiment: Sync {
    /// The id it runs by (`cargo run -p rbm -- experiment RBM-Q4`).
    fn id(&self) -> &'static str;
    /// The question ids whose sections it writes; most answer just their own id.
    fn answers(&self) -> &'static [&'static str];
    fn run(&self, ctx: &Context) -> anyhow::Result<()>;
}

/// An experiment given by its ids and a function: what a question's file declares.
pub struct Question {
    pub id: &'static str,
    /// The question ids whose sections it writes; most answer just `id`.
    pub answers: &'static [&'static str],
    pub run: fn(&Context) -> anyhow::Result<()>,
}

impl Experiment for Question {
    fn id(&self) -> &'static str {
        self.id
    }
    fn answers(&self) -> &'static [&'static str] {
        self.answers
    }
    fn run(&self, ctx: &Context) -> anyhow::Result<()> {
        (self.run)(ctx)
    }
}

/// Runs the experiment of `registry` whose id (or one of whose answers) is `id`.
pub fn run(registry: &[&dyn Experiment], id: &str, ctx: &Context) -> anyhow::Result<()> {
    let found = registry.iter().find(|e| {
        e.id().eq_ignore_ascii_case(id) || e.answers().iter().any(|a| a.eq_ignore_ascii_case(id))
    });
    match found {
        Some(experiment) => {
            experiment.run(ctx)?;
            // Which shipped runs stood in for training, for the report's header.
            let path = ctx
                .args
                .reports
                .join("shipped")
                .join(format!("{}.json", experiment.id()));
            data::run::write_json(&path, &data::run::shipped_runs_loaded())
        }
        None => anyhow::bail!(
            "no experiment answers {id}; this crate's experiments: {}",
            ids(registry).join(", ")
        ),
    }
}

/// The `experiment <ID>` subcommand of the `study` binary.
#[derive(Clone, Debug, clap::Args)]
pub struct ExperimentCommand {
    /// A question id this crate answers (e.g. RBM-Q1); an unknown id lists them.
    pub id: String,
    #[command(flatten)]
    pub args: ExperimentArgs,
}

impl ExperimentCommand {
    /// Runs the experiment of `registry` answering the id, on `selected`.
    pub fn run(
        self,
        registry: &[&dyn Experiment],
        selected: SelectedDevice,
        data_dir: Option<PathBuf>,
    ) -> anyhow::Result<()> {
        if self.args.retrain {
            data::run::ignore_shipped_runs();
        }
        let ctx = Context::new(self.args, selected, data_dir);
        run(registry, &self.id, &ctx)
    }
}

/// The ids of a registry, in its order.
pub fn ids(registry: &[&dyn Experiment]) -> Vec<&'static str> {
    registry.iter().map(|e| e.id()).collect()
}

/// What every experiment is handed.
pub struct Context {
    pub args: ExperimentArgs,
    pub selected: SelectedDevice,
    pub data_dir: Option<PathBuf>,
    /// Where shared runs go: `<runs_dir>/<model>/<name>-<config hash>`.
    pub runs_dir: PathBuf,
    train: OnceCell<ImageSet>,
    test: OnceCell<ImageSet>,
    evaluator: OnceCell<Evaluator>,
}

impl Context {
    pub fn new(args: ExperimentArgs, selected: SelectedDevice, data_dir: Option<PathBuf>) -> Self {
        Self {
            args,
            selected,
            data_dir,
            runs_dir: PathBuf::from("runs/experiments"),
            train: OnceCell::new(),
            test: OnceCell::new(),
            evaluator: OnceCell::new(),
        }
    }

    /// The small CI-sized profile (`--quick`) rather than the full one.
    pub fn quick(&self) -> bool {
        self.args.quick
    }

    pub fn device(&self) -> &Device {
        &self.selected.device
    }

    /// MNIST's training split, loaded on first use.
    pub fn train_set(&self) -> anyhow::Result<&ImageSet> {
        once(&self.train, || {
            Ok(ImageSet::load(
                DataSetName::Mnist,
                Split::Train,
                self.data_dir.as_deref(),
            )?)
        })
    }

    /// MNIST's test split, loaded on first use.
    pub fn test_set(&self) -> anyhow::Result<&ImageSet> {
        once(&self.test, || {
            Ok(ImageSet::load(
                DataSetName::Mnist,
                Split::Test,
                self.data_dir.as_deref(),
            )?)
        })
    }

    /// The MNIST evaluator (shipped classifier, test statistics), loaded on first use.
    pub fn evaluator(&self) -> anyhow::Result<&Evaluator> {
        if let Some(evaluator) = self.evaluator.get() {
            return Ok(evaluator);
        }
        let (train, test) = (self.train_set()?, self.test_set()?);
        once(&self.evaluator, || {
            Evaluator::with_sets(&eval::pretrained_dir(), train, test, self.device())
        })
    }

    /// Options of the run `name` with `config` that experiments of `model` share (see
    /// [`data::run::shared`]).
    pub fn shared_run(&self, model: &str, name: &str, config: &impl Serialize) -> RunOptions {
        data::run::shared(&self.runs_dir, model, name, config)
    }

    /// Where a figure goes, and the path the markdown links it by.
    pub fn figure(&self, file: &str) -> (PathBuf, String) {
        self.args.figure(file)
    }

    /// Writes a grid of 28x28 digits `values` ([0, 1]), `cols` per row (row labels
    /// optional), as figure `file`; returns the markdown that shows it.
    pub fn digit_figure(
        &self,
        file: &str,
        values: &[f32],
        cols: usize,
        labels: Option<Vec<String>>,
    ) -> anyhow::Result<String> {
        let (path, link) = self.figure(file);
        data::figure::save_png(&data::figure::digit_grid(values, cols, labels), &path)?;
        Ok(format!("![{file}]({link})"))
    }

    /// Saves `plot` as figure `file`; returns the markdown that shows it.
    pub fn plot_figure(&self, file: &str, plot: &data::plot::LinePlot) -> anyhow::Result<String> {
        let (path, link) = self.figure(file);
        plot.save(&path)?;
        Ok(format!("![{file}]({link})"))
    }

    pub fn reports(&self) -> &Path {
        &self.args.reports
    }

    /// Writes a section's typed numbers and its answer, rendered from its template. Where
    /// the numbers break a claim of the answer (or do not fit its template), the section
    /// holds a notice naming what failed instead, and so does the error returned.
    pub fn write_answer<T: crate::Answer>(&self, numbers: &T) -> anyhow::Result<()> {
        match crate::answer::render(numbers) {
            Ok(markdown) => self.write_section(T::ID, &markdown, numbers),
            Err(err) => {
                let notice = crate::answer::failure_notice(T::ID, &err);
                self.write_section(T::ID, &notice, numbers)?;
                Err(err)
            }
        }
    }

    /// Writes the section of question `id` and the numbers behind it.
    pub fn write_section(
        &self,
        id: &str,
        markdown: &str,
        numbers: &impl Serialize,
    ) -> anyhow::Result<()> {
        crate::section::write_section(&self.args.reports, id, markdown, numbers)
    }
}

fn once<T>(cell: &OnceCell<T>, load: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<&T> {
    if let Some(value) = cell.get() {
        return Ok(value);
    }
    let value = load()?;
    Ok(cell.get_or_init(|| value))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Writes(&'static str, &'static [&'static str]);

    impl Experiment for Writes {
        fn id(&self) -> &'static str {
            self.0
        }
        fn answers(&self) -> &'static [&'static str] {
            self.1
        }
        fn run(&self, ctx: &Context) -> anyhow::Result<()> {
            for id in self.1 {
                ctx.write_section(
                    id,
                    &format!("answered by {}", self.0),
                    &serde_json::json!({}),
                )?;
            }
            Ok(())
        }
    }

    #[test]
    fn an_experiment_is_found_by_its_id_or_an_answer_and_unknown_ids_list_the_known_ones() {
        let reports = tempfile::tempdir().unwrap();
        let ctx = Context::new(
            ExperimentArgs {
                quick: true,
                reports: reports.path().to_owned(),
                retrain: false,
            },
            data::select_device(data::BackendChoice::Flex).unwrap(),
            None,
        );
        let registry: [&dyn Experiment; 2] = [
            &Writes("X-Q1", &["X-Q1"]),
            &Writes("X-Q2", &["X-Q2", "X-Q3"]),
        ];
        run(&registry, "x-q3", &ctx).unwrap();
        assert_eq!(
            crate::section::read_section(reports.path(), "X-Q2").as_deref(),
            Some("answered by X-Q2")
        );
        let err = run(&registry, "X-Q9", &ctx).unwrap_err().to_string();
        assert!(err.contains("X-Q9") && err.contains("X-Q1, X-Q2"), "{err}");
    }
}
