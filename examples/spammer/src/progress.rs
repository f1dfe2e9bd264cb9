//! What a run shows while it runs, on stderr: a live line (indicatif) on a terminal, a plain
//! line every few seconds otherwise (`CI=true`, piped, redirected), nothing with `--quiet`.
//! The report that follows stays on stdout.

use std::{
    collections::VecDeque,
    io::IsTerminal as _,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressStyle};
use spam_core::{LatencySummary, Progress, breaker::BreakerState};

use crate::input;

/// How often the terminal line is redrawn (and progress hooks run for it or for metrics).
pub(crate) const REDRAW: Duration = Duration::from_millis(250);

/// The span of the terminal line's "now" rates: long enough not to flicker at low rates.
const RATE_WINDOW: Duration = Duration::from_secs(2);

/// Options for what a run shows while it runs.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ProgressArgs {
    /// Show no progress while running (the report at the end is still printed).
    #[arg(long, short)]
    quiet: bool,
    /// How often the plain progress line is printed when stderr is not a terminal.
    #[arg(
        long,
        hide = true,
        env = "SPAM_PROGRESS_EVERY",
        default_value = "5s",
        value_parser = input::positive_duration
    )]
    progress_every: Duration,
}

enum Mode {
    Off,
    Bar(ProgressBar),
    Lines(Duration),
}

/// The progress display of one run: call [`Live::update`] as often as convenient, it draws or
/// prints only when due.
pub(crate) struct Live {
    mode: Mode,
    total: Duration,
    state: Mutex<State>,
}

struct State {
    last_print: Instant,
    window: VecDeque<(Duration, Vec<u64>)>,
}

/// Rates of each count passed to [`Live::update`], in 1/s.
pub(crate) struct Rates {
    /// Over the last couple of seconds (terminal) or since the last line (plain).
    pub(crate) now: Vec<f64>,
    /// Since the start.
    pub(crate) overall: Vec<f64>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Off => "off",
            Mode::Bar(_) => "terminal",
            Mode::Lines(_) => "lines",
        };
        f.debug_struct("Live").field("mode", &mode).finish()
    }
}

impl Live {
    /// The display `args` and the terminal ask for, for a run meant to last `total`.
    pub(crate) fn new(args: &ProgressArgs, total: Duration) -> Self {
        let mode = if args.quiet {
            Mode::Off
        } else if std::io::stderr().is_terminal() && !in_ci() {
            let bar = ProgressBar::new(total.as_millis().max(1) as u64);
            // NO_COLOR (https://no-color.org): the same bar, uncoloured.
            let template = if crate::input::colour() {
                "{bar:20.cyan/blue} {msg}"
            } else {
                "{bar:20} {msg}"
            };
            let style = ProgressStyle::with_template(template)
                .expect("a valid template")
                .progress_chars("=> ");
            bar.set_style(style);
            Mode::Bar(bar)
        } else {
            Mode::Lines(args.progress_every)
        };
        Self {
            mode,
            total,
            state: Mutex::new(State {
                last_print: Instant::now(),
                window: VecDeque::new(),
            }),
        }
    }

    /// Whether nothing is shown.
    pub(crate) fn is_off(&self) -> bool {
        matches!(self.mode, Mode::Off)
    }

    /// How often the caller should call [`Live::update`].
    pub(crate) fn every(&self) -> Duration {
        match self.mode {
            Mode::Lines(every) => every.min(REDRAW * 4),
            _ => REDRAW,
        }
    }

    /// Shows `line(rates of counts)` at `elapsed` if a redraw or a line is due.
    pub(crate) fn update(
        &self,
        elapsed: Duration,
        counts: &[u64],
        line: impl FnOnce(&Rates) -> String,
    ) {
        self.show(elapsed, counts, line, false);
    }

    /// Shows the last state and ends the display (the terminal line stays).
    pub(crate) fn finish(
        &self,
        elapsed: Duration,
        counts: &[u64],
        line: impl FnOnce(&Rates) -> String,
    ) {
        self.show(elapsed, counts, line, true);
        if let Mode::Bar(bar) = &self.mode {
            bar.finish();
        }
    }

    fn show(
        &self,
        elapsed: Duration,
        counts: &[u64],
        line: impl FnOnce(&Rates) -> String,
        last: bool,
    ) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let window = match self.mode {
            Mode::Off => return,
            Mode::Bar(_) => RATE_WINDOW,
            Mode::Lines(every) => {
                // Hooks tick on timers that may fire a little early: allow some slack.
                if !last && state.last_print.elapsed() + REDRAW / 2 < every {
                    return;
                }
                state.last_print = Instant::now();
                Duration::ZERO
            }
        };
        let rates = state.rates(elapsed, counts, window);
        let text = line(&rates);
        let clock = clock(elapsed, self.total);
        match &self.mode {
            Mode::Off => {}
            Mode::Bar(bar) => {
                bar.set_position(elapsed.min(self.total).as_millis() as u64);
                bar.set_message(format!("{clock}  {text}"));
            }
            Mode::Lines(_) => {
                let tag = if last { "done" } else { "progress" };
                eprintln!("{tag} {clock}: {text}");
            }
        }
    }
}

impl State {
    /// Rates against the latest sample at least `window` old (so over `window` to `window` plus
    /// one update); a zero `window` (plain lines) keeps only the previous line's sample.
    fn rates(&mut self, elapsed: Duration, counts: &[u64], window: Duration) -> Rates {
        let secs = elapsed.as_secs_f64();
        let overall: Vec<f64> = counts
            .iter()
            .map(|&n| if secs > 0.0 { n as f64 / secs } else { 0.0 })
            .collect();
        while self
            .window
            .get(1)
            .is_some_and(|(then, _)| elapsed.saturating_sub(*then) >= window)
        {
            self.window.pop_front();
        }
        let now = match self.window.front() {
            Some((then, before)) if elapsed > *then => {
                let span = (elapsed - *then).as_secs_f64();
                counts
                    .iter()
                    .zip(before)
                    .map(|(n, b)| n.saturating_sub(*b) as f64 / span)
                    .collect()
            }
            // The first line: since the start.
            _ => overall.clone(),
        };
        self.window.push_back((elapsed, counts.to_vec()));
        Rates { now, overall }
    }
}

/// `CI` set to anything but empty, `0` or `false`.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE"))
}

/// `12s/30s`, and `+5s` past the end while the run drains.
fn clock(elapsed: Duration, total: Duration) -> String {
    if elapsed >= total + Duration::from_secs(1) {
        format!("{}/{} +{}", secs(total), secs(total), secs(elapsed - total))
    } else {
        format!("{}/{}", secs(elapsed.min(total)), secs(total))
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// `850ms`, `1.25s`.
fn ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{ms:.1}ms")
    }
}

fn breaker(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "OPEN",
        BreakerState::HalfOpen => "half-open",
    }
}

/// The counts of a [`Progress`] that [`loadgen_line`] shows rates of.
pub(crate) fn loadgen_counts(p: &Progress) -> [u64; 3] {
    [p.offered, p.sent, p.included]
}

/// One line of an open-loop run: rates now (and since the start), drops, in flight, breaker,
/// latencies from the intended send time.
pub(crate) fn loadgen_line(p: &Progress, rates: &Rates) -> String {
    let rate = |i: usize| format!("{:.0}/s ({:.0})", rates.now[i], rates.overall[i]);
    format!(
        "offered {}  sent {}  included {}  dropped {}  failed {}  in flight {}  breaker {}  \
         ack {}  inclusion {}",
        rate(0),
        rate(1),
        rate(2),
        p.dropped(),
        p.rejected(),
        p.in_flight,
        breaker(p.breaker),
        percentiles(&p.ack),
        percentiles(&p.inclusion),
    )
}

/// `p50 3.1ms p99 12ms`, dashes before the first sample.
fn percentiles(summary: &LatencySummary) -> String {
    if summary.count == 0 {
        "p50 - p99 -".to_owned()
    } else {
        format!("p50 {} p99 {}", ms(summary.p50), ms(summary.p99))
    }
}

/// Tasks finished and transactions sent, the counts a closed-loop line shows rates of.
pub(crate) fn spammer_counts(p: &Progress) -> [u64; 2] {
    [p.tasks_ok + p.tasks_failed, p.sent]
}

/// One line of a closed-loop run: tasks/s now (and since the start), success rate, task
/// latency percentiles.
pub(crate) fn spammer_line(p: &Progress, rates: &Rates) -> String {
    let (ok, failed) = (p.tasks_ok, p.tasks_failed);
    let success = if ok + failed == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", 100.0 * ok as f64 / (ok + failed) as f64)
    };
    format!(
        "tasks {:.1}/s ({:.1})  txs {:.1}/s  done {}  failed {failed}  success {success}  task {}",
        rates.now[0],
        rates.overall[0],
        rates.now[1],
        ok + failed,
        percentiles(&p.task),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn rates_span_the_window() {
        let mut state = State {
            last_print: Instant::now(),
            window: VecDeque::new(),
        };
        let r = state.rates(s(1), &[10], RATE_WINDOW);
        assert_eq!((r.now[0], r.overall[0]), (10.0, 10.0));
        state.rates(s(2), &[30], RATE_WINDOW);
        // Against the sample at 1 s: (70 - 10) / 2 s.
        let r = state.rates(s(3), &[70], RATE_WINDOW);
        assert_eq!(r.now[0], 30.0);
        // The 1 s sample is now older than the window: against 2 s.
        let r = state.rates(s(4), &[90], RATE_WINDOW);
        assert_eq!(r.now[0], 30.0);
        // Plain lines: against the previous line only.
        let r = state.rates(s(9), &[190], Duration::ZERO);
        assert_eq!(r.now[0], 20.0);
        let r = state.rates(s(14), &[240], Duration::ZERO);
        assert_eq!(r.now[0], 10.0);
    }

    #[test]
    fn clock_and_latency_read_well() {
        assert_eq!(clock(s(12), s(30)), "12s/30s");
        assert_eq!(clock(s(35), s(30)), "30s/30s +5s");
        assert_eq!(clock(Duration::from_millis(30_400), s(30)), "30s/30s");
        assert_eq!(clock(Duration::from_millis(30_600), s(30)), "30s/30s");
        assert_eq!(clock(Duration::from_millis(2_600), s(30)), "3s/30s");
        assert_eq!(clock(s(75), s(120)), "1m15s/2m00s");
        assert_eq!(ms(3.25), "3.2ms");
        assert_eq!(ms(850.0), "850ms");
        assert_eq!(ms(1250.0), "1.25s");
    }
}
