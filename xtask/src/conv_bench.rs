//! `cargo xtask bench conv`: forward, input-gradient and weight-gradient times of the
//! convolution layers of the DCGAN and the conv VAE (batch 128), through genlab's im2col
//! path (`data::conv`) and through Burn's generic one, and PyTorch's for the same layers
//! (`xtask/peers/torch_conv.py`) in the same sitting.

use std::time::Instant;

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::{Device, Distribution, Tensor};
use data::SelectedDevice;

/// Every layer is a 4x4 kernel at stride 2 with padding 1 (the side halves or doubles).
pub struct ConvLayer {
    pub name: &'static str,
    pub transposed: bool,
    pub channels: [usize; 2],
    /// Input side.
    pub side: usize,
}

pub const BATCH: usize = 128;

pub const CONV_LAYERS: [ConvLayer; 8] = [
    layer("dcgan D conv 1->64, 28->14", false, [1, 64], 28),
    layer("dcgan D conv 64->128, 14->7", false, [64, 128], 14),
    layer("dcgan G deconv 128->64, 7->14", true, [128, 64], 7),
    layer("dcgan G deconv 64->1, 14->28", true, [64, 1], 14),
    layer("vae enc conv 1->32, 28->14", false, [1, 32], 28),
    layer("vae enc conv 32->64, 14->7", false, [32, 64], 14),
    layer("vae dec deconv 64->32, 7->14", true, [64, 32], 7),
    layer("vae dec deconv 32->1, 14->28", true, [32, 1], 14),
];

const fn layer(
    name: &'static str,
    transposed: bool,
    channels: [usize; 2],
    side: usize,
) -> ConvLayer {
    ConvLayer {
        name,
        transposed,
        channels,
        side,
    }
}

/// Median milliseconds of each pass of one layer on one path.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ConvTiming {
    pub layer: String,
    pub path: String,
    pub forward_ms: f64,
    pub input_grad_ms: f64,
    pub weight_grad_ms: f64,
}

/// One `bench conv` sitting: every layer on genlab's paths and PyTorch's.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ConvSitting {
    pub threads: usize,
    pub backend: String,
    pub cpu: String,
    pub timings: Vec<ConvTiming>,
}

impl ConvTiming {
    /// Forward, input-gradient and weight-gradient milliseconds.
    fn passes(&self) -> [f64; 3] {
        [self.forward_ms, self.input_grad_ms, self.weight_grad_ms]
    }
}

enum Layer {
    Conv(Conv2d),
    Transposed(ConvTranspose2d),
}

impl Layer {
    fn new(spec: &ConvLayer, device: &Device) -> Self {
        if spec.transposed {
            Layer::Transposed(
                ConvTranspose2dConfig::new(spec.channels, [4, 4])
                    .with_stride([2, 2])
                    .with_padding([1, 1])
                    .init(device),
            )
        } else {
            Layer::Conv(
                Conv2dConfig::new(spec.channels, [4, 4])
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(device),
            )
        }
    }

    fn frozen(self) -> Self {
        match self {
            Layer::Conv(c) => Layer::Conv(c.no_grad()),
            Layer::Transposed(c) => Layer::Transposed(c.no_grad()),
        }
    }

    fn forward(&self, x: Tensor<4>, im2col: bool) -> Tensor<4> {
        match (self, im2col) {
            (Layer::Conv(c), true) => data::conv::conv2d(c, x),
            (Layer::Conv(c), false) => c.forward(x),
            (Layer::Transposed(c), true) => data::conv::conv_transpose2d(c, x),
            (Layer::Transposed(c), false) => c.forward(x),
        }
    }
}

fn median_ms(repeats: usize, mut run: impl FnMut()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Times every layer on both paths. The gradient times are those of forward + backward
/// with only the input (or only the weights) tracked, less the forward time.
pub fn conv(selected: &SelectedDevice, repeats: usize) -> Vec<ConvTiming> {
    let device = selected.autodiff();
    let mut timings = Vec::new();
    for spec in &CONV_LAYERS {
        let shape = [BATCH, spec.channels[0], spec.side, spec.side];
        let x = Tensor::<4>::random(shape, Distribution::Default, &device);
        for (path, im2col) in [("genlab im2col", true), ("burn generic", false)] {
            let trained = Layer::new(spec, &device);
            let frozen = Layer::new(spec, &device).frozen();
            let backward = |layer: &Layer, x: Tensor<4>| {
                let output = layer.forward(x, im2col);
                let r = output.ones_like();
                let _ = (output * r).sum().backward();
            };
            let forward_ms = median_ms(repeats, || {
                let _ = frozen.forward(x.clone(), im2col);
            });
            let with_input = median_ms(repeats, || backward(&frozen, x.clone().require_grad()));
            let with_weights = median_ms(repeats, || backward(&trained, x.clone()));
            timings.push(ConvTiming {
                layer: spec.name.to_string(),
                path: path.to_string(),
                forward_ms,
                input_grad_ms: with_input - forward_ms,
                weight_grad_ms: with_weights - forward_ms,
            });
        }
    }
    timings
}

pub fn print(timings: &[ConvTiming]) {
    println!(
        "{:<32} {:<14} {:>11} {:>14} {:>15}",
        "layer (batch 128)", "path", "forward ms", "input grad ms", "weight grad ms"
    );
    for t in timings {
        println!(
            "{:<32} {:<14} {:>11.2} {:>14.2} {:>15.2}",
            t.layer, t.path, t.forward_ms, t.input_grad_ms, t.weight_grad_ms
        );
    }
}

/// The report's table of the saved `bench conv` sittings (empty when there is none).
pub fn speed_table(reports: &std::path::Path) -> String {
    let mut sittings: Vec<ConvSitting> = std::fs::read_dir(reports.join("bench"))
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.to_string();
            name.starts_with("conv-")
                .then(|| data::run::read_json(&path).ok())
                .flatten()
        })
        .collect();
    if sittings.is_empty() {
        return String::new();
    }
    sittings.sort_by_key(|s| s.threads);
    let mut out = String::from(
        "\n### Convolution layers\n\n\
         Measured by `cargo xtask bench conv` (batch 128, median milliseconds; the gradient \
         times are forward + backward with only the input, or only the weights, tracked, \
         less the forward): genlab's im2col path (`data::conv`), Burn's generic \
         convolution, and PyTorch (`xtask/peers/torch_conv.py`) in the same sitting.\n\n\
         | layer | threads | pass | genlab im2col | Burn generic | PyTorch |\n\
         |---|---:|---|---:|---:|---:|\n",
    );
    for sitting in &sittings {
        for spec in &CONV_LAYERS {
            let find = |path: &str| {
                sitting
                    .timings
                    .iter()
                    .find(|t| t.layer == spec.name && t.path == path)
            };
            for (i, pass) in ["forward", "input gradient", "weight gradient"]
                .iter()
                .enumerate()
            {
                let cell = |path: &str| {
                    find(path).map_or("–".to_string(), |t| format!("{:.2}", t.passes()[i]))
                };
                out.push_str(&format!(
                    "| {} | {} | {pass} | {} | {} | {} |\n",
                    spec.name,
                    sitting.threads,
                    cell("genlab im2col"),
                    cell("burn generic"),
                    cell("pytorch"),
                ));
            }
        }
    }
    out
}
