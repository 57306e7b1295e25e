//! A class-conditional denoising diffusion model on Fashion-MNIST, made from scratch.
//!
//! - [`unet`]: the noise-prediction network: a small U-Net with residual blocks, group
//!   norm, sinusoidal time embedding, class embedding and self-attention at 7x7;
//! - [`diffusion`]: the noise schedules (linear, cosine), the forward process, the training
//!   loss, and the DDPM and DDIM samplers with classifier-free guidance;
//! - [`ema`]: the exponential moving average of the weights that sampling uses;
//! - [`train`], [`sample`], [`evaluate`], [`tasks`]: training, guided sampling, the class
//!   accuracy and eval metrics of samples, and the subcommands.

pub mod cli;
pub mod diffusion;
pub mod evaluate;
pub mod sample;
pub mod tasks;
pub mod train;
pub mod unet;

#[cfg(test)]
mod tests;
