//! Tests of [`super`]: the `model` module.

use super::*;
use burn::module::Module;
use burn::tensor::Distribution;

fn check_shapes(backbone: Backbone, expected_g: usize, expected_d: usize) {
    let device = Device::flex();
    let config = GanConfig::new(backbone).with_latent(100);
    let g = config.init_generator(&device);
    let d = config.init_discriminator(&device);
    let z = Tensor::<2>::random([3, 100], Distribution::Normal(0.0, 1.0), &device);
    let images = g.forward(z);
    assert_eq!(images.dims(), [3, PIXELS]);
    let values = images.clone().into_data().try_to_vec::<f32>().unwrap();
    assert!(values.iter().all(|v| v.abs() <= 1.0), "tanh range");
    assert_eq!(d.forward(images).dims(), [3, 1]);
    assert_eq!(
        g.num_params(),
        expected_g,
        "{backbone:?} generator parameters"
    );
    assert_eq!(
        d.num_params(),
        expected_d,
        "{backbone:?} discriminator parameters"
    );
}

#[test]
fn the_mlp_has_the_course_shapes_and_the_peer_parameter_counts() {
    // ../shared/peers/README.md: 1,486,352 and 1,460,225 parameters.
    check_shapes(Backbone::Mlp, 1_486_352, 1_460_225);
}

#[test]
fn the_dcgan_has_the_peer_parameter_counts() {
    // The peers count 778,305 / 138,817 trainable parameters; Burn's num_params also
    // counts batch norm's running mean and variance (2 x (6272 + 64) for G, 2 x 128 for D).
    check_shapes(
        Backbone::Dcgan,
        778_305 + 2 * (6272 + 64),
        138_817 + 2 * 128,
    );
}

#[test]
fn the_course_cnn_grows_one_pixel_to_28() {
    let device = Device::flex();
    let config = GanConfig::new(Backbone::Cnn)
        .with_latent(10)
        .with_cnn_channels(16);
    let g = config.init_generator(&device);
    let d = config.init_discriminator(&device);
    let z = Tensor::<2>::random([2, 10], Distribution::Normal(0.0, 1.0), &device);
    let images = g.forward(z);
    assert_eq!(images.dims(), [2, PIXELS]);
    assert_eq!(d.forward(images).dims(), [2, 1]);
}

#[test]
fn a_swapped_discriminator_is_the_other_backbones_and_plays_the_generator() {
    let device = Device::flex();
    let dcgan = GanConfig::new(Backbone::Dcgan);
    let cnn = GanConfig::new(Backbone::Cnn);
    let swapped = GanConfig::new(Backbone::Dcgan).with_discriminator_backbone(Some(Backbone::Cnn));
    assert_eq!(swapped.discriminator(), Backbone::Cnn);
    assert_eq!(
        dcgan.discriminator(),
        Backbone::Dcgan,
        "default: the generator's"
    );
    let g = swapped.init_generator(&device);
    let d = swapped.init_discriminator(&device);
    assert_eq!(g.num_params(), dcgan.init_generator(&device).num_params());
    assert_eq!(d.num_params(), cnn.init_discriminator(&device).num_params());
    let z = Tensor::<2>::random([2, 100], Distribution::Normal(0.0, 1.0), &device);
    assert_eq!(d.forward(g.forward(z)).dims(), [2, 1]);
}

#[test]
fn each_dcgan_discriminator_change_adds_or_removes_its_layer() {
    let device = Device::flex();
    let peers = 138_817 + 2 * 128;
    // A 3x3 convolution 128 -> 128 with bias, its batch norm (4 x 128 values) and a head over
    // 128·5·5 instead of 128·7·7 features.
    let third = peers + (128 * 128 * 9 + 128) + 4 * 128 - 128 * (49 - 25);
    let changed = [
        (GanConfig::new(Backbone::Dcgan), peers),
        (
            GanConfig::new(Backbone::Dcgan).with_dcgan_third_convolution(Some(true)),
            third,
        ),
        (
            GanConfig::new(Backbone::Dcgan).with_dcgan_batch_norm(Some(false)),
            peers - 4 * 128,
        ),
        (
            GanConfig::new(Backbone::Dcgan).with_dcgan_dropout(Some(0.3)),
            peers,
        ),
    ];
    let images = Tensor::<2>::random([3, PIXELS], Distribution::Uniform(-1.0, 1.0), &device);
    for (config, parameters) in changed {
        let d = config.init_discriminator(&device);
        assert_eq!(d.num_params(), parameters, "{config:?}");
        assert_eq!(d.forward(images.clone()).dims(), [3, 1], "{config:?}");
    }
}

#[test]
fn each_dcgan_generator_change_adds_or_removes_its_layer() {
    let device = Device::flex();
    let peers = 778_305 + 2 * (6272 + 64);
    // Per-channel batch norm: 4 values per map instead of per feature.
    let channel_norm = peers - 4 * 6272 + 4 * 128;
    // A projection to 128·5·5 features (weights, bias and the features' batch norm) and a
    // 3x3 transposed convolution 128 -> 128 with bias and its batch norm.
    let projection = |side: usize| 100 * 128 * side * side + 128 * side * side;
    let third = peers - projection(7) - 4 * 128 * 49
        + projection(5)
        + 4 * 128 * 25
        + (128 * 128 * 9 + 128)
        + 4 * 128;
    let changed = [
        (GanConfig::new(Backbone::Dcgan), peers),
        (
            GanConfig::new(Backbone::Dcgan).with_dcgan_channel_norm(Some(true)),
            channel_norm,
        ),
        (
            GanConfig::new(Backbone::Dcgan).with_dcgan_generator_third_layer(Some(true)),
            third,
        ),
        (
            GanConfig::new(Backbone::Dcgan)
                .with_dcgan_generator_third_layer(Some(true))
                .with_dcgan_channel_norm(Some(true)),
            third - 4 * 128 * 25 + 4 * 128,
        ),
    ];
    let z = Tensor::<2>::random([3, 100], Distribution::Normal(0.0, 1.0), &device);
    for (config, parameters) in changed {
        let g = config.init_generator(&device);
        assert_eq!(g.num_params(), parameters, "{config:?}");
        let images = g.forward(z.clone());
        assert_eq!(images.dims(), [3, PIXELS], "{config:?}");
        let values = images.into_data().try_to_vec::<f32>().unwrap();
        assert!(values.iter().all(|v| v.abs() <= 1.0), "tanh range");
    }
}
