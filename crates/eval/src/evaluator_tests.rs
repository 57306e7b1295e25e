//! Tests of [`super`]: the `evaluator` module.

use super::*;

fn write_png(path: &Path, width: u32, value: u8) {
    image::GrayImage::from_pixel(width, 28, image::Luma([value]))
        .save(path)
        .unwrap();
}

#[test]
fn a_folder_of_pngs_loads_in_name_order_as_unit_pixels() {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("b.png"), 28, 255);
    write_png(&dir.path().join("a.png"), 28, 0);
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    let pixels = load_png_folder(dir.path(), 100).unwrap();
    assert_eq!(pixels.len(), 2 * PIXELS);
    assert_eq!((pixels[0], pixels[PIXELS]), (0.0, 1.0));
    assert!(
        load_png_folder(dir.path(), 1)
            .err()
            .unwrap()
            .to_string()
            .contains("at least 2")
    );
}

#[test]
fn samples_of_a_diverged_model_are_refused_not_scored() {
    let device = burn::tensor::Device::flex();
    let evaluator = Evaluator::load(DataSetName::Mnist, &pretrained_dir(), None, &device).unwrap();
    let mut images = vec![0.5f32; 4 * PIXELS];
    images[3] = f32::NAN;
    images[5] = f32::INFINITY;
    images[7] = 3.0;
    images[8] = -1.0;
    let err = evaluator
        .score(&images, Scale::ZeroOne)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2 sample values are NaN or infinite and 1 lie outside [-1, 1]"),
        "{err}"
    );
    let autodiff = device.clone().autodiff();
    let err = (evaluator.score_for_verdict(&images, Scale::ZeroOne, &autodiff))
        .unwrap_err()
        .to_string();
    assert!(err.contains("diverged"), "{err}");
    let err = evaluator.score(&images[..100], Scale::ZeroOne).unwrap_err();
    assert!(err.to_string().contains("whole 28x28 images"), "{err}");
    // Values on the edge of the range, and a tanh generator's negative values, score.
    images[3] = 1.0;
    images[5] = -1.0;
    images[7] = 1.0005;
    evaluator.score(&images, Scale::ZeroOne).unwrap();
}

#[test]
fn a_png_of_the_wrong_size_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("a.png"), 28, 0);
    write_png(&dir.path().join("wide.png"), 32, 0);
    let err = load_png_folder(dir.path(), 100).err().unwrap().to_string();
    assert!(err.contains("wide.png") && err.contains("28x28"), "{err}");
}
