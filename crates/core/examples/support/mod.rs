//! What the benchmark examples share: the transfer they send, their arguments, and this
//! process's CPU time and memory.

use alloy::{
    consensus::TypedTransaction,
    primitives::{Address, U256, address},
};
use spam_core::{BuildRequest, TxBuilder};

pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Where the benchmarks' transfers go.
pub(crate) const TO: Address = address!("000000000000000000000000000000000000beef");

/// A 1-wei transfer to `TO`.
#[derive(Debug)]
pub(crate) struct Transfer;

impl TxBuilder for Transfer {
    fn name(&self) -> &str {
        "transfer"
    }

    fn build(&self, r: BuildRequest<'_>) -> TypedTransaction {
        r.fees.transfer(r.chain_id, r.nonce, TO, U256::from(1))
    }
}

/// The number after `name` on the command line, else `default`.
pub(crate) fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds (user + system) this process used so far.
pub(crate) fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 14th field.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// A `/proc/self/status` figure in MB (`VmRSS`, `VmHWM`).
pub(crate) fn status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
