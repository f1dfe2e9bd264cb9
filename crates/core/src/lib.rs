#![doc = include_str!("../README.md")]

pub mod breaker;
mod fees;
mod guard;
mod loadgen;
mod metrics;
mod persist;
mod pool;
mod report;
mod rpc;
mod settle;
mod spammer;
mod task;
mod wallet;

pub use crate::{
    fees::{FeeOracle, FeeOracleConfig, Fees},
    guard::{
        GuardError, KNOWN_MAINNETS, MainnetPolicy, MainnetRefused, check_chain_id, mainnet_name,
        read_chain_id,
    },
    loadgen::{
        Capabilities, ExecutionLayer, LoadGen, LoadGenBuilder, LoadGenError, PreconfError,
        PreconfEvent, PreconfSource, PreconfStatus, Progress, ProgressHook, Rate, RateError,
        Schedule, SendStrategy, Step, UnknownExecutionLayer, WsPreconfSource,
    },
    metrics::Recorder,
    pool::{Lease, PoolConfig, PoolError, PoolStats, Strategy, WalletPool},
    report::{
        BlockRecord, BlockSummary, BreakerEvent, FromStoreError, LatencySummary, NonceStats,
        OpenLoopStats, PreconfStats, ProxySummary, Report, RunInfo, SecondStats, StoreStats,
        TaskStats, ThresholdError, Thresholds, Verdict,
    },
    rpc::{
        Action, ErrorClass, RetryPolicy, SendError, classify, classify_response,
        send_raw_transaction,
    },
    spammer::{SpamError, Spammer, SpammerBuilder, Stop, TaskEvent, TaskHook},
    task::{
        BuildRequest, CreatedAsset, MixError, RunContext, Sequence, Task, TaskContext, TaskError,
        TaskMix, TaskOutcome, TaskRegistry, TxBuilder, TxTask, TxTiming,
    },
    wallet::{
        Funder, FundingConfig, FundingReport, KeyOrigin, KeyProblem, KeystoreDir, MnemonicProblem,
        MnemonicSource, RawKeys, TransferFailure, Wallet, WalletError, WalletSource,
    },
};
