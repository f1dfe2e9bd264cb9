//! Checking what the user typed: flag value parsers (clap turns their errors into one message
//! and exit code 2) and [`BadInput`] for what can only be checked later (an unreachable node).

use std::{
    fmt,
    num::{NonZeroU32, NonZeroUsize},
    time::Duration,
};

use alloy::transports::http::reqwest::Url;
use spam_core::{MAX_RUN_DURATION, Rate, StartError};

/// Most workers of `run`.
pub(crate) const MAX_WORKERS: u32 = 100_000;
/// Most senders of `run` and `loadgen`.
pub(crate) const MAX_SENDERS: u32 = 1_000_000;

/// The user's mistake, found after parsing: `main` prints it and exits with code 2.
#[derive(Debug)]
pub(crate) struct BadInput(pub(crate) String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// `anyhow` error for `main` to exit 2 with.
pub(crate) fn bad_input(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(message.into()))
}

/// Whether stderr may be coloured: a terminal, and `NO_COLOR` unset or empty
/// (<https://no-color.org>).
pub(crate) fn colour() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The node (or another endpoint) did not answer: `main` prints it and exits with code 3 —
/// the settings may be right and the node down.
#[derive(Debug)]
pub(crate) struct Unreachable(pub(crate) String);

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

/// `anyhow` error for `main` to exit 3 with.
pub(crate) fn unreachable(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Unreachable(message.into()))
}

/// Whether `err` (or a cause) says a node did not answer: an [`Unreachable`], or a run that
/// could not start because the node did not answer ([`StartError::is_unreachable`]).
pub(crate) fn is_unreachable(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<Unreachable>()
            || cause
                .downcast_ref::<StartError>()
                .is_some_and(StartError::is_unreachable)
    })
}

/// Whether `err` (or a cause) is the user's mistake: a [`BadInput`], or a run that could not
/// start because of its settings ([`StartError::is_bad_input`]).
pub(crate) fn is_bad_input(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<BadInput>()
            || cause
                .downcast_ref::<StartError>()
                .is_some_and(StartError::is_bad_input)
    })
}

/// `err` and its causes, `: `-separated (reqwest's message alone omits "connection refused").
pub(crate) fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        source = cause.source();
    }
    text
}

/// An `http://` or `https://` URL.
pub(crate) fn http_url(s: &str) -> Result<Url, String> {
    url_with(s, &["http", "https"])
}

/// A `ws://` or `wss://` URL.
pub(crate) fn ws_url(s: &str) -> Result<Url, String> {
    url_with(s, &["ws", "wss"])
}

fn url_with(s: &str, schemes: &[&str]) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|err| format!("not a URL ({err})"))?;
    if !schemes.contains(&url.scheme()) {
        return Err(format!(
            "the scheme must be {}, got `{}`",
            schemes.join(" or "),
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(url)
}

/// A duration like `500ms`, `10s`, `2m`, at most 30 days ([`MAX_RUN_DURATION`]).
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    let d = any_duration(s)?;
    if d > MAX_RUN_DURATION {
        return Err(format!("must be at most 30d, got `{s}`"));
    }
    Ok(d)
}

/// A duration of any length, not negative.
fn any_duration(s: &str) -> Result<Duration, String> {
    if s.trim().starts_with('-') {
        return Err(format!("must not be negative, got `{s}`"));
    }
    humantime::parse_duration(s.trim()).map_err(|err| format!("`{s}` is not a duration ({err})"))
}

/// A duration longer than zero.
pub(crate) fn positive_duration(s: &str) -> Result<Duration, String> {
    match duration(s)? {
        d if d.is_zero() => Err("must be longer than zero".into()),
        d => Ok(d),
    }
}

/// A fraction in `0..=1`, e.g. `0.99`.
pub(crate) fn fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("must be a number from 0 to 1, got `{s}`")),
    }
}

/// The breaker's window: longer than zero, at most a year.
pub(crate) fn breaker_window(s: &str) -> Result<Duration, String> {
    match any_duration(s)? {
        d if d.is_zero() => Err("must be longer than zero".into()),
        d if d > spam_core::breaker::MAX_DURATION => Err("must be at most a year".into()),
        d => Ok(d),
    }
}

/// A whole number in `min..=max`; the message gives the range.
fn count_in(s: &str, min: u64, max: u64) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number from {min} to {max}, got `{s}`"
        )),
    }
}

/// A count from 1 to 2^32 - 1 (in-flight caps, thresholds' counts).
pub(crate) fn at_least_one(s: &str) -> Result<NonZeroU32, String> {
    nonzero_u32(count_in(s, 1, u64::from(u32::MAX))?)
}

/// `--workers`: 1 to [`MAX_WORKERS`].
pub(crate) fn workers(s: &str) -> Result<NonZeroU32, String> {
    nonzero_u32(count_in(s, 1, u64::from(MAX_WORKERS))?)
}

/// `--senders`, `--accounts`, a wallet count: 1 to [`MAX_SENDERS`].
pub(crate) fn senders(s: &str) -> Result<NonZeroU32, String> {
    nonzero_u32(count_in(s, 1, u64::from(MAX_SENDERS))?)
}

fn nonzero_u32(n: u64) -> Result<NonZeroU32, String> {
    u32::try_from(n)
        .ok()
        .and_then(NonZeroU32::new)
        .ok_or_else(|| format!("{n} is out of range"))
}

/// A request or start rate cap (`--max-rps-per-endpoint`, `--max-rate`): 1 to 1 000 000 per
/// second.
pub(crate) fn rps(s: &str) -> Result<NonZeroU32, String> {
    nonzero_u32(count_in(s, 1, spam_core::Rate::MAX_TPS as u64)?)
}

/// A batch size: 1 to 10 000.
pub(crate) fn batch_size(s: &str) -> Result<NonZeroUsize, String> {
    nonzero_usize(count_in(s, 1, 10_000)?)
}

/// `--connections`: 1 to 1 024.
pub(crate) fn connections(s: &str) -> Result<NonZeroUsize, String> {
    nonzero_usize(count_in(s, 1, 1_024)?)
}

fn nonzero_usize(n: u64) -> Result<NonZeroUsize, String> {
    usize::try_from(n)
        .ok()
        .and_then(NonZeroUsize::new)
        .ok_or_else(|| format!("{n} is out of range"))
}

/// A seed, or any other whole number of 0 or more.
pub(crate) fn whole(s: &str) -> Result<u64, String> {
    count_in(s, 0, u64::MAX)
}

/// An index below 2^31 (a mnemonic's account index).
pub(crate) fn index(s: &str) -> Result<u32, String> {
    count_in(s, 0, (1 << 31) - 1).map(|n| n as u32)
}

/// A rate in tx/s; `positive` refuses zero too.
fn tps(s: &str, positive: bool) -> Result<f64, String> {
    let tps: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a rate in tx/s"))?;
    if !tps.is_finite() || tps < 0.0 || (positive && tps == 0.0) {
        let least = if positive { "above 0" } else { "0 or more" };
        return Err(format!("a rate must be {least} tx/s, got `{s}`"));
    }
    if tps > Rate::MAX_TPS {
        return Err(format!(
            "a rate must be at most {} tx/s, got `{s}`",
            Rate::MAX_TPS
        ));
    }
    Ok(tps)
}

/// A rate of 0 tx/s or more (`--recovery-rate`).
pub(crate) fn rate_or_zero(s: &str) -> Result<f64, String> {
    tps(s, false)
}

/// `--rate N`: a constant rate above zero.
pub(crate) fn constant_rate(s: &str) -> Result<Rate, String> {
    tps(s, true).map(Rate::constant)
}

/// `--ramp FROM:TO:DUR`, e.g. `50:500:30s`.
pub(crate) fn ramp(s: &str) -> Result<Rate, String> {
    let [from, to, over] = fields(s, "FROM:TO:DUR, e.g. 50:500:30s")?;
    let (from, to) = (tps(from, false)?, tps(to, false)?);
    if from == 0.0 && to == 0.0 {
        return Err("a ramp from 0 to 0 tx/s sends nothing".into());
    }
    Ok(Rate::ramp(from, to, positive_duration(over)?))
}

/// `--steps "100:10s,300:10s"`: rate and length of each step, in order.
pub(crate) fn steps(s: &str) -> Result<Rate, String> {
    let steps = s
        .split(',')
        .map(|step| {
            let [rate, len] = fields(step, "TPS:DUR[,TPS:DUR…], e.g. 100:10s,300:10s")?;
            Ok((positive_duration(len)?, tps(rate, false)?))
        })
        .collect::<Result<Vec<_>, String>>()?;
    if steps.iter().all(|(_, tps)| *tps == 0.0) {
        return Err("every step is 0 tx/s: nothing would be sent".into());
    }
    Ok(Rate::steps(steps))
}

/// `--spike BASE:PEAK:LEN:EVERY`, e.g. `100:1000:2s:10s`.
pub(crate) fn spike(s: &str) -> Result<Rate, String> {
    let [base, peak, len, every] = fields(s, "BASE:PEAK:LEN:EVERY, e.g. 100:1000:2s:10s")?;
    let (base, peak) = (tps(base, false)?, tps(peak, true)?);
    let (len, every) = (positive_duration(len)?, positive_duration(every)?);
    if len > every {
        return Err(format!(
            "a burst ({}) must not be longer than its interval ({})",
            humantime::format_duration(len),
            humantime::format_duration(every)
        ));
    }
    Ok(Rate::spike(base, peak, len, every))
}

/// `N` fields of `s` separated by `:`.
fn fields<'a, const N: usize>(s: &'a str, shape: &str) -> Result<[&'a str; N], String> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    parts
        .try_into()
        .map_err(|_| format!("expected {shape}, got `{s}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn rate_profiles_parse() {
        assert_eq!(constant_rate("250").unwrap(), Rate::constant(250.0));
        assert_eq!(ramp("0:500:30s").unwrap(), Rate::ramp(0.0, 500.0, secs(30)));
        assert_eq!(
            steps("100:10s, 300:1m").unwrap(),
            Rate::steps([(secs(10), 100.0), (secs(60), 300.0)])
        );
        assert_eq!(
            spike("100:1000:2s:10s").unwrap(),
            Rate::spike(100.0, 1000.0, secs(2), secs(10))
        );
    }

    #[test]
    fn bad_rate_profiles_say_what_is_wrong() {
        let err = |r: Result<Rate, String>| r.unwrap_err();
        assert!(err(constant_rate("0")).contains("above 0"));
        assert!(err(constant_rate("-5")).contains("above 0"));
        assert!(err(constant_rate("NaN")).contains("above 0"));
        assert!(err(constant_rate("fast")).contains("not a rate"));
        assert!(err(ramp("10:100")).contains("FROM:TO:DUR"));
        assert!(err(ramp("10:100:soon")).contains("not a duration"));
        assert!(err(ramp("10:100:0s")).contains("longer than zero"));
        assert!(err(ramp("0:0:5s")).contains("sends nothing"));
        assert!(err(steps("100:10s,300")).contains("TPS:DUR"));
        assert!(err(steps("0:10s")).contains("nothing would be sent"));
        assert!(err(spike("1:2:10s:5s")).contains("must not be longer"));
    }

    #[test]
    fn urls_need_their_scheme_and_a_host() {
        assert_eq!(
            http_url("http://127.0.0.1:8545").unwrap().as_str(),
            "http://127.0.0.1:8545/"
        );
        assert!(http_url("not a url").unwrap_err().contains("not a URL"));
        assert!(
            http_url("ws://127.0.0.1:8545")
                .unwrap_err()
                .contains("http or https")
        );
        assert!(
            ws_url("http://127.0.0.1:8545")
                .unwrap_err()
                .contains("ws or wss")
        );
        assert!(ws_url("wss://node.example").is_ok());
    }

    #[test]
    fn fractions_and_batches() {
        assert_eq!(fraction("0.99"), Ok(0.99));
        assert!(fraction("1.5").is_err());
        assert!(fraction("-0.1").is_err());
        assert_eq!(batch_size("50").unwrap().get(), 50);
        assert!(batch_size("0").is_err());
        assert!(at_least_one("0").unwrap_err().contains("from 1 to"));
        assert_eq!(at_least_one("3").unwrap().get(), 3);
        assert!(workers("-1").unwrap_err().contains("from 1 to 100000"));
        assert!(workers("4294967295").unwrap_err().contains("to 100000"));
        assert!(senders("1000001").is_err());
        assert!(whole("-1").unwrap_err().contains("from 0 to"));
        assert_eq!(whole("18446744073709551615"), Ok(u64::MAX));
        assert!(index("2147483648").is_err());
    }

    #[test]
    fn durations_and_rates_have_ranges() {
        assert!(duration("-5s").unwrap_err().contains("negative"));
        assert!(duration("1000000000h").unwrap_err().contains("at most 30d"));
        assert_eq!(duration("30days"), Ok(MAX_RUN_DURATION));
        assert!(
            constant_rate("1e12")
                .unwrap_err()
                .contains("at most 1000000 tx/s")
        );
        assert!(constant_rate("1000000").is_ok());
    }
}
