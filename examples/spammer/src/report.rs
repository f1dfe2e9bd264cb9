//! The short report `spammer run` prints.

use std::{fmt, time::Duration};

/// What a run did, as read back from the chain.
#[derive(Debug)]
pub(crate) struct RunReport {
    pub(crate) rpc_url: String,
    pub(crate) chain_id: u64,
    pub(crate) client_version: String,
    pub(crate) own_devnet: bool,
    pub(crate) senders: u32,
    pub(crate) workers: u32,
    pub(crate) send_elapsed: Duration,
    pub(crate) total_elapsed: Duration,
    /// Transactions the node accepted (`eth_sendRawTransaction` answered with a hash).
    pub(crate) sent: u64,
    pub(crate) send_errors: u64,
    pub(crate) last_error: Option<String>,
    /// Sent transactions found in blocks (from the senders' mined nonces).
    pub(crate) included: u64,
    /// Transaction count of every block mined since the run started.
    pub(crate) block_txs: Vec<u64>,
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = if self.own_devnet {
            " (started by spammer)"
        } else {
            ""
        };
        writeln!(f, "spammer run report")?;
        writeln!(
            f,
            "  node        {} at {}{node}",
            self.client_version, self.rpc_url
        )?;
        writeln!(f, "  chain id    {}", self.chain_id)?;
        writeln!(
            f,
            "  load        {} workers over {} senders, value transfers",
            self.workers, self.senders
        )?;
        writeln!(
            f,
            "  sent        {} txs in {:.1} s ({:.0} tx/s accepted by the node)",
            self.sent,
            self.send_elapsed.as_secs_f64(),
            rate(self.sent, self.send_elapsed)
        )?;
        writeln!(f, "  send errors {}", self.send_errors)?;
        if let Some(err) = &self.last_error {
            writeln!(f, "  last error  {err}")?;
        }
        let peak = self.block_txs.iter().max().copied().unwrap_or(0);
        writeln!(
            f,
            "  included    {} txs in {} blocks (peak {} txs/block; {:.0} tx/s over {:.1} s)",
            self.included,
            self.block_txs.len(),
            peak,
            rate(self.included, self.total_elapsed),
            self.total_elapsed.as_secs_f64()
        )?;
        write!(
            f,
            "  pending     {} txs not included when the report was taken",
            self.sent - self.included.min(self.sent)
        )
    }
}
