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
//!
//! The pool's threads also flush denormal results to zero ([`set_flush_to_zero`]): numbers
//! below `f32::MIN_POSITIVE` (1.2e-38) take a slow microcode path on x86 cores, and training
//! makes more of them as it goes (saturated sigmoids, decaying Adam moments), so without the
//! flush a model's epochs grow slower one after another (docs/performance.md).

/// The thread count and product size at which work is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadPolicy {
    /// Threads of the pool every command runs in.
    pub threads: usize,
    /// Multiply-adds (m·n·k) below which a matrix product stays on one thread.
    pub gemm_threshold: usize,
    /// Whether the pool's threads flush denormal results to zero (default: yes; as PyTorch's
    /// `torch.set_flush_denormal(True)`). Results change only where they would be below
    /// 1.2e-38.
    pub flush_denormals: bool,
}

/// `gemm`'s own default threshold, 48·48·256.
pub const GEMM_DEFAULT_THRESHOLD: usize = 48 * 48 * 256;

impl ThreadPolicy {
    /// `threads` (or as many as the machine has) with the measured threshold.
    pub fn new(threads: Option<usize>) -> Self {
        Self {
            threads: threads.unwrap_or_else(available).max(1),
            gemm_threshold: GEMM_DEFAULT_THRESHOLD,
            flush_denormals: true,
        }
    }

    /// The same policy with denormal floats computed in full (slowly, on x86).
    pub fn keeping_denormals(self) -> Self {
        Self {
            flush_denormals: false,
            ..self
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

    /// Runs `body` inside a rayon pool of `self.threads` threads, with the threshold set
    /// and denormal results flushed to zero on every thread of the pool, or kept.
    pub fn install<T: Send>(&self, body: impl FnOnce() -> T + Send) -> T {
        self.set_gemm_threshold();
        let flush = self.flush_denormals;
        match rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(|i| format!("genlab-{i}"))
            // Both ways: a new thread inherits the mode of the thread that starts it.
            .start_handler(move |_| {
                set_flush_to_zero(flush);
            })
            .build()
        {
            Ok(pool) => pool.install(body),
            // No pool (threads cannot be spawned): run on this thread with the global pool.
            Err(_) => {
                let before = set_flush_to_zero(flush);
                let result = body();
                set_flush_to_zero(before);
                result
            }
        }
    }
}

/// Sets whether the calling thread flushes denormal results to zero (the flush-to-zero bit
/// of x86's MXCSR) and returns whether it did before. Only that bit: the documentation of
/// `core::arch::x86_64::_mm_setcsr` names changes to the rounding mode, the exception masks
/// and denormals-are-zero as undefined behaviour, not flush-to-zero, whose one effect is that
/// results below 1.2e-38 become zero (results the compiler folds at build time may still be
/// denormal). Other architectures keep their default (their cores handle denormals without
/// the x86 penalty) and return false.
fn set_flush_to_zero(on: bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        const FLUSH_TO_ZERO: u32 = 1 << 15;
        let mut control: u32 = 0;
        // SAFETY: `stmxcsr` / `ldmxcsr` read and write this thread's SSE control register
        // through a pointer to a local; only the flush-to-zero bit changes (see above).
        unsafe {
            std::arch::asm!(
                "stmxcsr [{}]",
                in(reg) &mut control,
                options(nostack, preserves_flags)
            );
        }
        let before = control & FLUSH_TO_ZERO != 0;
        if on {
            control |= FLUSH_TO_ZERO;
        } else {
            control &= !FLUSH_TO_ZERO;
        }
        // SAFETY: as above.
        unsafe {
            std::arch::asm!(
                "ldmxcsr [{}]",
                in(reg) &control,
                options(nostack, preserves_flags, readonly)
            );
        }
        before
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = on;
        false
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

    /// Half the smallest normal f32: a denormal, or zero where denormals are flushed.
    fn halved_smallest_normal() -> f32 {
        std::hint::black_box(f32::MIN_POSITIVE) / std::hint::black_box(2.0)
    }

    #[test]
    fn the_pool_flushes_denormals_unless_asked_to_keep_them() {
        let policy = ThreadPolicy::new(Some(2));
        let flushed = policy.install(|| rayon::broadcast(|_| halved_smallest_normal()));
        // A pool that keeps them, started from a thread that flushes.
        let kept = policy.install(|| {
            policy
                .keeping_denormals()
                .install(|| rayon::broadcast(|_| halved_smallest_normal()))
        });
        assert!(kept.iter().all(|&x| x > 0.0), "kept: {kept:?}");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(flushed, [0.0, 0.0], "every pool thread flushes");
        }
        // A thread outside the pool keeps the default.
        let outside = std::thread::spawn(halved_smallest_normal).join().unwrap();
        assert!(outside > 0.0);
    }
}
