//! The machine and the day a report's sections were run on, for the report's header (the
//! backend line beside it names the GPU, or that there was none).

use std::time::{SystemTime, UNIX_EPOCH};

/// "AMD EPYC 9R14 (2 cores), 2026-11-26 (UTC)": the CPU, the cores the experiments could
/// use, and today's date.
pub fn describe() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{} ({cores} cores), {} (UTC)",
        crate::models_bench::cpu_model(),
        utc_date(now)
    )
}

/// The UTC calendar date of a Unix time, `YYYY-MM-DD` (the proleptic Gregorian calendar,
/// by Howard Hinnant's days-to-civil algorithm; the standard library has no calendar).
pub fn utc_date(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_become_their_utc_dates_across_leap_days_and_year_ends() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(86_399), "1970-01-01");
        assert_eq!(utc_date(86_400), "1970-01-02");
        assert_eq!(utc_date(951_825_600), "2000-02-29");
        assert_eq!(utc_date(946_641_600), "1999-12-31");
        assert_eq!(utc_date(1_795_694_400), "2026-11-26");
    }

    #[test]
    fn the_description_names_the_cores_and_a_date() {
        let line = describe();
        assert!(
            line.contains(" cores), ") && line.ends_with(" (UTC)"),
            "{line}"
        );
    }
}
