//! EIP-4844 blob transactions (cargo feature `blob`).

use alloy::{
    consensus::{TxEip4844, TxEip4844Variant, TxEip4844WithSidecar},
    eips::eip2718::Encodable2718,
    eips::{
        eip4844::builder::{SidecarBuilder, SimpleCoder},
        eip7594::BlobTransactionSidecarVariant,
    },
    primitives::U256,
    providers::Provider,
};
use async_trait::async_trait;
use rand::RngCore;
use spam_core::{Task, TaskContext, TaskError, TaskOutcome, TxTiming};
use tokio::time::Instant;

use crate::tx::eip1559_fees;

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
/// The sidecar is computed on a blocking thread (cell proofs take ~0.4 s in a debug build; the
/// first use loads the trusted setup, a few seconds).
///
/// It sends the transaction itself rather than through `TxTask`: spam-core's send path takes
/// the hash of the raw bytes, which for a blob transaction include the sidecar, so it would
/// wait for a receipt under a hash the chain never uses. Nonces are resolved by the same table
/// (`SendError::action`).
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

/// The sidecar of one blob holding `data`, with blob proofs or cell proofs.
fn sidecar(kind: SidecarKind, data: &[u8]) -> Result<BlobTransactionSidecarVariant, String> {
    let builder = SidecarBuilder::<SimpleCoder>::from_slice(data);
    match kind {
        SidecarKind::Eip4844 => builder
            .build_4844()
            .map(BlobTransactionSidecarVariant::Eip4844),
        SidecarKind::Eip7594 => builder
            .build_7594()
            .map(BlobTransactionSidecarVariant::Eip7594),
    }
    .map_err(|e| e.to_string())
}

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
        let sidecar = tokio::task::spawn_blocking(move || sidecar(kind, &data))
            .await
            .map_err(|e| TaskError::Other(format!("building the blob sidecar panicked: {e}")))?
            .map_err(|e| TaskError::Other(format!("building the blob sidecar failed: {e}")))?;
        let hashes: Vec<_> = sidecar.versioned_hashes().collect();
        let wallet = ctx.wallet();
        let fees = ctx
            .fees()
            .current()
            .await
            .map_err(|e| TaskError::rpc("fees", e))?;
        let (max_fee_per_gas, max_priority_fee_per_gas) = eip1559_fees(&fees);
        let reservation = ctx.nonces().reserve(wallet.address()).await?;
        let nonce = reservation.nonce();
        let tx = TxEip4844 {
            chain_id: ctx.chain_id(),
            nonce,
            gas_limit: BLOB_TX_GAS,
            max_fee_per_gas,
            max_priority_fee_per_gas,
            to: wallet.address(),
            value: U256::ZERO,
            access_list: Default::default(),
            blob_versioned_hashes: hashes,
            max_fee_per_blob_gas,
            input: Default::default(),
        };
        let tx = TxEip4844Variant::TxEip4844WithSidecar(TxEip4844WithSidecar::from_tx_and_sidecar(
            tx, sidecar,
        ));
        let envelope = wallet.sign(tx.into())?;
        // The hash covers the transaction without its sidecar; the raw bytes carry both.
        let hash = *envelope.tx_hash();
        let raw = envelope.encoded_2718();
        let sent = Instant::now();
        let sent_hash = ctx.send_raw(reservation, &raw).await?;
        // spam-core hashes a blob transaction without its sidecar, as the chain does.
        debug_assert_eq!(sent_hash, hash, "blob transaction hash");
        let acked = Instant::now();
        let (included, gas_used, success) = ctx.wait_receipt(hash).await?;
        ctx.record_tx(TxTiming {
            hash,
            nonce,
            sent,
            acked,
            included: Some((included, gas_used)),
        });
        if !success {
            return Err(TaskError::Reverted { hash });
        }
        Ok(TaskOutcome::tx(hash, gas_used))
    }
}

/// `blob_tx` for the open loop: the same transaction as [`BlobTx`], built without a round trip
/// (the blob fee cap is read once, when it is made). Building a sidecar is slow (cell proofs
/// take ~0.4 s in a debug build): presign, or keep the rate low.
#[derive(Debug, Clone)]
pub(crate) struct BlobBuilder {
    pub(crate) task: BlobTx,
    pub(crate) max_fee_per_blob_gas: u128,
}

impl BlobBuilder {
    /// With the node's blob base fee now: the cap is twice it, at least 1 gwei.
    pub(crate) async fn new(provider: &impl Provider) -> Result<Self, TaskError> {
        let blob_base_fee = provider
            .get_blob_base_fee()
            .await
            .map_err(|e| TaskError::rpc("blob base fee", e))?;
        Ok(Self {
            task: BlobTx::default(),
            max_fee_per_blob_gas: blob_base_fee.saturating_mul(2).max(1_000_000_000),
        })
    }
}

impl spam_core::TxBuilder for BlobBuilder {
    fn name(&self) -> &str {
        "blob_tx"
    }

    fn build(&self, r: spam_core::BuildRequest<'_>) -> alloy::consensus::TypedTransaction {
        let mut data = vec![0u8; self.task.bytes];
        r.rng.fill_bytes(&mut data);
        let sidecar = sidecar(self.task.sidecar, &data).expect("a blob of a few KiB builds");
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
            blob_versioned_hashes: sidecar.versioned_hashes().collect(),
            max_fee_per_blob_gas: self.max_fee_per_blob_gas,
            input: Default::default(),
        };
        TxEip4844Variant::TxEip4844WithSidecar(TxEip4844WithSidecar::from_tx_and_sidecar(
            tx, sidecar,
        ))
        .into()
    }
}
