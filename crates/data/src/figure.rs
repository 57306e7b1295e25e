//! PNG figures of images: sample grids (with optional labels under the tiles) and filter
//! grids (each filter contrast-normalised on its own).

use std::path::Path;

use anyhow::Context;
use burn::tensor::Tensor;
pub use image::RgbImage;
use image::{GrayImage, ImageBuffer, Luma, Rgb};
use plotters::prelude::*;

use crate::transform::Scale;

/// The font bundled for all text in figures (DejaVu Sans, see assets/), so figures look the
/// same on every machine and need no system fonts.
pub(crate) const FONT_FAMILY: &str = "sans-serif";
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the bundled font with plotters, once per process.
pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the bundled font assets/DejaVuSans.ttf is valid"));
    });
}

/// Layout of an image grid.
#[derive(Clone, Debug)]
pub struct GridOptions {
    /// Tiles per row; rows follow from the number of images.
    pub cols: usize,
    /// Pixels between tiles and around the grid (before upscaling).
    pub padding: u32,
    /// Each image pixel becomes an `upscale x upscale` block.
    pub upscale: u32,
    /// The range of the input values: [0, 1] or [-1, 1]; values outside are clipped.
    pub range: Scale,
    /// One label per tile, drawn under it.
    pub labels: Option<Vec<String>>,
    /// Neighbouring tiles of a row with the same label share one label centred under them
    /// (for rows of one category, e.g. one model's samples).
    pub shared_labels: bool,
    /// Grey level of the padding.
    pub background: u8,
}

impl Default for GridOptions {
    fn default() -> Self {
        Self {
            cols: 10,
            padding: 2,
            upscale: 1,
            range: Scale::ZeroOne,
            labels: None,
            shared_labels: false,
            background: 128,
        }
    }
}

/// Height in pixels of the strip under each tile that holds its label.
const LABEL_HEIGHT: u32 = 14;

/// Lays out `count` images of `height x width` values (row-major, one after another) in a grid.
pub fn image_grid(values: &[f32], height: usize, width: usize, options: &GridOptions) -> RgbImage {
    let per_image = height * width;
    assert!(
        per_image > 0 && values.len().is_multiple_of(per_image),
        "values hold whole images"
    );
    assert!(
        options.cols > 0 && options.upscale > 0,
        "cols and upscale must be positive"
    );
    let count = values.len() / per_image;
    if let Some(labels) = &options.labels {
        assert_eq!(labels.len(), count, "one label per image");
    }
    let cols = options.cols.min(count.max(1));
    let rows = count.div_ceil(cols).max(1);
    let (up, pad) = (options.upscale, options.padding);
    let tile_w = width as u32 * up;
    let row_labels = (options.labels.as_ref())
        .filter(|_| options.shared_labels && cols > 1)
        .and_then(|labels| one_label_per_row(labels, cols));
    let label_h = if options.labels.is_some() && row_labels.is_none() {
        LABEL_HEIGHT.max(pad)
    } else {
        0
    };
    let margin = row_labels
        .as_ref()
        .map_or(0, |labels| row_label_width(labels));
    let tile_h = height as u32 * up + label_h;
    let grid_w = margin + cols as u32 * (tile_w + pad) + pad;
    let grid_h = rows as u32 * (tile_h + pad) + pad;
    let bg = options.background;
    let mut img: RgbImage = ImageBuffer::from_pixel(grid_w, grid_h, Rgb([bg, bg, bg]));

    for (i, tile) in values.chunks_exact(per_image).enumerate() {
        let x0 = margin + pad + (i % cols) as u32 * (tile_w + pad);
        let y0 = pad + (i / cols) as u32 * (tile_h + pad);
        for (p, &v) in tile.iter().enumerate() {
            let grey = to_byte(options.range.to_unit(v));
            let (r, c) = ((p / width) as u32, (p % width) as u32);
            for dy in 0..up {
                for dx in 0..up {
                    img.put_pixel(x0 + c * up + dx, y0 + r * up + dy, Rgb([grey; 3]));
                }
            }
        }
    }
    if let Some(labels) = &row_labels {
        draw_row_labels(&mut img, labels, margin, tile_h + pad, pad);
    } else if let Some(labels) = &options.labels {
        let runs = if options.shared_labels {
            label_runs(labels, cols)
        } else {
            (0..labels.len()).map(|i| (i, 1)).collect()
        };
        draw_labels(
            &mut img,
            labels,
            &runs,
            cols,
            (tile_w, tile_h, label_h, pad),
        );
    }
    img
}

/// Draws each run of tiles' label under it (`(first tile, tiles)`); a label wider than the
/// space it has is drawn smaller, then shortened, so labels never run into each other.
fn draw_labels(
    img: &mut RgbImage,
    labels: &[String],
    runs: &[(usize, usize)],
    cols: usize,
    layout: (u32, u32, u32, u32),
) {
    let (tile_w, tile_h, label_h, pad) = layout;
    register_font();
    let (w, h) = img.dimensions();
    {
        let root = BitMapBackend::with_buffer(img.as_mut(), (w, h)).into_drawing_area();
        for &(first, count) in runs {
            let span = count as u32 * (tile_w + pad) - pad;
            let x = pad + (first % cols) as u32 * (tile_w + pad) + span / 2;
            let y = pad + (first / cols) as u32 * (tile_h + pad) + tile_h - label_h + 1;
            let (text, size) = fit_label(&root, &labels[first], span, label_h - 2);
            let style = TextStyle::from((FONT_FAMILY, size).into_font())
                .color(&WHITE)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Top,
                ));
            root.draw_text(&text, &style, (x as i32, y as i32))
                .expect("drawing into a memory buffer cannot fail");
        }
        root.present()
            .expect("presenting a memory buffer cannot fail");
    }
}

/// Pixels per character of a row label, and the widest label column.
const ROW_LABEL_CHAR_WIDTH: u32 = 7;
const ROW_LABEL_MAX_WIDTH: u32 = 200;

/// Each row's label, where every tile of a row carries the same one (a row of one model's
/// samples, of one step of a chain): such labels go beside their row, not under it.
fn one_label_per_row(labels: &[String], cols: usize) -> Option<Vec<String>> {
    let rows: Vec<&[String]> = labels.chunks(cols).collect();
    rows.iter()
        .all(|row| row.iter().all(|label| *label == row[0]))
        .then(|| rows.iter().map(|row| row[0].clone()).collect())
}

/// The width of the column that holds the row labels.
fn row_label_width(labels: &[String]) -> u32 {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    (longest * ROW_LABEL_CHAR_WIDTH + 12).min(ROW_LABEL_MAX_WIDTH)
}

/// Draws each row's label right-aligned in the column left of the tiles, centred on the row.
fn draw_row_labels(img: &mut RgbImage, labels: &[String], margin: u32, row_h: u32, pad: u32) {
    register_font();
    let (w, h) = img.dimensions();
    let root = BitMapBackend::with_buffer(img.as_mut(), (w, h)).into_drawing_area();
    for (row, label) in labels.iter().enumerate() {
        let (text, size) = fit_label(&root, label, margin - 6, LABEL_HEIGHT);
        let style = TextStyle::from((FONT_FAMILY, size).into_font())
            .color(&WHITE)
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            ));
        let y = pad + row as u32 * row_h + (row_h - pad) / 2;
        root.draw_text(&text, &style, ((margin - 4) as i32, y as i32))
            .expect("drawing into a memory buffer cannot fail");
    }
    root.present()
        .expect("presenting a memory buffer cannot fail");
}

/// `(first tile, tiles)` of each run of equal labels within a row.
fn label_runs(labels: &[String], cols: usize) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        match runs.last_mut() {
            Some((first, count)) if i % cols != 0 && labels[*first] == *label => *count += 1,
            _ => runs.push((i, 1)),
        }
    }
    runs
}

/// The label (shortened with "..." if it must be) and the font size at which it fits in
/// `width` pixels, from `size` down to 7 pixels.
fn fit_label<DB: plotters::prelude::DrawingBackend>(
    root: &plotters::drawing::DrawingArea<DB, plotters::coord::Shift>,
    label: &str,
    width: u32,
    size: u32,
) -> (String, f64) {
    let fits = |text: &str, size: u32| {
        root.estimate_text_size(
            text,
            &TextStyle::from((FONT_FAMILY, size as f64).into_font()),
        )
        .is_ok_and(|(w, _)| w + 2 <= width)
    };
    let min = 7.min(size);
    for s in (min..=size).rev() {
        if fits(label, s) {
            return (label.to_string(), s as f64);
        }
    }
    let chars: Vec<char> = label.chars().collect();
    for keep in (1..chars.len()).rev() {
        let short = format!("{}...", chars[..keep].iter().collect::<String>());
        if fits(&short, min) {
            return (short, min as f64);
        }
    }
    (String::new(), min as f64)
}

fn to_byte(unit: f32) -> u8 {
    (unit.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// A grid of 28x28 digits, each pixel shown 2x2, `cols` per row: the figure most
/// experiments draw. Equal neighbouring labels are shown once.
pub fn digit_grid(values: &[f32], cols: usize, labels: Option<Vec<String>>) -> RgbImage {
    image_grid(
        values,
        crate::ROWS,
        crate::COLS,
        &GridOptions {
            cols,
            upscale: 2,
            labels,
            shared_labels: true,
            ..Default::default()
        },
    )
}

/// Contrast-normalises each filter to [0, 1] on its own (min to 0, max to 1), so weak and
/// strong filters are equally visible; a constant filter becomes mid-grey.
pub fn normalise_filters(weights: &[f32], per_filter: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(weights.len());
    for filter in weights.chunks_exact(per_filter) {
        let (min, max) = filter
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let span = max - min;
        out.extend(
            filter
                .iter()
                .map(|&v| if span > 0.0 { (v - min) / span } else { 0.5 }),
        );
    }
    out
}

/// A grid of filters, e.g. the rows of an RBM's `[hidden, 784]` weight matrix shown as 28x28
/// images, each with its own contrast.
pub fn filter_grid(
    weights: &[f32],
    height: usize,
    width: usize,
    options: &GridOptions,
) -> RgbImage {
    let normalised = normalise_filters(weights, height * width);
    image_grid(
        &normalised,
        height,
        width,
        &GridOptions {
            range: Scale::ZeroOne,
            ..options.clone()
        },
    )
}

/// The values of a `[n, 784]` or `[n, 1, 28, 28]` tensor, for the grid functions.
pub fn tensor_values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("a float tensor converts to f32")
}

/// Writes a PNG, creating the parent folder and replacing any old file atomically.
pub fn save_png(image: &RgbImage, path: &Path) -> anyhow::Result<()> {
    crate::run::write_atomically(path, |file| {
        image
            .write_to(file, image::ImageFormat::Png)
            .map_err(std::io::Error::other)
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// A single greyscale image, e.g. one upscaled digit.
pub fn grey_image(values: &[f32], height: usize, width: usize, range: Scale) -> GrayImage {
    ImageBuffer::from_fn(width as u32, height as u32, |x, y| {
        Luma([to_byte(
            range.to_unit(values[y as usize * width + x as usize]),
        )])
    })
}

#[cfg(test)]
#[path = "figure_tests.rs"]
mod tests;
