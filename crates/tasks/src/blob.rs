//! EIP-4844 blob transactions (cargo feature `blob`).

use alloy::{
    consensus::{TxEip4844, TxEip4844Variant, TxEip4844WithSidecar},
    eips::{
        eip4844::builder::{SidecarBuilder, SimpleCoder},
        eip7594::BlobTransactionSidecarVariant,
    },
    primitives::U256,
    providers::Provider,
};
use async_trait::async_trait;
use rand::RngCore;
use spam_core::{Task, TaskContext, TaskError, TaskOutcome};

use crate::tx::{eip1559_fees, send};

/// Which sidecar a [`BlobTx`] attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SidecarKind {
    /// Blob proofs (EIP-4844), what chains before Osaka accept.
    Eip4844,
    /// Cell proofs (EIP-7594, PeerDAS), what Osaka chains accept (anvil's default hardfork).
    Eip7594,
}

/// `blob_tx`: a type-3 transaction carrying one blob of random data (to the sender itself, no
/// calldata): blob gas, KZG verification and sidecar propagation.
///
/// The sidecar is computed on a blocking thread (KZG commitments and proofs take milliseconds).
/// The blob fee cap is twice the node's blob base fee, and at least 1 gwei.
#[derive(Debug, Clone)]
pub struct BlobTx {
    sidecar: SidecarKind,
    bytes: usize,
}

impl BlobTx {
    /// One blob holding `bytes` random bytes (at most ~126 KiB fit one blob), with `sidecar`.
    pub const fn new(sidecar: SidecarKind, bytes: usize) -> Self {
        Self { sidecar, bytes }
    }
}

impl Default for BlobTx {
    /// 4 KiB of data, cell proofs (EIP-7594).
    fn default() -> Self {
        Self::new(SidecarKind::Eip7594, 4096)
    }
}

const BLOB_TX_GAS: u64 = 21_000;

#[async_trait]
impl Task for BlobTx {
    fn name(&self) -> &str {
        "blob_tx"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let blob_base_fee = ctx
            .retry()
            .retry(|| async { ctx.provider().get_blob_base_fee().await })
            .await
            .map_err(|e| TaskError::rpc("blob base fee", e))?;
        let max_fee_per_blob_gas = blob_base_fee.saturating_mul(2).max(1_000_000_000);
        let mut data = vec![0u8; self.bytes];
        ctx.rng().fill_bytes(&mut data);
        let kind = self.sidecar;
        let sidecar = tokio::task::spawn_blocking(move || {
            let builder = SidecarBuilder::<SimpleCoder>::from_slice(&data);
            match kind {
                SidecarKind::Eip4844 => builder.build_4844().map(BlobTransactionSidecarVariant::Eip4844),
                SidecarKind::Eip7594 => builder.build_7594().map(BlobTransactionSidecarVariant::Eip7594),
            }
        })
        .await
        .map_err(|e| TaskError::Other(format!("building the blob sidecar panicked: {e}")))?
        .map_err(|e| TaskError::Other(format!("building the blob sidecar failed: {e}")))?;
        let hashes: Vec<_> = sidecar.versioned_hashes().collect();
        send(ctx, self.name(), |r| {
            let (max_fee_per_gas, max_priority_fee_per_gas) = eip1559_fees(&r.fees);
            let tx = TxEip4844 {
                chain_id: r.chain_id,
                nonce: r.nonce,
                gas_limit: BLOB_TX_GAS,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to: r.sender,
                value: U256::ZERO,
                access_list: Default::default(),
                blob_versioned_hashes: hashes.clone(),
                max_fee_per_blob_gas,
                input: Default::default(),
            };
            TxEip4844Variant::TxEip4844WithSidecar(TxEip4844WithSidecar::from_tx_and_sidecar(
                tx,
                sidecar.clone(),
            ))
            .into()
        })
        .await
    }
}
