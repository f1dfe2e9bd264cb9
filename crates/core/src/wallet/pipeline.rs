//! Sending many transfers for a [`Funder`]: reserve and sign in order, send with a bound on
//! those in flight, collect the outcomes; and what a round's refusals ask of the next.

use std::{sync::Arc, time::Duration};

use alloy::{
    consensus::TxEnvelope,
    primitives::{Address, U256},
    providers::Provider,
};
use spam_nonce::Reservation;
use tokio::sync::{Semaphore, mpsc};

use super::{
    Funder, Wallet, WalletError,
    send::{Outcome, send},
};
use crate::{fees::Fees, rpc::Action};

/// One transfer to sign and send.
pub(super) struct Job<'a> {
    /// The sender.
    pub(super) from: &'a Wallet,
    /// The recipient.
    pub(super) to: Address,
    /// Wei to move.
    pub(super) value: U256,
}

/// What the refusals of one round ask of the next.
#[derive(Debug, Default)]
pub(super) struct NextRound {
    /// Bump the fees.
    pub(super) bump_fee: bool,
    /// Wait this long first.
    pub(super) back_off: Option<Duration>,
}

impl NextRound {
    /// Records what one refusal's [`Action`] asks of the next round.
    pub(super) fn learn(&mut self, action: Action) {
        match action {
            Action::BumpFee => self.bump_fee = true,
            Action::BackOff(hint) => {
                self.back_off = self
                    .back_off
                    .max(Some(hint.unwrap_or(Duration::from_secs(1))));
            }
            _ => {}
        }
    }
}

impl<P> Funder<P>
where
    P: Provider + Clone + 'static,
{
    /// Signs and sends every job, at most `max_in_flight` awaiting an answer; outcomes in job
    /// order. Each send runs on its own spawned task so that dropping this future never
    /// abandons a request halfway: the task finishes and resolves its nonce.
    pub(super) async fn send_all(
        &self,
        jobs: Vec<Job<'_>>,
        fees: Fees,
    ) -> Result<Vec<Outcome>, WalletError> {
        let count = jobs.len();
        let slots = Arc::new(Semaphore::new(self.limit()));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let mut fatal = None;
        for (i, job) in jobs.into_iter().enumerate() {
            let slot = Arc::clone(&slots)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let (envelope, reservation) = match self.prepare(&job, fees).await {
                Ok(prepared) => prepared,
                Err(err) => {
                    fatal = Some(err);
                    break;
                }
            };
            let provider = self.provider.clone();
            let nonces = self.nonces.clone();
            let done_tx = done_tx.clone();
            let policy = self.config.retry();
            tokio::spawn(async move {
                let outcome = send(&provider, envelope, &nonces, reservation, &policy).await;
                drop(slot);
                let _ = done_tx.send((i, outcome));
            });
        }
        drop(done_tx);
        let mut outcomes: Vec<Option<Outcome>> =
            std::iter::repeat_with(|| None).take(count).collect();
        while let Some((i, outcome)) = done_rx.recv().await {
            outcomes[i] = Some(outcome);
        }
        if let Some(err) = fatal {
            return Err(err);
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.expect("every spawned send reports back"))
            .collect())
    }

    /// Reserves the sender's next nonce and signs the transfer. On a signing error the
    /// reservation is dropped, which rolls it back: nothing was sent.
    async fn prepare(
        &self,
        job: &Job<'_>,
        fees: Fees,
    ) -> Result<(TxEnvelope, Reservation), WalletError> {
        let reservation = self
            .nonces
            .reserve(job.from.address())
            .await
            .map_err(|source| WalletError::Nonce { source })?;
        let tx = fees.transfer(self.chain_id, reservation.nonce(), job.to, job.value);
        Ok((job.from.sign(tx)?, reservation))
    }

    /// Fills the funder's holes below `highest` (refused transfers whose nonces were rolled
    /// back) with zero-value transfers to itself; holes are handed out lowest first.
    pub(super) async fn fill_gaps(&self, highest: u64, fees: Fees) -> Result<(), WalletError> {
        let from = self.address();
        let gaps = self
            .nonces
            .snapshot(from)
            .map_or(0, |s| s.holes.iter().filter(|&&n| n < highest).count());
        if gaps == 0 {
            return Ok(());
        }
        tracing::warn!(
            target: "spam::wallet",
            %from, gaps,
            "filling nonce gaps left by refused transfers"
        );
        let jobs = (0..gaps)
            .map(|_| Job {
                from: &self.wallet,
                to: from,
                value: U256::ZERO,
            })
            .collect();
        for outcome in self.send_all(jobs, fees).await? {
            if let Outcome::Rejected { nonce, error } = outcome {
                return Err(WalletError::Send {
                    from,
                    nonce,
                    source: Box::new(error),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_steer_the_next_round() {
        let mut next = NextRound::default();
        for action in [
            Action::GiveUp,
            Action::FastForward(7),
            Action::FastForward(5),
            Action::BumpFee,
            Action::BackOff(None),
            Action::BackOff(Some(Duration::from_secs(3))),
        ] {
            next.learn(action);
        }
        assert!(next.bump_fee);
        assert_eq!(next.back_off, Some(Duration::from_secs(3)));
    }
}
