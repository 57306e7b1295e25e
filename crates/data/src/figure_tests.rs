//! Tests of [`super`]: the `figure` module.

use super::*;

#[test]
fn grid_size_and_pixels_follow_the_layout() {
    // Three 2x3 images: all black, all white, a gradient in [-1, 1].
    let mut values = vec![0.0; 6];
    values.extend([1.0; 6]);
    let options = GridOptions {
        cols: 2,
        padding: 1,
        upscale: 2,
        background: 77,
        ..Default::default()
    };
    let img = image_grid(&values, 2, 3, &options);
    // 2 columns of 6 px + 3 paddings; 1 row of 4 px + 2 paddings.
    assert_eq!(img.dimensions(), (2 * 6 + 3, 4 + 2));
    assert_eq!(img.get_pixel(0, 0).0, [77; 3]);
    assert_eq!(img.get_pixel(1, 1).0, [0; 3]);
    assert_eq!(img.get_pixel(6, 4).0, [0; 3]);
    assert_eq!(img.get_pixel(8, 1).0, [255; 3]);

    let minus_one_one = image_grid(
        &[-1.0, 0.0, 1.0, 3.0],
        1,
        4,
        &GridOptions {
            padding: 0,
            range: Scale::MinusOneOne,
            ..Default::default()
        },
    );
    let row: Vec<u8> = (0..4).map(|x| minus_one_one.get_pixel(x, 0).0[0]).collect();
    assert_eq!(row, vec![0, 128, 255, 255]);
}

#[test]
fn a_saved_grid_decodes_to_the_same_pixels() {
    let values: Vec<f32> = (0..100 * 784).map(|i| (i % 784) as f32 / 783.0).collect();
    let img = image_grid(&values, 28, 28, &GridOptions::default());
    assert_eq!(img.dimensions(), (10 * 30 + 2, 10 * 30 + 2));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/grid.png");
    save_png(&img, &path).unwrap();
    let decoded = image::open(&path).unwrap().to_rgb8();
    assert_eq!(decoded, img);
    // Last pixel of the first tile is the brightest.
    assert_eq!(decoded.get_pixel(2 + 27, 2 + 27).0, [255; 3]);
}

#[test]
fn labels_add_a_strip_of_text_under_each_tile() {
    let values = vec![0.0; 2 * 784];
    let plain = image_grid(&values, 28, 28, &GridOptions::default());
    let labelled = image_grid(
        &values,
        28,
        28,
        &GridOptions {
            labels: Some(vec!["7".into(), "3".into()]),
            background: 0,
            ..Default::default()
        },
    );
    assert_eq!(labelled.height(), plain.height() + LABEL_HEIGHT);
    // Some white text pixels were drawn in the label strip of the first tile.
    let strip_has_text = (2..30u32)
        .flat_map(|x| (30..30 + LABEL_HEIGHT).map(move |y| (x, y)))
        .any(|(x, y)| labelled.get_pixel(x, y).0[0] > 128);
    assert!(strip_has_text);
}

#[test]
fn long_labels_stay_under_their_tiles_and_equal_neighbours_share_one() {
    let values = vec![0.0; 3 * 784];
    let options = |labels: Vec<&str>| GridOptions {
        labels: Some(labels.into_iter().map(String::from).collect()),
        background: 0,
        padding: 4,
        ..Default::default()
    };
    // Tiles at x = 4..32, 36..64, 68..96: a long label on the middle tile only.
    let img = image_grid(&values, 28, 28, &options(vec!["", "a very long label", ""]));
    let strip = |x: std::ops::Range<u32>| {
        x.flat_map(|x| (32..32 + LABEL_HEIGHT).map(move |y| (x, y)))
            .any(|(x, y)| img.get_pixel(x, y).0[0] > 128)
    };
    assert!(strip(36..64), "the label is drawn");
    assert!(
        !strip(0..35) && !strip(65..img.width()),
        "the label ran into a neighbour"
    );

    assert_eq!(
        label_runs(&["a", "a", "b", "b"].map(String::from), 3),
        vec![(0, 2), (2, 1), (3, 1)],
        "runs end with the row"
    );
    let shared = image_grid(
        &values,
        28,
        28,
        &GridOptions {
            shared_labels: true,
            ..options(vec!["MLP", "MLP", "MLP"])
        },
    );
    // One label for the whole row: beside it, in a column left of the tiles, not under them.
    let plain = image_grid(
        &values,
        28,
        28,
        &GridOptions {
            labels: None,
            ..options(vec![])
        },
    );
    assert_eq!(shared.height(), plain.height(), "no strip under the tiles");
    let margin = shared.width() - plain.width();
    assert!(margin > 0, "a column for the row's label");
    let text_left = (0..margin)
        .flat_map(|x| (0..shared.height()).map(move |y| (x, y)))
        .any(|(x, y)| shared.get_pixel(x, y).0[0] > 200);
    assert!(text_left, "the label is drawn left of the row");
}

#[test]
fn filters_are_normalised_one_by_one() {
    let weights = [-0.01, 0.0, 0.01, 5.0, 10.0, 15.0, 3.0, 3.0, 3.0];
    let n = normalise_filters(&weights, 3);
    assert_eq!(n, vec![0.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.5, 0.5, 0.5]);
    let img = filter_grid(
        &weights,
        1,
        3,
        &GridOptions {
            cols: 3,
            padding: 0,
            ..Default::default()
        },
    );
    assert_eq!(img.get_pixel(2, 0).0, [255; 3]);
    assert_eq!(img.get_pixel(3, 0).0, [0; 3]);
}
