//! genlab's core: everything the model crates share.
//!
//! - [`idx`], [`dataset`], [`locate`], [`download`]: the MNIST-like data sets, found,
//!   verified and kept in memory as bytes;
//! - [`transform`], [`batch`]: scaling, binarisation, inpainting masks, Burn batching;
//! - [`backend`]: the `Device` chosen from the compiled-in features and `--backend`;
//! - [`figure`], [`plot`], [`scatter`]: PNG image grids, filter grids, line and scatter plots;
//! - [`run`], [`progress`]: run records, checkpoints, resume, progress output;
//! - [`train_checks`]: what every model crate's tests check of its `train` command.

pub mod activation;
pub mod adam;
pub mod backend;
pub mod batch;
pub mod cli;
pub mod config;
pub mod conv;
pub mod dataset;
pub mod download;
pub mod ema;
pub mod figure;
pub mod idx;
pub mod locate;
pub mod momentum;
pub mod plot;
pub mod progress;
pub mod run;
pub mod sampling;
pub mod scaffold;
pub mod scatter;
pub mod seed;
pub mod threads;
pub mod ticks;
pub mod train_checks;
pub mod transform;

/// The allocator of every genlab binary (`#[global_allocator] static A: data::Allocator =
/// data::Allocator;`). Training allocates and frees many tensor-sized buffers per step;
/// glibc's malloc hands those above its (adaptive) mmap threshold back to the kernel and
/// takes them again, page faults and zero-filling included, which cost a DCGAN step a fifth
/// of its time on two threads (docs/performance.md). mimalloc keeps them.
pub use mimalloc::MiMalloc as Allocator;

pub use backend::{Backend, BackendChoice, SelectedDevice, select_device};
pub use batch::{
    BatchOrder, ImageBatch, ImageBatcher, ImageItem, ImageTransform, Pass, train_batches,
};
pub use cli::{CommonArgs, exit_on_error};
pub use dataset::{CLASSES, COLS, DataSetName, ImageSet, PIXELS, ROWS, Split};
pub use locate::{DataError, Located, locate};
pub use run::{Checkpointable, Run, RunOptions};
pub use threads::ThreadPolicy;
pub use transform::{Binarise, Mask, Quadrant, Scale};

#[cfg(all(test, not(feature = "flex")))]
compile_error!("genlab's tests run on the flex backend: build them with `--features flex`");
