//! A burn-train renderer that reports progress the way every genlab loop does (a bar on a
//! terminal, a plain line every few seconds in logs), instead of burn-train's full-screen
//! TUI or its one-line-per-batch CLI output.

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::MetricDefinition;
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use data::progress::Progress;

#[derive(Default)]
pub struct ProgressRenderer {
    total_epochs: usize,
    epoch: usize,
    split: Option<(Progress, usize)>,
}

impl ProgressRenderer {
    pub fn new() -> Self {
        Self::default()
    }

    fn finish_split(&mut self) {
        if let Some((progress, _)) = self.split.take() {
            progress.finish();
        }
    }
}

impl MetricsRendererTraining for ProgressRenderer {
    fn update_train(&mut self, _state: MetricState) {}
    fn update_valid(&mut self, _state: MetricState) {}
}

impl TrainingProgressLogger for ProgressRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch.max(1);
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        self.finish_split();
        let label = format!("epoch {}/{} {split}", self.epoch, self.total_epochs);
        self.split = Some((Progress::new(label, total_items as u64), 0));
    }

    fn update_split(&mut self, items_processed: usize) {
        if let Some((progress, done)) = &mut self.split {
            progress.inc(items_processed.saturating_sub(*done) as u64);
            *done = items_processed.max(*done);
        }
    }

    fn end_split(&mut self) {
        self.finish_split();
    }

    fn end(&mut self) {
        self.finish_split();
    }

    // burn-train logs an event per iteration; the progress display already says as much.
    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for ProgressRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, name: &str, total_items: usize) {
        self.finish_split();
        self.split = Some((Progress::new(format!("test {name}"), total_items as u64), 0));
    }
    fn update_test_progress(&mut self, items_processed: usize) {
        self.update_split(items_processed);
    }
    fn end_test(&mut self) {
        self.finish_split();
    }
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRendererEvaluation for ProgressRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl MetricsRenderer for ProgressRenderer {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}
