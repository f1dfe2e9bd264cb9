//! Command-line options, parsed by hand (five flags do not need clap's build time).

use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

/// The usage text for `--help` and argument errors.
pub(crate) const USAGE: &str = "\
usage: null-sink [--port P] [--block-time-ms MS] [--chain-id ID] [--threads N] [--ignore-stdin]

  --port P            port on 127.0.0.1 (default 0: a free port, printed when ready)
  --block-time-ms MS  time between blocks (default 1000)
  --chain-id ID       the chain id answered (default 31337)
  --threads N         runtime threads (default 1: one core)
  --ignore-stdin      keep running when stdin closes (by default the sink exits then, so it
                      never outlives the process that spawned it)";

/// What the sink runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    /// The port to bind on 127.0.0.1; 0 picks a free one.
    pub(crate) port: u16,
    /// Time between blocks.
    pub(crate) block_time: Duration,
    /// The chain id answered by `eth_chainId` and `net_version`.
    pub(crate) chain_id: u64,
    /// Runtime threads: 1 is a current-thread runtime.
    pub(crate) threads: NonZeroUsize,
    /// Exit when stdin reaches end of file.
    pub(crate) watch_stdin: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: 0,
            block_time: Duration::from_secs(1),
            chain_id: 31_337,
            threads: NonZeroUsize::MIN,
            watch_stdin: true,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// Serve with this configuration.
    Run(Config),
    /// Print [`USAGE`] and exit.
    Help,
}

/// Parses the arguments after the program name: `--flag value` or `--flag=value`.
///
/// # Errors
///
/// A message naming the flag when one is unknown, lacks its value or has a bad one.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = Config::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--ignore-stdin" => config.watch_stdin = false,
            "--port" => config.port = number(&flag, &value()?)?,
            "--block-time-ms" => {
                let ms: NonZeroU64 = number(&flag, &value()?)?;
                config.block_time = Duration::from_millis(ms.get());
            }
            "--chain-id" => config.chain_id = number(&flag, &value()?)?,
            "--threads" => config.threads = number(&flag, &value()?)?,
            _ => return Err(format!("unknown argument: {flag}")),
        }
    }
    Ok(Command::Run(config))
}

/// `value` parsed as the number `flag` takes.
fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| format!("{flag} {value}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(|s| (*s).to_owned()))? {
            Command::Run(config) => Ok(config),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]).unwrap(), Config::default());
    }

    #[test]
    fn every_flag_both_ways() {
        let config = run(&[
            "--port",
            "8545",
            "--block-time-ms=50",
            "--chain-id",
            "1",
            "--threads=2",
            "--ignore-stdin",
        ])
        .unwrap();
        assert_eq!(
            config,
            Config {
                port: 8545,
                block_time: Duration::from_millis(50),
                chain_id: 1,
                threads: NonZeroUsize::new(2).unwrap(),
                watch_stdin: false,
            }
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        assert!(
            run(&["--port"])
                .unwrap_err()
                .contains("--port needs a value")
        );
        assert!(
            run(&["--port", "70000"])
                .unwrap_err()
                .starts_with("--port 70000")
        );
        assert!(run(&["--block-time-ms", "0"]).is_err());
        assert!(run(&["--threads", "0"]).is_err());
        assert!(run(&["--nope"]).unwrap_err().contains("--nope"));
        assert_eq!(parse(["--help".to_owned()]), Ok(Command::Help));
    }
}
