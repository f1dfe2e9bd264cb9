//! Numbers and times as the page prints them: counts with thousands separators, milliseconds,
//! shares, SI suffixes, gwei and UTC dates. Plain text; the templates escape it.

/// A count with thousands separators: `12 345`.
pub(super) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with 2 decimals below 100, else 1.
pub(super) fn ms(value: f64) -> String {
    if value < 100.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

/// A share in `0..=1` as a percentage.
pub(super) fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

/// `part / whole` as a percentage; `-` when `whole` is 0.
pub(super) fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        percent(part as f64 / whole as f64)
    }
}

/// A large value with an SI suffix: `1.05M`, `392.1k`.
pub(super) fn si(value: f64) -> String {
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 1e12 {
        (value / 1e12, "T")
    } else if abs >= 1e9 {
        (value / 1e9, "G")
    } else if abs >= 1e6 {
        (value / 1e6, "M")
    } else if abs >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

/// Wei in gwei, 3 decimals.
pub(super) fn gwei(wei: u64) -> String {
    format!("{:.3}", wei as f64 / 1e9)
}

/// `2024-05-01 12:00:00.250` (UTC), `-` for 0 (not recorded).
pub(super) fn utc(unix_ms: u64) -> String {
    if unix_ms == 0 {
        return "-".to_owned();
    }
    let (days, ms_of_day) = (unix_ms / 86_400_000, unix_ms % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    let secs = ms_of_day / 1_000;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1_000
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01: Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html>), for days on or after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shifted so that eras (400 years) start on 0000-03-01: the leap day ends a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234), "1 234");
        assert_eq!(count(12_345_678), "12 345 678");
        assert_eq!(si(4_200_000.0), "4.2M");
        assert_eq!(si(392_100.0), "392.1k");
        assert_eq!(si(12.0), "12");
        assert_eq!(si(0.5), "0.5");
        assert_eq!(ms(3.197), "3.20");
        assert_eq!(ms(486.911), "486.9");
        assert_eq!(share(1, 4), "25.00%");
        assert_eq!(share(1, 0), "-");
        assert_eq!(gwei(1_500_000_000), "1.500");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "-");
        assert_eq!(utc(1), "1970-01-01 00:00:00.001");
        assert_eq!(utc(951_825_600_000), "2000-02-29 12:00:00.000");
        assert_eq!(utc(1_700_000_000_250), "2023-11-14 22:13:20.250");
        assert_eq!(utc(1_795_251_625_144), "2026-11-21 09:00:25.144");
        assert_eq!(utc(4_107_542_399_999), "2100-02-28 23:59:59.999");
        assert_eq!(utc(4_107_542_400_000), "2100-03-01 00:00:00.000");
    }
}
