//! DBM-Q1: the filters of an RBM and of both DBM layers, shown alike and measured.

use burn::tensor::Tensor;
use data::figure::{digit_grid, save_png, tensor_values};
use eval::experiment::Question;
use serde::Serialize;
use serde_json::json;

use super::Setup;

pub static EXPERIMENT: Question = Question {
    id: "DBM-Q1",
    answers: &["DBM-Q1"],
    run: |ctx| run(&Setup::new(ctx)?),
};

/// Filters shown per grid.
const SHOWN: usize = 100;

/// How spread out and how concentrated a set of pixel-space filters is.
#[derive(Clone, Debug, Serialize)]
struct Shape {
    filters: usize,
    /// Mean radius of gyration (pixels) of each filter's strongest 5% pixels (39 of 784, by
    /// |w|): about 2 for a blob, 3-4 for a stroke, 7-8 for pixels spread over a whole digit.
    mean_radius: f64,
    median_radius: f64,
    /// Mean share of a filter's squared weight on its strongest 5% pixels.
    mean_top_share: f64,
    /// Share of filters whose strongest pixels lie within 4 pixels of their centre (local,
    /// stroke-like) and beyond 6 (spread over a digit's extent).
    local_share: f64,
    global_share: f64,
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

fn run(setup: &Setup) -> anyhow::Result<()> {
    let dbm = setup.dbm()?;
    let rbm = setup.rbm(&dbm.config)?;
    let model = &dbm.dbm;
    let [_, h1, h2] = model.sizes();
    let sets = [
        (
            "RBM weights",
            "dbm-q1-rbm-filters.png",
            rbm.state.rbm.weights.val(),
        ),
        (
            "DBM layer 1 (W¹)",
            "dbm-q1-layer-1-filters.png",
            model.weights_1.val(),
        ),
        (
            "DBM layer 2 in pixels (W² W¹)",
            "dbm-q1-layer-2-filters.png",
            model.weights_2.val().matmul(model.weights_1.val()),
        ),
    ];
    let [bottom, top, joint] = [
        dbm.config.bottom_epochs,
        dbm.config.top_epochs,
        dbm.config.joint_epochs,
    ];
    let mut md = format!(
        "Models: a 784-{h1}-{h2} DBM (bottom RBM {bottom} epochs, top RBM {top}, joint training \
         {joint}) and a {h1}-hidden RBM trained like its bottom layer but alone ({bottom} epochs, \
         CD-1){}. Each grid shows {SHOWN} filters, each scaled to its own range (black: most \
         negative, white: most positive).\n\n\
         | filters | count | mean radius (px) | median radius | share < 4 px (local) | share > 6 px (spread) | weight² on top 5% pixels |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        if setup.ctx.quick() {
            "; quick profile: small models, few epochs"
        } else {
            ""
        }
    );
    let mut shapes = Vec::new();
    let mut figures = Vec::new();
    for (label, file, filters) in sets {
        let s = shape(&filters);
        md.push_str(&format!(
            "| {label} | {} | {:.2} | {:.2} | {:.1}% | {:.1}% | {:.1}% |\n",
            s.filters,
            s.mean_radius,
            s.median_radius,
            100.0 * s.local_share,
            100.0 * s.global_share,
            100.0 * s.mean_top_share
        ));
        let (path, link) = setup.ctx.figure(file);
        save_png(&digit_grid(&grid(&filters), 10, None), &path)?;
        figures.push(format!("**{label}**\n\n![{label}]({link})"));
        shapes.push((label, s));
    }
    md.push('\n');
    for figure in figures {
        md.push_str(&format!("{figure}\n\n"));
    }
    let (rbm_shape, first, second) = (&shapes[0].1, &shapes[1].1, &shapes[2].1);
    let compare = |a: f64, b: f64| if a > b { "wider" } else { "not wider" };
    md.push_str(&format!(
        "The radius is that of a filter's strongest 5% pixels around their centre: small for a \
         stroke or a blob, large for weight spread over a whole digit. Measured here: the DBM's \
         second-layer filters, seen through the first layer, are {} than its first-layer ones \
         (mean radius {:.2} against {:.2} pixels); the first layer's are {} than the RBM's \
         ({:.2} pixels).\n\n\
         Why the layers should differ: a first-layer unit sees pixels directly and, with a \
         second layer above it, can specialise in a local piece of a digit; a second-layer unit \
         sees only first-layer units, and a combination of their pieces covers more of the \
         image, so its field in pixel space (`W² W¹`) is larger and more digit-like. A lone RBM \
         has no layer above its hidden units: each of them has to account for pixel \
         correlations on its own. Where the radii above do not show this ordering, this run \
         does not support the explanation{}.\n",
        compare(second.mean_radius, first.mean_radius),
        second.mean_radius,
        first.mean_radius,
        compare(first.mean_radius, rbm_shape.mean_radius),
        rbm_shape.mean_radius,
        if setup.ctx.quick() {
            " (the quick profile's models are small and trained for a few epochs)"
        } else {
            ""
        },
    ));
    setup.ctx.write_section(
        "DBM-Q1",
        &md,
        &json!({ "dbm_config": dbm.config, "rbm_config": rbm.config, "shapes": shapes }),
    )
}
