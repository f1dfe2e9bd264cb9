#![doc = include_str!("../README.md")]

pub mod breaker;
mod fees;
mod guard;
mod pool;
mod rpc;
mod wallet;

pub use crate::{
    fees::{FeeOracle, FeeOracleConfig, Fees},
    guard::{
        GuardError, KNOWN_MAINNETS, MainnetPolicy, MainnetRefused, check_chain_id, mainnet_name,
        read_chain_id,
    },
    pool::{Lease, PoolConfig, PoolError, PoolStats, Strategy, WalletPool},
    rpc::{
        Action, ErrorClass, RetryPolicy, SendError, classify, classify_response,
        send_raw_transaction,
    },
    wallet::{
        Funder, FundingConfig, FundingReport, KeyOrigin, KeyProblem, KeystoreDir, MnemonicProblem,
        MnemonicSource, RawKeys, TransferFailure, Wallet, WalletError, WalletSource,
    },
};
