//! How many CPU threads the `flex` backend uses, and how it splits work between them.
//!
//! `flex` parallelises through rayon: every matrix product above 192³ multiply-adds goes to
//! `gemm` with "all of rayon's threads", and `gemm` splits anything above its own threading
//! threshold. Called from a thread outside rayon's pool, each of those parallel regions is
//! handed over to the pool and waited for; on two cores, with products of a millisecond, the
//! hand-over and the split cost more than the second core gives (docs/performance.md).
//!
//! [`ThreadPolicy::install`] runs a command inside a rayon pool of `--threads` threads (so
//! parallel regions start on a pool thread instead of being handed over) and sets `gemm`'s
//! threading threshold: products smaller than it run on one thread.

/// The thread count and product size at which work is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadPolicy {
    /// Threads of the pool every command runs in.
    pub threads: usize,
    /// Multiply-adds (m·n·k) below which a matrix product stays on one thread.
    pub gemm_threshold: usize,
}

/// `gemm`'s own default threshold, 48·48·256.
pub const GEMM_DEFAULT_THRESHOLD: usize = 48 * 48 * 256;

impl ThreadPolicy {
    /// `threads` (or as many as the machine has) with the measured threshold.
    pub fn new(threads: Option<usize>) -> Self {
        Self {
            threads: threads.unwrap_or_else(available).max(1),
            gemm_threshold: GEMM_DEFAULT_THRESHOLD,
        }
    }

    pub fn with_gemm_threshold(self, gemm_threshold: usize) -> Self {
        Self {
            gemm_threshold,
            ..self
        }
    }

    /// Sets `gemm`'s threading threshold (process-wide).
    pub fn set_gemm_threshold(&self) {
        #[cfg(feature = "flex")]
        gemm::set_threading_threshold(self.gemm_threshold);
    }

    /// Runs `body` inside a rayon pool of `self.threads` threads, with the threshold set.
    pub fn install<T: Send>(&self, body: impl FnOnce() -> T + Send) -> T {
        self.set_gemm_threshold();
        match rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(|i| format!("genlab-{i}"))
            .build()
        {
            Ok(pool) => pool.install(body),
            // No pool (threads cannot be spawned): run on this thread with the global pool.
            Err(_) => body(),
        }
    }
}

/// Threads of the pool this code runs in (what `--threads` set): timings depend on it.
pub fn current() -> usize {
    rayon::current_num_threads()
}

/// The CPUs this process may use.
pub fn available() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_in_a_pool_of_the_asked_size_with_the_threshold_set() {
        let policy = ThreadPolicy::new(Some(3)).with_gemm_threshold(GEMM_DEFAULT_THRESHOLD + 1);
        let (threads, in_pool) =
            policy.install(|| (rayon::current_num_threads(), rayon::current_thread_index()));
        assert_eq!(threads, 3);
        assert!(in_pool.is_some(), "the body runs on a pool thread");
        assert_eq!(gemm::get_threading_threshold(), GEMM_DEFAULT_THRESHOLD + 1);
        gemm::set_threading_threshold(GEMM_DEFAULT_THRESHOLD);
        assert!(ThreadPolicy::new(None).threads >= 1);
    }
}
