//! Progress of long loops: a bar on a terminal, plain lines (at most one every few seconds)
//! when the output goes to a file or a CI log.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a non-terminal progress line is printed at most.
const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    message: String,
    started: Instant,
    last_line: Instant,
    /// The count shown by the last plain line, so `finish` does not repeat it.
    last_printed: Option<u64>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress display for `total` units of work, on stderr.
    pub fn new(label: impl Into<String>, total: u64) -> Self {
        let label = label.into();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta} {msg}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar.set_prefix(label.clone());
            bar
        });
        let now = Instant::now();
        Self {
            label,
            total,
            done: 0,
            message: String::new(),
            started: now,
            last_line: now,
            last_printed: None,
            bar,
        }
    }

    /// Advances by `n` units.
    pub fn inc(&mut self, n: u64) {
        self.done += n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None if self.last_line.elapsed() >= PLAIN_INTERVAL => {
                self.last_line = Instant::now();
                self.last_printed = Some(self.done);
                eprintln!("{}", self.line());
            }
            None => {}
        }
    }

    /// A short status shown beside the count, e.g. the latest loss.
    pub fn set_message(&mut self, message: impl Into<String>) {
        self.message = message.into();
        if let Some(bar) = &self.bar {
            bar.set_message(self.message.clone());
        }
    }

    /// Prints a line above the bar (or plainly), e.g. an epoch's summary.
    pub fn println(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(line.as_ref()),
            None => eprintln!("{}", line.as_ref()),
        }
    }

    pub fn finish(self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None if self.last_printed != Some(self.done) => eprintln!("{}", self.line()),
            None => {}
        }
    }

    fn line(&self) -> String {
        let percent = if self.total > 0 {
            100.0 * self.done as f64 / self.total as f64
        } else {
            100.0
        };
        format!(
            "{}: {}/{} ({percent:.0}%) {:.0}s {}",
            self.label,
            self.done,
            self.total,
            self.started.elapsed().as_secs_f64(),
            self.message
        )
        .trim_end()
        .to_string()
    }
}
