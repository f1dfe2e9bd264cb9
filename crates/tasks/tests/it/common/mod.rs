//! A run context on a fresh anvil, for calling tasks one by one and checking the chain.

#![allow(unreachable_pub)]

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, TxKind},
    providers::{Provider, RootProvider},
    rpc::types::{TransactionInput, TransactionReceipt, TransactionRequest},
    sol_types::SolCall,
};
use spam_core::{
    FeeOracle, FeeOracleConfig, RunContext, Task, TaskContext, TaskError, TaskOutcome,
    TaskRegistry, Wallet,
};
use spam_devnet::Devnet;
use spam_nonce::{NonceManager, ProviderSource};

pub struct Harness {
    /// Keeps anvil running for as long as the harness lives.
    #[allow(dead_code, reason = "held for its Drop: kills anvil")]
    pub devnet: Devnet,
    pub provider: RootProvider,
    pub run: Arc<RunContext>,
    pub wallets: Vec<Arc<Wallet>>,
    pub registry: TaskRegistry,
    seed: std::sync::atomic::AtomicU64,
}

impl Harness {
    /// A fresh anvil with `accounts` funded wallets, or `None` when tests skip anvil.
    pub async fn start(accounts: u32) -> Option<Self> {
        let devnet = spam_devnet::for_test(Devnet::builder().accounts(accounts))?;
        let provider = devnet.provider();
        let wallets: Vec<Arc<Wallet>> = devnet
            .signers()
            .into_iter()
            .map(|s| Arc::new(Wallet::new(s)))
            .collect();
        let nonces = NonceManager::new(ProviderSource::new(provider.clone()));
        for wallet in &wallets {
            nonces.resync(wallet.address()).await.unwrap();
        }
        let fees = FeeOracle::new(provider.clone(), FeeOracleConfig::default());
        let chain_id = provider.get_chain_id().await.unwrap();
        let run = Arc::new(
            RunContext::new(provider.clone(), nonces, fees, chain_id)
                .with_receipt_poll(Duration::from_millis(20)),
        );
        Some(Self {
            devnet,
            provider,
            run,
            wallets,
            registry: spam_tasks::registry(),
            seed: 1.into(),
        })
    }

    /// Runs the registry's task `name` once on wallet `wallet`.
    pub async fn run(&self, name: &str, wallet: usize) -> Result<TaskOutcome, TaskError> {
        let task = self
            .registry
            .get(name)
            .unwrap_or_else(|| panic!("no task {name}"));
        self.run_task(task.as_ref(), wallet).await
    }

    /// Runs `task` once on wallet `wallet`.
    pub async fn run_task(&self, task: &dyn Task, wallet: usize) -> Result<TaskOutcome, TaskError> {
        let seed = self.seed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ctx = TaskContext::new(
            Arc::clone(&self.run),
            Arc::clone(&self.wallets[wallet]),
            0,
            seed,
        );
        // A hung task fails the test instead of blocking it.
        tokio::time::timeout(Duration::from_secs(120), task.run(&ctx))
            .await
            .unwrap_or_else(|_| panic!("{} did not finish in 120 s", task.name()))
    }

    /// Runs `name` and expects success.
    pub async fn ok(&self, name: &str, wallet: usize) -> TaskOutcome {
        match self.run(name, wallet).await {
            Ok(outcome) => {
                assert!(
                    !outcome.tx_hashes.is_empty() || name == "setup_contracts",
                    "{name} sent nothing"
                );
                outcome
            }
            Err(err) => panic!("{name} failed: {err}"),
        }
    }

    /// The receipt of the outcome's last transaction (the task's own, after any setup).
    pub async fn last_receipt(&self, outcome: &TaskOutcome) -> TransactionReceipt {
        let hash = *outcome.tx_hashes.last().expect("a transaction");
        self.provider
            .get_transaction_receipt(hash)
            .await
            .unwrap()
            .expect("mined")
    }

    /// The address of the run's shared contract of asset kind `kind`.
    pub fn asset(&self, kind: &str) -> Address {
        self.run
            .assets()
            .into_iter()
            .find(|a| a.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} recorded"))
            .address
    }

    /// `eth_call` of `call` on `to`.
    pub async fn call<C: SolCall>(&self, to: Address, call: C) -> C::Return {
        let request = TransactionRequest {
            to: Some(TxKind::Call(to)),
            input: TransactionInput::new(call.abi_encode().into()),
            ..Default::default()
        };
        let out = self.provider.call(request).await.unwrap();
        C::abi_decode_returns(&out).unwrap()
    }

    pub fn address(&self, wallet: usize) -> Address {
        self.wallets[wallet].address()
    }
}

/// Prints the gas the task's own transaction used (collected by `--nocapture` runs into the
/// README's table).
pub fn print_gas(name: &str, receipt: &TransactionReceipt) {
    println!("GAS {name:<22} {:>9}", receipt.gas_used);
}
