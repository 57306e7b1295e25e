//! The convolution passes on plain `f32` buffers in row-major (NCHW) order.
//!
//! A batch is cut into tiles of whole images (about [`TILE_ROWS`] output pixels each) that
//! the rayon pool takes in parallel. Each tile goes through its own small buffers, which stay
//! in cache: the images turned channels-last (NHWC), their im2col matrix (one row per output
//! pixel, one column per filter weight in `(ki, kj, channel)` order, so every tap is a
//! contiguous copy of the pixel's channels), one single-threaded `gemm` product, and the
//! result turned back to NCHW. Filters are reordered to `(ki, kj, channel)` once per call.

use rayon::prelude::*;

use super::Geometry;

/// Output pixels per tile: the tile's im2col matrix (rows x filter size) stays in L2.
pub(super) const TILE_ROWS: usize = 256;

/// `x` `[n, c, h, w]` convolved with `weight` `[o, c, kh, kw]`: `[n, o, ho, wo]`.
pub fn conv2d(
    x: &[f32],
    [n, c, h, w]: [usize; 4],
    weight: &[f32],
    o: usize,
    geometry: &Geometry,
    [ho, wo]: [usize; 2],
) -> Vec<f32> {
    let taps = geometry.kernel[0] * geometry.kernel[1];
    // [kh·kw·c, o]: the filters as the product's row-major right operand (gemm packs a
    // row-major operand faster than a transposed view of [o, kh·kw·c]).
    let filters = transpose_each(&channels_last(weight, o, c, taps), 1, o, taps * c);
    let pixels = ho * wo;
    let per_tile = images_per_tile(pixels);
    let mut out = vec![0.0f32; n * o * pixels];
    out.par_chunks_mut(per_tile * o * pixels)
        .zip(x.par_chunks(per_tile * c * h * w))
        .for_each(|(out, x)| {
            let images = x.len() / (c * h * w);
            let cols = im2col(
                &channels_last(x, images, c, h * w),
                [images, c, h, w],
                geometry,
                [ho, wo],
            );
            let rows = product(
                Matrix::row_major(&cols, images * pixels, taps * c),
                Matrix::row_major(&filters, taps * c, o),
            );
            out.copy_from_slice(&channels_first(&rows, images, pixels, o));
        });
    out
}

/// `x` `[n, c, h, w]` through the transposed convolution of `weight` `[c, o, kh, kw]`:
/// `[n, o, ho, wo]`, the adjoint of a convolution from `[ho, wo]` to `[h, w]`.
pub fn conv_transpose2d(
    x: &[f32],
    [n, c, h, w]: [usize; 4],
    weight: &[f32],
    o: usize,
    geometry: &Geometry,
    [ho, wo]: [usize; 2],
) -> Vec<f32> {
    let taps = geometry.kernel[0] * geometry.kernel[1];
    let filters = channels_last(weight, c, o, taps); // [c, kh·kw·o]
    let per_tile = images_per_tile(h * w);
    let mut out = vec![0.0f32; n * o * ho * wo];
    out.par_chunks_mut(per_tile * o * ho * wo)
        .zip(x.par_chunks(per_tile * c * h * w))
        .for_each(|(out, x)| {
            let images = x.len() / (c * h * w);
            let cols = product(
                Matrix::row_major(&channels_last(x, images, c, h * w), images * h * w, c),
                Matrix::row_major(&filters, c, taps * o),
            );
            let image = col2im(&cols, [images, o, ho, wo], geometry, [h, w]);
            out.copy_from_slice(&channels_first(&image, images, ho * wo, o));
        });
    out
}

/// The gradient of the weight `[o, c, kh, kw]` of a convolution with input `x`
/// `[n, c, h, w]` and output gradient `output_grad` `[n, o, ho, wo]`.
pub fn conv2d_weight_grad(
    x: &[f32],
    [_, c, h, w]: [usize; 4],
    output_grad: &[f32],
    o: usize,
    geometry: &Geometry,
    [ho, wo]: [usize; 2],
) -> Vec<f32> {
    let taps = geometry.kernel[0] * geometry.kernel[1];
    let pixels = ho * wo;
    let per_tile = images_per_tile(pixels);
    let filter_size = taps * c;
    let grad = x
        .par_chunks(per_tile * c * h * w)
        .zip(output_grad.par_chunks(per_tile * o * pixels))
        .fold(
            || vec![0.0f32; o * filter_size],
            |mut grad, (x, g)| {
                let images = x.len() / (c * h * w);
                let cols = im2col(
                    &channels_last(x, images, c, h * w),
                    [images, c, h, w],
                    geometry,
                    [ho, wo],
                );
                let g = channels_last(g, images, o, pixels);
                accumulate_product(
                    &mut grad,
                    Matrix::row_major(&g, images * pixels, o).transposed(),
                    Matrix::row_major(&cols, images * pixels, filter_size),
                );
                grad
            },
        )
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        })
        .unwrap_or_else(|| vec![0.0; o * filter_size]);
    // [o, kh·kw, c] -> [o, c, kh·kw], Burn's weight layout.
    channels_first(&grad, o, taps, c)
}

/// Whole images per tile: about `TILE_ROWS` output pixels, at least one image.
fn images_per_tile(pixels: usize) -> usize {
    (TILE_ROWS / pixels.max(1)).max(1)
}

/// The im2col matrix `[n·ho·wo, kh·kw·c]` of channels-last images `[n, h, w, c]` (zeros
/// where the kernel overlaps the padding).
pub fn im2col(
    x: &[f32],
    [n, c, h, w]: [usize; 4],
    geometry: &Geometry,
    [ho, wo]: [usize; 2],
) -> Vec<f32> {
    let filter = geometry.kernel[0] * geometry.kernel[1] * c;
    let mut cols = vec![0.0f32; n * ho * wo * filter];
    for (cols, x) in cols
        .chunks_exact_mut(ho * wo * filter)
        .zip(x.chunks_exact(h * w * c))
    {
        for (pixel, row) in cols.chunks_exact_mut(filter).enumerate() {
            for_each_tap(geometry, [h, w], [pixel / wo, pixel % wo], |tap, at| {
                row[tap * c..(tap + 1) * c].copy_from_slice(&x[at * c..(at + 1) * c]);
            });
        }
    }
    cols
}

/// The adjoint of [`im2col`]: sums every entry of `cols` `[n·ho·wo, kh·kw·c]` into the
/// pixel of the channels-last `[n, h, w, c]` it was read from.
pub fn col2im(
    cols: &[f32],
    [n, c, h, w]: [usize; 4],
    geometry: &Geometry,
    [ho, wo]: [usize; 2],
) -> Vec<f32> {
    let filter = geometry.kernel[0] * geometry.kernel[1] * c;
    let mut x = vec![0.0f32; n * h * w * c];
    for (x, cols) in x
        .chunks_exact_mut(h * w * c)
        .zip(cols.chunks_exact(ho * wo * filter))
    {
        for (pixel, row) in cols.chunks_exact(filter).enumerate() {
            for_each_tap(geometry, [h, w], [pixel / wo, pixel % wo], |tap, at| {
                let source = &row[tap * c..(tap + 1) * c];
                for (x, s) in x[at * c..(at + 1) * c].iter_mut().zip(source) {
                    *x += s;
                }
            });
        }
    }
    x
}

/// Calls `visit(ki·kw + kj, y·w + x)` for every kernel tap of output pixel `(oh, ow)` that
/// lands inside the `[h, w]` image (taps on the padding are skipped).
#[inline]
fn for_each_tap(
    geometry: &Geometry,
    [h, w]: [usize; 2],
    [oh, ow]: [usize; 2],
    mut visit: impl FnMut(usize, usize),
) {
    let [kh, kw] = geometry.kernel;
    for ki in 0..kh {
        let Some(y) = (oh * geometry.stride[0] + ki).checked_sub(geometry.padding[0]) else {
            continue;
        };
        if y >= h {
            continue;
        }
        for kj in 0..kw {
            let Some(x) = (ow * geometry.stride[1] + kj).checked_sub(geometry.padding[1]) else {
                continue;
            };
            if x < w {
                visit(ki * kw + kj, y * w + x);
            }
        }
    }
}

/// `[n, c, s]` -> `[n, s, c]`.
pub fn channels_last(x: &[f32], n: usize, c: usize, s: usize) -> Vec<f32> {
    transpose_each(x, n, c, s)
}

/// `[n, s, c]` -> `[n, c, s]`.
pub fn channels_first(x: &[f32], n: usize, s: usize, c: usize) -> Vec<f32> {
    transpose_each(x, n, s, c)
}

/// Each of the `n` row-major `[rows, cols]` matrices of `x`, transposed (by the
/// `transpose` crate's cache-blocked kernel).
fn transpose_each(x: &[f32], n: usize, rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(x.len(), n * rows * cols, "{n} matrices of {rows}x{cols}");
    let mut out = vec![0.0f32; x.len()];
    if x.is_empty() {
        return out;
    }
    for (out, x) in out
        .chunks_exact_mut(rows * cols)
        .zip(x.chunks_exact(rows * cols))
    {
        transpose::transpose(x, out, cols, rows);
    }
    out
}

/// A strided read-only matrix over a buffer.
#[derive(Clone, Copy)]
pub struct Matrix<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Matrix<'a> {
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "a {rows}x{cols} matrix");
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    pub fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

/// `a · b`, row-major `[a.rows, b.cols]`, on this thread.
pub fn product(a: Matrix, b: Matrix) -> Vec<f32> {
    let mut out = vec![0.0f32; a.rows * b.cols];
    gemm_into(&mut out, a, b, false);
    out
}

/// `out += a · b`.
pub fn accumulate_product(out: &mut [f32], a: Matrix, b: Matrix) {
    gemm_into(out, a, b, true);
}

fn gemm_into(out: &mut [f32], a: Matrix, b: Matrix, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions of a product");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(out.len(), m * n, "the product's buffer");
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // SAFETY: both operands were built over buffers that hold every element their strides
    // reach (`Matrix::row_major` asserts it, `transposed` swaps within the same extent), and
    // `out` holds `m·n` elements in row-major order (asserted).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
