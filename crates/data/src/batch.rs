//! Burn `Dataset` and `Batcher` for image sets, and the batch order of custom training loops.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::dataset::{COLS, ImageSet, PIXELS, ROWS};
use crate::transform::{Binarise, Mask, Scale, image_rng};

/// One image of a set, as Burn's data loaders pass it around.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageItem {
    /// Position in the set: keys the per-image random draws (binarisation, dropout masks).
    pub index: usize,
    pub pixels: Vec<u8>,
    pub label: u8,
}

impl Dataset<ImageItem> for ImageSet {
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        Ok(ImageItem {
            index,
            pixels: self.image(index).to_vec(),
            label: self.label(index),
        })
    }

    fn len(&self) -> usize {
        ImageSet::len(self)
    }
}

/// How images become tensors. Saved in run configs so every batch can be reproduced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageTransform {
    pub scale: Scale,
    pub binarise: Binarise,
    /// Hide part of every image; the batch then carries the mask and the clean images.
    pub mask: Option<Mask>,
    /// Seeds the per-image random draws.
    pub seed: u64,
}

/// A batch of images on a device.
#[derive(Clone, Debug)]
pub struct ImageBatch {
    /// `[batch, 784]`, scaled; with a mask, missing pixels are 0 in the [0, 1] intensity
    /// (the background colour) before scaling.
    pub images: Tensor<2>,
    pub labels: Tensor<1, Int>,
    /// With a mask: `[batch, 784]`, 1 where a pixel is known, 0 where it is missing.
    pub known: Option<Tensor<2>>,
    /// With a mask: the images before masking, scaled like `images`.
    pub clean: Option<Tensor<2>>,
}

impl ImageBatch {
    /// The images as `[batch, 1, 28, 28]`, the layout of convolutional models.
    pub fn images_nchw(&self) -> Tensor<4> {
        let [batch, _] = self.images.dims();
        self.images.clone().reshape([batch, 1, ROWS, COLS])
    }
}

/// Turns items into an [`ImageBatch`]. The `epoch` keys stochastic binarisation and random
/// masks, so each epoch sees new draws and a resumed run sees the same ones as an
/// uninterrupted run.
#[derive(Clone, Debug, Default)]
pub struct ImageBatcher {
    pub transform: ImageTransform,
    pub epoch: u64,
}

impl ImageBatcher {
    pub fn new(transform: ImageTransform) -> Self {
        Self {
            transform,
            epoch: 0,
        }
    }

    /// The same batcher drawing the random numbers of `epoch`.
    pub fn for_epoch(&self, epoch: u64) -> Self {
        Self {
            transform: self.transform,
            epoch,
        }
    }

    /// Batches images `indices` of `set` directly, without copying them into items first.
    pub fn batch_indices(&self, set: &ImageSet, indices: &[usize], device: &Device) -> ImageBatch {
        let pixels: Vec<&[u8]> = indices.iter().map(|&i| set.image(i)).collect();
        let labels: Vec<u8> = indices.iter().map(|&i| set.label(i)).collect();
        self.build(indices, &pixels, &labels, device)
    }

    fn build(
        &self,
        indices: &[usize],
        pixels: &[&[u8]],
        labels: &[u8],
        device: &Device,
    ) -> ImageBatch {
        let t = self.transform;
        let n = indices.len();
        let mut images = vec![0f32; n * PIXELS];
        let mut known = t.mask.map(|_| vec![0f32; n * PIXELS]);
        let mut clean = t.mask.map(|_| vec![0f32; n * PIXELS]);
        for (row, (&index, image)) in indices.iter().zip(pixels).enumerate() {
            let span = row * PIXELS..(row + 1) * PIXELS;
            let mut rng = image_rng(t.seed, self.epoch, index);
            let out = &mut images[span.clone()];
            t.binarise.apply(image, out, &mut rng);
            if let (Some(mask), Some(known), Some(clean)) = (t.mask, &mut known, &mut clean) {
                let k = &mut known[span.clone()];
                mask.fill(k, &mut rng);
                clean[span].copy_from_slice(out);
                out.iter_mut().zip(k.iter()).for_each(|(v, k)| *v *= k);
            }
        }
        let rescale = |values: &mut Vec<f32>| {
            if t.scale == Scale::MinusOneOne {
                values.iter_mut().for_each(|v| *v = *v * 2.0 - 1.0);
            }
        };
        rescale(&mut images);
        let tensor =
            |values: Vec<f32>| Tensor::<2>::from_data(TensorData::new(values, [n, PIXELS]), device);
        ImageBatch {
            images: tensor(images),
            labels: Tensor::<1, Int>::from_data(
                TensorData::new(labels.iter().map(|&l| l as i64).collect::<Vec<_>>(), [n]),
                device,
            ),
            known: known.map(tensor),
            clean: clean.map(|mut c| {
                rescale(&mut c);
                tensor(c)
            }),
        }
    }
}

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let indices: Vec<usize> = items.iter().map(|i| i.index).collect();
        let pixels: Vec<&[u8]> = items.iter().map(|i| i.pixels.as_slice()).collect();
        let labels: Vec<u8> = items.iter().map(|i| i.label).collect();
        self.build(&indices, &pixels, &labels, device)
    }
}

/// How a custom training loop cuts a set into batches in each epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchOrder {
    pub batch_size: usize,
    /// A permutation drawn from `(seed, epoch)` in every epoch; otherwise `0..len`.
    pub shuffle: bool,
    /// Leave out a last batch shorter than `batch_size`.
    pub drop_last: bool,
    pub seed: u64,
}

impl BatchOrder {
    /// Every full batch, in a fresh order each epoch: how the GANs, VAEs and the diffusion
    /// model are trained.
    pub fn shuffled_full(batch_size: usize, seed: u64) -> Self {
        Self {
            batch_size,
            shuffle: true,
            drop_last: true,
            seed,
        }
    }

    /// The batches of a set of `len` items in `epoch`, as indices.
    pub fn epoch(&self, len: usize, epoch: u64) -> Vec<Vec<usize>> {
        assert!(self.batch_size > 0, "batch size must be positive");
        let mut order: Vec<usize> = (0..len).collect();
        if self.shuffle {
            let mut rng = StdRng::seed_from_u64(crate::seed::batch_order_seed(self.seed, epoch));
            order.shuffle(&mut rng);
        }
        order
            .chunks(self.batch_size)
            .filter(|c| !self.drop_last || c.len() == self.batch_size)
            .map(<[usize]>::to_vec)
            .collect()
    }
}

/// What one pass over the batches of an epoch returned and how long it took.
#[derive(Clone, Debug)]
pub struct Pass<T> {
    /// Each step's result, in order.
    pub results: Vec<T>,
    pub seconds: f64,
    pub images_per_second: f64,
}

/// One pass of a custom training loop: `step(i, indices)` on every batch of `order` over a
/// set of `len` items in `epoch`, with a progress bar.
pub fn train_batches<T>(
    len: usize,
    order: BatchOrder,
    epoch: usize,
    mut step: impl FnMut(usize, &[usize]) -> T,
) -> Pass<T> {
    let batches = order.epoch(len, epoch as u64);
    let mut progress =
        crate::progress::Progress::new(format!("epoch {}", epoch + 1), batches.len() as u64);
    let started = std::time::Instant::now();
    let results: Vec<T> = batches
        .iter()
        .enumerate()
        .map(|(i, indices)| {
            let result = step(i, indices);
            progress.inc(1);
            result
        })
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    progress.finish();
    let images: usize = batches.iter().map(Vec::len).sum();
    Pass {
        results,
        seconds,
        images_per_second: images as f64 / seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{DataSetName, Split};
    use crate::transform::Quadrant;

    #[test]
    fn a_training_pass_visits_every_full_batch_in_the_epoch_order() {
        let mut seen = Vec::new();
        let order = BatchOrder::shuffled_full(3, 7);
        let pass = train_batches(10, order, 2, |i, indices| {
            seen.push(indices.to_vec());
            i
        });
        assert_eq!(pass.results, [0, 1, 2]);
        assert_eq!(seen, order.epoch(10, 2));
        assert!(pass.seconds >= 0.0);
    }

    fn tiny_set() -> ImageSet {
        let pixels: Vec<u8> = (0..3 * PIXELS).map(|i| (i % 256) as u8).collect();
        ImageSet::from_parts(DataSetName::Mnist, Split::Test, pixels, vec![3, 1, 4])
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn batches_scale_pixels_and_carry_labels() {
        let set = tiny_set();
        let device = Device::flex();
        let batcher = ImageBatcher::new(ImageTransform {
            scale: Scale::MinusOneOne,
            ..Default::default()
        });
        let batch = batcher.batch_indices(&set, &[2, 0], &device);
        assert_eq!(batch.images.dims(), [2, PIXELS]);
        assert_eq!(batch.images_nchw().dims(), [2, 1, 28, 28]);
        let v = values(batch.images);
        assert_eq!(v[0], set.image(2)[0] as f32 / 127.5 - 1.0);
        assert_eq!(v[PIXELS + 255], 1.0);
        assert_eq!(
            batch
                .labels
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap(),
            vec![4, 3]
        );
        assert!(batch.known.is_none() && batch.clean.is_none());
    }

    #[test]
    fn the_burn_batcher_and_direct_batching_agree() {
        let set = tiny_set();
        let device = Device::flex();
        let batcher = ImageBatcher::new(ImageTransform {
            binarise: Binarise::Stochastic,
            seed: 5,
            ..Default::default()
        })
        .for_epoch(2);
        let items = vec![set.get(1).unwrap(), set.get(2).unwrap()];
        let a = values(batcher.batch(items, &device).images);
        let b = values(batcher.batch_indices(&set, &[1, 2], &device).images);
        assert_eq!(a, b);
        let c = values(
            batcher
                .for_epoch(3)
                .batch_indices(&set, &[1, 2], &device)
                .images,
        );
        assert_ne!(a, c);
    }

    #[test]
    fn masked_batches_zero_the_missing_pixels_and_keep_the_clean_image() {
        let set = tiny_set();
        let device = Device::flex();
        let batcher = ImageBatcher::new(ImageTransform {
            mask: Some(Mask::Quadrant {
                quadrant: Quadrant::TopLeft,
            }),
            ..Default::default()
        });
        let batch = batcher.batch_indices(&set, &[1], &device);
        let images = values(batch.images);
        let known = values(batch.known.unwrap());
        let clean = values(batch.clean.unwrap());
        for i in 0..PIXELS {
            let expected_clean = set.image(1)[i] as f32 / 255.0;
            assert_eq!(clean[i], expected_clean);
            assert_eq!(images[i], expected_clean * known[i]);
        }
        assert_eq!(known[0], 0.0);
        assert_eq!(known[PIXELS - 1], 1.0);
    }

    #[test]
    fn epoch_batches_cover_the_set_once_and_reshuffle_per_epoch() {
        let order = BatchOrder {
            batch_size: 4,
            shuffle: true,
            drop_last: false,
            seed: 1,
        };
        let (e0, e1) = (order.epoch(10, 0), order.epoch(10, 1));
        assert_eq!(e0.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut all: Vec<usize> = e0.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_ne!(e0, e1);
        assert_eq!(e0, order.epoch(10, 0));
        let in_order = BatchOrder {
            shuffle: false,
            drop_last: true,
            ..order
        };
        assert_eq!(
            in_order.epoch(10, 0),
            vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]]
        );
    }
}
