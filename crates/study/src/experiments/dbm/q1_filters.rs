//! DBM-Q1: the filters of an RBM and of both DBM layers, shown alike and measured.

use burn::tensor::Tensor;
use data::figure::{digit_grid, save_png, tensor_values};
use dbm::train::TrainConfig;
use serde::{Deserialize, Serialize};

use super::Setup;
use crate::answer::Answer;
use crate::experiment::Question;

pub static EXPERIMENT: Question = Question {
    id: "DBM-Q1",
    answers: &["DBM-Q1"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Filters shown per grid.
const SHOWN: usize = 100;

/// How spread out and how concentrated a set of pixel-space filters is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Shape {
    pub filters: usize,
    /// Mean radius of gyration (pixels) of each filter's strongest 5% pixels (39 of 784, by
    /// |w|): about 2 for a blob, 3-4 for a stroke, 7-8 for pixels spread over a whole digit.
    pub mean_radius: f64,
    pub median_radius: f64,
    /// Mean share of a filter's squared weight on its strongest 5% pixels.
    pub mean_top_share: f64,
    /// Share of filters whose strongest pixels lie within 4 pixels of their centre (local,
    /// stroke-like) and beyond 6 (spread over a digit's extent).
    pub local_share: f64,
    pub global_share: f64,
}

/// Pixels counted as a filter's strongest.
fn strongest(filter: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..filter.len()).collect();
    order.sort_by(|&a, &b| filter[b].abs().total_cmp(&filter[a].abs()));
    order.truncate(filter.len() / 20);
    order
}

/// Radius of gyration (pixels) of the filter's strongest pixels on the 28x28 grid.
fn radius(filter: &[f32]) -> f64 {
    let points: Vec<(f64, f64)> = strongest(filter)
        .into_iter()
        .map(|i| ((i / data::COLS) as f64, (i % data::COLS) as f64))
        .collect();
    let n = points.len().max(1) as f64;
    let (cy, cx) = points
        .iter()
        .fold((0.0, 0.0), |(y, x), p| (y + p.0 / n, x + p.1 / n));
    (points
        .iter()
        .map(|(y, x)| (y - cy).powi(2) + (x - cx).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

fn top_share(filter: &[f32]) -> f64 {
    let mut squares: Vec<f64> = filter.iter().map(|w| (*w as f64).powi(2)).collect();
    squares.sort_by(|a, b| b.total_cmp(a));
    let total: f64 = squares.iter().sum::<f64>().max(1e-12);
    squares[..filter.len() / 20].iter().sum::<f64>() / total
}

fn shape(filters: &Tensor<2>) -> Shape {
    let [count, pixels] = filters.dims();
    let values = tensor_values(filters.clone());
    let mut radii: Vec<f64> = values.chunks(pixels).map(radius).collect();
    let shares: Vec<f64> = values.chunks(pixels).map(top_share).collect();
    let n = count as f64;
    let share_of =
        |keep: &dyn Fn(f64) -> bool| radii.iter().filter(|&&r| keep(r)).count() as f64 / n;
    let (local_share, global_share) = (share_of(&|r| r < 4.0), share_of(&|r| r > 6.0));
    let mean_radius = radii.iter().sum::<f64>() / n;
    radii.sort_by(f64::total_cmp);
    Shape {
        filters: count,
        mean_radius,
        median_radius: radii[radii.len() / 2],
        mean_top_share: shares.iter().sum::<f64>() / n,
        local_share,
        global_share,
    }
}

/// The first `SHOWN` rows, each scaled to its own range (the same normalisation for every
/// grid).
fn grid(filters: &Tensor<2>) -> Vec<f32> {
    let [count, pixels] = filters.dims();
    let shown = filters.clone().slice([0..SHOWN.min(count), 0..pixels]);
    data::figure::normalise_filters(&tensor_values(shown), pixels)
}

/// DBM-Q1's numbers: the shape of each set of filters, and the models they come from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FilterShapes {
    /// The quick (CI) profile's small, briefly trained models rather than the full ones.
    pub quick: bool,
    pub dbm_config: TrainConfig,
    pub rbm_config: rbm::TrainConfig,
    /// Filters shown per grid.
    pub shown: usize,
    /// The lone RBM's weights.
    pub rbm: Shape,
    /// The DBM's first layer, `W¹`.
    pub layer_1: Shape,
    /// The DBM's second layer seen in pixel space, `W² W¹`.
    pub layer_2: Shape,
    /// The strong RBM of the RBM part (RBM-Q1), where this checkout ships it: the RBM the
    /// assignment names, beside the comparison RBM trained like the DBM's bottom layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_part: Option<PreviousRbm>,
}

/// The RBM part's strong RBM: its settings and the shape of its filters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PreviousRbm {
    pub config: rbm::TrainConfig,
    pub shape: Shape,
}

impl Answer for FilterShapes {
    const ID: &'static str = "DBM-Q1";
}

fn run(setup: &Setup) -> anyhow::Result<()> {
    let dbm = setup.dbm()?;
    let rbm = setup.rbm(&dbm.config)?;
    let model = &dbm.dbm;
    let figure = |file: &str, filters: Tensor<2>| -> anyhow::Result<Shape> {
        let (path, _) = setup.ctx.figure(file);
        save_png(&digit_grid(&grid(&filters), 10, None), &path)?;
        Ok(shape(&filters))
    };
    let numbers = FilterShapes {
        quick: setup.ctx.quick(),
        shown: SHOWN,
        rbm: figure("dbm-q1-rbm-filters.png", rbm.state.rbm.weights.val())?,
        layer_1: figure("dbm-q1-layer-1-filters.png", model.weights_1.val())?,
        layer_2: figure(
            "dbm-q1-layer-2-filters.png",
            model.weights_2.val().matmul(model.weights_1.val()),
        )?,
        previous_part: match setup.strong_rbm()? {
            Some((strong, _)) => Some(PreviousRbm {
                shape: figure(
                    "dbm-q1-strong-rbm-filters.png",
                    strong.state.rbm.weights.val(),
                )?,
                config: strong.config,
            }),
            None => None,
        },
        dbm_config: dbm.config,
        rbm_config: rbm.config,
    };
    setup.ctx.write_answer(&numbers)
}
