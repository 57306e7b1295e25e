//! The arithmetic of one training step of each benchmark, counted from its layers' shapes:
//! the multiply-adds of its matrix products (convolutions counted as the products they are),
//! per training image. With a benchmark's images per second and the machine's measured peak
//! (`bench gemm`) it gives the share of the peak the step reaches.
//!
//! A network evaluation that is backpropagated costs its forward products three times:
//! forward, weight gradients, input gradients. The first layer's input gradient is left out
//! when nothing upstream needs it (a real image, a detached fake, a latent code). Element-wise
//! work (activations, batch norm, the optimiser) is not counted: it is what the step spends
//! outside the products.

/// Multiply-adds per image of each layer of a network's forward pass, input side first.
#[derive(Clone, Debug)]
pub struct Network {
    pub layers: Vec<u64>,
}

impl Network {
    fn forward(&self) -> u64 {
        self.layers.iter().sum()
    }

    /// Forward and backward of one evaluation; `input_gradient`: whether the input needs one.
    fn backpropagated(&self, input_gradient: bool) -> u64 {
        let first = if input_gradient { 0 } else { self.layers[0] };
        3 * self.forward() - first
    }
}

/// A dense layer `inputs -> outputs`.
fn linear(inputs: u64, outputs: u64) -> u64 {
    inputs * outputs
}

/// A convolution with `side`x`side` outputs (one `kernel² · from` dot product per output
/// value), or a transposed one over `side`x`side` inputs (each input value spread over
/// `kernel²` outputs of every output channel): the side of the smaller image either way.
fn conv(from: u64, to: u64, kernel: u64, side: u64) -> u64 {
    side * side * kernel * kernel * from * to
}

/// The peers' MLP GAN: G 100-256-512-1024-784, D 784-1024-512-256-1.
pub fn mlp_gan() -> (Network, Network) {
    let g = [100, 256, 512, 1024, 784];
    let d = [784, 1024, 512, 256, 1];
    let dense = |w: &[u64]| Network {
        layers: w.windows(2).map(|p| linear(p[0], p[1])).collect(),
    };
    (dense(&g), dense(&d))
}

/// The peers' DCGAN: G 100 -> 128·7·7 -> 64 (14x14) -> 1 (28x28), D 1 -> 64 (14x14) ->
/// 128 (7x7) -> 1.
pub fn dcgan() -> (Network, Network) {
    let g = Network {
        layers: vec![
            linear(100, 128 * 49),
            conv(128, 64, 4, 7),
            conv(64, 1, 4, 14),
        ],
    };
    let d = Network {
        layers: vec![conv(1, 64, 4, 14), conv(64, 128, 4, 7), linear(128 * 49, 1)],
    };
    (g, d)
}

/// One step of the non-saturating GAN as `gan::train` (and PyTorch's DCGAN example) runs it:
/// G once, backpropagated for G's update; D on the real batch and the detached fakes for D's
/// update, and on the fakes again for G's, all three backpropagated.
pub fn gan_step((g, d): &(Network, Network)) -> u64 {
    g.backpropagated(false) + 2 * d.backpropagated(false) + d.backpropagated(true)
}

/// The peers' MLP VAE: 784-512-256, mean and log-variance 256 -> 20, decoder 20-256-512-784.
pub fn mlp_vae() -> Network {
    Network {
        layers: vec![
            linear(784, 512),
            linear(512, 256),
            2 * linear(256, 20),
            linear(20, 256),
            linear(256, 512),
            linear(512, 784),
        ],
    }
}

/// The peers' conv VAE: 1 -> 32 (14x14) -> 64 (7x7), mean and log-variance 64·7·7 -> 20, and
/// back through 20 -> 64·7·7 and two transposed convolutions.
pub fn conv_vae() -> Network {
    Network {
        layers: vec![
            conv(1, 32, 4, 14),
            conv(32, 64, 4, 7),
            2 * linear(64 * 49, 20),
            linear(20, 64 * 49),
            conv(64, 32, 4, 7),
            conv(32, 1, 4, 14),
        ],
    }
}

/// One VAE step: the network once, backpropagated (the images need no gradient).
pub fn vae_step(network: &Network) -> u64 {
    network.backpropagated(false)
}

/// One PCD-1 step of an RBM `visible`-`hidden` with as many chains as images: the data's
/// hidden probabilities, one Gibbs sweep of the chains (visible from hidden, hidden from
/// visible) and the weight gradient of data and chains stacked (inner dimension twice the
/// batch): five `visible · hidden` products per image.
pub fn rbm_pcd1_step(visible: u64, hidden: u64) -> u64 {
    5 * visible * hidden
}

/// Share of the machine's peak reached by a step of `multiply_adds` per image at
/// `images_per_s`, the peak in GFLOP/s (two floating-point operations per multiply-add).
pub fn share_of_peak(multiply_adds: u64, images_per_s: f64, peak_gflops: f64) -> f64 {
    2.0 * multiply_adds as f64 * images_per_s / (peak_gflops * 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::tensor::Device;

    /// Weights of a model's linear layers (parameters less one bias per output); for an MLP
    /// this is its forward multiply-adds per image.
    fn dense_weights(parameters: usize, outputs: &[u64]) -> u64 {
        parameters as u64 - outputs.iter().sum::<u64>()
    }

    #[test]
    fn the_mlp_counts_are_the_models_weights() {
        let device = Device::flex();
        let config = gan::model::GanConfig::new(gan::Backbone::Mlp);
        let (g, d) = mlp_gan();
        let g_params = config.init_generator(&device).num_params();
        let d_params = config.init_discriminator(&device).num_params();
        assert_eq!(g.forward(), dense_weights(g_params, &[256, 512, 1024, 784]));
        assert_eq!(d.forward(), dense_weights(d_params, &[1024, 512, 256, 1]));
        let vae = vae::train::Preset::Peer.config(vae::Backbone::Mlp).model;
        let params = vae.init(&device).num_params();
        let biases = [512, 256, 20, 20, 256, 512, 784];
        assert_eq!(mlp_vae().forward(), dense_weights(params, &biases));
    }

    #[test]
    fn a_convolution_costs_its_weights_at_every_output_position() {
        // DCGAN D's second convolution: 128 filters of 64·4·4 weights at 7·7 positions.
        assert_eq!(conv(64, 128, 4, 7), 128 * 64 * 16 * 49);
        // G's first transposed convolution spreads each of 128·7·7 inputs over 64·4·4 outputs.
        assert_eq!(conv(128, 64, 4, 7), 128 * 49 * 64 * 16);
    }

    #[test]
    fn a_step_costs_three_forwards_less_the_unneeded_input_gradients() {
        let (g, d) = mlp_gan();
        let expected = 3 * g.forward() - 100 * 256 + 9 * d.forward() - 2 * 784 * 1024;
        assert_eq!(gan_step(&(g, d)), expected);
        assert_eq!(rbm_pcd1_step(784, 256), 5 * 784 * 256);
        // 1 GFLOP/s of work against a 10 GFLOP/s peak.
        assert!((share_of_peak(500_000, 1_000.0, 10.0) - 0.1).abs() < 1e-12);
    }
}
