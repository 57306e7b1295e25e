//! Line plots of training curves: several named series, axis labels, optional log-scale y.

use std::path::Path;

use image::RgbImage;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::figure::{FONT_FAMILY, register_font, save_png};
use crate::ticks;

/// One named curve.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }
}

/// A line plot, rendered to a PNG.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Log-scale y axis: non-positive values cannot be shown and are left out.
    pub log_y: bool,
    pub width: u32,
    pub height: u32,
    pub series: Vec<Series>,
}

/// Series colours: Tableau's ten without its olive and cyan (too light on white), black and
/// a dark teal in their place.
const SERIES_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(0, 0, 0),
    RGBColor(14, 124, 123),
];

impl LinePlot {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            log_y: false,
            width: 800,
            height: 500,
            series: Vec::new(),
        }
    }

    pub fn log_y(mut self, log_y: bool) -> Self {
        self.log_y = log_y;
        self
    }

    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// The colour of the `i`-th series: ten that read on white (no light yellow or cyan),
    /// then round again.
    pub fn colour(i: usize) -> RGBColor {
        SERIES_COLOURS[i % SERIES_COLOURS.len()]
    }

    /// The plotted points of a series: log10 of y on a log axis, dropping what cannot be shown.
    fn plotted(&self, series: &Series) -> Vec<(f64, f64)> {
        series
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!self.log_y || *y > 0.0))
            .map(|&(x, y)| (x, if self.log_y { y.log10() } else { y }))
            .collect()
    }

    pub fn render(&self) -> anyhow::Result<RgbImage> {
        register_font();
        let mut buffer = vec![255u8; self.width as usize * self.height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (self.width, self.height))
                .into_drawing_area();
            root.fill(&WHITE)?;
            let all: Vec<(f64, f64)> = self.series.iter().flat_map(|s| self.plotted(s)).collect();
            let (x_range, y_range) = ranges(&all);
            let (legend, y_range) = legend_place(&all, &x_range, y_range);
            // Epochs and steps are counted: integer ticks when every x is an integer.
            let integers = !all.is_empty() && all.iter().all(|(x, _)| x.fract() == 0.0);
            let x_ticks = ticks::linear(x_range.start, x_range.end, 10, integers);
            let y_values = if self.log_y {
                ticks::log(10f64.powf(y_range.start), 10f64.powf(y_range.end), 8)
            } else {
                ticks::linear(y_range.start, y_range.end, 8, false)
            };
            let y_ticks: Vec<f64> = if self.log_y {
                y_values.iter().map(|v| v.log10()).collect()
            } else {
                y_values.clone()
            };
            let mut chart = ChartBuilder::on(&root)
                .caption(&self.title, (FONT_FAMILY, 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(
                    Ticked::new(x_range, x_ticks.clone()),
                    Ticked::new(y_range, y_ticks),
                )?;
            let log_y = self.log_y;
            let x_format = move |v: &f64| ticks::label(*v, &x_ticks);
            let y_format = move |v: &f64| {
                let value = if log_y { 10f64.powf(*v) } else { *v };
                if log_y {
                    ticks::log_label(value, &y_values)
                } else {
                    ticks::label(value, &y_values)
                }
            };
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(if self.log_y {
                    format!("{} (log scale)", self.y_label)
                } else {
                    self.y_label.clone()
                })
                .label_style((FONT_FAMILY, 13))
                .axis_desc_style((FONT_FAMILY, 15))
                .x_label_formatter(&x_format)
                .y_label_formatter(&y_format)
                .draw()?;
            for (i, series) in self.series.iter().enumerate() {
                let colour = Self::colour(i);
                // Segment by segment: a thick polyline's joins at sharp corners overshoot
                // their points, past the axes of a noisy curve.
                let points = self.plotted(series);
                chart
                    .draw_series(
                        (points.windows(2))
                            .map(|pair| PathElement::new(pair.to_vec(), colour.stroke_width(2))),
                    )?
                    .label(series.name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
            }
            if self.series.iter().any(|s| !s.name.is_empty()) {
                chart
                    .configure_series_labels()
                    .position(legend)
                    .label_font((FONT_FAMILY, 13))
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()?;
            }
            root.present()?;
        }
        Ok(RgbImage::from_raw(self.width, self.height, buffer)
            .expect("buffer has the image's size"))
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        save_png(&self.render()?, path)
    }
}

/// Axis ranges covering every point with a little margin; a unit range around a lone value.
fn ranges(points: &[(f64, f64)]) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    (
        axis_span(points.iter().map(|p| p.0)),
        axis_span(points.iter().map(|p| p.1)),
    )
}

/// A linear f64 axis whose ticks are given ([`ticks`]) instead of plotters' own.
pub(crate) struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    pub(crate) fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Self {
        Self {
            inner: range.into(),
            ticks,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Bold grid lines at the ticks; no light ones between them.
        if hint.weight().allow_light_points() {
            vec![]
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Share of the axes the legend box covers, measured from its corner.
const LEGEND_SIZE: (f64, f64) = (0.45, 0.35);

/// Where the legend goes, and the y range that leaves it room: the corner holding no points,
/// else the upper right with the range raised so that no point lies under the legend.
fn legend_place(
    points: &[(f64, f64)],
    x: &std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> (SeriesLabelPosition, std::ops::Range<f64>) {
    let (corner, covered) = legend_corner(points, x, &y);
    if covered == 0 {
        return (corner, y);
    }
    let height = LEGEND_SIZE.1;
    let raised = y.end + (y.end - y.start) * height / (1.0 - height);
    (SeriesLabelPosition::UpperRight, y.start..raised)
}

/// The corner of the plot holding the fewest points, where the legend hides the least data,
/// with how many points it covers there.
fn legend_corner(
    points: &[(f64, f64)],
    x: &std::ops::Range<f64>,
    y: &std::ops::Range<f64>,
) -> (SeriesLabelPosition, usize) {
    let (width, height) = LEGEND_SIZE;
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let inside = |&(px, py): &(f64, f64), right: bool, upper: bool| {
        let fx = (px - x.start) / (x.end - x.start);
        let fy = (py - y.start) / (y.end - y.start);
        let in_x = if right { fx > 1.0 - width } else { fx < width };
        let in_y = if upper {
            fy > 1.0 - height
        } else {
            fy < height
        };
        in_x && in_y
    };
    (corners.into_iter())
        .map(|(corner, right, upper)| {
            let covered = points.iter().filter(|p| inside(p, right, upper)).count();
            (corner, covered)
        })
        .min_by_key(|&(_, covered)| covered)
        .unwrap_or((SeriesLabelPosition::UpperRight, 0))
}

/// An axis range covering `values` with a 5% margin; a unit range around a lone value.
pub(crate) fn axis_span(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if hi - lo < 1e-12 {
        return lo - 0.5..hi + 0.5;
    }
    let margin = (hi - lo) * 0.05;
    lo - margin..hi + margin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_colour(img: &RgbImage, colour: RGBColor) -> usize {
        img.pixels()
            .filter(|p| p.0 == [colour.0, colour.1, colour.2])
            .count()
    }

    #[test]
    fn renders_every_series_in_its_colour_at_the_requested_size() {
        let plot = LinePlot::new("loss", "epoch", "nats")
            .with_series(Series::new(
                "train",
                (0..20).map(|i| (i as f64, 100.0 - i as f64)).collect(),
            ))
            .with_series(Series::new(
                "test",
                (0..20).map(|i| (i as f64, 90.0 - 0.5 * i as f64)).collect(),
            ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curve.png");
        plot.save(&path).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (800, 500));
        assert!(count_colour(&img, LinePlot::colour(0)) > 200);
        assert!(count_colour(&img, LinePlot::colour(1)) > 200);
        // Text (title, ticks, labels) was drawn: dark pixels outside the lines.
        assert!(
            img.pixels()
                .filter(|p| p.0[0] < 60 && p.0[1] < 60 && p.0[2] < 60)
                .count()
                > 500
        );
    }

    #[test]
    fn log_scale_drops_non_positive_values_and_straightens_exponentials() {
        let points: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 10f64.powi(i))).collect();
        let mut with_zero = points.clone();
        with_zero.push((10.0, 0.0));
        let plot = LinePlot::new("decay", "step", "value")
            .log_y(true)
            .with_series(Series::new("exp", with_zero));
        let plotted = plot.plotted(&plot.series[0]);
        assert_eq!(plotted.len(), 10);
        assert!(plotted.iter().all(|(x, y)| (x - y).abs() < 1e-12));
        let img = plot.render().unwrap();
        assert!(count_colour(&img, LinePlot::colour(0)) > 200);
    }

    /// Rows of the image holding a pixel of `colour`: (first, last).
    fn rows_of(img: &RgbImage, colour: RGBColor) -> (u32, u32) {
        let rows: Vec<u32> = (img.enumerate_pixels())
            .filter(|(_, _, p)| p.0 == [colour.0, colour.1, colour.2])
            .map(|(_, y, _)| y)
            .collect();
        (*rows.iter().min().unwrap(), *rows.iter().max().unwrap())
    }

    #[test]
    fn a_log_axis_holds_every_point_of_a_noisy_curve() {
        // A curve jumping by up to four decades from step to step, beside a flat one: thick
        // lines joined at such sharp corners overshoot their points by far.
        let noisy: Vec<(f64, f64)> = (0..1000)
            .map(|i| {
                let decades = ((i * 7919) % 1000) as f64 / 250.0;
                (i as f64, 1e-13 * 10f64.powf(decades))
            })
            .collect();
        let flat: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64, 10.0)).collect();
        let img = LinePlot::new("gradients", "step", "norm")
            .log_y(true)
            .with_series(Series::new("flat", flat))
            .with_series(Series::new("noisy", noisy))
            .render()
            .unwrap();
        let (_, lowest) = rows_of(&img, LinePlot::colour(1));
        // The x axis's label area (40 px) and margin (12 px) lie below the plotting area.
        assert!(lowest < img.height() - 52, "a curve runs to row {lowest}");
    }

    #[test]
    fn an_empty_plot_still_renders() {
        let img = LinePlot::new("nothing yet", "x", "y").render().unwrap();
        assert_eq!(img.dimensions(), (800, 500));
    }

    #[test]
    fn the_legend_goes_to_the_emptiest_corner() {
        // A falling curve fills the upper left and lower right.
        let falling: Vec<(f64, f64)> = (0..=10).map(|i| (i as f64, 10.0 - i as f64)).collect();
        let (x, y) = ranges(&falling);
        assert!(matches!(
            legend_corner(&falling, &x, &y),
            (
                SeriesLabelPosition::UpperRight | SeriesLabelPosition::LowerLeft,
                0
            )
        ));
        // A rising one: upper left or lower right.
        let rising: Vec<(f64, f64)> = (0..=10).map(|i| (i as f64, i as f64)).collect();
        assert!(matches!(
            legend_corner(&rising, &x, &y),
            (
                SeriesLabelPosition::UpperLeft | SeriesLabelPosition::LowerRight,
                0
            )
        ));
    }

    #[test]
    fn with_every_corner_taken_the_range_is_raised_to_leave_the_legend_room() {
        // Two flat curves along the top and the bottom fill all four corners.
        let points: Vec<(f64, f64)> = (0..=10)
            .flat_map(|i| [(i as f64, 0.0), (i as f64, 10.0)])
            .collect();
        let (x, y) = ranges(&points);
        assert!(legend_corner(&points, &x, &y).1 > 0);
        let (corner, raised) = legend_place(&points, &x, y.clone());
        assert!(matches!(corner, SeriesLabelPosition::UpperRight));
        assert_eq!(raised.start, y.start);
        assert_eq!(legend_corner(&points, &x, &raised).1, 0);
        // Where a corner is free, the range stays.
        let falling: Vec<(f64, f64)> = (0..=10).map(|i| (i as f64, 10.0 - i as f64)).collect();
        let (x, y) = ranges(&falling);
        assert_eq!(legend_place(&falling, &x, y.clone()).1, y);
    }
}
