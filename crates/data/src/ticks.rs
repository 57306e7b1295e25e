//! Tick values a reader can read: multiples of 1, 2 or 5 × 10^k on linear axes, integers on
//! axes that count (epochs, steps), and 1, 2, 5 × 10^k on log axes — what matplotlib's
//! defaults give, rather than whatever divides the data's range evenly (1202.264, 1.5 epochs).

/// At most `max` ticks inside `lo..=hi`, all multiples of one step from {1, 2, 5} × 10^k;
/// with `integers`, the step is at least 1.
pub fn linear(lo: f64, hi: f64, max: usize, integers: bool) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || max < 2 {
        return vec![];
    }
    let mut step = nice_step((hi - lo) / (max - 1) as f64);
    if integers {
        step = step.max(1.0);
    }
    loop {
        let ticks = multiples(lo, hi, step);
        if ticks.len() <= max {
            return ticks;
        }
        step = nice_step(step * 1.5);
    }
}

/// Ticks of a log axis over `lo..=hi` (both positive), as values: the {1, 2, 5} × 10^k inside
/// the range, thinned to powers of ten when there are too many; a range too narrow to hold
/// two of them (less than a factor of 2.5) gets linear ticks instead.
pub fn log(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return vec![];
    }
    let decades = lo.log10().floor() as i32..=hi.log10().ceil() as i32;
    let candidates = |mantissas: &[f64]| -> Vec<f64> {
        decades
            .clone()
            .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| (lo..=hi).contains(v))
            .collect()
    };
    let ticks = candidates(&[1.0, 2.0, 5.0]);
    if ticks.len() < 2 {
        return linear(lo, hi, max, false);
    }
    if ticks.len() <= max {
        return ticks;
    }
    let powers = candidates(&[1.0]);
    if powers.len() <= max {
        return powers;
    }
    let every = powers.len().div_ceil(max);
    powers.into_iter().step_by(every).collect()
}

/// A tick's label: as many decimals as the spacing of `ticks` needs, none for integers, and
/// no trailing zeros (0.05, 200, 1185, 2.5).
pub fn label(value: f64, ticks: &[f64]) -> String {
    let spacing = ticks
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(f64::INFINITY, f64::min);
    let smallest = ticks
        .iter()
        .map(|t| t.abs())
        .filter(|t| *t > 0.0)
        .fold(f64::INFINITY, f64::min);
    let resolution = spacing.min(smallest);
    let decimals = if resolution.is_finite() && resolution < 1.0 {
        // Enough digits to tell neighbouring ticks apart (and to write 0.002 at all).
        (-resolution.log10()).ceil().max(0.0) as usize + 1
    } else {
        0
    };
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.');
        if trimmed == "-0" { "0" } else { trimmed }.to_string()
    } else {
        text
    }
}

/// A tick label on a log axis: plain where that is short, else `2e-11` (never
/// `0.00000000002`).
pub fn log_label(value: f64, ticks: &[f64]) -> String {
    if value == 0.0 || (1e-3..1e4).contains(&value.abs()) {
        return label(value, ticks);
    }
    let exponent = value.abs().log10().floor();
    let mantissa = value / 10f64.powf(exponent);
    let mantissa = format!("{mantissa:.1}");
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    format!("{mantissa}e{exponent}")
}

/// The {1, 2, 5} × 10^k step nearest above `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// The multiples of `step` inside `lo..=hi`, rounded so that 0.1 + 0.2 prints as 0.3.
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    // The tolerance keeps ends that are multiples (-0.3 / 0.1 = -2.9999999999999996).
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|i| {
            let v = i as f64 * step;
            let scale = 1e9 / step;
            (v * scale).round() / scale
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_labels_write_tiny_and_huge_values_with_an_exponent() {
        let ticks = [1e-11, 1e-9, 1e-7];
        assert_eq!(log_label(1e-11, &ticks), "1e-11");
        assert_eq!(log_label(2e-11, &ticks), "2e-11");
        assert_eq!(log_label(5e7, &ticks), "5e7");
        assert_eq!(log_label(0.5, &[0.1, 0.5, 1.0]), "0.5");
        assert_eq!(log_label(200.0, &[100.0, 200.0, 500.0]), "200");
    }

    #[test]
    fn linear_ticks_step_by_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(
            linear(0.0, 1.0, 6, false),
            vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        assert_eq!(
            linear(1180.0, 1210.0, 8, false),
            vec![1180.0, 1185.0, 1190.0, 1195.0, 1200.0, 1205.0, 1210.0]
        );
        assert_eq!(
            linear(-0.3, 0.3, 7, false),
            vec![-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3]
        );
        for (lo, hi, max) in [(0.0, 734.0, 10), (3.7, 3.71, 5), (-50.0, 2e4, 8)] {
            let ticks = linear(lo, hi, max, false);
            assert!(
                ticks.len() >= 2 && ticks.len() <= max,
                "{lo}..{hi}: {ticks:?}"
            );
            assert!(ticks.iter().all(|t| (lo..=hi).contains(t)));
        }
    }

    #[test]
    fn counting_axes_get_integer_ticks_only() {
        // Two or three epochs: no 1.5 or 2.5.
        assert_eq!(linear(0.9, 3.1, 10, true), vec![1.0, 2.0, 3.0]);
        let many = linear(0.0, 500.0, 10, true);
        assert!(many.iter().all(|t| t.fract() == 0.0) && many.len() <= 10);
        assert_eq!(many, vec![0.0, 100.0, 200.0, 300.0, 400.0, 500.0]);
    }

    #[test]
    fn log_ticks_are_one_two_five_per_decade_or_linear_when_the_range_is_narrow() {
        assert_eq!(log(0.8, 60.0, 10), vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0]);
        assert_eq!(
            log(1e-3, 1e4, 10),
            vec![1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4]
        );
        assert!(log(1e-9, 1e9, 5).len() <= 5);
        // GAN-Q3's FID axis spanned 1188..1202: linear round values, not 1202.264.
        assert_eq!(log(1186.0, 1204.0, 8), vec![1190.0, 1195.0, 1200.0]);
        assert!(log(-1.0, 5.0, 5).is_empty());
    }

    #[test]
    fn labels_carry_only_the_decimals_the_spacing_needs() {
        let ticks = [0.0, 0.2, 0.4];
        assert_eq!(label(0.2, &ticks), "0.2");
        assert_eq!(label(0.0, &ticks), "0");
        assert_eq!(label(1185.0, &[1180.0, 1185.0]), "1185");
        assert_eq!(label(0.05, &[0.01, 0.02, 0.05]), "0.05");
        assert_eq!(label(2e-3, &[1e-3, 2e-3]), "0.002");
        assert_eq!(label(2.5, &[2.0, 2.5, 3.0]), "2.5");
        assert_eq!(label(-0.0, &[-0.1, 0.0]), "0");
    }
}
