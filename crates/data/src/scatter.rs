//! Scatter plots of labelled 2-D points (e.g. the latent codes of test digits), one colour
//! per class and a legend beside the chart, rendered to a PNG like [`crate::plot::LinePlot`].

use std::path::Path;

use image::RgbImage;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::figure::{FONT_FAMILY, register_font, save_png};
use crate::plot::{LinePlot, Ticked, axis_span};
use crate::ticks;

/// Width in pixels of the legend strip right of the chart.
const LEGEND_WIDTH: u32 = 90;

/// Points coloured by class; class `c` is drawn in [`LinePlot::colour`]`(c)` and named
/// `class_names[c]` in the legend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScatterPlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub width: u32,
    pub height: u32,
    /// `(x, y, class)`; points with a non-finite coordinate are left out.
    pub points: Vec<(f64, f64, usize)>,
    pub class_names: Vec<String>,
}

impl ScatterPlot {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
        points: Vec<(f64, f64, usize)>,
        class_names: Vec<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            width: 800,
            height: 700,
            points,
            class_names,
        }
    }

    pub fn render(&self) -> anyhow::Result<RgbImage> {
        register_font();
        let mut buffer = vec![255u8; self.width as usize * self.height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (self.width, self.height))
                .into_drawing_area();
            root.fill(&WHITE)?;
            // The legend gets its own strip, so it never hides points.
            let (plot_area, legend) =
                root.split_horizontally(self.width.saturating_sub(LEGEND_WIDTH));
            let shown: Vec<_> = self
                .points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect();
            let x_range = axis_span(shown.iter().map(|p| p.0));
            let y_range = axis_span(shown.iter().map(|p| p.1));
            let x_ticks = ticks::linear(x_range.start, x_range.end, 8, false);
            let y_ticks = ticks::linear(y_range.start, y_range.end, 8, false);
            let mut chart = ChartBuilder::on(&plot_area)
                .caption(&self.title, (FONT_FAMILY, 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(
                    Ticked::new(x_range, x_ticks.clone()),
                    Ticked::new(y_range, y_ticks.clone()),
                )?;
            let x_format = |v: &f64| ticks::label(*v, &x_ticks);
            let y_format = |v: &f64| ticks::label(*v, &y_ticks);
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .x_label_formatter(&x_format)
                .y_label_formatter(&y_format)
                .label_style((FONT_FAMILY, 13))
                .axis_desc_style((FONT_FAMILY, 15))
                .draw()?;
            chart.draw_series(
                shown
                    .iter()
                    .map(|&&(x, y, c)| Circle::new((x, y), 2, LinePlot::colour(c).filled())),
            )?;
            for (i, name) in self.class_names.iter().enumerate() {
                let y = 60 + 22 * i as i32;
                legend.draw(&Circle::new((16, y), 5, LinePlot::colour(i).filled()))?;
                legend.draw(&Text::new(
                    name.as_str(),
                    (28, y - 8),
                    (FONT_FAMILY, 15).into_font().color(&BLACK),
                ))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_class_in_its_colour_with_a_legend_at_the_requested_size() {
        // Three clusters of 50 points, a non-finite point that must be skipped.
        let mut points: Vec<(f64, f64, usize)> = (0..150)
            .map(|i| {
                let c = i % 3;
                (
                    c as f64 * 3.0 + (i % 7) as f64 * 0.1,
                    (i % 11) as f64 * 0.1,
                    c,
                )
            })
            .collect();
        points.push((f64::NAN, 0.0, 0));
        let names = ["zero", "one", "two"].map(String::from).to_vec();
        let plot = ScatterPlot::new("codes", "z1", "z2", points, names);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scatter.png");
        plot.save(&path).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (800, 700));
        for class in 0..3 {
            let colour = LinePlot::colour(class);
            let count = img
                .pixels()
                .filter(|p| p.0 == [colour.0, colour.1, colour.2])
                .count();
            assert!(count > 100, "class {class}: {count} pixels");
        }
        // Text (title, ticks, legend names) was drawn in black.
        let dark = img.pixels().filter(|p| p.0.iter().all(|&v| v < 60)).count();
        assert!(dark > 500, "{dark} dark pixels");
    }
}
