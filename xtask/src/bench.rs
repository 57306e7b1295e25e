//! `cargo xtask bench gemm`: throughput of the matrix products genlab's models spend their
//! time in, on the chosen backend. Timings are medians of repeated runs after a warm-up; run
//! them on an otherwise idle machine.

use std::time::Instant;

use burn::tensor::{Distribution, Tensor};
use data::SelectedDevice;

/// `(name, m, k, n)`: an `[m, k] x [k, n]` product. Weight-gradient products have the batch
/// as their inner dimension `k`, which is where CPU GEMMs are weakest.
pub const GEMM_SHAPES: [(&str, usize, usize, usize); 12] = [
    ("rbm forward v.W^T (batch 64)", 64, 784, 256),
    ("rbm update h^T.v (inner = batch 64)", 256, 64, 784),
    ("gan-mlp G 512->1024 (batch 128)", 128, 512, 1024),
    ("gan-mlp G 1024->784 (batch 128)", 128, 1024, 784),
    ("gan-mlp D 784->1024 (batch 128)", 128, 784, 1024),
    ("gan-mlp dW 1024x784 (inner = batch 128)", 1024, 128, 784),
    ("gan-mlp dX 128x1024 (inner = 784)", 128, 784, 1024),
    ("dcgan D conv2 im2col.W^T (batch 128)", 128 * 49, 1024, 128),
    ("dcgan D conv2 dW (inner = 128x7x7)", 128, 128 * 49, 1024),
    ("dbm mean-field mu2.W2 (batch 100)", 100, 1024, 512),
    ("dbm mean-field mu1.W2^T (batch 100)", 100, 512, 1024),
    ("dbm dW2 (inner = 100 data + 100 chains)", 1024, 200, 512),
];

/// One measured shape.
#[derive(Clone, Debug)]
pub struct GemmTiming {
    pub name: &'static str,
    pub shape: (usize, usize, usize),
    pub median_ms: f64,
    pub gflops: f64,
}

/// The side of the square product whose rate is taken as the machine's peak: large enough
/// for every kernel to run at its best, small enough to time in a second.
pub const PEAK_SIDE: usize = 2048;

/// The peak's product is timed until [`PEAK_SETTLED_RUNS`] runs in a row are no more than 1%
/// faster than the fastest so far (at most [`PEAK_MAX_RUNS`]), and the fastest counts. A
/// median of five runs varied from 95 to 170 GFLOP/s between processes on one idle virtual
/// Intel core, whose clock settles over the first seconds of a process: shares of the peak
/// came out above 100%.
const PEAK_SETTLED_RUNS: usize = 5;
const PEAK_MAX_RUNS: usize = 60;

/// A timer of one `[m, k] x [k, n]` product on random inputs: each call runs the product
/// once and returns its seconds.
fn product_timer(
    (m, k, n): (usize, usize, usize),
    selected: &SelectedDevice,
) -> impl FnMut() -> f64 {
    let device = &selected.device;
    let a = Tensor::<2>::random([m, k], Distribution::Default, device);
    let b = Tensor::<2>::random([k, n], Distribution::Default, device);
    move || {
        let start = Instant::now();
        let c = a.clone().matmul(b.clone());
        // Reading one value waits for the product on lazy or asynchronous backends.
        c.slice([0..1, 0..1]).into_scalar::<f32>();
        start.elapsed().as_secs_f64()
    }
}

fn gflops((m, k, n): (usize, usize, usize), seconds: f64) -> f64 {
    2.0 * (m * k * n) as f64 / seconds / 1e9
}

/// Times every shape of [`GEMM_SHAPES`]: `repeats` timed runs after `warmup` untimed ones.
pub fn gemm(selected: &SelectedDevice, warmup: usize, repeats: usize) -> Vec<GemmTiming> {
    GEMM_SHAPES
        .iter()
        .map(|&(name, m, k, n)| {
            let mut time = product_timer((m, k, n), selected);
            for _ in 0..warmup {
                time();
            }
            let mut times: Vec<f64> = (0..repeats.max(1)).map(|_| time()).collect();
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            GemmTiming {
                name,
                shape: (m, k, n),
                median_ms: median * 1e3,
                gflops: gflops((m, k, n), median),
            }
        })
        .collect()
}

/// The machine's peak on this backend and thread count: the GFLOP/s of a
/// [`PEAK_SIDE`]-square product at its fastest, once the clock has settled.
pub fn peak_gflops(selected: &SelectedDevice) -> f64 {
    let shape = (PEAK_SIDE, PEAK_SIDE, PEAK_SIDE);
    let mut time = product_timer(shape, selected);
    let mut fastest = time();
    let mut runs_without_gain = 0;
    for _ in 1..PEAK_MAX_RUNS {
        let seconds = time();
        if seconds < fastest / 1.01 {
            runs_without_gain = 0;
        } else {
            runs_without_gain += 1;
        }
        fastest = fastest.min(seconds);
        if runs_without_gain == PEAK_SETTLED_RUNS {
            break;
        }
    }
    gflops(shape, fastest)
}

/// The products' table, each also as a share of the measured `peak`.
pub fn print_gemm(selected: &SelectedDevice, timings: &[GemmTiming], peak: f64) {
    println!("backend: {}", selected.reason);
    println!("peak: {peak:.1} GFLOP/s ({PEAK_SIDE}x{PEAK_SIDE}x{PEAK_SIDE} product)");
    println!(
        "{:<42} {:>18} {:>10} {:>9} {:>8}",
        "product", "m x k x n", "median ms", "GFLOP/s", "of peak"
    );
    for t in timings {
        let (m, k, n) = t.shape;
        println!(
            "{:<42} {:>18} {:>10.3} {:>9.1} {:>7.0}%",
            t.name,
            format!("{m}x{k}x{n}"),
            t.median_ms,
            t.gflops,
            100.0 * t.gflops / peak
        );
    }
}
