//! `--breaker-*`, `--recovery-rate` and `--no-breaker`: the circuit breaker of `run` and
//! `loadgen`.

use std::{num::NonZeroU32, time::Duration};

use spam_core::breaker::BreakerConfig;

use crate::input::{self, bad_input};

/// The breaker's settings; unset ones keep [`BreakerConfig::default`]'s.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BreakerArgs {
    /// Open the circuit breaker when more than this share of calls fails (0 to 1; default
    /// 0.5). A node failing a few percent of the calls is measured, not cut off.
    #[arg(
        long,
        value_name = "RATE",
        allow_negative_numbers = true,
        value_parser = input::fraction
    )]
    breaker_failure_rate: Option<f64>,
    /// Calls the breaker's window must hold before it may open (default 100). Runs slower
    /// than this per --breaker-window never open it.
    #[arg(long, value_name = "N", value_parser = input::at_least_one, allow_hyphen_values = true)]
    breaker_min_calls: Option<NonZeroU32>,
    /// Rolling window over which the breaker counts failures (default 10s).
    #[arg(long, value_name = "DUR", value_parser = input::breaker_window, allow_hyphen_values = true)]
    breaker_window: Option<Duration>,
    /// Per second let through while the breaker is open or half-open, to probe the node
    /// (default 10; 0 sends nothing until the open period ends).
    #[arg(
        long,
        value_name = "TPS",
        allow_negative_numbers = true,
        value_parser = input::rate_or_zero
    )]
    recovery_rate: Option<f64>,
    /// No circuit breaker: send at the full rate whatever the node answers (failures are
    /// still counted in the report).
    #[arg(long)]
    no_breaker: bool,
}

impl BreakerArgs {
    /// The breaker's settings, and the recovery rate when one was given.
    ///
    /// # Errors
    /// [`BadInput`](input::BadInput) for `--no-breaker` with another breaker setting (from a
    /// flag or the config file).
    pub(crate) fn config(&self) -> anyhow::Result<(BreakerConfig, Option<f64>)> {
        if self.no_breaker {
            let set = [
                (
                    "--breaker-failure-rate",
                    self.breaker_failure_rate.is_some(),
                ),
                ("--breaker-min-calls", self.breaker_min_calls.is_some()),
                ("--breaker-window", self.breaker_window.is_some()),
                ("--recovery-rate", self.recovery_rate.is_some()),
            ];
            if let Some((flag, _)) = set.iter().find(|(_, given)| *given) {
                return Err(bad_input(format!(
                    "--no-breaker cannot be used with {flag}: without a breaker it has no effect"
                )));
            }
            return Ok((BreakerConfig::disabled(), None));
        }
        let mut builder = BreakerConfig::builder();
        if let Some(rate) = self.breaker_failure_rate {
            builder = builder.failure_rate(rate);
        }
        if let Some(min) = self.breaker_min_calls {
            builder = builder.min_calls(min.get());
        }
        if let Some(window) = self.breaker_window {
            builder = builder.window(window);
        }
        // The value parsers checked each value; this only repeats the library's checks.
        let config = builder
            .build()
            .map_err(|err| bad_input(format!("breaker: {err}")))?;
        Ok((config, self.recovery_rate))
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        breaker: BreakerArgs,
    }

    fn parse(args: &[&str]) -> Result<(BreakerConfig, Option<f64>), String> {
        let cli = Cli::try_parse_from(std::iter::once("spammer").chain(args.iter().copied()))
            .map_err(|err| err.to_string())?;
        cli.breaker.config().map_err(|err| err.to_string())
    }

    #[test]
    fn no_flags_keep_the_library_defaults() {
        assert_eq!(parse(&[]).unwrap(), (BreakerConfig::default(), None));
    }

    #[test]
    fn flags_set_the_breaker() {
        let (config, recovery) = parse(&[
            "--breaker-failure-rate",
            "0.25",
            "--breaker-min-calls",
            "40",
            "--breaker-window",
            "3s",
            "--recovery-rate",
            "0",
        ])
        .unwrap();
        assert_eq!(config.failure_rate(), 0.25);
        assert_eq!(config.min_calls(), 40);
        assert_eq!(config.window(), Duration::from_secs(3));
        assert_eq!(recovery, Some(0.0));
        let (off, _) = parse(&["--no-breaker"]).unwrap();
        assert!(off.is_disabled());
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let err = |args: &[&str]| parse(args).unwrap_err();
        assert!(err(&["--breaker-failure-rate", "1.5"]).contains("from 0 to 1"));
        assert!(err(&["--breaker-failure-rate", "-0.1"]).contains("from 0 to 1"));
        assert!(err(&["--breaker-min-calls", "0"]).contains("from 1 to"));
        assert!(err(&["--breaker-window", "0s"]).contains("longer than zero"));
        assert!(err(&["--breaker-window", "2years"]).contains("at most a year"));
        assert!(err(&["--recovery-rate", "-1"]).contains("0 or more"));
        assert!(
            err(&["--no-breaker", "--breaker-min-calls", "5"])
                .contains("--no-breaker cannot be used with --breaker-min-calls")
        );
    }

    /// The defaults the help states are the library's.
    #[test]
    fn the_help_states_the_defaults() {
        let help = Cli::command().render_long_help().to_string();
        let d = BreakerConfig::default();
        for text in [
            format!("default {}", d.failure_rate()),
            format!("default {}", d.min_calls()),
            format!("default {}", humantime::format_duration(d.window())),
        ] {
            assert!(help.contains(&text), "{text:?} in {help}");
        }
    }
}
